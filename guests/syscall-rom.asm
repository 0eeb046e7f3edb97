; SPDX-License-Identifier: MIT
;
; syscall-rom: the 64-bit system-call path Linux uses. Enables EFER.SCE, sets
; STAR/LSTAR/FMASK, enters ring 3 with SYSRETQ and comes back with SYSCALL:
;   - SYSCALL loads CS/SS from STAR (0x10/0x18), saves RIP in RCX and RFLAGS
;     in R11, clears the FMASK bits (DF here) and does not switch stacks;
;   - SYSRETQ returns to RCX with RFLAGS = R11 and CS/SS = 0x33/0x2b;
;   - a privileged instruction at CPL 3 raises #GP(0) on the TSS stack (RSP0).
; Ring 3 has IOPL 0 and prints through SYSCALL (RAX = 0: string at RSI;
; RAX = 3: its CS/SS in RBX/RDX; RAX = 1: check registers; RAX = 2: finish).
; Expected: tests/guest/syscall.out, exit status 3; an unexpected exception
; prints its frame and exits with status 33.

%include "rom.inc"
%include "idt64.inc"

MSR_EFER        equ 0xC0000080
MSR_STAR        equ 0xC0000081
MSR_LSTAR       equ 0xC0000082
MSR_FMASK       equ 0xC0000084
USER_RSP        equ VARS_ADDR           ; ring-3 RSP saved at SYSCALL

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	PRINT "x86v syscall: long mode, ring 0", 10
	call idt_init64
	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov qword [TSS_ADDR + 4], STACK0_TOP
	mov word [TSS_ADDR + 0x66], 0x68
	mov ax, SEL_TSS
	ltr ax

	mov ecx, MSR_EFER
	rdmsr
	or eax, 1                       ; EFER.SCE
	wrmsr
	mov ecx, MSR_STAR
	xor eax, eax
	mov edx, (SEL_UCODE32 << 16) | SEL_CODE64
	wrmsr
	mov ecx, MSR_LSTAR
	mov eax, syscall_entry
	xor edx, edx
	wrmsr
	mov ecx, MSR_FMASK
	mov eax, 0x4700                 ; clear NT, DF, IF, TF on entry
	wrmsr

	mov rsp, USTACK_TOP             ; SYSRET does not switch stacks either
	mov ecx, user_entry
	mov r11d, 0x2                   ; RFLAGS in ring 3: IOPL 0, IF 0
	o64 sysret

; ---- ring 3 ----
user_entry:
	mov bx, cs
	mov dx, ss
	mov eax, 3
	syscall
	push 0x402                      ; DF set: the kernel must see it cleared
	popfq
	mov eax, 1
	syscall
syscall_ret1:
	cld
	mov esi, msg_back
	xor eax, eax
	syscall
gp_site:
	mov rax, cr0                    ; privileged: #GP(0)
gp_resume:
	mov eax, 2
	syscall
	ud2                             ; the last SYSCALL must not return
msg_back:
	db "x86v syscall: back in ring 3", 10, 0

; ---- ring 0: SYSCALL ----
syscall_entry:
	mov [USER_RSP], rsp
	mov rsp, STACK0_TOP
	push rcx
	push r11
	cmp eax, 0
	jne .not_print
	call puts64
	jmp .return
.not_print:
	cmp eax, 3
	jne .not_id
	PRINT "x86v syscall: ring 3 cs="
	PRINTHEX rbx, 4
	PRINT " ss="
	PRINTHEX rdx, 4
	PRINT 10
	jmp .return
.not_id:
	cmp eax, 2
	je .done
	PRINT "x86v syscall: cs="
	push rax
	mov ax, cs
	PRINTHEX rax, 4
	PRINT " ss="
	mov ax, ss
	PRINTHEX rax, 4
	pop rax
	PRINT " rcx "
	mov rax, syscall_ret1
	cmp rcx, rax
	jne .badrcx
	PRINT "ok"
	jmp .flags
.badrcx:
	PRINT "="
	PRINTHEX rcx, 16
.flags:	PRINT " r11="
	PRINTHEX r11, 16
	PRINT " fmask-bits="                ; what FMASK must have cleared
	pushfq
	pop rax
	and eax, 0x4700
	PRINTHEX rax, 4
	PRINT " rsp="
	PRINTHEX [USER_RSP], 16
	PRINT 10
.return:
	pop r11
	pop rcx
	mov rsp, [USER_RSP]
	o64 sysret
.done:	PRINT "x86v syscall: done", 10
	EXIT EXIT_OK

; ---- ring 0: exceptions ----
exc_handler:
	cmp qword [rbp], 13
	jne exc_unexpected64
	cmp qword [rbp + 24], SEL_UCODE64 | 3
	jne exc_unexpected64
	PRINT "x86v syscall: #GP from ring 3 err="
	PRINTHEX [rbp + 8], 4
	PRINT " rsp="
	lea rax, [rbp + 8]
	PRINTHEX rax, 16
	PRINT " ss="
	PRINTHEX [rbp + 48], 4
	PRINT " rip "
	mov rax, gp_site
	cmp [rbp + 16], rax
	jne .bad
	PRINT "ok", 10
	mov qword [rbp + 16], gp_resume
	ret
.bad:	PRINT "= "
	PRINTHEX [rbp + 16], 16
	PRINT 10
	EXIT EXIT_FAIL + 2

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64

	ROM_END
