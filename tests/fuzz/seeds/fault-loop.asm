; Fuzz seed (tests/fuzz/fuzz_soft.c): a fault whose handler is the faulting
; instruction. In real mode, vector 13 (#GP) is pointed at FFFF:FFFF, where
; a two-byte instruction crosses the CS limit: #GP, to FFFF:FFFF, #GP...
; Nothing retires, so the instruction limit must count the faults (it did
; not: the input ran forever). The first byte picks the mode (0: real mode,
; translated).
	section mode start=0
	db 0
	section code start=1 vstart=0
bits 16
	xor ax, ax
	mov ds, ax
	mov word [13 * 4], 0xffff	; #GP's vector: FFFF:FFFF
	mov word [13 * 4 + 2], 0xffff
	mov ax, 0x1000			; a stack whose pushes never reach the vectors
	mov ss, ax
	jmp 0xffff:0xffff		; ADD [BX+SI],AL (zeros) across the limit
