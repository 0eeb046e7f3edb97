; SPDX-License-Identifier: MIT
;
; triple-rom: a deliberate triple fault in 32-bit protected mode. With an IDT
; limit of 0, a divide error cannot be delivered (#GP), nor can #GP or #DF.
; Expected (run with --no-reboot): the line below on stdout, exit status 4,
; and a register dump on stderr naming the triple fault. Without --no-reboot
; the machine resets instead (x86v restarts it).
;   x86v triple: protected mode, #DE with a zero-limit IDT

%include "rom.inc"

entry16:
	REAL_INIT
	ENTER_PM
	lidt [idt_pointer]
	PRINT "x86v triple: protected mode, #DE with a zero-limit IDT", 10
	xor edx, edx
	xor ecx, ecx
	div ecx
	EXIT EXIT_FAIL                  ; not reached

idt_pointer:
	dw 0
	dd 0

	bits 32
	UART_ROUTINES 32

	ROM_END
