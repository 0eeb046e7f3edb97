; SPDX-License-Identifier: MIT
;
; fpu-save-rom: x87/SSE state images across modes (SDM Vol. 1 §8.1.10
; Figures 8-9 to 8-12, §10.5.1 Tables 10-2/10-3, ch. 13 XSAVE).
;   - Real mode: FNSTENV in the 16-bit (14-byte) and 32-bit (28-byte)
;     real-mode formats, after an unmasked divide-by-zero from FDIV m32 [BX]
;     (FIP/FDP are 20-bit linear addresses split across two fields, FOP
;     beside FIP[19:16]); FNSAVE/FRSTOR round trip (94 bytes).
;   - 32-bit protected mode: FNSTENV 28-byte and O16 14-byte formats, FNSAVE
;     (108 bytes: registers at +28), legacy FXSAVE (FOP, 32-bit FIP/FDP,
;     abridged tag, MXCSR, ST0 and XMM0 bytes).
;   - 64-bit mode: code and data reached through an alias above 4 GiB, so
;     FXSAVE64 stores 64-bit FIP/FDP while FXSAVE keeps their low 32 bits;
;     XSETBV XCR0 = 3 (CR4.OSXSAVE), XGETBV, XSAVE with RFBM = 3 and 1
;     (XSTATE_BV, untouched regions), XRSTOR with XSTATE_BV bits clear
;     (x87 and XMM reset to init, MXCSR still loaded), RFBM excluding a
;     component, and the #GP/#UD cases.
; FCS/FDS and reserved halves are not printed (deprecated or undefined).
; Expected: tests/guest/fpu-save.out, exit status 3 (33 if any check failed).

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"
%include "fpu.inc"

ENV16           equ 0x5000          ; real mode: 14-byte FNSTENV (state: 1, 0)
ENV32           equ 0x5020          ; real mode: 28-byte
SAV16           equ 0x5040          ; real mode: 94-byte FNSAVE
XENV16          equ 0x5100          ; real mode: 14-byte after the unmasked #Z
XENV32          equ 0x5120          ; real mode: 28-byte after the unmasked #Z
RFSW            equ 0x5140          ; FSW after FRSTOR
PENV32          equ 0x5200          ; protected mode: 28-byte
PENV16          equ 0x5220          ; protected mode: 14-byte (O16)
PSAV            equ 0x5240          ; protected mode: 108-byte FNSAVE
FXA             equ 0x5400          ; FXSAVE areas
FXB             equ 0x5600
XSA             equ 0x6000          ; XSAVE areas (64-byte aligned, 0x240 bytes)
XSB             equ 0x6400
CW              equ VARS_ADDR + 0x100
MX              equ VARS_ADDR + 0x104
ZERO_RAM        equ VARS_ADDR + 0x108   ; 0.0f in RAM
HIGH            equ 0x100000000     ; alias of the first 2 MiB
PD_HIGH         equ PT_ADDR + 0x3000

exc_handler     equ catch_exc64
RM_FDIV         equ rm_fdiv - $$ + ROM_BASE     ; as scalars
PM_FDIV         equ pm_fdiv - $$ + ROM_BASE

%macro W16 3                        ; "text", address, expected: a 16-bit field
	movzx ebx, word [%2]
%if __?BITS?__ == 64
	CHECK %1, rbx, 4, %3
%else
	CHECK %1, ebx, 4, %3
%endif
%endmacro
%macro D32 3                        ; "text", address, expected: a 32-bit field
	mov ebx, [%2]
%if __?BITS?__ == 64
	CHECK %1, rbx, 8, %3
%else
	CHECK %1, ebx, 8, %3
%endif
%endmacro

entry16:
	REAL_INIT
	xor ax, ax
	mov es, ax
	mov eax, cr0
	and al, ~(CR0_EM | CR0_TS)
	or al, CR0_MP | CR0_NE
	mov cr0, eax
	mov dword [es:ZERO_RAM], 0
	; ---- real mode ----
	fninit
	fld1
	fldz
	fnstenv [es:ENV16]              ; 14 bytes
	o32 fnstenv [es:ENV32]          ; 28 bytes
	fnsave [es:SAV16]               ; 94 bytes, then FNINIT
	frstor [es:SAV16]
	fnstsw [es:RFSW]
	fninit
	mov word [es:CW], 0x037b        ; ZM clear
	fldcw [es:CW]
	fld1
	mov bx, ZERO_RAM
rm_fdiv:
	fdiv dword [es:bx]              ; D8 37: unmasked #Z, pending
	fnstenv [es:XENV16]
	o32 fnstenv [es:XENV32]
	fnclex
	fninit
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v fpu-save: real mode", 10
	W16 "fnstenv16: fcw=", ENV16, 0x037f
	W16 " fsw=", ENV16 + 2, 0x3000
	W16 " ftw=", ENV16 + 4, 0x1fff
	PRINT 10
	W16 "fnstenv32: fcw=", ENV32, 0x037f
	W16 " fsw=", ENV32 + 4, 0x3000
	W16 " ftw=", ENV32 + 8, 0x1fff
	PRINT 10
	W16 "fnsave16: ftw=", SAV16 + 4, 0x1fff
	mov ebx, [SAV16 + 14]           ; ST0 = 0.0, ST1 = 1.0
	or ebx, [SAV16 + 18]
	CHECK " st0=", ebx, 8, 0
	mov ebx, [SAV16 + 24 + 6]
	CHECK " st1[6..9]=", ebx, 8, 0x3fff8000
	W16 " frstor fsw=", RFSW, 0x3000
	PRINT 10
	W16 "#Z fnstenv16: fsw=", XENV16 + 2, 0xb884
	W16 " fip=", XENV16 + 6, RM_FDIV & 0xffff
	W16 " fip19:16|fop=", XENV16 + 8, ((RM_FDIV >> 16) << 12) | 0x037
	W16 " fdp=", XENV16 + 10, ZERO_RAM
	W16 " fdp19:16=", XENV16 + 12, 0
	PRINT 10
	W16 "#Z fnstenv32: fcw=", XENV32, 0x037f   ; the first FNSTENV masked all
	W16 " fsw=", XENV32 + 4, 0x3804
	W16 " fip=", XENV32 + 12, RM_FDIV & 0xffff
	D32 " fip31:16|fop=", XENV32 + 16, ((RM_FDIV >> 16) << 12) | 0x037
	W16 " fdp=", XENV32 + 20, ZERO_RAM
	D32 " fdp31:16=", XENV32 + 24, 0
	PRINT 10

	; ---- 32-bit protected mode ----
	PRINT "x86v fpu-save: protected mode", 10
	mov eax, cr4
	or eax, CR4_OSFXSR | CR4_OSXMMEXCPT
	mov cr4, eax
	fninit
	mov word [CW], 0x037b
	fldcw [CW]
	fld1
	fldz
	fld1
	mov ebx, ZERO_RAM
pm_fdiv:
	fdiv dword [ebx]                ; D8 33
	fnstenv [PENV32]
	fldcw [CW]                      ; FNSTENV masked everything: unmask, FLDCW waits...
	fnclex                          ; ...so clear first
	fldcw [CW]
	mov word [CW], 0x037b
	o16 fnstenv [PENV16]
	fnsave [PSAV]
	frstor [PSAV]
	mov dword [MX], 0x1f80 | 0x40 | 0x8000  ; DAZ, FTZ
	ldmxcsr [MX]
	movdqu xmm0, [pattern]
	fxsave [FXA]
	W16 "fnstenv32: fcw=", PENV32, 0x037b
	W16 " fsw=", PENV32 + 4, 0xa884
	W16 " ftw=", PENV32 + 8, 0x13ff
	D32 " fip=", PENV32 + 12, pm_fdiv
	mov ebx, [PENV32 + 16]
	shr ebx, 16
	CHECK " fop=", ebx, 4, 0x0033
	D32 " fdp=", PENV32 + 20, ZERO_RAM
	PRINT 10
	W16 "o16 fnstenv: fcw=", PENV16, 0x037b
	W16 " fsw=", PENV16 + 2, 0x2800
	W16 " ftw=", PENV16 + 4, 0x13ff
	W16 " fip=", PENV16 + 6, PM_FDIV & 0xffff
	W16 " fdp=", PENV16 + 10, ZERO_RAM
	PRINT 10
	W16 "fnsave32: ftw=", PSAV + 8, 0x13ff
	mov ebx, [PSAV + 28 + 6]        ; ST0 = 1.0
	CHECK " st0[6..9]=", ebx, 8, 0x3fff8000
	mov ebx, [PSAV + 38 + 6]        ; ST1 = 0.0
	CHECK " st1[6..9]=", ebx, 8, 0
	PRINT 10
	W16 "fxsave: fcw=", FXA, 0x037f
	W16 " fsw=", FXA + 2, 0x2800
	movzx ebx, byte [FXA + 4]
	CHECK " ftw=", ebx, 2, 0xe0
	W16 " fop=", FXA + 6, 0x0033
	D32 " fip=", FXA + 8, pm_fdiv
	D32 " fdp=", FXA + 16, ZERO_RAM
	D32 " mxcsr=", FXA + 24, 0x9fc0
	PRINT 10
	D32 " st0[6..9]=", FXA + 32 + 6, 0x3fff8000
	W16 " st0[10..11]=", FXA + 32 + 10, 0
	D32 " xmm0=", FXA + 160, 0x03020100
	D32 " xmm0[12]=", FXA + 160 + 12, 0x0f0e0d0c
	PRINT 10

	ENTER_LM
	; PML4[0] -> PDPT; PDPT[4] -> PD_HIGH: 0x100000000 aliases 0..2 MiB
	mov edi, PD_HIGH
	xor eax, eax
	mov ecx, 4096 / 4
	rep stosd
	mov dword [PD_HIGH], 0x87
	mov dword [PT_ADDR + 0x1000 + 4 * 8], PD_HIGH + 7
	mov rax, cr3
	mov cr3, rax
	call idt_init64
	PRINT "x86v fpu-save: 64-bit mode", 10
	fninit
	mov word [CW], 0x037b
	fldcw [CW]
	fld1
	mov rbx, HIGH + ZERO_RAM
	lea rcx, [.back]
	mov rax, HIGH + high_fdiv
	jmp rax
.back:	fxsave64 [FXA]
	fxsave [FXB]
	fnclex
	mov rax, HIGH + high_fdiv
	CHECK "fxsave64: fip=", [FXA + 8], 16, rax
	mov rax, HIGH + ZERO_RAM
	CHECK " fdp=", [FXA + 16], 16, rax
	W16 " fop=", FXA + 6, 0x0033
	PRINT 10
	D32 "fxsave: fip=", FXB + 8, high_fdiv
	D32 " fdp=", FXB + 16, ZERO_RAM
	W16 " fop=", FXB + 6, 0x0033
	PRINT 10

	; ---- XSAVE ----
	PRINT "XSAVE:"
	EXPECT " xgetbv-no-osxsave", 6, xgetbv
	CR4_SET CR4_OSXSAVE
	xor ecx, ecx
	xor edx, edx
	mov eax, 2
	EXPECT " xsetbv-2", 13, xsetbv
	mov eax, 3
	mov edx, 0x80000000
	EXPECT " xsetbv-bit63", 13, xsetbv
	mov eax, 3
	xor ecx, ecx
	xor edx, edx
	xsetbv
	xor eax, eax
	xgetbv
	shl rdx, 32
	or rax, rdx
	CHECK " xcr0=", rax, 16, 3
	PRINT 10
	; zero both areas, then fill XSB's legacy region with 0xaa
	mov edi, XSA
	xor eax, eax
	mov ecx, 0x800 / 4
	rep stosd
	mov edi, XSB
	mov eax, 0xaaaaaaaa
	mov ecx, 512 / 4
	rep stosd
	fninit
	fld1
	fldz
	mov dword [MX], 0x1f80 | 0x2000     ; RC = down
	ldmxcsr [MX]
	movdqu xmm0, [pattern]
	mov eax, 3
	xor edx, edx
	xsave64 [XSA]
	mov eax, 1
	xsave64 [XSB]
	W16 "xsave rfbm=3: fcw=", XSA, 0x037f
	W16 " fsw=", XSA + 2, 0x3000
	movzx ebx, byte [XSA + 4]
	CHECK " ftw=", rbx, 2, 0xc0
	D32 " mxcsr=", XSA + 24, 0x3f80
	D32 " xmm0=", XSA + 160, 0x03020100
	CHECK " xstate_bv=", [XSA + 512], 16, 3
	PRINT 10
	W16 "xsave rfbm=1: fsw=", XSB + 2, 0x3000
	D32 " mxcsr=", XSB + 24, 0xaaaaaaaa
	D32 " xmm0=", XSB + 160, 0xaaaaaaaa
	CHECK " xstate_bv=", [XSB + 512], 16, 1
	PRINT 10
	; XRSTOR of XSA with XSTATE_BV = 1: x87 loaded, XMM init, MXCSR loaded
	mov qword [XSA + 512], 1
	mov dword [XSA + 24], 0x1f80 | 0x8000   ; FTZ
	fninit
	pcmpeqb xmm0, xmm0
	mov eax, 3
	xor edx, edx
	xrstor64 [XSA]
	fnstsw ax
	movzx ebx, ax
	CHECK "xrstor bv=1: fsw=", rbx, 4, 0x3000
	movq rbx, xmm0
	CHECK " xmm0=", rbx, 16, 0
	stmxcsr [MX]
	D32 " mxcsr=", MX, 0x9f80
	PRINT 10
	; XSTATE_BV = 0, RFBM = 1: x87 to init (FCW 037f, empty, registers 0)
	mov qword [XSA + 512], 0
	mov word [XSA], 0x027f
	movdqu xmm0, [pattern]
	mov eax, 1
	xrstor64 [XSA]
	fxsave64 [FXA]
	W16 "xrstor bv=0 rfbm=1: fcw=", FXA, 0x037f
	W16 " fsw=", FXA + 2, 0
	movzx ebx, byte [FXA + 4]
	CHECK " ftw=", rbx, 2, 0
	mov rbx, [FXA + 32 + 6 * 16]    ; ST6 (physical 6: was 0.0 / 1.0)
	or rbx, [FXA + 32 + 7 * 16]
	CHECK " regs=", rbx, 16, 0
	D32 " xmm0 kept=", FXA + 160, 0x03020100
	PRINT 10
	PRINT "xrstor faults:"
	mov qword [XSA + 512], 4        ; AVX: not in XCR0
	mov eax, 3
	EXPECT " bv-bit2", 13, xrstor64 [XSA]
	mov qword [XSA + 512], 3
	mov qword [XSA + 520], 1        ; XCOMP_BV
	EXPECT " xcomp_bv", 13, xrstor64 [XSA]
	mov qword [XSA + 520], 0
	EXPECT " misaligned", 13, xsave64 [XSA + 16]
	EXPECT " ok", 0xff, xrstor64 [XSA]
	PRINT 10
	FINISH

	bits 16
	bits 64
; Runs at HIGH + high_fdiv: FDIV m32 [RBX] with ZE unmasked, back to RCX.
high_fdiv:
	fdiv dword [rbx]                ; D8 33
	jmp rcx

	align 16
pattern: db 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15

	bits 64
	UART_ROUTINES 64
	bits 32
	UART_ROUTINES 32
	bits 64
	IDT_ROUTINES64
	CHECK_ROUTINES64

	ROM_END
