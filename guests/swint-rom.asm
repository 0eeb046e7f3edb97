; SPDX-License-Identifier: MIT
;
; swint-rom: software interrupts at CPL 0 in long mode. int3 (CC) and int 3
; (CD 03) raise #BP as a trap, int 0x40 goes through an interrupt gate; each
; handler checks the frame: RIP is the next instruction (after 1 or 2 bytes),
; CS, SS, the interrupted RSP, and RFLAGS as it was (IF clear).
; Expected: tests/guest/swint.out, exit status 3; an unexpected exception
; prints its frame and exits with status 33. (kvm_pvm hosts cannot run int3
; or INT n; tests/guest/swint.test skips kvm there.)

%include "rom.inc"
%include "idt64.inc"

EXPECT_VEC      equ VARS_ADDR
EXPECT_RIP      equ VARS_ADDR + 8
EXPECT_RSP      equ VARS_ADDR + 16

%macro CASE 2
	mov qword [EXPECT_VEC], %1
	mov rax, %2
	mov [EXPECT_RIP], rax
	mov [EXPECT_RSP], rsp
	push 0x46                       ; known RFLAGS (ZF PF) in the frame
	popfq
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	PRINT "x86v swint: long mode", 10
	call idt_init64
	mov edi, 0x40
	mov esi, vec40
	mov dl, 0x8E
	call idt_set64

	CASE 3, .after_cc
	int3
.after_cc:
	CASE 3, .after_cd03
	db 0xCD, 0x03                   ; int 3, the two-byte form
.after_cd03:
	CASE 0x40, .after_40
	int 0x40
.after_40:
	PRINT "x86v swint: done", 10
	EXIT EXIT_OK

vec40:	push 0
	push 0x40
	jmp exc_common64

exc_handler:
	mov rax, [rbp]
	cmp rax, [EXPECT_VEC]
	jne exc_unexpected64
	PRINT "vector "
	PRINTHEX rax, 2
	PRINT " rip"
	mov rax, [rbp + 16]
	cmp rax, [EXPECT_RIP]
	je .rip_ok
	PRINT "="
	PRINTHEX rax, 16
	jmp .cs
.rip_ok:
	PRINT " ok"
.cs:	PRINT " cs="
	PRINTHEX [rbp + 24], 4
	PRINT " rflags="
	PRINTHEX [rbp + 32], 8
	PRINT " ss="
	PRINTHEX [rbp + 48], 4
	mov rax, [rbp + 40]
	cmp rax, [EXPECT_RSP]
	je .end
	PRINT " rsp="
	PRINTHEX rax, 16
.end:	PRINT 10
	ret

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64

	ROM_END
