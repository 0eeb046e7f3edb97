; SPDX-License-Identifier: MIT
;
; paging32-rom: 32-bit paging (CR4.PSE, no PAE) in 32-bit protected mode.
;   - a 4 KiB page and a 4 MiB page translate to the right frames; the A bit
;     is set in the PDE and PTE (4 MiB: the PDE) by a read, D by a write;
;   - #PF error codes and CR2: read/write of a not-present PTE and PDE, an
;     instruction fetch from a not-present page (no I/D bit without PAE+NXE);
;   - a supervisor write to a read-only page succeeds with CR0.WP = 0 (and
;     sets D), faults with WP = 1 (err 3);
;   - from ring 3: a read of a supervisor page (err 5), a write to a read-only
;     user page (err 7), a read of a not-present page (err 4), a read of a
;     user page (no fault);
;   - TLB: a changed PTE is used after INVLPG, after a CR3 write (non-global
;     page), and for a global page (CR4.PGE, G) after CR4.PGE is toggled.
; Expected: tests/guest/paging32.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

PD              equ 0x20000
PT0             equ 0x21000        ; identity map of 0..4 MiB
PT1             equ 0x22000        ; 0x400000..0x7FFFFF: the test pages
P0              equ 0x100000       ; test frames
P1              equ 0x101000
P2              equ 0x102000
LIN             equ 0x400000       ; linear page n = LIN + n * 0x1000

exc_handler     equ catch_exc32

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v paging32: 32-bit paging", 10
	call idt_init32
	mov edi, 0x81
	mov esi, user_done
	mov dl, 0xEE                    ; DPL 3: ring 3 ends its part with INT 0x81
	call idt_set32
	call tss_init

	; page tables
	mov edi, PD
	xor eax, eax
	mov ecx, 3 * 4096 / 4
	rep stosd
	mov dword [PD], PT0 | 7
	mov dword [PD + 4], PT1 | 7
	mov dword [PD + 8], 0xC00000 | 0x87     ; 0x800000: 4 MiB page -> 0xC00000
	mov dword [PD + 12], 0xC00000 | 0x87    ; 0xC00000: identity, 4 MiB
	mov edi, PT0
	mov eax, 7
.pt0:	mov [edi], eax
	add eax, 0x1000
	add edi, 4
	cmp edi, PT0 + 4096
	jb .pt0
	mov dword [PT1 + 0 * 4], P0 | 3         ; supervisor, writable
	mov dword [PT1 + 1 * 4], P1 | 1         ; supervisor, read-only
	mov dword [PT1 + 2 * 4], P2 | 5         ; user, read-only
	mov dword [P0], 0x11111111
	mov dword [P1], 0x22222222
	mov dword [P2], 0x33333333
	mov dword [P0 + 0x10], 0xaaaa0000
	mov dword [P1 + 0x10], 0xaaaa0001
	mov dword [P2 + 0x10], 0xaaaa0002

	mov eax, cr4
	or eax, 1 << 4                  ; CR4.PSE
	mov cr4, eax
	mov eax, PD
	mov cr3, eax
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax

	; ---- 4 KiB page, A/D ----
	PRINT "4k read"
	mov eax, [LIN]
	CHECK " val=", eax, 8, 0x11111111
	CHECK " pde=", [PD + 4], 3, PT1 | 0x27
	CHECK " pte=", [PT1], 3, P0 | 0x23
	PRINT 10
	PRINT "4k write"
	mov dword [LIN + 4], 0x12345678
	CHECK " phys=", [P0 + 4], 8, 0x12345678
	CHECK " pte=", [PT1], 3, P0 | 0x63
	PRINT 10

	; ---- 4 MiB page, A/D ----
	mov dword [0xC01234], 0x44444444        ; through the identity 4 MiB page
	PRINT "4m read"
	mov eax, [0x801234]
	CHECK " val=", eax, 8, 0x44444444
	CHECK " pde=", [PD + 8], 3, 0xC000A7
	PRINT 10
	PRINT "4m write"
	mov dword [0x801238], 0x55555555
	CHECK " val=", [0xC01238], 8, 0x55555555
	CHECK " pde=", [PD + 8], 3, 0xC000E7
	PRINT 10

	; ---- not present ----
	PRINT "np pte read"
	TRY .np1
	mov eax, [LIN + 0x5000]
.np1:	CAUGHT_CR2 14, 0, LIN + 0x5000
	PRINT 10
	PRINT "np pte write"
	TRY .np2
	mov dword [LIN + 0x5ffc], 1
.np2:	CAUGHT_CR2 14, 2, LIN + 0x5ffc
	PRINT 10
	PRINT "np pde read"
	TRY .np3
	mov al, [0x1000010]
.np3:	CAUGHT_CR2 14, 0, 0x1000010
	PRINT 10
	PRINT "np fetch"
	TRY .np4
	mov eax, LIN + 0x6000
	call eax
.np4:	CAUGHT_CR2 14, 0, LIN + 0x6000
	CHECK " eip=", [EXC_IP], 8, LIN + 0x6000
	PRINT 10

	; ---- read-only page, CR0.WP ----
	PRINT "ro write wp=0"
	TRY .ro1
	mov dword [LIN + 0x1000], 0x66666666
.ro1:	NOEXC
	CHECK " phys=", [P1], 8, 0x66666666
	CHECK " pte=", [PT1 + 4], 3, P1 | 0x61
	PRINT 10
	mov eax, cr0
	or eax, 1 << 16                 ; CR0.WP
	mov cr0, eax
	PRINT "ro write wp=1"
	TRY .ro2
	mov dword [LIN + 0x1000], 0x77777777
.ro2:	CAUGHT_CR2 14, 3, LIN + 0x1000
	CHECK " phys=", [P1], 8, 0x66666666
	PRINT 10

	; ---- ring 3 ----
	PRINT "user read supervisor"
	mov ebx, LIN
	call run_user_read
	CAUGHT_CR2 14, 5, LIN
	PRINT 10
	PRINT "user write read-only"
	mov ebx, LIN + 0x2000
	call run_user_write
	CAUGHT_CR2 14, 7, LIN + 0x2000
	CHECK " phys=", [P2], 8, 0x33333333
	PRINT 10
	PRINT "user read not-present"
	mov ebx, LIN + 0x5000
	call run_user_read
	CAUGHT_CR2 14, 4, LIN + 0x5000
	PRINT 10
	PRINT "user read user"
	mov ebx, LIN + 0x2000
	call run_user_read
	CHECK " vec=", [EXC_VEC], 2, 0x81
	CHECK " val=", [VARS_ADDR + 0x908], 8, 0x33333333
	PRINT 10

	; ---- TLB ----
	mov eax, [LIN + 0x10]           ; make sure the old mapping is cached
	mov dword [PT1], P1 | 3
	invlpg [LIN]
	PRINT "tlb invlpg"
	CHECK " val=", [LIN + 0x10], 8, 0xaaaa0001
	PRINT 10
	mov dword [PT1], P2 | 3
	mov eax, cr3
	mov cr3, eax
	PRINT "tlb cr3"
	CHECK " val=", [LIN + 0x10], 8, 0xaaaa0002
	PRINT 10
	mov eax, cr4
	or eax, 1 << 7                  ; CR4.PGE
	mov cr4, eax
	mov dword [PT1], P0 | 0x103     ; global
	invlpg [LIN]
	PRINT "tlb global"
	CHECK " val=", [LIN + 0x10], 8, 0xaaaa0000
	mov dword [PT1], P1 | 0x103
	mov eax, cr4
	and eax, ~(1 << 7)
	mov cr4, eax
	or eax, 1 << 7
	mov cr4, eax
	CHECK " pge-toggle val=", [LIN + 0x10], 8, 0xaaaa0001
	PRINT 10

	FINISH

; Ring-3 excursions: read or write [EBX] at CPL 3, then INT 0x81 back; an
; exception ends the excursion instead. Both land at the TRY point in ring 0.
run_user_read:
	pop dword [VARS_ADDR + 0x900]   ; return address
	TRY .back
	push SEL_UDATA | 3
	push USTACK_TOP
	push 0x2
	push SEL_UCODE32 | 3
	push .user
	iretd
.user:	mov eax, [ss:ebx]
	int 0x81
.back:	jmp [VARS_ADDR + 0x900]

run_user_write:
	pop dword [VARS_ADDR + 0x900]
	TRY .back
	push SEL_UDATA | 3
	push USTACK_TOP
	push 0x2
	push SEL_UCODE32 | 3
	push .user
	iretd
.user:	mov dword [ss:ebx], 0x88888888
	int 0x81
.back:	jmp [VARS_ADDR + 0x900]

; INT 0x81 from ring 3: record it like an exception, keep EAX.
user_done:
	push 0
	push 0x81
	pushad
	lea ebp, [esp + 8 * 4]
	mov [ss:VARS_ADDR + 0x908], eax
	call catch_exc32

tss_init:
	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov dword [TSS_ADDR + 4], STACK0_TOP
	mov dword [TSS_ADDR + 8], SEL_DATA
	mov word [TSS_ADDR + 0x66], 0x68
	mov ax, SEL_TSS
	ltr ax
	ret

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
