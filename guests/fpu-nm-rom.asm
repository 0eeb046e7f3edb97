; SPDX-License-Identifier: MIT
;
; fpu-nm-rom: lazy FPU switching in long mode, the way an OS does it (SDM
; Vol. 3A §2.5 CR0.TS, Table 2-2; Vol. 1 Table 11-1/12-1 for MMX/SSE).
;   - Two fake tasks, A and B, each with its own FXSAVE area, x87 stack and
;     XMM0/XMM1. A "context switch" only sets CR0.TS and changes the current
;     task; the first x87 or SSE instruction of the new task raises #NM, whose
;     handler does CLTS, FXSAVE64 for the owner and FXRSTOR64 for the current
;     task, and returns to the faulting instruction, which then completes with
;     the right task's values. WAIT with MP = TS = 1 switches too.
;   - Table 2-2 row by row: TS alone (x87, SSE, MMX, FXSAVE, STMXCSR, FNSTSW
;     raise #NM; WAIT only with MP), EM (x87 and WAIT-with-MP/TS: #NM; SSE,
;     MMX, FXSAVE: #UD; WAIT alone runs).
; Expected: tests/guest/fpu-nm.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"
%include "fpu.inc"

AREA_A          equ 0x5000          ; FXSAVE areas (16-byte aligned)
AREA_B          equ 0x5200
OWNER           equ VARS_ADDR + 0x100   ; area whose state is in the FPU (0: none)
CURRENT         equ VARS_ADDR + 0x108   ; area of the running task
LAZY            equ VARS_ADDR + 0x110   ; 1: #NM switches tasks
NM_COUNT        equ VARS_ADDR + 0x118
NM_RIP          equ VARS_ADDR + 0x120
R32             equ VARS_ADDR + 0x200   ; results
R64             equ VARS_ADDR + 0x208

; SWITCH_TO area -- what a scheduler does: the FPU state stays, TS is set.
%macro SWITCH_TO 1
	mov qword [CURRENT], %1
	CR0_SET CR0_TS
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov dword [FAILS], 0
	mov qword [RESUME], 0
	mov qword [LAZY], 0
	PRINT "x86v fpu-nm: lazy FPU switching and CR0.EM/MP/TS", 10
	call idt_init64
	CR4_SET CR4_OSFXSR | CR4_OSXMMEXCPT
	CR0_CLR CR0_EM | CR0_TS
	CR0_SET CR0_MP | CR0_NE

	; task A: ST0 = 4, ST1 = 3; XMM0 = 0x11.., XMM1 = 1 in each dword
	fninit
	fild dword [three]
	fild dword [four]
	movdqu xmm0, [pat_a]
	movdqu xmm1, [ones]
	fxsave64 [AREA_A]
	; task B: ST0 = 20, ST1 = 100; XMM0 = 0x22.., XMM1 = 2 in each dword
	fninit
	fild dword [hundred]
	fild dword [twenty]
	movdqu xmm0, [pat_b]
	movdqu xmm1, [twos]
	fxsave64 [AREA_B]
	mov qword [OWNER], AREA_B       ; B's state is live
	mov qword [NM_COUNT], 0
	mov qword [LAZY], 1

	SWITCH_TO AREA_A                ; A's first x87 instruction switches
.a1:	fadd st0, st1
	fistp dword [R32]
	paddd xmm0, xmm1                ; no #NM: A owns the FPU now
	CHECK "A: fadd=", [R32], 8, 7
	CHECK " #NM=", [NM_COUNT], 2, 1
	mov rax, [NM_RIP]
	sub rax, .a1
	CHECK " rip-.a1=", rax, 2, 0
	movq [R64], xmm0
	CHECK " xmm0=", [R64], 16, 0x1111111211111112
	PRINT 10

	SWITCH_TO AREA_B                ; B's first SSE instruction switches
.b1:	paddd xmm0, xmm1
	movq [R64], xmm0
	fsubp st1, st0                  ; 100 - 20
	fist dword [R32]                ; B keeps 80 in ST0
	CHECK "B: paddd xmm0=", [R64], 16, 0x2222222422222224
	CHECK " fsubp=", [R32], 8, 80
	CHECK " #NM=", [NM_COUNT], 2, 2
	mov rax, [NM_RIP]
	sub rax, .b1
	CHECK " rip-.b1=", rax, 2, 0
	PRINT 10

	SWITCH_TO AREA_A                ; WAIT with MP = TS = 1 switches
.a2:	fwait
	fistp dword [R32]               ; A's remaining register: 3
	movq [R64], xmm0
	CHECK "A: fwait #NM=", [NM_COUNT], 2, 3
	mov rax, [NM_RIP]
	sub rax, .a2
	CHECK " rip-.a2=", rax, 2, 0
	CHECK " st0=", [R32], 8, 3
	CHECK " xmm0=", [R64], 16, 0x1111111211111112
	PRINT 10
	; B's image as A's #NM saved it: TOP = 7 (one register left), tag 0x80
	movzx ebx, word [AREA_B + 2]
	CHECK "B saved: fsw=", rbx, 4, 0x3800
	movzx ebx, byte [AREA_B + 4]
	CHECK " ftw=", rbx, 2, 0x80
	mov rbx, [AREA_B + 32]
	CHECK " st0=", rbx, 16, 0xa000000000000000      ; 80.0: mantissa
	movzx ebx, word [AREA_B + 40]
	CHECK " exp=", rbx, 4, 0x4005
	mov rbx, [AREA_B + 160]
	CHECK " xmm0=", rbx, 16, 0x2222222422222224
	PRINT 10
	mov qword [LAZY], 0

	; Table 2-2 with EM = 0
	CR0_CLR CR0_MP
	CR0_SET CR0_TS
	PRINT "TS:"
	EXPECT " fwait", 0xff, fwait
	EXPECT " fld1", 7, fld1
	EXPECT " fnstsw", 7, fnstsw ax
	EXPECT " fninit", 7, fninit
	EXPECT " addps", 7, addps xmm0, xmm1
	EXPECT " stmxcsr", 7, stmxcsr [R32]
	EXPECT " fxsave", 7, fxsave64 [AREA_A]
	EXPECT " movq-mmx", 7, movq mm0, mm1
	EXPECT " emms", 7, emms
	PRINT 10
	CR0_SET CR0_MP
	PRINT "TS+MP:"
	EXPECT " fwait", 7, fwait
	EXPECT " fnclex", 7, fnclex
	PRINT 10
	; EM = 1
	CR0_CLR CR0_TS | CR0_MP
	CR0_SET CR0_EM
	PRINT "EM:"
	EXPECT " fwait", 0xff, fwait
	EXPECT " fld1", 7, fld1
	EXPECT " fnstcw", 7, fnstcw [R32]
	EXPECT " addps", 6, addps xmm0, xmm1
	EXPECT " ldmxcsr", 6, ldmxcsr [mxcsr_init]
	EXPECT " fxsave", 6, fxsave64 [AREA_A]
	EXPECT " fxrstor", 6, fxrstor64 [AREA_A]
	EXPECT " movq-mmx", 6, movq mm0, mm1
	PRINT 10
	CR0_SET CR0_MP | CR0_TS
	PRINT "EM+MP+TS:"
	EXPECT " fwait", 7, fwait
	EXPECT " addps", 6, addps xmm0, xmm1
	PRINT 10
	CR0_CLR CR0_EM | CR0_TS
	PRINT "clear:"
	EXPECT " fwait", 0xff, fwait
	EXPECT " fld1", 0xff, fld1
	EXPECT " addps", 0xff, addps xmm0, xmm1
	EXPECT " movq-mmx", 0xff, movq mm0, mm1
	EXPECT " emms", 0xff, emms
	PRINT 10
	FINISH

; #NM while LAZY: switch the FPU to the current task and retry; anything
; else goes to the checker's catcher.
exc_handler:
	cmp qword [rbp], 7
	jne catch_exc64
	cmp qword [LAZY], 0
	je catch_exc64
	inc qword [NM_COUNT]
	mov rax, [rbp + 16]
	mov [NM_RIP], rax
	clts
	mov rax, [OWNER]
	fxsave64 [rax]
	mov rax, [CURRENT]
	fxrstor64 [rax]
	mov [OWNER], rax
	ret

	align 16
pat_a:	times 4 dd 0x11111111
ones:	times 4 dd 1
pat_b:	times 4 dd 0x22222222
twos:	times 4 dd 2
three:	dd 3
four:	dd 4
twenty:	dd 20
hundred: dd 100
mxcsr_init: dd 0x1f80

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64
	CHECK_ROUTINES64

	ROM_END
