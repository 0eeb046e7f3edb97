; Fuzz seed (tests/fuzz/fuzz_soft.c): a TLB entry the guest left stale. A
; read caches the 2 MiB page at 0x200000; the next block clears that page's
; present bit in the page directory, without INVLPG, and adds to the page:
; the read part hits the stale entry, the write part walks and faults
; (#PF with W set). The lockstep checker must run the interpreter from the
; TLB the translated run started from (it dropped the whole TLB between
; the runs, and the interpreter's read then faulted, W clear). The first
; byte picks the mode (4: 64-bit, translated); the fuzz target's page
; directory is at 0x12000.
	section mode start=0
	db 4
	section code start=1 vstart=0x100000
bits 64
	mov al, [0x200000]		; the page's entry: read, not dirty
	jmp next			; a block of its own
next:
	and byte [0x12000 + 8], 0xfe	; PDE 1 not present, no INVLPG
	add [0x200000], al		; stale read entry, then a write walk: #PF
	hlt
