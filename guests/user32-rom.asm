; SPDX-License-Identifier: MIT
;
; user32-rom: privilege changes in 32-bit protected mode (no paging). Sets up
; a 32-bit TSS (SS0:ESP0) and an IDT, IRETs to ring 3 (IOPL 0: ring 3 prints
; through INT 0x80), and from there
;   - INT 0x80 through a DPL-3 interrupt gate: the handler checks it runs at
;     CPL 0 on the TSS stack (SS = SS0, ESP = ESP0 - 20) and that the frame
;     holds the ring-3 EIP/CS/EFLAGS/ESP/SS; IRET back to ring 3;
;   - a privileged instruction (mov eax, cr0) at CPL 3: #GP(0) on the TSS
;     stack through a DPL-0 gate, resumed after the instruction;
;   - INT 0x80 again to finish.
; IRET to ring 3 nulls DS/ES (their DPL 0 < CPL 3), so ring 3 loads its own.
; Expected: tests/guest/user32.out, exit status 3; an unexpected exception
; prints its frame and exits with status 33.

%include "rom.inc"
%include "idt32.inc"

entry16:
	REAL_INIT
	ENTER_PM
	PRINT "x86v user32: protected mode, ring 0", 10
	call idt_init32
	mov edi, 0x80
	mov esi, int80
	mov dl, 0xEE                    ; 32-bit interrupt gate, DPL 3
	call idt_set32

	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov dword [TSS_ADDR + 4], STACK0_TOP    ; ESP0
	mov dword [TSS_ADDR + 8], SEL_DATA      ; SS0
	mov word [TSS_ADDR + 0x66], 0x68        ; no I/O bitmap
	mov ax, SEL_TSS
	ltr ax

	push SEL_UDATA | 3              ; SS
	push USTACK_TOP                 ; ESP
	push 0x2                        ; EFLAGS: IOPL 0, IF 0
	push SEL_UCODE32 | 3            ; CS
	push user_entry                 ; EIP
	iretd

; ---- ring 3 ----
; Ring 3 has IOPL 0, so it prints through INT 0x80 (EAX = 0: the string at
; ESI; EAX = 3: its own CS and SS in EBX and ECX).
user_entry:
	mov ax, SEL_UDATA | 3
	mov ds, ax
	mov es, ax
	mov bx, cs
	mov cx, ss
	mov eax, 3
	int 0x80
	push 0x2                        ; known EFLAGS in the INT frame
	popfd
	mov eax, 1
	int 0x80
int80_ret1:
	mov esi, msg_back
	xor eax, eax
	int 0x80
gp_site:
	mov eax, cr0                    ; privileged: #GP(0)
gp_resume:
	push 0x2
	popfd
	mov eax, 2
	int 0x80
int80_ret2:
	ud2                             ; the second INT 0x80 must not return
msg_back:
	db "x86v user32: back in ring 3", 10, 0

; ---- ring 0: INT 0x80 ----
int80:
	mov [ss:VARS_ADDR], esp         ; ESP on entry (DS is the ring-3 selector; flat anyway)
	cmp eax, 0
	jne .not_print
	call puts32
	iretd
.not_print:
	cmp eax, 3
	jne .check
	PRINT "x86v user32: ring 3 cs="
	PRINTHEX ebx, 4
	PRINT " ss="
	PRINTHEX ecx, 4
	PRINT 10
	iretd
.check:
	PRINT "x86v user32: int 0x80 eax="
	PRINTHEX eax, 1
	PRINT " cs="
	push eax
	mov ax, cs
	PRINTHEX eax, 4
	PRINT " ss="
	mov ax, ss
	PRINTHEX eax, 4
	pop eax
	PRINT " esp="
	PRINTHEX [VARS_ADDR], 8
	PRINT 10

	mov ebx, [VARS_ADDR]
	PRINT "x86v user32: frame eip "
	mov ecx, int80_ret1
	cmp eax, 1
	je .expect
	mov ecx, int80_ret2
.expect:
	cmp [ebx], ecx
	jne .badeip
	PRINT "ok"
	jmp .cs
.badeip:
	PRINT "="
	PRINTHEX [ebx], 8
.cs:	PRINT " cs="
	PRINTHEX [ebx + 4], 4
	PRINT " eflags="
	PRINTHEX [ebx + 8], 8
	PRINT " esp="
	PRINTHEX [ebx + 12], 8
	PRINT " ss="
	PRINTHEX [ebx + 16], 4
	PRINT 10
	cmp eax, 1
	jne .done
	iretd
.done:	PRINT "x86v user32: done", 10
	EXIT EXIT_OK

; ---- ring 0: exceptions ----
exc_handler:
	cmp dword [ebp], 13
	jne exc_unexpected32
	cmp dword [ebp + 12], SEL_UCODE32 | 3
	jne exc_unexpected32
	PRINT "x86v user32: #GP from ring 3 err="
	PRINTHEX [ebp + 4], 4
	PRINT " esp="
	lea eax, [ebp + 4]
	PRINTHEX eax, 8
	PRINT " eip "
	cmp dword [ebp + 8], gp_site
	jne .bad
	PRINT "ok", 10
	mov dword [ebp + 8], gp_resume
	ret
.bad:	PRINT "= "
	PRINTHEX [ebp + 8], 8
	PRINT 10
	EXIT EXIT_FAIL + 2

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32

	ROM_END
