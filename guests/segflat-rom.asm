; SPDX-License-Identifier: MIT
;
; segflat-rom: segment checks in 32-bit protected mode where translated code
; takes its shortcut for flat segments (base 0, 4 GiB limit, the access
; allowed) and must not take it anywhere else:
;   - memory ALU forms, PUSH/POP, CALL/RET and indirect branches on flat
;     segments give the interpreter's results;
;   - one routine run first with a flat DS, then with a 64 KiB DS loaded in
;     the same block as the access: #GP(0) past the limit;
;   - a DS with base 0x5000 (not flat) and an FS with that base and a 4 GiB
;     limit (flat but for its base) read through their base;
;   - a write through a read-only data segment, a read through a null ES,
;     a read below an expand-down segment's limit: #GP(0);
;   - a doubleword at offset 0xFFFFFFFE of a flat segment: #GP(0);
;   - PUSH on a 16-bit stack (SS.B = 0): SP wraps within 64 KiB;
;   - RET, JMP r32 and CALL r32 beyond a 1 MiB CS limit: #GP(0).
; Expected: tests/guest/segflat.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

exc_handler     equ catch_exc32
SEL_SMALL       equ 0x40        ; data, base 0, limit 0xFFFF
SEL_BASED       equ 0x48        ; data, base 0x5000, limit 4 GiB
SEL_RO          equ 0x50        ; read-only data, flat
SEL_SS16        equ 0x58        ; data, flat, B = 0 (16-bit stack)
SEL_EXPDOWN     equ 0x60        ; expand-down data, limit 0xFFF, B = 1
SEL_CSMALL      equ 0x68        ; code32, base 0, limit 0xFFFFF
DATA            equ 0x5000

%macro DESC 3                   ; selector, low dword, high dword
	mov dword [GDT_ADDR + %1], %2
	mov dword [GDT_ADDR + %1 + 4], %3
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v segflat: 32-bit protected mode", 10
	call idt_init32
	DESC SEL_SMALL, 0x0000FFFF, 0x00409300
	DESC SEL_BASED, 0x5000FFFF, 0x00CF9300
	DESC SEL_RO, 0x0000FFFF, 0x00CF9100
	DESC SEL_SS16, 0x0000FFFF, 0x008F9300
	DESC SEL_EXPDOWN, 0x00000FFF, 0x00409700
	DESC SEL_CSMALL, 0x0000FFFF, 0x004F9B00
	mov word [VARS_ADDR + 0x980], 0x6F
	mov dword [VARS_ADDR + 0x982], GDT_ADDR
	lgdt [VARS_ADDR + 0x980]

	PRINT "flat"
	mov dword [DATA], 7
	mov dword [DATA + 0x10], 0x11223344
	mov ecx, 100
	xor eax, eax
.sum:	call add_data                   ; CALL rel, RET, ALU with memory
	push eax
	pop edx
	dec ecx
	jnz .sum
	CHECK " sum=", edx, 8, 700
	add dword [DATA], 5
	CHECK " add=", [DATA], 8, 12
	mov ebx, add_data
	mov dword [DATA + 0x20], add_data
	xor eax, eax
	call ebx                        ; CALL r32
	call [DATA + 0x20]              ; CALL m32
	CHECK " indirect=", eax, 8, 24
	mov ebx, esp
	CHECK " esp=", ebx, 8, STACK_TOP
	PRINT 10

	PRINT "limit in block"
	mov dword [0x10000], 0xabcd
	mov ebx, 0x10000
	TRY .flat_done
	call probe                      ; flat DS: no fault
.flat_done:
	NOEXC
	mov dword [RESUME], 0
	CHECK " val=", eax, 8, 0xabcd
	TRY .limit_done
	call probe_small
.limit_done:
	CAUGHT 13, 0
	mov ebx, 0xFFFC
	TRY .limit2_done
	call probe_small
.limit2_done:
	NOEXC
	mov dword [RESUME], 0
	PRINT 10

	PRINT "based"
	mov ax, SEL_BASED
	mov es, ax
	mov eax, [es:0x10]
	CHECK " es:10=", eax, 8, 0x11223344
	mov ax, SEL_BASED
	mov fs, ax
	mov eax, [fs:0x10]
	CHECK " fs:10=", eax, 8, 0x11223344
	add dword [fs:0], 1
	CHECK " fs:0=", [DATA], 8, 13
	mov ax, SEL_DATA
	mov es, ax
	mov fs, ax
	PRINT 10

	PRINT "read-only"
	mov ax, SEL_RO
	TRY .ro_done
	mov ds, ax
	mov eax, [DATA]
	add [DATA], eax
.ro_done:
	CAUGHT 13, 0
	CHECK " val=", [DATA], 8, 13
	PRINT 10

	PRINT "null es"
	xor eax, eax
	TRY .null_done
	mov es, ax
	mov eax, [es:DATA]
.null_done:
	CAUGHT 13, 0
	PRINT 10

	PRINT "expand-down"
	mov ax, SEL_EXPDOWN
	TRY .ed_done
	mov ds, ax
	mov eax, [DATA]
	mov ebx, eax
	mov eax, [0x800]
.ed_done:
	CAUGHT 13, 0
	CHECK " above=", ebx, 8, 13
	PRINT 10

	PRINT "4 GiB wrap"
	TRY .wrap_done
	mov eax, [0xFFFFFFFE]
.wrap_done:
	CAUGHT 13, 0
	PRINT 10

	PRINT "16-bit stack"
	mov [VARS_ADDR + 0x9a0], esp
	mov ax, SEL_SS16
	mov ss, ax
	mov esp, 0x20000
	push dword 0x5555aaaa
	mov ebx, esp
	pop ecx
	mov edx, esp
	mov ax, SEL_DATA
	mov ss, ax
	mov esp, [VARS_ADDR + 0x9a0]
	CHECK " esp=", ebx, 8, 0x2FFFC
	CHECK " at=", [0xFFFC], 8, 0x5555aaaa
	CHECK " pop=", ecx, 8, 0x5555aaaa
	CHECK " esp=", edx, 8, 0x20000
	PRINT 10

	PRINT "cs limit"
	jmp SEL_CSMALL:.small
.small:	TRY .ret_done
	push 0x200000
	ret
.ret_done:
	CAUGHT 13, 0
	jmp SEL_CSMALL:.small2
.small2:
	TRY .jmp_done
	mov eax, 0x200000
	jmp eax
.jmp_done:
	CAUGHT 13, 0
	jmp SEL_CSMALL:.small3
.small3:
	TRY .call_done
	mov eax, 0x200000
	call eax
.call_done:
	CAUGHT 13, 0
	mov ebx, esp
	CHECK " esp=", ebx, 8, STACK_TOP
	PRINT 10
	FINISH

add_data:
	add eax, [DATA]
	ret

; EAX = [EBX] through DS.
probe:
	mov eax, [ebx]
	ret

; The same with a 64 KiB DS loaded just before the access.
probe_small:
	mov ax, SEL_SMALL
	mov ds, ax
	mov eax, [ebx]
	mov ax, SEL_DATA
	mov ds, ax
	ret

	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32
	ROM_END
