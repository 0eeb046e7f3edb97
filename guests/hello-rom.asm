; SPDX-License-Identifier: MIT
;
; hello-rom: the smallest firmware that walks the x86 boot path. Starts at the
; reset vector in real mode, switches to 32-bit protected mode (own GDT) and
; then to long mode (own identity page tables, PAE, EFER.LME, CR0.PG),
; printing one line per stage on COM1.
; Expected: the three lines below on stdout, exit status 3 (debug-exit 1).
;   x86v hello: real mode
;   x86v hello: protected mode
;   x86v hello: long mode

%include "rom.inc"

entry16:
	REAL_INIT
	PRINT "x86v hello: real mode", 10
	ENTER_PM
	PRINT "x86v hello: protected mode", 10
	ENTER_LM
	PRINT "x86v hello: long mode", 10
	EXIT EXIT_OK

	bits 16
	UART_ROUTINES 16
	bits 32
	UART_ROUTINES 32
	bits 64
	UART_ROUTINES 64

	ROM_END
