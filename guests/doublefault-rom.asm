; SPDX-License-Identifier: MIT
;
; doublefault-rom: exception classes in long mode (SDM Vol. 3A §6.15,
; Table 6-5). #DF goes through an IST-1 interrupt gate (a good stack):
;   - #PF while delivering #PF (RSP points to an unmapped page) -> #DF(0);
;   - #DE whose gate is not present: #NP while delivering a contributory
;     exception -> #DF(0);
;   - #PF whose gate names a selector beyond the GDT: #GP during #PF
;     delivery -> #DF(0);
;   - #UD (benign) whose gate is not present: the #NP is delivered serially
;     with error code 6 * 8 + 2 (IDT) + 1 (EXT) = 0x33 (SDM §6.13);
;   - #GP whose gate is not present: #NP during #GP delivery -> #DF(0).
; Expected: tests/guest/doublefault.out, exit status 3.

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"

exc_handler     equ catch_exc64

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov dword [FAILS], 0
	mov qword [RESUME], 0
	PRINT "x86v doublefault: long mode", 10
	call idt_init64
	mov byte [IDT_ADDR + 8 * 16 + 4], 1     ; #DF on IST 1
	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov qword [TSS_ADDR + 4], STACK0_TOP
	mov qword [TSS_ADDR + 0x24], STACK0_TOP ; IST1
	mov word [TSS_ADDR + 0x66], 0x68
	mov ax, SEL_TSS
	ltr ax

	PRINT "pf during pf delivery"
	TRY .t1
	mov rsp, 0xdead0000             ; not mapped (only the first GiB is)
	mov ebx, 0xdeadb000
	mov eax, [rbx]
.t1:	CAUGHT 8, 0
	PRINT 10

	PRINT "de + np gate"
	and byte [IDT_ADDR + 0 * 16 + 5], 0x7f  ; gate 0 not present
	TRY .t2
	xor edx, edx
	xor ecx, ecx
	div ecx
.t2:	CAUGHT 8, 0
	or byte [IDT_ADDR + 0 * 16 + 5], 0x80
	PRINT 10

	PRINT "pf + gp (gate cs beyond gdt)"
	mov word [IDT_ADDR + 14 * 16 + 2], 0x100
	TRY .t3
	mov ebx, 0xdeadb000
	mov eax, [rbx]
.t3:	CAUGHT 8, 0
	mov word [IDT_ADDR + 14 * 16 + 2], SEL_CODE64
	PRINT 10

	PRINT "ud + np gate (benign, serial)"
	and byte [IDT_ADDR + 6 * 16 + 5], 0x7f
	TRY .t4
.ud:	ud2
.t4:	CAUGHT 11, 6 * 8 + 3
	CHECK " rip=", [EXC_IP], 16, .ud
	or byte [IDT_ADDR + 6 * 16 + 5], 0x80
	PRINT 10

	PRINT "gp + np gate (contributory, contributory)"
	and byte [IDT_ADDR + 13 * 16 + 5], 0x7f
	TRY .t5
	mov ax, 0x100
	mov ds, ax
.t5:	CAUGHT 8, 0
	or byte [IDT_ADDR + 13 * 16 + 5], 0x80
	PRINT 10
	FINISH

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64
	CHECK_ROUTINES64

	ROM_END
