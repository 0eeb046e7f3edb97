; Fuzz seed (tests/fuzz/fuzz_soft.c): shifts and rotates by an immediate
; whose flags are read, after instructions that leave OF set or clear in the
; host flags: the model's OF for multi-bit counts, OF kept by ROL/ROR, AF
; cleared, every operand size, lockstep-checked against the interpreter.
; The first byte picks the mode (4: 64-bit, translated).
	db 4
bits 64
	mov r15, 0x8000000180000001
	mov r14, 0x4000000040004040
	xor r13d, r13d
%macro case 3			; op, operand, count
	mov rax, r15
	add rax, r14		; OF set or clear, dirty in the host
	mov rbx, r14
	mov rdx, r15
	%1 %2, %3
	pushfq			; every flag read
	pop rsi
	add r13, rsi
	add r13, rax
	add r13, rbx
	add r13, rdx
%endmacro
%assign k 0
%rep 3
	case rol, rbx, 7
	case ror, ebx, 13
	case rol, dx, 3
	case ror, dl, 1
	case rol, rbx, 1
	case shl, rbx, 5
	case shl, ebx, 1
	case shr, edx, 9
	case shr, dx, 1
	case sar, rdx, 17
	case sar, bl, 3
	case shl, ah, 2
	case ror, ah, 5
	rol r15, 11
	ror r14, 5
%endrep
	hlt
