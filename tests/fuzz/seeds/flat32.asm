; Fuzz seed (tests/fuzz/fuzz_soft.c): 32-bit protected mode on flat
; segments, the translator's memory forms outside 64-bit code: ALU with
; memory, PUSH/POP, CALL/RET, CALL and JMP through memory, DS reloaded in
; the middle of a block; at the end ES gets a 64 KiB limit and an access
; past it is #GP(0) (the end). The first byte picks the mode (2: 32-bit
; protected mode, translated). The code is also the GDT: its first bytes
; hold the descriptors the segment loads read.
	section mode start=0
	db 2
	section code start=1 vstart=0x100000 ; CODE_GPA: labels are linear addresses
bits 32
	jmp short start
	times 6 db 0			; the descriptors at offset 8
	dq 0x00CF9B000000FFFF		; 0x08: code32, flat
	dq 0x00CF93000000FFFF		; 0x10: data, flat
	dq 0x00409300_0000FFFF		; 0x18: data, limit 0xFFFF
start:
	mov edi, 0x300000		; off the code page (code pages take no fast writes)
	xor esi, esi
	xor ebp, ebp
	mov dword [edi + 8], sub1
.loop:
	mov dword [edi], 0x11223344
	add [edi], esi
	push dword [edi]
	pop ebx
	push ebx
	call sub1
	call [edi + 8]
	pop ecx
	mov ax, 0x10
	mov ds, ax			; a segment load inside the block
	add ecx, [edi]
	xchg [edi + 4], ecx
	lock xadd [edi + 4], esi
	inc ebp
	cmp ebp, 3
	jb .loop
	mov dword [edi + 12], .out
	jmp [edi + 12]
.out:
	mov ax, 0x18
	mov es, ax
	mov eax, [es:0xfff0]		; within the limit
	mov eax, [es:edi]		; past it: #GP(0)
	hlt
sub1:
	add esi, [esp + 4]
	ret
