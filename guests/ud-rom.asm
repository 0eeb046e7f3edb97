; SPDX-License-Identifier: MIT
;
; ud-rom: ends in an unhandled #UD. In long mode with an IDT of 256 empty
; (all-zero) gates, ud2 raises #UD; its gate is unusable (#GP), so is #GP's,
; so the CPU escalates to #DF, whose gate is empty too: triple fault.
; Expected (run with --no-reboot): the line below on stdout, exit status 4,
; and a register dump on stderr naming the triple fault.
;   x86v ud: long mode, ud2 without a handler

%include "rom.inc"

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov edi, IDT_ADDR
	xor eax, eax
	mov ecx, 256 * 16 / 4
	rep stosd
	lidt [idt_pointer]
	PRINT "x86v ud: long mode, ud2 without a handler", 10
	ud2
	EXIT EXIT_FAIL                  ; not reached

idt_pointer:
	dw 256 * 16 - 1
	dq IDT_ADDR

	bits 64
	UART_ROUTINES 64

	ROM_END
