; SPDX-License-Identifier: MIT
;
; stringio-rom: string instructions in 32-bit protected mode:
;   - REP OUTSB of a whole line to the UART data port (string I/O, count > 1);
;   - REP INSB of 4 bytes from an unclaimed port (0x100): all 0xff;
;   - REP MOVSB with DF = 1 over overlapping buffers (a backward memmove);
;   - FS-override REP MOVSB (source FS:ESI, FS base != 0) and REP STOSB to ES.
; Expected: tests/guest/stringio.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

exc_handler     equ catch_exc32
BUF             equ VARS_ADDR + 0xA00
SEL_FSDATA      equ 0x40            ; data segment with base BUF + 0x100

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v stringio: 32-bit protected mode", 10
	call idt_init32

	mov esi, line
	mov ecx, line_end - line
	mov dx, COM1
	cld
	rep outsb
	CHECK "rep outsb ecx=", ecx, 8, 0
	CHECK " esi-end=", esi, 8, line_end
	PRINT 10

	mov dword [BUF], 0x12345678
	mov edi, BUF
	mov ecx, 4
	mov dx, 0x100
	rep insb
	CHECK "rep insb unclaimed=", [BUF], 8, 0xffffffff
	CHECK " edi=", edi, 8, BUF + 4
	PRINT 10

	mov dword [BUF], '0123'
	mov dword [BUF + 4], '4567'
	mov dword [BUF + 8], '89' | (10 << 16)
	mov byte [BUF + 11], 0
	mov esi, BUF + 7
	mov edi, BUF + 9
	mov ecx, 8
	std
	rep movsb
	cld
	mov [VARS_ADDR + 0x990], esi
	mov [VARS_ADDR + 0x994], edi
	PRINT "rep movsb df=1 overlap: "
	mov esi, BUF
	call puts32
	CHECK "esi=", [VARS_ADDR + 0x990], 8, BUF - 1
	CHECK " edi=", [VARS_ADDR + 0x994], 8, BUF + 1
	PRINT 10

	mov dword [GDT_ADDR + SEL_FSDATA], ((BUF + 0x100) << 16) | 0xFFFF
	mov dword [GDT_ADDR + SEL_FSDATA + 4], 0x00CF9300 | ((BUF + 0x100) >> 16 & 0xff)
	mov word [VARS_ADDR + 0x980], 0x47
	mov dword [VARS_ADDR + 0x982], GDT_ADDR
	lgdt [VARS_ADDR + 0x980]
	mov ax, SEL_FSDATA
	mov fs, ax
	mov dword [BUF + 0x100], 'fs:e'
	mov dword [BUF + 0x104], 'si' | (10 << 16)
	mov edi, BUF + 0x200
	mov ecx, 32
	mov al, 0
	rep stosb
	xor esi, esi
	mov edi, BUF + 0x200
	mov ecx, 7
	fs rep movsb
	PRINT "fs rep movsb: "
	mov esi, BUF + 0x200
	call puts32
	FINISH

line:	db "rep outsb: a line sent with one string instruction", 10
line_end:

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
