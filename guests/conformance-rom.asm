; SPDX-License-Identifier: MIT
;
; conformance-rom: instruction conformance in 32-bit protected mode, in the
; spirit of the 386 test ROMs (SDM Vol. 2, each instruction's operation):
;   - far pointer loads: LDS LES LFS LGS LSS with m16:32 and m16:16 operands;
;     a null selector into FS is fine, into SS #GP(0); a not-present data
;     segment #NP(sel); a selector past the GDT limit #GP(sel); a DPL-3 data
;     segment into SS at CPL 0 #GP(sel); a faulting load leaves the
;     destination register alone;
;   - ENTER/LEAVE: nesting levels 0 and 3 (the enclosing frame pointers are
;     copied), a 16-bit operand size, and a 32-bit ENTER on a 16-bit stack
;     segment (B = 0) whose ESP has a nonzero upper half: EBP = all of ESP;
;   - single-step (TF) from ring 3 over REP MOVSB with ECX = 3 and REPE CMPSB
;     stopping at a difference: one trap per iteration, those between
;     iterations at the instruction itself;
;   - BOUND in range and out of it (#BR, a fault at the instruction), XLAT,
;     AAM and AAD with bases 16 and 7, CMPXCHG8B equal and not equal;
;   - a self-NMI through the local APIC's ICR, taken right after the write;
;     one sent from inside the NMI handler waits for its IRETD;
;   - UMIP: SMSW from ring 3 runs, and with CR4.UMIP raises #GP(0).
; Expected: tests/guest/conformance.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

exc_handler     equ catch_exc32
SEL_DATA16      equ 0x40        ; data, base 0x90000, limit 0xFFFF, B = 0
SEL_NPDATA      equ 0x48        ; data, DPL 0, not present
SEL_PASTLIMIT   equ 0x50        ; past the GDT limit set below
FP              equ VARS_ADDR + 0x100   ; far pointers: m16:32 at FP, FP + 8, ...
FP16            equ VARS_ADDR + 0x140   ; m16:16
DB_COUNT        equ VARS_ADDR + 0x180
DB_EIP          equ VARS_ADDR + 0x190   ; 16 entries
DB_RF           equ VARS_ADDR + 0x1D0   ; 16 entries
BUF_SRC         equ VARS_ADDR + 0x300
BUF_DST         equ VARS_ADDR + 0x310
BUF_CMP         equ VARS_ADDR + 0x320
FRAME_A         equ VARS_ADDR + 0x400   ; an enclosing frame for ENTER's nesting
BOUNDS          equ VARS_ADDR + 0x500
XTABLE          equ VARS_ADDR + 0x600
CX8             equ VARS_ADDR + 0x700
NMI_COUNT       equ VARS_ADDR + 0x710
NMI_INSIDE      equ VARS_ADDR + 0x714   ; NMI_COUNT when the first handler returned
APIC_BASE       equ 0xFEE00000
APIC_SVR        equ 0xF0
APIC_ICR_LOW    equ 0x300
ICR_SELF_NMI    equ (1 << 18) | (4 << 8)    ; shorthand self, delivery mode NMI
STACK16_BASE    equ 0x90000

; FARPTR addr, offset, selector -- an m16:32 far pointer in memory
%macro FARPTR 3
	mov dword [%1], %2
	mov word [%1 + 4], %3
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v conformance: 32-bit protected mode", 10
	call idt_init32
	mov edi, 1
	mov esi, db_handler
	mov dl, 0x8E
	call idt_set32
	mov dword [GDT_ADDR + SEL_DATA16], 0x0000FFFF
	mov dword [GDT_ADDR + SEL_DATA16 + 4], (STACK16_BASE >> 16) | 0x9200
	mov dword [GDT_ADDR + SEL_NPDATA], 0x0000FFFF
	mov dword [GDT_ADDR + SEL_NPDATA + 4], 0x00CF1200
	mov word [VARS_ADDR + 0x980], SEL_PASTLIMIT - 1
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

	; ---- far pointer loads ----
	PRINT "lds/les/lfs/lgs/lss"
	mov dword [STACK16_BASE], 0x5a5aa5a5
	FARPTR FP, 0x12345678, SEL_DATA
	FARPTR FP + 8, 0x9abcdef0, SEL_DATA16
	FARPTR FP + 16, 0x0badcafe, 0
	FARPTR FP + 24, STACK_TOP - 64, SEL_DATA
	FARPTR FP + 32, 0x00c0ffee, SEL_UDATA | 3
	lds esi, [FP]
	les edi, [FP + 8]
	lfs ebx, [FP + 16]
	lgs ecx, [FP + 32]
	mov edx, esp
	lss esp, [FP + 24]
	mov eax, esp
	mov esp, edx
	CHECK " esi=", esi, 8, 0x12345678
	CHECK " edi=", edi, 8, 0x9abcdef0
	CHECK " ebx=", ebx, 8, 0x0badcafe
	CHECK " ecx=", ecx, 8, 0x00c0ffee
	CHECK " esp=", eax, 8, STACK_TOP - 64
	PRINT 10, " "
	xor eax, eax
	mov ax, ds
	CHECK " ds=", eax, 4, SEL_DATA
	mov ax, es
	CHECK " es=", eax, 4, SEL_DATA16
	mov ax, fs
	CHECK " fs=", eax, 4, 0
	mov ax, gs
	CHECK " gs=", eax, 4, SEL_UDATA | 3
	CHECK " es:[0]=", [es:0], 8, 0x5a5aa5a5
	mov ax, SEL_DATA
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov word [FP16], 0x4321
	mov word [FP16 + 2], SEL_DATA16
	mov edi, 0xffff0000
	o16 lfs di, [FP16]
	CHECK " o16 lfs di: edi=", edi, 8, 0xffff4321
	mov ax, fs
	CHECK " fs=", eax, 4, SEL_DATA16
	mov ax, SEL_DATA
	mov fs, ax
	PRINT 10, " faults:"
	mov edi, 0xaaaaaaaa
	TRY .nullss
	lss edi, [FP + 16]
.nullss:
	PRINT " lss null"
	CAUGHT 13, 0
	CHECK " edi=", edi, 8, 0xaaaaaaaa
	FARPTR FP + 40, 0x1111, SEL_NPDATA
	TRY .np
	lds edi, [FP + 40]
.np:	PRINT " lds not-present"
	CAUGHT 11, SEL_NPDATA
	FARPTR FP + 48, 0x2222, SEL_PASTLIMIT
	TRY .limit
	les edi, [FP + 48]
.limit:	PRINT 10, "  les past limit"
	CAUGHT 13, SEL_PASTLIMIT
	FARPTR FP + 56, 0x3333, SEL_UDATA
	TRY .dpl
	lss edi, [FP + 56]
.dpl:	PRINT " lss dpl 3"
	CAUGHT 13, SEL_UDATA
	CHECK " edi=", edi, 8, 0xaaaaaaaa
	PRINT 10

	; ---- ENTER / LEAVE (CHECK pushes: ESP is copied first; expected values
	; are never in EAX or EDX, which CHECK uses) ----
	PRINT "enter/leave"
	mov ebp, 0x11111111
	mov ebx, esp
	enter 8, 0
	mov ecx, esp
	lea esi, [ebx - 4]
	CHECK " level 0: ebp=", ebp, 8, esi
	lea esi, [ebx - 12]
	CHECK " esp=", ecx, 8, esi
	CHECK " [ebp]=", [ebp], 8, 0x11111111
	leave
	mov ecx, esp
	CHECK " leave: esp=", ecx, 8, ebx
	CHECK " ebp=", ebp, 8, 0x11111111
	PRINT 10, " "
	mov dword [FRAME_A - 4], 0xaaaa0001     ; the enclosing frames' pointers
	mov dword [FRAME_A - 8], 0xaaaa0002
	mov ebp, FRAME_A
	mov ebx, esp
	enter 4, 3
	mov ecx, esp
	lea esi, [ebx - 4]
	CHECK " level 3: ebp=", ebp, 8, esi
	lea edi, [ebx - 20]
	CHECK " esp=", ecx, 8, edi
	CHECK " [ebp]=", [ebp], 8, FRAME_A
	CHECK " [ebp-4]=", [ebp - 4], 8, 0xaaaa0001
	CHECK " [ebp-8]=", [ebp - 8], 8, 0xaaaa0002
	CHECK " [ebp-12]=", [ebp - 12], 8, esi
	leave
	CHECK " leave: ebp=", ebp, 8, FRAME_A
	PRINT 10, " "
	sub esp, 0x100                  ; away from a 64 KiB boundary
	mov ebx, esp                    ; EBP[31:16] = ESP[31:16]: LEAVE loads all of ESP
	mov ebp, ebx
	and ebp, 0xffff0000
	or ebp, 0x3333
	mov edi, ebp
	o16 enter 6, 0
	mov ecx, esp
	lea esi, [ebx - 2]
	CHECK " o16: ebp=", ebp, 8, esi
	lea esi, [ebx - 8]
	CHECK " esp=", ecx, 8, esi
	o16 leave
	mov ecx, esp
	CHECK " leave: ebp=", ebp, 8, edi
	CHECK " esp=", ecx, 8, ebx
	add esp, 0x100
	PRINT 10, " "
	mov edx, esp                    ; a 16-bit stack segment, ESP[31:16] = 1
	mov ax, SEL_DATA16
	mov ss, ax
	mov esp, 0x00018000
	mov ebp, 0x44445555
	enter 4, 0
	mov ebx, ebp
	mov ecx, esp
	leave
	mov esi, esp
	mov edi, ebp
	mov ax, SEL_DATA
	mov ss, ax
	mov esp, edx
	CHECK " 16-bit stack: ebp=", ebx, 8, 0x00017ffc
	CHECK " esp=", ecx, 8, 0x00017ff8
	CHECK " [ss:7ffc]=", [STACK16_BASE + 0x7ffc], 8, 0x44445555
	CHECK " leave: esp=", esi, 8, 0x00018000
	CHECK " ebp=", edi, 8, 0x44445555
	PRINT 10

	; ---- single-step over REP string instructions, from ring 3 ----
	PRINT "rep single-step"
	mov dword [DB_COUNT], 0
	mov dword [BUF_SRC], 0x64636261         ; "abcd"
	mov dword [BUF_DST], 0
	mov dword [BUF_CMP], 0x64786261         ; "abxd"
	mov esi, u_step
	call run_user
	CHECK " traps=", [DB_COUNT], 2, 13
	CHECK " movsb dst=", [BUF_DST], 8, 0x00636261
	CHECK " cmpsb ecx=", [VARS_ADDR + 0x280], 2, 1
	CHECK " end=", [EXC_IP], 8, s_end
	PRINT 10, " "
%assign i 0
%rep 13
%if i == 7
	PRINT 10, " "
%endif
	mov eax, [DB_EIP + 4 * i]
	sub eax, u_step
	CHECK " ", eax, 2, [step_expect + 4 * i]
	mov eax, [DB_RF + 4 * i]
	shr eax, 16
	CHECK "/", eax, 1, [step_expect + 4 * (13 + i)]
%assign i i + 1
%endrep
	PRINT 10

	; ---- BOUND XLAT AAM AAD CMPXCHG8B ----
	PRINT "bound"
	mov dword [BOUNDS], -5
	mov dword [BOUNDS + 4], 100
	mov eax, -5
	TRY .b1
	bound eax, [BOUNDS]
.b1:	NOEXC
	mov eax, 101
	TRY .b2
.bound_out:
	bound eax, [BOUNDS]
.b2:	CAUGHT 5, 0
	CHECK " eip=", [EXC_IP], 8, .bound_out
	mov ax, 7
	mov dword [BOUNDS], 0x00100008          ; 16-bit bounds 8..16
	TRY .b3
	o16 bound ax, [BOUNDS]
.b3:	CAUGHT 5, 0
	PRINT 10, "xlat"
	mov edi, XTABLE
	xor ecx, ecx
.fill:	lea eax, [ecx * 3 + 1]
	mov [edi + ecx], al
	inc ecx
	cmp ecx, 256
	jb .fill
	mov ebx, XTABLE
	mov eax, 0x12345690
	xlatb
	CHECK " al=", eax, 8, 0x123456b1
	PRINT 10, "aam/aad"
	mov eax, 0xffff00ff
	aam 16
	CHECK " aam 16: ", eax, 8, 0xffff0f0f
	mov eax, 0xffff0064
	aam 7
	CHECK " aam 7: ", eax, 8, 0xffff0e02
	mov eax, 0x1234050a
	aad 16
	CHECK " aad 16: ", eax, 8, 0x1234005a
	mov eax, 0x12340306
	aad 7
	CHECK " aad 7: ", eax, 8, 0x1234001b
	PRINT 10, "cmpxchg8b"
	mov dword [CX8], 0x11112222
	mov dword [CX8 + 4], 0x33334444
	mov edx, 0x33334444
	mov eax, 0x11112222
	mov ecx, 0x55556666
	mov ebx, 0x77778888
	lock cmpxchg8b [CX8]
	setz al
	movzx ecx, al
	CHECK " equal: zf=", ecx, 1, 1
	CHECK " mem=", [CX8 + 4], 8, 0x55556666
	CHECK ":", [CX8], 8, 0x77778888
	mov edx, 0
	mov eax, 0
	cmpxchg8b [CX8]
	setz bl
	movzx ebx, bl
	CHECK " differ: zf=", ebx, 1, 0
	CHECK " edx:eax=", edx, 8, 0x55556666
	CHECK ":", eax, 8, 0x77778888
	PRINT 10

	; ---- self-NMI ----
	PRINT "self-nmi"
	mov edi, 2
	mov esi, nmi_handler
	mov dl, 0x8E
	call idt_set32
	mov dword [NMI_COUNT], 0
	mov dword [APIC_BASE + APIC_SVR], 0x1FF         ; software-enable the APIC
	mov dword [APIC_BASE + APIC_ICR_LOW], ICR_SELF_NMI
	mov ecx, [NMI_COUNT]
	CHECK " after icr=", ecx, 1, 2
	CHECK " inside handler=", [NMI_INSIDE], 1, 1
	PRINT 10

	; ---- UMIP ----
	PRINT "umip"
	mov esi, u_smsw
	call run_user                   ; SMSW runs; the HLT after it faults
	CAUGHT 13, 0
	CHECK " off: eip=", [EXC_IP], 8, u_smsw_end
	mov eax, cr4
	or eax, 1 << 11                 ; CR4.UMIP
	mov cr4, eax
	mov esi, u_smsw
	call run_user
	CAUGHT 13, 0
	CHECK " on: eip=", [EXC_IP], 8, u_smsw
	mov eax, cr4
	and eax, ~(1 << 11)
	mov cr4, eax
	PRINT 10
	FINISH

; NMI: count; the first one sends another, which waits for this IRETD.
nmi_handler:
	inc dword [NMI_COUNT]
	cmp dword [NMI_COUNT], 1
	jne .done
	mov dword [APIC_BASE + APIC_ICR_LOW], ICR_SELF_NMI
	nop
	nop
	push dword [NMI_COUNT]
	pop dword [NMI_INSIDE]
.done:	iretd

; Where each trap lands (offset from u_step), then the RF bit of its frame:
; REP MOVSB traps at itself after iterations 1 and 2 (RF = 1: an event
; between iterations) and after the last at the next instruction; the same
; for REPE CMPSB, which stops at the third byte.
step_expect:
	dd s_movs - u_step, s_movs - u_step, s_m1 - u_step, s_m2 - u_step, s_m3 - u_step
	dd s_cmps - u_step, s_cmps - u_step, s_cmps - u_step, s_c1 - u_step
	dd s_c2 - u_step, s_c3 - u_step, s_c4 - u_step, s_end - u_step
	dd 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0

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

; #DB: record the frame's EIP and RF.
db_handler:
	push eax
	push ebx
	mov ebx, [DB_COUNT]
	cmp ebx, 15
	ja .full
	mov eax, [esp + 8]              ; EIP
	mov [DB_EIP + ebx * 4], eax
	mov eax, [esp + 16]             ; EFLAGS
	and eax, 0x10000
	mov [DB_RF + ebx * 4], eax
.full:	inc dword [DB_COUNT]
	xor eax, eax
	mov dr6, eax
	pop ebx
	pop eax
	iretd

; ---- ring 3 ----
u_step:
	mov ax, SEL_UDATA | 3
	mov ds, ax
	mov es, ax
	mov esi, BUF_SRC
	mov edi, BUF_DST
	mov ecx, 3
	pushfd
	or dword [esp], 0x100
	popfd                           ; TF from the next instruction on
s_movs:	rep movsb
s_m1:	mov esi, BUF_SRC
s_m2:	mov edi, BUF_CMP
s_m3:	mov ecx, 4
s_cmps:	repe cmpsb
s_c1:	mov [VARS_ADDR + 0x280], ecx
s_c2:	pushfd
s_c3:	and dword [esp], ~0x100
s_c4:	popfd                           ; started with TF set: traps
s_end:	hlt
u_smsw:	smsw eax
u_smsw_end:
	hlt

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
