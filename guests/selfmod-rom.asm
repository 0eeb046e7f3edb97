; SPDX-License-Identifier: MIT
;
; selfmod-rom: self- and cross-modifying code in 64-bit mode (SDM Vol. 3A
; §8.1.3). Code snippets are copied to RAM (the ROM copy may be read-only):
;   - other page: a snippet "mov eax, imm32; ret" runs (so it is decoded and
;     cached), code in another page patches the immediate, it runs again;
;   - same page: a snippet stores ECX into the immediate of an instruction
;     further on in its own page, jumps there and returns it; run twice with
;     different values (the second run's cached code held the first value);
;   - next instruction (only with SELFMOD_NEXT: selfnext-rom.asm): the same
;     without the jump: the store patches the instruction immediately after
;     it (the SDM guarantees this for stores to the same linear address);
;   - alias: two linear pages map the same frame; run through one, patch
;     through the other, run again (and the other way round).
; Expected: tests/guest/selfmod.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"

CODE            equ 0x200000       ; snippets copied here (identity, 2 MiB page)
PT              equ 0x20000        ; page table for 0x400000..0x5FFFFF
FRAME           equ 0x300000       ; the frame both alias pages map
V1              equ 0x400000
V2              equ 0x401000

exc_handler     equ catch_exc64

%define AT(l) (CODE + (l) - snippets)

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov dword [FAILS], 0
	mov qword [RESUME], 0
%ifdef SELFMOD_NEXT
	PRINT "x86v selfnext: 64-bit mode", 10
%else
	PRINT "x86v selfmod: 64-bit mode", 10
%endif
	call idt_init64
	mov esi, snippets
	mov edi, CODE
	mov ecx, snippets_end - snippets
	rep movsb

	PRINT "other page"
	mov ebx, AT(s_imm)
	call rbx
	CHECK " first=", rax, 8, 0x11111111
	call rbx
	mov dword [rbx + 1], 0x44444444
	call rbx
	CHECK " patched=", rax, 8, 0x44444444
	PRINT 10

	PRINT "same page"
	mov ebx, AT(s_self)
	mov ecx, 0x22222222
	call rbx
	CHECK " first=", rax, 8, 0x22222222
	mov ecx, 0x55555555
	call rbx
	CHECK " second=", rax, 8, 0x55555555
	PRINT 10

%ifdef SELFMOD_NEXT
	PRINT "next insn"
	mov ebx, AT(s_next)
	mov ecx, 0x33333333
	call rbx
	CHECK " first=", rax, 8, 0x33333333
	mov ecx, 0x77777777
	call rbx
	CHECK " second=", rax, 8, 0x77777777
	PRINT 10

%endif
	PRINT "loop"                    ; a store patches a loop body it is part of
	mov ebx, AT(s_loop)
	call rbx
	CHECK " count=", rax, 8, 3
	PRINT 10

	; alias: V1 and V2 -> FRAME (4 KiB pages)
	mov edi, PT
	xor eax, eax
	mov ecx, 4096 / 4
	rep stosd
	mov dword [PT], FRAME | 3
	mov dword [PT + 8], FRAME | 3
	mov dword [PT_ADDR + 0x2000 + 2 * 8], PT | 7
	mov dword [PT_ADDR + 0x2000 + 2 * 8 + 4], 0
	mov rax, cr3
	mov cr3, rax
	mov esi, s_imm
	mov edi, V1
	mov ecx, s_imm_end - s_imm
	rep movsb
	PRINT "alias"
	mov ebx, V2
	call rbx
	CHECK " v2=", rax, 8, 0x11111111
	mov dword [V1 + 1], 0x66666666
	call rbx
	CHECK " v2-after-v1-write=", rax, 8, 0x66666666
	mov ebx, V1
	call rbx
	CHECK " v1=", rax, 8, 0x66666666
	mov dword [V2 + 1], 0x99999999
	call rbx
	CHECK " v1-after-v2-write=", rax, 8, 0x99999999
	PRINT 10

	FINISH

; ---- copied to CODE ----
snippets:
s_imm:	mov eax, 0x11111111
	ret
s_imm_end:
	align 16
s_self:	mov [rel .imm], ecx
	jmp .go
	times 64 nop
.go:	db 0xB8                         ; mov eax, imm32
.imm:	dd 0x11111111
	ret
	align 16
s_next:	mov [rel .imm], ecx
	db 0xB8                         ; mov eax, imm32: the very next instruction
.imm:	dd 0x11111111
	ret
	align 16
; Runs its body until the body's own "mov al, imm8" yields 3: each pass
; patches the immediate to pass + 1 (0, 1, 2, 3).
s_loop:	xor ecx, ecx
	mov byte [rel .imm], 0
.body:	db 0xB0                         ; mov al, imm8
.imm:	db 0xEE
	inc ecx
	mov [rel .imm], cl
	cmp al, 3
	jne .body
	movzx eax, al
	ret
snippets_end:

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64
	CHECK_ROUTINES64

	ROM_END
