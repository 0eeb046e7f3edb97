; SPDX-License-Identifier: MIT
;
; snapshot-rom: a guest whose run a snapshot cuts in two (tests/snapshot/).
; Long mode, the 8254 ticking every 10 ms through the 8259A pair. Every 20
; ticks the guest prints the round number and advances state that lives only
; in the CPU: general registers (RBX counts, R12 carries a running hash, R13
; and R14 a sum and a product) and an SSE register (XMM1 += XMM2 as four
; dwords, in snapshot-sse-rom only; YMM1 += YMM2 as four doubles, whose upper
; halves only XSAVE state holds, in snapshot-avx-rom only). After 15 rounds (3 s of virtual time) it
; checks them against what 15 rounds give and exits. kvm_pvm, whose emulator
; of CPL-0 code has neither x87 nor SSE and fails IRETD, runs this one (no
; SSE, IRETQ); the SSE variant runs where KVM has VT-x/AMD-V.
; A snapshot taken at any point and restored (on either engine) must print
; the same lines and reach the same result: the CPU, PIT, PIC, UART and RAM
; states all travel.
; Expected: tests/guest/snapshot-*.out, exit status 3.

%include "rom.inc"
%include "idt64.inc"

TICKS equ VARS_ADDR
NEXT  equ VARS_ADDR + 4
ROUNDS equ 15
%assign HASH 7
%assign r 1
%rep ROUNDS
%assign HASH HASH * 31 + r
%assign r r + 1
%endrep

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	PRINT "x86v snapshot: start", 10
	call idt_init64
	mov edi, 0x20
	mov esi, irq0_handler
	mov dl, 0x8E
	call idt_set64
	mov dword [TICKS], 0
	mov dword [NEXT], 20

%ifdef SNAPSHOT_SSE
	; SSE on (CR4.OSFXSR).
	mov rax, cr0
	and eax, ~(1 << 2)              ; EM off
	or eax, 1 << 1                  ; MP on
	mov cr0, rax
	mov rax, cr4
	or eax, 1 << 9
	mov cr4, rax
	pxor xmm1, xmm1
	mov eax, 0x01020304
	movd xmm2, eax
	pshufd xmm2, xmm2, 0            ; the same dword in every lane
%endif
%ifdef SNAPSHOT_AVX
	; AVX (CPUID.1:ECX bits 28, 26) on: CR4.OSFXSR and OSXSAVE, XCR0 = x87 | SSE | AVX.
	mov eax, 1
	cpuid
	and ecx, (1 << 28) | (1 << 26)
	cmp ecx, (1 << 28) | (1 << 26)
	jne no_avx
	mov rax, cr0
	and eax, ~(1 << 2)              ; EM off
	or eax, 1 << 1                  ; MP on
	mov cr0, rax
	mov rax, cr4
	or eax, (1 << 9) | (1 << 18)
	mov cr4, rax
	xor ecx, ecx
	xor edx, edx
	mov eax, 7
	xsetbv
	vxorpd ymm1, ymm1, ymm1
	vmovupd ymm2, [avx_step]        ; 1.0, 2.0, 3.0, 4.0
%endif
	xor ebx, ebx
	mov r12, 7
	xor r13, r13
	mov r14, 1

	; 8259A: ICW1 edge + ICW4, vectors 0x20/0x28, cascade on IR2, 8086 mode; IRQ 0 only.
	mov al, 0x11
	out 0x20, al
	out 0xa0, al
	mov al, 0x20
	out 0x21, al
	mov al, 0x28
	out 0xa1, al
	mov al, 0x04
	out 0x21, al
	mov al, 0x02
	out 0xa1, al
	mov al, 0x01
	out 0x21, al
	out 0xa1, al
	mov al, 0xfe
	out 0x21, al
	mov al, 0xff
	out 0xa1, al

	; 8254 channel 0, lobyte/hibyte, mode 2: 11932 counts = 10 ms.
	mov al, 0x34
	out 0x43, al
	mov ax, 11932
	out 0x40, al
	mov al, ah
	out 0x40, al

.wait:	sti
	hlt
	mov eax, [TICKS]
	cmp eax, [NEXT]
	jb .wait
	add dword [NEXT], 20
	inc ebx
%ifdef SNAPSHOT_SSE
	paddd xmm1, xmm2
%endif
%ifdef SNAPSHOT_AVX
	vaddpd ymm1, ymm1, ymm2
%endif
	imul r12, r12, 31               ; r12 = r12 * 31 + round
	add r12, rbx
	add r13, rbx                    ; r13 = 1 + 2 + ... + round
	imul r14, r14, 3                ; r14 = 3^round
	PRINT "x86v snapshot: round "
	PRINTHEX rbx, 2
	PRINT 10
	cmp ebx, ROUNDS
	jb .wait

	cli
	mov al, 0xff
	out 0x21, al
%ifdef SNAPSHOT_SSE
	; 15 rounds: each dword lane of XMM1 = 15 * 0x01020304.
	movd eax, xmm1
	cmp eax, ROUNDS * 0x01020304
	jne fail
	pshufd xmm3, xmm1, 0x39
	movd eax, xmm3
	cmp eax, ROUNDS * 0x01020304
	jne fail
%endif
%ifdef SNAPSHOT_AVX
	; 15 rounds: YMM1 = 15.0, 30.0, 45.0, 60.0; the upper two are in the upper half.
	vmovq rax, xmm1
	mov rdx, __?float64?__(15.0)
	cmp rax, rdx
	jne fail
	vextractf128 xmm3, ymm1, 1
	vmovq rax, xmm3
	mov rdx, __?float64?__(45.0)
	cmp rax, rdx
	jne fail
	vpermilpd xmm3, xmm3, 1
	vmovq rax, xmm3
	mov rdx, __?float64?__(60.0)
	cmp rax, rdx
	jne fail
%endif
	mov rax, HASH
	cmp r12, rax
	jne fail
	cmp r13, ROUNDS * (ROUNDS + 1) / 2
	jne fail
	mov rax, 14348907               ; 3^15
	cmp r14, rax
	jne fail
	PRINT "x86v snapshot: CPU state right after 15 rounds", 10
	EXIT EXIT_OK

fail:
	PRINT "x86v snapshot: FAILED", 10
	EXIT EXIT_FAIL

irq0_handler:
	push rax
	inc dword [TICKS]
	mov al, 0x20                    ; non-specific EOI
	out 0x20, al
	pop rax
	iretq

exc_handler:
	jmp exc_unexpected64

%ifdef SNAPSHOT_AVX
no_avx:
	PRINT "x86v snapshot: this CPU has no AVX", 10
	EXIT EXIT_FAIL

	align 8
avx_step:
	dq 1.0, 2.0, 3.0, 4.0
%endif

	UART_ROUTINES 64
	IDT_ROUTINES64
	ROM_END
