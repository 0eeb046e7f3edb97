; Fuzz seed (tests/fuzz/fuzz_soft.c): CMPXCHG and XCHG with memory on the
; translator's fast path (the loop runs each twice, the second time with the
; page in the soft TLB), every operand size, equal and different values,
; with and without LOCK, lockstep-checked against the interpreter. The
; first byte picks the mode (4: 64-bit, translated).
	db 4
bits 64
	mov edi, 0x300000		; off the code page (code pages take no fast writes)
	mov r15, 0x8877665544332211
	xor r14d, r14d
.loop:
	mov [rdi], r15
	mov [rdi+8], r15
	mov rax, r15
	mov rbx, 0xfedcba9876543210
	lock cmpxchg [rdi], rbx		; equal: memory written
	cmpxchg [rdi+8], ebx		; different: EAX loaded, RAX's upper half cleared
	mov rdx, rax
	mov rax, r15
	lock cmpxchg [rdi+8], bx	; equal in 16 bits
	cmpxchg [rdi+1], bl		; different
	pushfq
	pop rcx
	add rdx, rcx
	add rdx, rax
	mov ecx, 0x11223344
	xchg [rdi+4], ecx
	xchg rbx, [rdi]
	xchg [rdi+2], cx
	lock xchg [rdi+6], dl
	add rdx, [rdi]
	add rdx, [rdi+8]
	add rdx, rcx
	add rdx, rbx
	rol r15, 8
	inc r14
	cmp r14, 4
	jb .loop
	hlt
