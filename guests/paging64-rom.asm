; SPDX-License-Identifier: MIT
;
; paging64-rom: 4-level paging in 64-bit mode. A separate PML4 slot (3) holds
; the test hierarchy, so its entries start with A = D = 0:
;   - 4 KiB and 2 MiB pages translate; A is set at every level by a read
;     (PML4E, PDPTE, PDE, PTE), D on the leaf only by a write;
;   - #PF error codes and CR2: not-present PML4E (read 0, write 2, ADD and INC
;     to memory 2: a read-modify-write faults as a write), reserved
;     bit 51 in a PTE (read 9, write 0xb), PS in a PML4E (9), NX in a PTE and in a PDE (fetch 0x11), fetch from a
;     not-present page (0x10); CR0.WP = 0 vs 1 on a read-only page (err 3);
;   - TLB: a changed PTE is used after INVLPG, after a CR3 write, for a global
;     page after CR4.PGE is toggled; INVLPG of another piece of a 2 MiB page;
;   With PAGING_PROT defined (pagingprot-rom.asm) also: SMEP, a supervisor
;   fetch from a user page faults (0x11); SMAP, a supervisor read of a user
;   page faults (1) unless EFLAGS.AC is set (STAC), and again after CLAC;
;   protection keys, key 1 on the user page: PKRU.AD1 makes a read fault
;   (0x21), PKRU.WD1 a write with CR0.WP (0x23) but not a read. The identity
;   map is supervisor-only for that.
;   With PAGING_1G defined (paging1g-rom.asm) also 1 GiB pages: translation,
;   A/D in the PDPTE, reserved bit 13 in a 1 GiB PDPTE (9).
; Expected: tests/guest/paging64.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"

PML4            equ 0x20000
PDPT0           equ 0x21000        ; PML4[0]: 1 GiB identity map with 2 MiB pages
PD0             equ 0x22000
PDPT_T          equ 0x23000        ; PML4[3]: the test hierarchy
PD_T            equ 0x24000
PT_T            equ 0x25000
PT_X            equ 0x26000        ; under an NX PDE
LIN             equ 0x18000000000  ; PML4 slot 3
P0              equ 0x100000
P1              equ 0x101000
P2              equ 0x102000
P3              equ 0x103000

exc_handler     equ catch_exc64

%macro ENTRY 3                     ; table, index, value
	mov rax, %3
	mov [%1 + (%2) * 8], rax
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov dword [FAILS], 0
	mov qword [RESUME], 0
%ifdef PAGING_1G
	PRINT "x86v paging1g: 4-level paging with 1 GiB pages", 10
%elifdef PAGING_PROT
	PRINT "x86v pagingprot: 4-level paging with SMEP, SMAP and protection keys", 10
%else
	PRINT "x86v paging64: 4-level paging", 10
%endif
	call idt_init64

	mov edi, PML4
	xor eax, eax
	mov ecx, 7 * 4096 / 4
	rep stosd
	ENTRY PML4, 0, PDPT0 | 7
	ENTRY PML4, 2, PDPT_T | 7 | 0x80          ; PS in a PML4E: reserved
	ENTRY PML4, 3, PDPT_T | 7
	ENTRY PDPT0, 0, PD0 | 7
	mov edi, PD0
	mov eax, 0x83                   ; supervisor pages: SMEP/SMAP leave them alone
.pd0:	mov [rdi], eax
	add eax, 0x200000
	add edi, 8
	cmp edi, PD0 + 4096
	jb .pd0
	ENTRY PDPT_T, 0, PD_T | 7
	ENTRY PDPT_T, 1, 0x87                     ; 1 GiB page -> 0
	ENTRY PDPT_T, 2, 0x87 | (1 << 13)         ; 1 GiB page, reserved bit 13
	ENTRY PD_T, 0, PT_T | 7
	ENTRY PD_T, 1, 0xC00000 | 0x87            ; 2 MiB page -> 0xC00000
	ENTRY PD_T, 2, PT_X | 7 | (1 << 63)       ; NX in the PDE
	ENTRY PT_T, 0, P0 | 3
	ENTRY PT_T, 1, P1 | 1                     ; read-only
	ENTRY PT_T, 2, P2 | 3 | (1 << 51)         ; reserved bit 51
	ENTRY PT_T, 3, P3 | 3 | (1 << 63)         ; NX
	ENTRY PT_X, 0, P3 | 3
	ENTRY PT_T, 4, P3 | 7                     ; a user page
	mov dword [P0], 0x11111111
	mov dword [P1], 0x22222222
	mov byte [P3], 0xC3                       ; ret
	mov dword [P0 + 0x10], 0xaaaa0000
	mov dword [P1 + 0x10], 0xaaaa0001
	mov dword [P2 + 0x10], 0xaaaa0002
	mov dword [0xC00010], 0xbbbb000c
	mov dword [0xE00010], 0xbbbb000e
	mov dword [0x345678], 0xcccc0001

	mov ecx, 0xC0000080             ; EFER.NXE
	rdmsr
	or eax, 1 << 11
	wrmsr
	mov eax, PML4
	mov cr3, rax
	mov rbx, LIN

	PRINT "4k read"
	CHECK " val=", [rbx], 8, 0x11111111
	CHECK " pml4e=", [PML4 + 3 * 8], 3, PDPT_T | 0x27
	CHECK " pdpte=", [PDPT_T], 3, PD_T | 0x27
	CHECK " pde=", [PD_T], 3, PT_T | 0x27
	CHECK " pte=", [PT_T], 3, P0 | 0x23
	PRINT 10
	PRINT "4k write"
	mov dword [rbx + 8], 0x12345678
	CHECK " phys=", [P0 + 8], 8, 0x12345678
	CHECK " pde=", [PD_T], 3, PT_T | 0x27
	CHECK " pte=", [PT_T], 3, P0 | 0x63
	PRINT 10
	PRINT "2m read"
	CHECK " val=", [rbx + 0x200010], 8, 0xbbbb000c
	CHECK " pde=", [PD_T + 8], 3, 0xC000A7
	PRINT 10
	PRINT "2m write"
	mov dword [rbx + 0x200014], 1
	CHECK " pde=", [PD_T + 8], 3, 0xC000E7
	PRINT 10
%ifdef PAGING_1G
	mov rcx, LIN + 0x40000000
	PRINT "1g read"
	CHECK " val=", [rcx + 0x345678], 8, 0xcccc0001
	CHECK " pdpte=", [PDPT_T + 8], 3, 0xA7
	PRINT 10
	PRINT "1g write"
	mov dword [rcx + 0x34567c], 0xcccc0002
	CHECK " phys=", [0x34567c], 8, 0xcccc0002
	CHECK " pdpte=", [PDPT_T + 8], 3, 0xE7
	PRINT 10

%endif
	PRINT "np pml4e read"
	mov rcx, 0x8000000000           ; PML4 slot 1
	TRY .np1
	mov eax, [rcx]
.np1:	CAUGHT_CR2 14, 0, 0x8000000000
	PRINT 10
	PRINT "np pml4e write"
	TRY .np2
	mov [rcx + 0x123], al
.np2:	CAUGHT_CR2 14, 2, 0x8000000123
	PRINT 10
	PRINT "np pml4e rmw"		; read-modify-writes fault as writes
	TRY .np3
	add [rcx + 0x124], al
.np3:	CAUGHT_CR2 14, 2, 0x8000000124
	TRY .np4
	inc dword [rcx + 0x128]
.np4:	CAUGHT_CR2 14, 2, 0x8000000128
	PRINT 10
	PRINT "rsvd pte read"
	TRY .r1
	mov eax, [rbx + 0x2010]
.r1:	CAUGHT_CR2 14, 9, LIN + 0x2010
	PRINT 10
	PRINT "rsvd pte write"
	TRY .r2
	mov [rbx + 0x2010], eax
.r2:	CAUGHT_CR2 14, 0xb, LIN + 0x2010
	PRINT 10
	PRINT "rsvd pml4e ps"
	mov rcx, 0x10000000000          ; PML4 slot 2
	TRY .r3
	mov eax, [rcx]
.r3:	CAUGHT_CR2 14, 9, 0x10000000000
	PRINT 10
%ifdef PAGING_1G
	PRINT "rsvd 1g"
	mov rcx, LIN + 0x80000000
	TRY .r4
	mov eax, [rcx]
.r4:	CAUGHT_CR2 14, 9, LIN + 0x80000000
	PRINT 10
%endif
	PRINT "nx pte fetch"
	lea rcx, [rbx + 0x3000]
	TRY .x1
	call rcx
.x1:	CAUGHT_CR2 14, 0x11, LIN + 0x3000
	CHECK " rip=", [EXC_IP], 16, LIN + 0x3000
	PRINT 10
	PRINT "nx pde fetch"
	lea rcx, [rbx + 0x400000]
	TRY .x2
	call rcx
.x2:	CAUGHT_CR2 14, 0x11, LIN + 0x400000
	PRINT 10
	PRINT "nx pde read"
	TRY .x3
	movzx eax, byte [rbx + 0x400000]
.x3:	NOEXC
	CHECK " val=", rax, 2, 0xc3
	PRINT 10
	PRINT "np fetch"
	lea rcx, [rbx + 0x5000]
	TRY .x4
	call rcx
.x4:	CAUGHT_CR2 14, 0x10, LIN + 0x5000
	PRINT 10

	PRINT "ro write wp=0"
	TRY .w1
	mov dword [rbx + 0x1000], 0x66666666
.w1:	NOEXC
	CHECK " phys=", [P1], 8, 0x66666666
	PRINT 10
	mov rax, cr0
	or eax, 1 << 16
	mov cr0, rax
	PRINT "ro write wp=1"
	TRY .w2
	mov dword [rbx + 0x1000], 0x77777777
.w2:	CAUGHT_CR2 14, 3, LIN + 0x1000
	PRINT 10

	mov eax, [rbx + 0x10]
	ENTRY PT_T, 0, P1 | 3
	invlpg [rbx]
	PRINT "tlb invlpg"
	CHECK " val=", [rbx + 0x10], 8, 0xaaaa0001
	PRINT 10
	ENTRY PT_T, 0, P2 | 3
	mov rax, cr3
	mov cr3, rax
	PRINT "tlb cr3"
	CHECK " val=", [rbx + 0x10], 8, 0xaaaa0002
	PRINT 10
	mov rax, cr4
	or eax, 1 << 7
	mov cr4, rax
	ENTRY PT_T, 0, P0 | 0x103
	invlpg [rbx]
	PRINT "tlb global"
	CHECK " val=", [rbx + 0x10], 8, 0xaaaa0000
	ENTRY PT_T, 0, P1 | 0x103
	mov rax, cr4
	and eax, ~(1 << 7)
	mov cr4, rax
	or eax, 1 << 7
	mov cr4, rax
	CHECK " pge-toggle val=", [rbx + 0x10], 8, 0xaaaa0001
	PRINT 10
	PRINT "tlb 2m invlpg"
	mov eax, [rbx + 0x200010]
	ENTRY PD_T, 1, 0xE00000 | 0x87
	invlpg [rbx + 0x3ff000]
	CHECK " val=", [rbx + 0x200010], 8, 0xbbbb000e
	PRINT 10

%ifdef PAGING_PROT
	PRINT "smep"
	mov rax, cr4
	or eax, 1 << 20
	mov cr4, rax
	TRY .smep_f
	call [rel user_page]
.smep_f:
	CAUGHT_CR2 14, 0x11, LIN + 0x4000
	mov rax, cr4
	and eax, ~(1 << 20)
	mov cr4, rax
	PRINT 10
	PRINT "smap"
	mov rax, cr4
	or eax, 1 << 21
	mov cr4, rax
	mov rcx, [rel user_page]
	TRY .smap_f
	mov eax, [rcx]
.smap_f:
	CAUGHT_CR2 14, 1, LIN + 0x4000
	stac
	TRY .smap_ok
	movzx eax, byte [rcx]
.smap_ok:
	NOEXC
	CHECK " ac val=", rax, 2, 0xc3
	clac
	TRY .smap_f2
	mov eax, [rcx]
.smap_f2:
	CAUGHT 14, 1
	mov rax, cr4
	and eax, ~(1 << 21)
	mov cr4, rax
	PRINT 10
	PRINT "pku"
	ENTRY PT_T, 4, P3 | 7 | (1 << 59)         ; the user page gets key 1
	invlpg [rcx]
	mov rax, cr4
	or eax, 1 << 22                           ; CR4.PKE
	mov cr4, rax
	xor ecx, ecx
	xor edx, edx
	mov eax, 1 << 2                           ; AD1
	wrpkru
	rdpkru
	CHECK " pkru=", rax, 8, 4
	mov rcx, [rel user_page]
	TRY .pk_ad
	movzx eax, byte [rcx]
.pk_ad:	CAUGHT_CR2 14, 0x21, LIN + 0x4000
	xor ecx, ecx
	mov eax, 1 << 3                           ; WD1
	wrpkru
	mov rcx, [rel user_page]
	TRY .pk_rd
	movzx eax, byte [rcx]
.pk_rd:	NOEXC
	TRY .pk_wd
	mov byte [rcx], 0xc3
.pk_wd:	CAUGHT_CR2 14, 0x23, LIN + 0x4000
	xor ecx, ecx
	xor eax, eax
	wrpkru
	mov rcx, [rel user_page]
	TRY .pk_ok
	mov byte [rcx], 0xc3
.pk_ok:	NOEXC
	mov rax, cr4
	and eax, ~(1 << 22)
	mov cr4, rax
	PRINT 10
%endif

	FINISH

user_page:
	dq LIN + 0x4000

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64
	CHECK_ROUTINES64

	ROM_END
