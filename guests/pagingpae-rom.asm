; SPDX-License-Identifier: MIT
;
; pagingpae-rom: PAE paging in 32-bit protected mode.
;   - 4 KiB and 2 MiB pages translate; A set in PDE/PTE by a read, D on the
;     leaf by a write;
;   - reserved bits: bit 63 of a PTE with EFER.NXE = 0 (err 9), bit 13 of a
;     2 MiB PDE (read err 9, write err 0xb);
;   - EFER.NXE = 1: a fetch from an NX page (err 0x11, CR2, EIP), a read of
;     it works; a fetch from a not-present page (err 0x10); the PTE that had
;     bit 63 reserved is now a readable NX page;
;   - TLB: INVLPG of another 4 KiB piece of a 2 MiB page drops the whole page.
; Expected: tests/guest/pagingpae.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

PDPT            equ 0x20000
PD              equ 0x21000
PT0             equ 0x22000        ; identity map of 0..2 MiB
PT1             equ 0x23000        ; 0x400000..0x5FFFFF: the test pages
P0              equ 0x100000
P1              equ 0x101000
P2              equ 0x102000
LIN             equ 0x400000
BIG             equ 0x600000       ; 2 MiB page -> 0xC00000
BAD2M           equ 0xE00000       ; 2 MiB page with a reserved bit

exc_handler     equ catch_exc32

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v pagingpae: PAE paging", 10
	call idt_init32

	mov edi, PDPT
	xor eax, eax
	mov ecx, 4 * 4096 / 4
	rep stosd
	mov dword [PDPT], PD | 1
	mov dword [PD + 0 * 8], PT0 | 7
	mov dword [PD + 1 * 8], 0x200000 | 0x87         ; identity 2 MiB
	mov dword [PD + 2 * 8], PT1 | 7
	mov dword [PD + 3 * 8], 0xC00000 | 0x87         ; BIG -> 0xC00000
	mov dword [PD + 6 * 8], 0xC00000 | 0x87         ; identity 0xC00000
	mov dword [PD + 7 * 8], 0xE00000 | 0x87 | (1 << 13)  ; reserved bit 13
	mov dword [PD + 8 * 8], 0x1000000 | 0x87        ; identity 0x1000000
	mov edi, PT0
	mov eax, 7
.pt0:	mov [edi], eax
	add eax, 0x1000
	add edi, 8
	cmp edi, PT0 + 4096
	jb .pt0
	mov dword [PT1 + 0 * 8], P0 | 3
	mov dword [PT1 + 3 * 8], P1 | 3
	mov dword [PT1 + 3 * 8 + 4], 0x80000000         ; bit 63: reserved while NXE = 0
	mov dword [PT1 + 4 * 8], P2 | 3
	mov dword [PT1 + 4 * 8 + 4], 0x80000000         ; NX once NXE = 1
	mov dword [P0], 0x11111111
	mov dword [P1], 0x22222222
	mov byte [P2], 0xC3                             ; ret
	mov dword [0xC00010], 0xbbbb000c
	mov dword [0x1000010], 0xbbbb0010

	mov eax, cr4
	or eax, 1 << 5                  ; CR4.PAE
	mov cr4, eax
	mov eax, PDPT
	mov cr3, eax
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax

	PRINT "4k read"
	CHECK " val=", [LIN], 8, 0x11111111
	CHECK " pde=", [PD + 2 * 8], 3, PT1 | 0x27
	CHECK " pte=", [PT1], 3, P0 | 0x23
	PRINT 10
	PRINT "4k write"
	mov dword [LIN + 8], 0x12345678
	CHECK " phys=", [P0 + 8], 8, 0x12345678
	CHECK " pte=", [PT1], 3, P0 | 0x63
	PRINT 10
	PRINT "2m read"
	CHECK " val=", [BIG + 0x10], 8, 0xbbbb000c
	CHECK " pde=", [PD + 3 * 8], 3, 0xC000A7
	PRINT 10
	PRINT "2m write"
	mov dword [BIG + 0x1ffffc], 0x5a5a5a5a
	CHECK " phys=", [0xDFFFFC], 8, 0x5a5a5a5a
	CHECK " pde=", [PD + 3 * 8], 3, 0xC000E7
	PRINT 10

	PRINT "rsvd nx-bit read"
	TRY .r1
	mov eax, [LIN + 0x3000]
.r1:	CAUGHT_CR2 14, 9, LIN + 0x3000
	PRINT 10
	PRINT "rsvd 2m read"
	TRY .r2
	mov eax, [BAD2M + 4]
.r2:	CAUGHT_CR2 14, 9, BAD2M + 4
	PRINT 10
	PRINT "rsvd 2m write"
	TRY .r3
	mov dword [BAD2M + 8], 0
.r3:	CAUGHT_CR2 14, 0xb, BAD2M + 8
	PRINT 10

	mov ecx, 0xC0000080             ; EFER.NXE
	rdmsr
	or eax, 1 << 11
	wrmsr
	PRINT "nx fetch"
	TRY .x1
	mov eax, LIN + 0x4000
	call eax
.x1:	CAUGHT_CR2 14, 0x11, LIN + 0x4000
	CHECK " eip=", [EXC_IP], 8, LIN + 0x4000
	PRINT 10
	PRINT "nx read"
	TRY .x2
	movzx eax, byte [LIN + 0x4000]
.x2:	NOEXC
	CHECK " val=", eax, 2, 0xc3
	PRINT 10
	PRINT "np fetch"
	TRY .x3
	mov eax, LIN + 0x5000
	call eax
.x3:	CAUGHT_CR2 14, 0x10, LIN + 0x5000
	PRINT 10
	PRINT "nx-bit now valid"
	TRY .x4
	mov eax, [LIN + 0x3000]
.x4:	NOEXC
	CHECK " val=", eax, 8, 0x22222222
	PRINT 10

	PRINT "tlb 2m invlpg"
	mov eax, [BIG + 0x10]           ; cached
	mov dword [PD + 3 * 8], 0x1000000 | 0x87
	invlpg [BIG + 0x1ff000]         ; another 4 KiB piece of the same 2 MiB page
	CHECK " val=", [BIG + 0x10], 8, 0xbbbb0010
	PRINT 10

	FINISH

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
