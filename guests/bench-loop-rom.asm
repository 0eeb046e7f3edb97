; SPDX-License-Identifier: MIT
;
; bench-loop-rom: the integer loop make bench times (not a test). In 64-bit
; mode, 20,000,000 iterations of a 6-instruction body (add, xor, rol, sub
; through memory, dec, jnz) = 120,000,000 instructions, then exit status 3
; (under Bochs: its shutdown port).

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
	; Bochs ends on "Shutdown" written to port 0x8900 (its BIOS power-off
	; port, make bench's Bochs column); x86v and QEMU ignore that port and
	; exit through the debug-exit port.
	mov dx, 0x8900
	mov rsi, shutdown_text
.shut:	lodsb
	test al, al
	jz .done
	out dx, al
	jmp .shut
.done:	EXIT EXIT_OK
shutdown_text: db "Shutdown", 0

	bits 64
	UART_ROUTINES 64
	ROM_END
