; SPDX-License-Identifier: MIT
;
; exceptions-rom: exact exception delivery in long mode at CPL 0. Each case
; raises one exception whose handler prints the vector, the error code (and
; CR2 for #PF), and checks the frame: RIP (the faulting instruction), CS,
; SS and the interrupted RSP;
; then it resumes after the case.
;   #DE  div by zero                     #UD  ud2
;   #GP  mov ds, selector beyond the GDT limit
;   #GP  non-canonical load              #PF  write, not present (PDPT entry 3)
;   #PF  read, not present (PML4 slot 0, PDPT entry 256)
;   #PF  write to a read-only page with CR0.WP = 1
; Expected: tests/guest/exceptions.out, exit status 3. An exception other than
; the one a case expects prints its frame and exits with status 33.
; (Software interrupts are in swint-rom: kvm_pvm hosts cannot run them.)

%include "rom.inc"
%include "idt64.inc"

EXPECT_VEC      equ VARS_ADDR          ; vector the current case raises
EXPECT_RIP      equ VARS_ADDR + 8      ; RIP the frame must hold
EXPECT_RSP      equ VARS_ADDR + 16     ; RSP the frame must hold
RESUME_RIP      equ VARS_ADDR + 24     ; where the handler continues

; CASE vector, rip-label, resume-label -- arm the handler for one case
%macro CASE 3
	mov qword [EXPECT_VEC], %1
	mov rax, %2
	mov [EXPECT_RIP], rax
	mov [EXPECT_RSP], rsp
	mov rax, %3
	mov [RESUME_RIP], rax
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	PRINT "x86v exceptions: long mode", 10
	call idt_init64

	CASE 0, .de, .de_done
	xor edx, edx
	xor ecx, ecx
	mov eax, 1
.de:	div ecx
.de_done:
	CASE 6, .ud, .ud_done
.ud:	ud2
.ud_done:
	CASE 13, .gp1, .gp1_done
	mov ax, 0x100                   ; index 0x20: beyond the GDT limit
.gp1:	mov ds, ax
.gp1_done:
	CASE 13, .gp2, .gp2_done
	mov rbx, 0x8000000000000000
.gp2:	mov eax, [rbx]
.gp2_done:
	CASE 14, .pf1, .pf1_done
	mov ebx, 0xdeadb000
.pf1:	mov dword [rbx], 1
.pf1_done:
	CASE 14, .pf2, .pf2_done
	mov rbx, 0x4000000000
.pf2:	mov eax, [rbx]
.pf2_done:
	mov rax, cr0
	or eax, 1 << 16                 ; CR0.WP: supervisor writes honour R/W
	mov cr0, rax
	and qword [PT_ADDR + 0x2000 + 8], ~2   ; 2 MiB page at 0x200000 read-only
	invlpg [0x200000]
	CASE 14, .pf3, .pf3_done
	mov ebx, 0x200010
.pf3:	mov byte [rbx], 1
.pf3_done:
	PRINT "x86v exceptions: done", 10
	EXIT EXIT_OK

exc_handler:
	mov rax, [rbp]
	cmp rax, [EXPECT_VEC]
	jne exc_unexpected64
	PRINT "#"
	lea rsi, [exc_names + rax * 2]
	PRINT_CHARS 2
	mov rax, [rbp]
	cmp eax, 13
	jb .rip
	PRINT " err="
	PRINTHEX [rbp + 8], 4
	cmp eax, 14
	jne .rip
	PRINT " cr2="
	mov rax, cr2
	PRINTHEX rax, 16
.rip:	PRINT " rip"
	mov rax, [rbp + 16]
	cmp rax, [EXPECT_RIP]
	je .rip_ok
	PRINT "="
	PRINTHEX rax, 16
	jmp .cs
.rip_ok:
	PRINT " ok"
.cs:	cmp qword [rbp + 24], SEL_CODE64
	je .ss
	PRINT " cs="
	PRINTHEX [rbp + 24], 4
.ss:	cmp qword [rbp + 48], SEL_DATA
	je .rsp
	PRINT " ss="
	PRINTHEX [rbp + 48], 4
.rsp:	mov rax, [rbp + 40]
	cmp rax, [EXPECT_RSP]
	je .end
	PRINT " rsp="
	PRINTHEX rax, 16
.end:	PRINT 10
	mov rax, [RESUME_RIP]
	mov [rbp + 16], rax
	ret

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64

exc_names:
	db "DEDBNMBPOFBRUDNMDFMOTSNPSSGPPF"

	ROM_END
