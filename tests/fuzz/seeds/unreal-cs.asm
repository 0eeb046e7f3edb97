; Fuzz seed (tests/fuzz/fuzz_soft.c): real-mode loads of CS while CS keeps
; the 4 GiB limit protected mode left it (unreal mode). Code clears CR0.PE
; in 16-bit protected mode, then an INT through the real-mode vector table
; (which is the IDT copy of these bytes) loads CS with base 0, so CS becomes
; flat, and a far JMP loads base 0x1000, so it is no longer flat: both must
; update the flat-segment bits the translator's memory forms use (they did
; not: the lockstep checker found them stale). The first byte picks the mode
; (1: 16-bit protected mode, translated); the same bytes lie at CODE_GPA (CS
; base at the start), at 0x1000 (the GDT copy) and at 0x2000 (the IDT copy).
	section mode start=0
	db 1
	section code start=1 vstart=0
bits 16
	mov eax, cr0
	and al, 0xfe
	mov cr0, eax			; real mode; CS: base CODE_GPA, limit 4 GiB
	int 0x20			; to 0000:1000+handler: base 0, flat
	hlt
handler:
	mov ax, [cs:0x1000]		; a CS read on the flat segment
	jmp 0x0100:after		; base 0x1000: not flat
after:
	mov bx, [cs:0]			; the same bytes through the other base
	hlt
	times 0x80 - ($ - $$) db 0xf4
	dw 0x1000 + handler, 0		; vector 0x20: 0000:1000+handler
