; SPDX-License-Identifier: MIT
;
; gates-rom: far control transfers in 32-bit protected mode, from ring 3:
;   - CALL FAR through a DPL-3 32-bit call gate to a DPL-0 code segment with
;     2 parameters: the ring-0 side checks CS/SS, ESP = ESP0 - 24 and the
;     frame (EIP, CS, the 2 copied parameters, ESP, SS); RETF 8 returns to
;     ring 3 with SS:ESP restored and the parameters discarded;
;   - CALL FAR to a conforming DPL-0 code segment: runs with CPL 3 (CS RPL 3);
;   - errors: a call gate with DPL 0 < CPL -> #GP(gate selector); a gate to a
;     not-present code segment -> #NP(code selector); JMP FAR straight to the
;     not-present segment -> #NP(selector); a null selector -> #GP(0).
; Ring-3 runs end with HLT (#GP(0)), which returns control to ring 0.
; Expected: tests/guest/gates.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

exc_handler     equ catch_exc32
SEL_GATE3       equ 0x40        ; call gate DPL 3 -> SEL_CODE32:gate_target, 2 params
SEL_CONF        equ 0x48        ; conforming code, DPL 0
SEL_NPCODE      equ 0x50        ; code DPL 3, not present
SEL_GATE0       equ 0x58        ; call gate DPL 0
SEL_GATENP      equ 0x60        ; call gate DPL 3 -> SEL_NPCODE
FRAME           equ VARS_ADDR + 0x900

%macro GATE 4                   ; selector, target selector, offset, access byte | params
	mov eax, %3
	mov [GDT_ADDR + %1], ax
	mov word [GDT_ADDR + %1 + 2], %2
	mov word [GDT_ADDR + %1 + 4], %4
	shr eax, 16
	mov [GDT_ADDR + %1 + 6], ax
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v gates: 32-bit protected mode", 10
	call idt_init32
	GATE SEL_GATE3, SEL_CODE32, gate_target, 0xEC02
	mov dword [GDT_ADDR + SEL_CONF], 0x0000FFFF
	mov dword [GDT_ADDR + SEL_CONF + 4], 0x00CF9E00
	mov dword [GDT_ADDR + SEL_NPCODE], 0x0000FFFF
	mov dword [GDT_ADDR + SEL_NPCODE + 4], 0x00CF7A00
	GATE SEL_GATE0, SEL_CODE32, gate_target, 0x8C00
	GATE SEL_GATENP, SEL_NPCODE, 0, 0xEC00
	mov word [VARS_ADDR + 0x980], 0x67
	mov dword [VARS_ADDR + 0x982], GDT_ADDR
	lgdt [VARS_ADDR + 0x980]
	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov dword [TSS_ADDR + 4], STACK0_TOP
	mov dword [TSS_ADDR + 8], SEL_DATA
	mov word [TSS_ADDR + 0x66], 0x68
	mov ax, SEL_TSS
	ltr ax

	PRINT "call gate"
	mov esi, u_gate
	call run_user
	CHECK " ring0 cs=", [FRAME + 0x20], 4, SEL_CODE32
	CHECK " ss=", [FRAME + 0x24], 4, SEL_DATA
	CHECK " esp=", [FRAME + 0x28], 8, STACK0_TOP - 24
	PRINT 10, " "
	CHECK " frame eip=", [FRAME], 8, u_gate_ret
	CHECK " cs=", [FRAME + 4], 4, SEL_UCODE32 | 3
	CHECK " p1=", [FRAME + 8], 8, 0x2222
	CHECK " p0=", [FRAME + 12], 8, 0x1111
	CHECK " esp=", [FRAME + 16], 8, USTACK_TOP - 8
	CHECK " ss=", [FRAME + 20], 4, SEL_UDATA | 3
	PRINT 10, " "
	CHECK " after retf cs=", [FRAME + 0x30], 4, SEL_UCODE32 | 3
	CHECK " ss=", [FRAME + 0x34], 4, SEL_UDATA | 3
	CHECK " esp=", [FRAME + 0x38], 8, USTACK_TOP
	CHECK " end=", [EXC_IP], 8, u_gate_end
	PRINT 10
	PRINT "conforming"
	mov esi, u_conf
	call run_user
	CHECK " cs=", [FRAME + 0x40], 4, SEL_CONF | 3
	CHECK " end=", [EXC_IP], 8, u_conf_end
	PRINT 10
	PRINT "gate dpl<cpl"
	mov esi, u_gate0
	call run_user
	CAUGHT 13, SEL_GATE0
	CHECK " eip=", [EXC_IP], 8, u_gate0
	PRINT 10
	PRINT "gate to not-present"
	mov esi, u_gatenp
	call run_user
	CAUGHT 11, SEL_NPCODE
	PRINT 10
	PRINT "jmp not-present"
	mov esi, u_jmpnp
	call run_user
	CAUGHT 11, SEL_NPCODE
	PRINT 10
	PRINT "call null"
	mov esi, u_null
	call run_user
	CAUGHT 13, 0
	CHECK " eip=", [EXC_IP], 8, u_null
	PRINT 10
	FINISH

; Runs ring-3 code at ESI with ESP = USTACK_TOP until it faults.
run_user:
	pop dword [VARS_ADDR + 0x990]
	TRY .back
	push SEL_UDATA | 3
	push USTACK_TOP
	push 0x2
	push SEL_UCODE32 | 3
	push esi
	iretd
.back:	jmp [VARS_ADDR + 0x990]

; ---- ring 0 ----
gate_target:
	mov [ss:FRAME + 0x28], esp
	mov eax, [esp]
	mov [ss:FRAME], eax
	mov eax, [esp + 4]
	mov [ss:FRAME + 4], eax
	mov eax, [esp + 8]
	mov [ss:FRAME + 8], eax
	mov eax, [esp + 12]
	mov [ss:FRAME + 12], eax
	mov eax, [esp + 16]
	mov [ss:FRAME + 16], eax
	mov eax, [esp + 20]
	mov [ss:FRAME + 20], eax
	mov ax, cs
	mov [ss:FRAME + 0x20], eax
	mov ax, ss
	mov [ss:FRAME + 0x24], eax
	retf 8

conf_target:
	mov ax, cs
	mov [ss:FRAME + 0x40], eax
	retf

; ---- ring 3 ----
u_gate:	push 0x1111
	push 0x2222
	call SEL_GATE3 | 3:0
u_gate_ret:
	mov ax, cs
	mov [ss:FRAME + 0x30], eax
	mov ax, ss
	mov [ss:FRAME + 0x34], eax
	mov [ss:FRAME + 0x38], esp
u_gate_end:
	hlt
u_conf:	call SEL_CONF:conf_target
u_conf_end:
	hlt
u_gate0:
	call SEL_GATE0 | 3:0
	hlt
u_gatenp:
	call SEL_GATENP | 3:0
	hlt
u_jmpnp:
	jmp SEL_NPCODE | 3:0
	hlt
u_null:	call 0:0
	hlt

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
