; SPDX-License-Identifier: MIT
;
; user-rom: privilege changes in long mode. Sets up a TSS (RSP0) and an IDT,
; IRETQs to ring 3 (IOPL 0: ring 3 prints through INT 0x80), and from there
;   - INT 0x80 through a DPL-3 interrupt gate: the handler checks it runs at
;     CPL 0 on the TSS stack (SS = null selector, RSP = RSP0 - 40) and that the
;     frame holds the ring-3 RIP/CS/RFLAGS/RSP/SS; IRETQ back to ring 3;
;   - a privileged instruction (mov rax, cr0) at CPL 3: #GP(0) delivered on
;     the TSS stack through a DPL-0 gate, resumed after the instruction;
;   - INT 0x80 again to finish.
; Expected: tests/guest/user.out, exit status 3. A wrong value shows up in the
; output; an unexpected exception prints its frame and exits with status 33.

%include "rom.inc"
%include "idt64.inc"

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	PRINT "x86v user: long mode, ring 0", 10
	call idt_init64
	mov edi, 0x80
	mov esi, int80
	mov dl, 0xEE                    ; interrupt gate, DPL 3
	call idt_set64

	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov qword [TSS_ADDR + 4], STACK0_TOP
	mov word [TSS_ADDR + 0x66], 0x68 ; I/O bitmap beyond the limit: none
	mov ax, SEL_TSS
	ltr ax

	push SEL_UDATA | 3              ; SS
	push USTACK_TOP                 ; RSP
	push 0x2                        ; RFLAGS: IOPL 0, IF 0
	push SEL_UCODE64 | 3            ; CS
	push user_entry                 ; RIP
	iretq

; ---- ring 3 ----
; Ring 3 has IOPL 0, so it prints through INT 0x80 (EAX = 0: the string at
; RSI; EAX = 3: its own CS and SS in RBX and RCX).
user_entry:
	mov bx, cs
	mov cx, ss
	mov eax, 3
	int 0x80
	push 0x2                        ; known RFLAGS in the INT frame
	popfq
	mov eax, 1
	int 0x80
int80_ret1:
	mov esi, msg_back
	xor eax, eax
	int 0x80
gp_site:
	mov rax, cr0                    ; privileged: #GP(0)
gp_resume:
	push 0x2
	popfq
	mov eax, 2
	int 0x80
int80_ret2:
	ud2                             ; the second INT 0x80 must not return
msg_back:
	db "x86v user: back in ring 3", 10, 0

; ---- ring 0: INT 0x80 ----
int80:
	mov [VARS_ADDR], rsp            ; RSP on entry, before we push anything
	cmp eax, 0
	jne .not_print
	call puts64
	iretq
.not_print:
	cmp eax, 3
	jne .check
	PRINT "x86v user: ring 3 cs="
	PRINTHEX rbx, 4
	PRINT " ss="
	PRINTHEX rcx, 4
	PRINT 10
	iretq
.check:
	PRINT "x86v user: int 0x80 eax="
	PRINTHEX rax, 1
	PRINT " cs="
	push rax
	mov ax, cs
	PRINTHEX rax, 4
	PRINT " ss="
	mov ax, ss
	PRINTHEX rax, 4
	pop rax
	PRINT " rsp="
	PRINTHEX [VARS_ADDR], 16
	PRINT 10

	mov rbx, [VARS_ADDR]
	PRINT "x86v user: frame rip "
	mov rcx, int80_ret1
	cmp eax, 1
	je .expect
	mov rcx, int80_ret2
.expect:
	cmp [rbx], rcx
	jne .badrip
	PRINT "ok"
	jmp .cs
.badrip:
	PRINT "="
	PRINTHEX [rbx], 16
.cs:	PRINT " cs="
	PRINTHEX [rbx + 8], 4
	PRINT " rflags="
	PRINTHEX [rbx + 16], 16
	PRINT " rsp="
	PRINTHEX [rbx + 24], 16
	PRINT " ss="
	PRINTHEX [rbx + 32], 4
	PRINT 10
	cmp eax, 1
	jne .done
	iretq
.done:	PRINT "x86v user: done", 10
	EXIT EXIT_OK

; ---- ring 0: exceptions ----
exc_handler:
	cmp qword [rbp], 13
	jne exc_unexpected64
	cmp qword [rbp + 24], SEL_UCODE64 | 3
	jne exc_unexpected64
	PRINT "x86v user: #GP from ring 3 err="
	PRINTHEX [rbp + 8], 4
	PRINT " rsp="
	lea rax, [rbp + 8]              ; RSP at the stub: the CPU pushed up to the error code
	PRINTHEX rax, 16
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
