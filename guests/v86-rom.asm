; SPDX-License-Identifier: MIT
;
; v86-rom: virtual-8086 mode under a 32-bit monitor (no paging). The monitor
; sets up a TSS with an I/O permission bitmap (the UART and port 0xf4
; allowed, port 0x80 denied, ports from 0x400 beyond the TSS limit) and
; IRETs to V86 code (EFLAGS.VM, IOPL 3) at F000:xxxx. V86 code prints on the
; UART itself (the bitmap allows it), and:
;   IOPL 3: PUSHF shows IOPL 3; POPF cannot change IOPL; STI/CLI work;
;     IN from port 0x80 and from port 0x400 raise #GP(0) despite IOPL 3;
;     INT 0x30 goes through a DPL-3 32-bit interrupt gate: the handler checks
;     the V86 frame (EIP CS EFLAGS ESP SS ES DS FS GS) and that DS/ES/FS/GS
;     are null in the handler, then IRETs back; INT 0x31 asks the monitor to
;     drop IOPL to 0;
;   IOPL 0: CLI, STI, PUSHF, POPF, INT n, IRET raise #GP(0) (the monitor
;     skips them), IN from an allowed port still works; HLT (#GP) ends it.
; Expected: tests/guest/v86.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

IOPB_OFF        equ 0x68
TSS_LIMIT       equ IOPB_OFF + 0x80        ; bitmap for ports 0..0x3ff, one 0xff byte
V86_SP          equ 0x7000
SAVED_SEGS      equ VARS_ADDR + 0x900      ; DS ES FS GS seen on handler entry

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v v86: monitor in 32-bit protected mode", 10
	call idt_init32
	mov edi, 0x30
	mov esi, int30_stub
	mov dl, 0xEE
	call idt_set32
	mov edi, 0x31
	mov esi, int31_stub
	mov dl, 0xEE
	call idt_set32

	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, (TSS_LIMIT + 4) / 4
	rep stosd
	mov dword [TSS_ADDR + 4], STACK0_TOP
	mov dword [TSS_ADDR + 8], SEL_DATA
	mov word [TSS_ADDR + 0x66], IOPB_OFF
	or byte [TSS_ADDR + IOPB_OFF + 0x80 / 8], 1   ; port 0x80 denied
	mov byte [TSS_ADDR + TSS_LIMIT], 0xff         ; the CPU reads bitmap bytes in pairs
	mov word [GDT_ADDR + SEL_TSS], TSS_LIMIT
	mov ax, SEL_TSS
	ltr ax

	push 0x5678                     ; GS
	push 0x1234                     ; FS
	push 0xF000                     ; DS
	push 0xF000                     ; ES
	push 0                          ; SS
	push V86_SP                     ; ESP
	push 0x23002                    ; EFLAGS: VM, IOPL 3
	push 0xF000                     ; CS
	push v86_entry - ROM_BASE       ; EIP
	iretd

; ---- monitor: exceptions and the INT 0x30/0x31 gates ----
int30_stub:
	push 0
	push 0x30
	jmp exc_common32
int31_stub:
	push 0
	push 0x31
	jmp exc_common32

exc_handler:
	mov ax, ds
	mov [ss:SAVED_SEGS], ax
	mov ax, es
	mov [ss:SAVED_SEGS + 2], ax
	mov ax, fs
	mov [ss:SAVED_SEGS + 4], ax
	mov ax, gs
	mov [ss:SAVED_SEGS + 6], ax
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov eax, [ebp]
	cmp eax, 0x30
	je .int30
	cmp eax, 0x31
	je .int31
	cmp eax, 13
	jne exc_unexpected32
	; #GP from V86: print it, skip the instruction (or finish on HLT)
	movzx ebx, word [ebp + 12]
	shl ebx, 4
	add ebx, [ebp + 8]
	movzx ebx, byte [ebx]           ; opcode
	PRINT "  #GP"
	CHECK " err=", [ebp + 4], 4, 0
	PRINT " ip="
	PRINTHEX [ebp + 8], 4
	CHECK " op=", ebx, 2, [VARS_ADDR + 0x910]
	PRINT 10
	cmp ebx, 0xF4
	je .done
	mov eax, 1
	cmp ebx, 0xCD
	je .two
	cmp ebx, 0xE4
	jne .skip
.two:	mov eax, 2
.skip:	add [ebp + 8], eax
	ret
.done:	FINISH
.int31:	PRINT "  int 0x31: monitor sets IOPL 0", 10
	and dword [ebp + 16], ~0x3000
	ret
.int30:	PRINT "  int 0x30 frame:"
	CHECK " eip=", [ebp + 8], 8, v86_int30_ret - ROM_BASE
	CHECK " cs=", [ebp + 12], 4, 0xF000
	CHECK " eflags=", [ebp + 16], 8, 0x23046
	CHECK " esp=", [ebp + 20], 8, V86_SP
	CHECK " ss=", [ebp + 24], 4, 0
	PRINT 10, "  "
	CHECK " es=", [ebp + 28], 4, 0xF000
	CHECK " ds=", [ebp + 32], 4, 0xF000
	CHECK " fs=", [ebp + 36], 4, 0x1234
	CHECK " gs=", [ebp + 40], 4, 0x5678
	PRINT 10, "  handler:"
	movzx eax, word [SAVED_SEGS]
	CHECK " ds=", eax, 4, 0
	movzx eax, word [SAVED_SEGS + 2]
	CHECK " es=", eax, 4, 0
	movzx eax, word [SAVED_SEGS + 4]
	CHECK " fs=", eax, 4, 0
	movzx eax, word [SAVED_SEGS + 6]
	CHECK " gs=", eax, 4, 0
	mov ax, cs
	CHECK " cs=", eax, 4, SEL_CODE32
	PRINT 10
	ret

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

; ---- virtual-8086 code (CS = F000) ----
	bits 16
; GP_NEXT op: store the opcode the next #GP must report (address it through
; segment 0: the variables are below 64 KiB).
%macro GP_NEXT 1
	push es
	push word 0
	pop es
	mov byte [es:VARS_ADDR + 0x910], %1
	pop es
%endmacro

v86_entry:
	PRINT "v86: iopl 3 cs="
	mov ax, cs
	mov cl, 4
	call puthex16
	PRINT " ss="
	mov ax, ss
	call puthex16
	PRINT " sp="
	mov ax, sp
	call puthex16
	cmp ax, ax
	pushf
	pop ax
	PRINT " pushf="
	call puthex16
	push word 0x0002                ; try to clear IOPL
	popf
	pushf
	pop ax
	PRINT " after popf="
	call puthex16
	sti
	pushf
	pop ax
	PRINT " sti="
	call puthex16
	cli
	PRINT 10
	PRINT "v86: in port 0x80 (denied in the bitmap)", 10
	GP_NEXT 0xE4
	in al, 0x80
	PRINT "v86: in port 0x400 (beyond the TSS limit)", 10
	GP_NEXT 0xEC
	mov dx, 0x400
	in al, dx
	PRINT "v86: int 0x30", 10
	cmp ax, ax
	int 0x30
v86_int30_ret:
	int 0x31
	PRINT "v86: iopl 0", 10
	GP_NEXT 0xFA
	cli
	GP_NEXT 0xFB
	sti
	GP_NEXT 0x9C
	pushf
	GP_NEXT 0x9D
	popf
	GP_NEXT 0xCD
	int 0x30
	GP_NEXT 0xCF
	iret
	mov dx, COM1_LSR
	in al, dx
	and al, UART_LSR_THRE
	PRINT "v86: in port 0x3fd (allowed) thre="
	mov cl, 2
	call puthex16
	PRINT 10
	GP_NEXT 0xF4
	hlt

	UART_ROUTINES 16

	ROM_END
