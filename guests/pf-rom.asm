; SPDX-License-Identifier: MIT
;
; pf-rom: ends in an unhandled #PF. In long mode with an empty IDT (limit 0),
; a write to 0xdeadb000 (not mapped: only the first GiB is) raises #PF, which
; sets CR2 before delivery fails (#GP, then #DF): triple fault.
; Expected (run with --no-reboot): the line below on stdout, exit status 4,
; and a register dump on stderr with CR2=00000000deadb000.
;   x86v pf: long mode, write to unmapped 0xdeadb000

%include "rom.inc"

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	lidt [idt_pointer]
	PRINT "x86v pf: long mode, write to unmapped 0xdeadb000", 10
	mov ebx, 0xdeadb000
	mov dword [rbx], 0x1234
	EXIT EXIT_FAIL                  ; not reached

idt_pointer:
	dw 0
	dq 0

	bits 64
	UART_ROUTINES 64

	ROM_END
