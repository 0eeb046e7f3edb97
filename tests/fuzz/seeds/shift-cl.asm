; Fuzz seed (tests/fuzz/fuzz_soft.c): shifts and rotates by CL whose flags
; nothing reads, which the translator runs as the host shift alone: every
; operand size, counts 0, 1, past the operand size and past 31, lockstep-
; checked against the interpreter. The first byte picks the mode (4: 64-bit,
; translated).
	db 4
bits 64
	mov r15, 0x8000000180000001
%assign count 0
%rep 12
	mov ecx, count
	mov rax, r15
	mov rbx, r15
	mov rdx, r15
	mov rsi, r15
	mov rdi, r15
	shl rax, cl
	xor r8d, r8d		; flags overwritten: the shifts' are dead
	shr ebx, cl
	add r8, rbx
	sar dx, cl
	or r8, rdx
	rol sil, cl
	and r8, rsi
	ror edi, cl
	sub r8, rdi
	sar rax, cl
	test r8, rax
	ror ah, cl
	cmp r8, rax
	shl ecx, cl		; the count register itself
	xor r8, rcx
	push r8			; ends the block for the check
	pop r8
	jmp $+2
	rol r15, 13
%assign count count + 7
%endrep
	hlt
