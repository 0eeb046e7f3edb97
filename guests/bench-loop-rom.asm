; SPDX-License-Identifier: MIT
;
; bench-loop-rom: the integer loop make bench times (not a test). In 64-bit
; mode, 20,000,000 iterations of a 6-instruction body (add, xor, rol, sub
; through memory, dec, jnz) = 120,000,000 instructions, then exit status 3.

%include "rom.inc"

ITERATIONS equ 20000000

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov ecx, ITERATIONS
	xor eax, eax
	xor ebx, ebx
	mov qword [VARS_ADDR], 0
.loop:	add rax, rcx
	xor rbx, rax
	rol rbx, 7
	sub [VARS_ADDR], rbx
	dec ecx
	jnz .loop
	EXIT EXIT_OK

	bits 64
	UART_ROUTINES 64
	ROM_END
