; SPDX-License-Identifier: MIT
;
; fpu-mf-rom: x87 floating-point exceptions in long mode with CR0.NE = 1
; (SDM Vol. 1 §8.4-8.7, Vol. 3A §6.15 "Interrupt 16").
;   - Masked responses, exact: 1/0 = +inf (ZE), 0/0 and sqrt(-1) = QNaN
;     indefinite (IE; also as an 80-bit value), FISTP of an out-of-range value
;     = integer indefinite, stack underflow (IE|SF) and overflow (IE|SF|C1),
;     inexact 1/3 (PE, C1 = rounded up), with the status word after each.
;   - Unmasked: the faulting instruction only sets FSW.ES/B and leaves its
;     operands alone; the NEXT waiting instruction (FWAIT, FLD1, FSTP) raises
;     #MF with RIP = that instruction. The handler reads the state with
;     FXSAVE64 (FSW, FOP, FIP = the faulting instruction, FDP = its memory
;     operand), FNCLEX-es and returns, and the waiting instruction completes.
;   - Non-waiting instructions (FNSTSW, FNSTCW, FNSTENV, FXSAVE, FNCLEX) and
;     SSE instructions run with an exception pending; FWAIT and MMX
;     instructions (EMMS, MOVQ mm) raise #MF; FLDCW unmasking an already set
;     flag makes it pending.
; Expected: tests/guest/fpu-mf.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"
%include "fpu.inc"

FXA             equ 0x5000          ; FXSAVE64 area of the #MF handler
ENV             equ 0x5400          ; FNSTENV area
MF_ARMED        equ VARS_ADDR + 0x100   ; 1: #MF is handled by mf_handler
MF_COUNT        equ VARS_ADDR + 0x108
MF_RIP          equ VARS_ADDR + 0x110
R64             equ VARS_ADDR + 0x200   ; results
R80             equ VARS_ADDR + 0x210
R16             equ VARS_ADDR + 0x220
CW              equ VARS_ADDR + 0x228

; FSW_IS "text", value -- prints the status word (FNSTSW, non-waiting)
%macro FSW_IS 2
	fnstsw ax
	movzx ebx, ax
	CHECK %1, rbx, 4, %2
%endmacro

; SETCW value
%macro SETCW 1
	mov word [CW], %1
	fldcw [CW]
%endmacro

; MF_SEEN "text", waiting-label, fault-label, fsw, fop -- after an armed #MF:
; count, RIP of the waiting instruction, FSW/FOP/FIP the handler saw
%macro MF_SEEN 5
	CHECK %1, [MF_COUNT], 2, 1
	mov rax, [MF_RIP]
	sub rax, %2
	CHECK " rip-wait=", rax, 2, 0
	movzx ebx, word [FXA + 2]
	CHECK " fsw=", rbx, 4, %4
	movzx ebx, word [FXA + 6]
	CHECK " fop=", rbx, 3, %5
	mov rax, [FXA + 8]
	sub rax, %3
	CHECK " fip-insn=", rax, 2, 0
	mov qword [MF_COUNT], 0
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov dword [FAILS], 0
	mov qword [RESUME], 0
	mov qword [MF_ARMED], 0
	mov qword [MF_COUNT], 0
	PRINT "x86v fpu-mf: x87 exceptions, CR0.NE=1", 10
	call idt_init64
	CR4_SET CR4_OSFXSR | CR4_OSXMMEXCPT
	CR0_CLR CR0_EM | CR0_TS
	CR0_SET CR0_MP | CR0_NE

	; ---- masked responses (FCW = 037f) ----
	fninit
	fld1
	fldz
	fdivp st1, st0
	FSW_IS "1/0: fsw=", 0x3804
	fstp qword [R64]
	CHECK " =", [R64], 16, 0x7ff0000000000000
	PRINT 10
	fninit
	fldz
	fldz
	fdivp st1, st0
	FSW_IS "0/0: fsw=", 0x3801
	fstp qword [R64]
	CHECK " =", [R64], 16, 0xfff8000000000000
	PRINT 10
	fninit
	fld1
	fchs
	fsqrt
	FSW_IS "sqrt(-1): fsw=", 0x3801
	fstp tword [R80]
	CHECK " =", [R80 + 8], 4, 0xffff
	CHECK ":", [R80], 16, 0xc000000000000000
	PRINT 10
	fninit
	fild dword [big]
	fistp word [R16]
	FSW_IS "fistp 100000 m16: fsw=", 0x0001
	movzx ebx, word [R16]
	CHECK " =", rbx, 4, 0x8000
	PRINT 10
	fninit
	fadd st0, st1                   ; both empty: stack underflow
	FSW_IS "underflow: fsw=", 0x0041
	fstp qword [R64]
	CHECK " =", [R64], 16, 0xfff8000000000000
	PRINT 10
	fninit
%rep 9
	fld1                            ; the 9th overflows
%endrep
	FSW_IS "overflow: fsw=", 0x3a41
	fstp qword [R64]
	CHECK " =", [R64], 16, 0xfff8000000000000
	PRINT 10
	fninit
	fld1
	fild dword [three]
	fdivp st1, st0
	FSW_IS "1/3: fsw=", 0x3a20
	fstp tword [R80]
	CHECK " =", [R80 + 8], 4, 0x3ffd
	CHECK ":", [R80], 16, 0xaaaaaaaaaaaaaaab
	PRINT 10

	; ---- unmasked: #MF on the next waiting instruction ----
	mov qword [MF_ARMED], 1
	fninit
	SETCW 0x037b                    ; ZM clear
	fld1
	fldz
.f1:	fdivp st1, st0                  ; DE F9
	FSW_IS "ZE unmasked: fsw=", 0xb084
.w1:	fwait
	MF_SEEN " #MF=", .w1, .f1, 0xb084, 0x6f9
	FSW_IS " after fnclex: fsw=", 0x3000
	fstp qword [R64]                ; the operands were left alone
	CHECK " st0=", [R64], 16, 0
	fstp qword [R64]
	CHECK " st1=", [R64], 16, 0x3ff0000000000000
	PRINT 10

	fninit
	SETCW 0x037b
	fld1
	lea rbx, [zero]
.f2:	fdiv dword [rbx]                ; D8 33
.w2:	fld1                            ; #MF, then loads 1
	MF_SEEN "fdiv m32: #MF=", .w2, .f2, 0xb884, 0x033
	lea rax, [zero]
	sub rax, [FXA + 16]
	CHECK " fdp-zero=", rax, 2, 0
	fcompp                          ; 1 vs the unchanged 1
	FSW_IS " fcompp: fsw=", 0x4000
	PRINT 10

	fninit
	SETCW 0x037e                    ; IM clear
	fld1
	fchs
.f3:	fsqrt                           ; D9 FA
.w3:	fstp qword [R64]                ; #MF, then stores the unchanged -1
	MF_SEEN "sqrt(-1) IE unmasked: #MF=", .w3, .f3, 0xb881, 0x1fa
	CHECK " st0=", [R64], 16, 0xbff0000000000000
	FSW_IS " fsw=", 0x0000
	PRINT 10

	; ---- what waits and what does not ----
	mov qword [MF_ARMED], 0
	fninit
	SETCW 0x037b
	fld1
	fldz
	fdivp st1, st0                  ; ZE pending
	PRINT "pending:"
	EXPECT " fnstsw", 0xff, fnstsw ax
	EXPECT " fnstcw", 0xff, fnstcw [CW]
	EXPECT " fxsave", 0xff, fxsave64 [FXA]
	EXPECT " addps", 0xff, addps xmm0, xmm1
	EXPECT " fnstenv", 0xff, fnstenv [ENV]
	movzx ebx, word [ENV]
	CHECK " env.fcw=", rbx, 4, 0x037b
	movzx ebx, word [ENV + 4]
	CHECK " env.fsw=", rbx, 4, 0xb084
	fnstcw [CW]                     ; FNSTENV masked everything
	movzx ebx, word [CW]
	CHECK " fcw=", rbx, 4, 0x037f
	FSW_IS " fsw=", 0x3004             ; ES and B follow the new masks
	PRINT 10
	SETCW 0x037b                    ; unmask ZE again: pending again
	PRINT "pending:"
	EXPECT " fwait", 16, fwait
	EXPECT " emms", 16, emms
	EXPECT " movq-mmx", 16, movq mm0, mm1
	EXPECT " fninit", 0xff, fninit
	EXPECT " fwait", 0xff, fwait
	PRINT 10
	fld1
	fldz
	fdivp st1, st0                  ; masked: ZE set, nothing pending
	FSW_IS "masked ZE: fsw=", 0x3804
	SETCW 0x037b                    ; unmasking a set flag makes it pending
	FSW_IS " fldcw unmask: fsw=", 0xb884
	EXPECT " fwait", 16, fwait
	fnclex
	EXPECT " fnclex; fwait", 0xff, fwait
	PRINT 10
	FINISH

; #MF while MF_ARMED: record it, FNCLEX, return to the waiting instruction;
; anything else goes to the checker's catcher.
exc_handler:
	cmp qword [rbp], 16
	jne catch_exc64
	cmp qword [MF_ARMED], 0
	je catch_exc64
	inc qword [MF_COUNT]
	mov rax, [rbp + 16]
	mov [MF_RIP], rax
	fxsave64 [FXA]
	fnclex
	ret

	align 16
zero:	dd 0.0
three:	dd 3
big:	dd 100000

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64
	CHECK_ROUTINES64

	ROM_END
