; Fuzz seed (tests/fuzz/fuzz_soft.c): BT BTS BTR BTC on registers after
; instructions that leave all six flags in the host: CF from the bit, ZF
; and the undefined OF SF AF PF kept as the model keeps them, every operand
; size, bit offsets past the operand size, lockstep-checked against the
; interpreter. The first byte picks the mode (4: 64-bit, translated).
	db 4
bits 64
	mov r15, 0x8000000180000001
	mov r14, 0x7ffffffe7fff7f7f
	xor r13d, r13d
%macro case 3			; op, operand, bit
	mov rax, r15
	add rax, r14		; flags set, dirty in the host
	mov rbx, r15
	lea ecx, [r13 + 71]	; a different bit each time
	%1 %2, %3
	pushfq
	pop rsi
	add r13, rsi
	add r13, rbx
%endmacro
%rep 8
	case bt, rbx, rcx
	case bt, ebx, 31
	case bts, bx, cx
	case btr, rbx, 63
	case btc, ebx, ecx
	case bt, bx, 15
	case btc, rbx, 0
	rol r15, 9
	ror r14, 3
%endrep
	hlt
