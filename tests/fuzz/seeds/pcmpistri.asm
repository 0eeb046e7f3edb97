; Fuzz seed (tests/fuzz/fuzz_soft.c): PCMPISTRI in 64-bit code, translated and
; lockstep-checked against the interpreter: every immediate kind, register and
; memory (unaligned) sources, ECX and each flag read back. The first byte picks
; the mode (4: 64-bit, translated).
	db 4
bits 64
	mov rax, cr4
	or eax, 0x600
	mov cr4, rax
	lea rsi, [rel data]
	movdqu xmm0, [rsi]
	movdqu xmm1, [rsi+16]
	movdqu xmm2, [rsi+32]
	xor ebx, ebx
	mov r15, 0
.loop:
	add eax, 3		; dirty flags before the SSE op
	pcmpistri xmm0, xmm1, 0x00
	adc rbx, rcx
	pcmpistri xmm0, xmm2, 0x08
	seto dl
	add bl, dl
	pcmpistri xmm1, xmm2, 0x1a
	pushfq
	pop rdx
	add rbx, rdx
	pcmpistri xmm2, [rsi], 0x44
	cmovc rbx, rcx
	pcmpistri xmm0, [rsi+48], 0x3a
	sbb rbx, rcx
	pcmpistri xmm1, [rsi+7], 0x0c
	jz .z
	inc rbx
.z:	psrldq xmm1, 1
	pslldq xmm2, 1
	inc r15
	cmp r15, 40
	jb .loop
	hlt
align 16
data:	db "hello, world! abcdefghijklmnop", 0, "xyz"
	db "lo, w", 0, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	times 64 db 0x41
