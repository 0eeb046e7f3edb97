; SPDX-License-Identifier: MIT
;
; realmode-rom: real-mode details.
;   - INT 0x40 through the IVT and IRET (the handler sees the pushed flags,
;     CS and IP, and returns a value);
;   - a word access at offset 0xFFFF (straddling the 64 KiB limit) raises
;     #GP (vector 13 through the IVT), IP = the faulting instruction;
;   - unreal mode: FS loaded with a 4 GiB data segment in protected mode keeps
;     its limit back in real mode: [FS:ESI] with ESI = 1 MiB works;
;   - BCD: DAA, DAS, AAA, AAS, AAM, AAD with printed results.
; Expected: tests/guest/realmode.out, exit status 3.

%include "rom.inc"

%macro SHOW 2                   ; "text", expected AX
	PRINT %1
	push cx
	mov cl, 4
	call puthex16
	pop cx
	cmp ax, %2
	je %%ok
	PRINT "(bad)"
	inc word [es:FAILS16]
%%ok:
%endmacro

FAILS16         equ VARS_ADDR + 0x800

entry16:
	REAL_INIT
	xor ax, ax
	mov es, ax
	mov word [es:FAILS16], 0
	PRINT "x86v realmode: real mode", 10
	mov word [es:0x40 * 4], int40 - ROM_BASE
	mov word [es:0x40 * 4 + 2], 0xF000
	mov word [es:13 * 4], gp13 - ROM_BASE
	mov word [es:13 * 4 + 2], 0xF000

	mov ax, 0x1111
	int 0x40
int40_ret:
	SHOW "int 0x40: ax=", 0x4040
	mov ax, bx
	SHOW " frame ip ok=", 1
	PRINT 10

	mov word [es:VARS_ADDR + 0x900], 0
	push ds
	xor ax, ax
	mov ds, ax
gp_site:
	mov ax, [0xffff]                ; straddles the 64 KiB limit: #GP
	pop ds
	mov ax, [es:VARS_ADDR + 0x900]
	SHOW "word at 0xffff: #GP count=", 1
	mov ax, [es:VARS_ADDR + 0x902]
	SHOW " ip=", gp_site - ROM_BASE
	PRINT 10

	; unreal mode: FS gets a 4 GiB limit in protected mode
	mov si, gdt_template - $$
	mov di, GDT_ADDR
	mov cx, gdt_template.size
	rep movsb
	o32 lgdt [cs:gdt_pointer - $$]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	mov bx, SEL_DATA
	mov fs, bx
	and al, ~1
	mov cr0, eax
	xor bx, bx
	mov fs, bx                      ; real-mode load: base 0, limit stays 4 GiB
	mov esi, 0x100000
	mov dword [fs:esi], 0xabcd1234
	mov eax, [fs:esi]
	shr eax, 16
	SHOW "unreal [fs:1 MiB]=", 0xabcd
	mov eax, [fs:esi]
	SHOW "", 0x1234
	PRINT 10

	mov al, 0x15
	add al, 0x27
	daa
	xor ah, ah
	SHOW "daa 15+27=", 0x0042
	mov al, 0x42
	sub al, 0x15
	das
	xor ah, ah
	SHOW " das 42-15=", 0x0027
	mov ax, 0x0008
	add al, 9
	aaa
	SHOW " aaa 8+9=", 0x0107
	mov ax, 0x0203
	sub al, 5
	aas
	SHOW " aas 0203-5=", 0x0108
	mov ax, 79
	aam
	SHOW " aam 79=", 0x0709
	aad
	SHOW " aad 0709=", 0x004f
	PRINT 10

	cmp word [es:FAILS16], 0
	jne .bad
	PRINT "done", 10
	EXIT EXIT_OK
.bad:	PRINT "FAILED", 10
	EXIT EXIT_FAIL

int40:	push bp
	mov bp, sp
	xor bx, bx
	cmp word [bp + 2], int40_ret - ROM_BASE
	jne .x
	cmp word [bp + 4], 0xF000
	jne .x
	inc bx
.x:	mov ax, 0x4040
	pop bp
	iret

gp13:	push bp
	mov bp, sp
	inc word [es:VARS_ADDR + 0x900]
	mov ax, [bp + 2]
	mov [es:VARS_ADDR + 0x902], ax
	add word [bp + 2], 3            ; skip mov ax, [0xffff] (A1 FF FF)
	pop bp
	iret

	UART_ROUTINES 16

	ROM_END
