; SPDX-License-Identifier: MIT
;
; sse-xm-rom: SIMD floating-point exceptions and SSE system behaviour in long
; mode (SDM Vol. 1 §10.2.3, §11.5; Vol. 3A §13.1 Table 13-1, §6.15
; "Interrupt 19").
;   - Unmasked ZE/IE/OE/UE: #XM (vector 19) with CR4.OSXMMEXCPT = 1, #UD with
;     it clear; RIP = the instruction, destination unchanged, MXCSR flags set.
;   - Masked responses: +inf, QNaN indefinite, integer indefinite.
;   - Denormals: DE without DAZ, none with DAZ; tiny results with and
;     without FTZ (UE|PE), unmasked underflow ignores FTZ.
;   - Rounding control on CVTSD2SI (all four modes), CVTTSD2SI truncates,
;     ROUNDSD with imm8 modes 0-3, MXCSR.RC (imm8 bit 2) and the precision
;     suppression bit (imm8 bit 3).
;   - Alignment: MOVAPS / ADDPS m128 misaligned: #GP(0); MOVUPS, ADDSS m32
;     fine. LDMXCSR with a reserved bit: #GP(0). CR4.OSFXSR = 0: #UD for SSE
;     (MMX still runs).
; Expected: tests/guest/sse-xm.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"
%include "fpu.inc"

MX              equ VARS_ADDR + 0x100
BUF             equ 0x5000          ; 16-byte aligned scratch

exc_handler     equ catch_exc64

%macro SETMX 1
	mov dword [MX], %1
	ldmxcsr [MX]
%endmacro
%macro MX_IS 2
	stmxcsr [MX]
	mov ebx, [MX]
	CHECK %1, rbx, 4, %2
%endmacro
%macro LDS 2                        ; xmm, 32-bit pattern (low lane)
	mov eax, %2
	movd %1, eax
%endmacro
%macro LDD 2                        ; xmm, 64-bit pattern (low lane)
	mov rax, %2
	movq %1, rax
%endmacro
%macro XS_IS 3                      ; "text", xmm, expected low dword
	movd ebx, %2
	CHECK %1, rbx, 8, %3
%endmacro
%macro XD_IS 3                      ; "text", xmm, expected low qword
	movq rbx, %2
	CHECK %1, rbx, 16, %3
%endmacro
; RIP_AT label -- the caught exception's RIP is label
%macro RIP_AT 1
	mov rax, [EXC_IP]
	sub rax, %1
	CHECK " rip-insn=", rax, 2, 0
%endmacro

ONE_S           equ 0x3f800000
ONE_D           equ 0x3ff0000000000000

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov dword [FAILS], 0
	mov qword [RESUME], 0
	PRINT "x86v sse-xm: SIMD floating-point exceptions", 10
	call idt_init64
	CR0_CLR CR0_EM | CR0_TS
	CR0_SET CR0_MP | CR0_NE
	CR4_SET CR4_OSFXSR | CR4_OSXMMEXCPT

	; ---- unmasked: #XM / #UD ----
	SETMX 0x1d80                    ; ZM clear
	LDS xmm0, ONE_S
	xorps xmm1, xmm1
	TRY .x1
.f1:	divss xmm0, xmm1
.x1:	PRINT "divss 1/0 ZM=0:"
	CAUGHT 0x13, 0
	RIP_AT .f1
	XS_IS " xmm0=", xmm0, ONE_S
	MX_IS " mxcsr=", 0x1d84
	PRINT 10
	CR4_CLR CR4_OSXMMEXCPT
	SETMX 0x1d80
	TRY .x2
.f2:	divss xmm0, xmm1
.x2:	PRINT "OSXMMEXCPT=0:"
	CAUGHT 6, 0
	RIP_AT .f2
	MX_IS " mxcsr=", 0x1d84
	SETMX 0x1f80
	EXPECT " masked", 0xff, divss xmm0, xmm1
	XS_IS " xmm0=", xmm0, 0x7f800000
	MX_IS " mxcsr=", 0x1f84
	PRINT 10
	CR4_SET CR4_OSXMMEXCPT

	SETMX 0x1f00                    ; IM clear
	LDD xmm2, ONE_D
	LDD xmm0, 0xbff0000000000000    ; -1
	TRY .x3
.f3:	sqrtsd xmm2, xmm0
.x3:	PRINT "sqrtsd(-1) IM=0:"
	CAUGHT 0x13, 0
	RIP_AT .f3
	XD_IS " xmm2=", xmm2, ONE_D
	MX_IS " mxcsr=", 0x1f01
	SETMX 0x1f80
	sqrtsd xmm2, xmm0
	XD_IS " masked=", xmm2, 0xfff8000000000000
	MX_IS " mxcsr=", 0x1f81
	PRINT 10

	SETMX 0x1f00
	LDD xmm0, 0x441158e460913d00    ; 2^65 as double: out of int32/int64 range
	mov ebx, 0x12345678
	TRY .x4
	cvtsd2si ebx, xmm0
.x4:	PRINT "cvtsd2si 2^65 IM=0:"
	CAUGHT 0x13, 0
	CHECK " ebx=", rbx, 8, 0x12345678
	SETMX 0x1f80
	cvtsd2si ebx, xmm0
	CHECK " masked=", rbx, 8, 0x80000000
	cvtsd2si rbx, xmm0
	CHECK " r64=", rbx, 16, 0x8000000000000000
	MX_IS " mxcsr=", 0x1f81
	PRINT 10

	SETMX 0x1b80                    ; OM clear
	LDS xmm0, 0x7f000001            ; 2^127 (1 + 2^-23): the square is inexact
	movaps xmm1, xmm0
	TRY .x5
	mulss xmm0, xmm1
.x5:	PRINT "mulss big^2 OM=0:"
	CAUGHT 0x13, 0
	XS_IS " xmm0=", xmm0, 0x7f000001
	MX_IS " mxcsr=", 0x1ba8
	SETMX 0x1f80
	mulss xmm0, xmm1
	XS_IS " masked=", xmm0, 0x7f800000
	MX_IS " mxcsr=", 0x1fa8
	PRINT 10

	; ---- denormals, underflow, DAZ/FTZ ----
	SETMX 0x1f80
	LDS xmm0, 1                     ; smallest denormal
	xorps xmm1, xmm1
	addss xmm0, xmm1
	XS_IS "denormal+0: =", xmm0, 1
	MX_IS " mxcsr=", 0x1f82
	SETMX 0x1fc0                    ; DAZ
	LDS xmm0, 1
	addss xmm0, xmm1
	XS_IS " DAZ: =", xmm0, 0
	MX_IS " mxcsr=", 0x1fc0
	PRINT 10
	SETMX 0x1f80
	LDS xmm0, 0x00800001            ; just above 2^-126
	LDS xmm1, 0x3f000001            ; 0.5 (1 + 2^-23): inexact
	mulss xmm0, xmm1
	XS_IS "tiny*0.5+: =", xmm0, 0x00400001
	MX_IS " mxcsr=", 0x1fb0
	SETMX 0x9f80                    ; FTZ
	LDS xmm0, 0x00800001
	mulss xmm0, xmm1
	XS_IS " FTZ: =", xmm0, 0
	MX_IS " mxcsr=", 0x9fb0
	SETMX 0x9780                    ; FTZ, UM clear: FTZ does not apply
	LDS xmm0, 0x00800001
	TRY .x6
	mulss xmm0, xmm1
.x6:	PRINT " FTZ UM=0:"
	CAUGHT 0x13, 0
	XS_IS " xmm0=", xmm0, 0x00800001
	MX_IS " mxcsr=", 0x97b0
	PRINT 10
	SETMX 0x1780
	LDS xmm1, 0x3f000000            ; 0.5
	LDS xmm0, 0x00800000
	TRY .x7
	mulss xmm0, xmm1                ; exact denormal result, UM clear: #XM
.x7:	PRINT "exact tiny UM=0:"
	CAUGHT 0x13, 0
	MX_IS " mxcsr=", 0x1790
	SETMX 0x1f80
	LDS xmm0, 0x00800000
	mulss xmm0, xmm1                ; exact and masked: no UE
	XS_IS " masked=", xmm0, 0x00400000
	MX_IS " mxcsr=", 0x1f80
	PRINT 10

	; ---- rounding ----
	LDD xmm0, 0x4004000000000000    ; 2.5
	LDD xmm1, 0xc004000000000000    ; -2.5
	PRINT "cvtsd2si 2.5/-2.5:"
%assign rc 0
%rep 4
	SETMX 0x1f80 | (rc << 13)
	cvtsd2si ebx, xmm0
	cvtsd2si ecx, xmm1
	shl rbx, 32
	or rbx, rcx
	PRINT " rc", '0' + rc
	CHECK "=", rbx, 16, rbx_want_ %+ rc
%assign rc rc + 1
%endrep
	SETMX 0x3f80                    ; round down
	cvttsd2si ebx, xmm1
	CHECK " cvtt=", rbx, 8, 0xfffffffe
	MX_IS " mxcsr=", 0x3fa0
	PRINT 10
	PRINT "roundsd 2.5:"
%assign m 0
%rep 4
	SETMX 0x1f80
	roundsd xmm2, xmm0, m
	cvttsd2si ebx, xmm2
	PRINT " imm", '0' + m
	CHECK "=", rbx, 1, round_want_ %+ m
%assign m m + 1
%endrep
	MX_IS " mxcsr=", 0x1fa0
	SETMX 0x3f80                    ; RC = down
	roundsd xmm2, xmm1, 4 | 8       ; MXCSR.RC, precision suppressed
	cvttsd2si ebx, xmm2
	CHECK " -2.5 imm12=", rbx, 8, 0xfffffffd
	MX_IS " mxcsr=", 0x3f80
	SETMX 0x1f80 & ~0x1000          ; PM clear
	TRY .x8
	roundsd xmm2, xmm0, 0           ; inexact, PM clear: #XM
.x8:	PRINT " PM=0:"
	CAUGHT 0x13, 0
	EXPECT " imm8", 0xff, roundsd xmm2, xmm0, 8
	MX_IS " mxcsr=", 0x0fa0
	PRINT 10

	; ---- alignment and availability ----
	SETMX 0x1f80
	mov rbx, BUF + 4
	PRINT "misaligned:"
	EXPECT " movaps", 13, movaps xmm0, [rbx]
	EXPECT " movaps-st", 13, movaps [rbx], xmm0
	EXPECT " addps", 13, addps xmm0, [rbx]
	EXPECT " movups", 0xff, movups xmm0, [rbx]
	EXPECT " addss", 0xff, addss xmm0, [rbx]
	EXPECT " ldmxcsr-rsvd", 13, ldmxcsr [bad_mxcsr]
	PRINT 10
	CR4_CLR CR4_OSFXSR
	PRINT "OSFXSR=0:"
	EXPECT " addps", 6, addps xmm0, xmm1
	EXPECT " movaps", 6, movaps xmm0, xmm1
	EXPECT " ldmxcsr", 6, ldmxcsr [MX]
	EXPECT " paddd-mmx", 0xff, paddd mm0, mm1
	emms
	PRINT 10
	FINISH

rbx_want_0 equ 0x00000002fffffffe   ; nearest: 2, -2
rbx_want_1 equ 0x00000002fffffffd   ; down: 2, -3
rbx_want_2 equ 0x00000003fffffffe   ; up: 3, -2
rbx_want_3 equ 0x00000002fffffffe   ; toward zero: 2, -2
round_want_0 equ 2
round_want_1 equ 2
round_want_2 equ 3
round_want_3 equ 2

	align 4
bad_mxcsr: dd 0x11f80

	bits 64
	UART_ROUTINES 64
	IDT_ROUTINES64
	CHECK_ROUTINES64

	ROM_END
