; SPDX-License-Identifier: MIT
;
; snapshot-smp-rom: a three-CPU guest (x86v --smp 3) whose run a snapshot cuts
; in two (tests/snapshot/). Long mode at CPL 0, integer code only (kvm_pvm
; runs it). The BSP starts AP 1 (INIT, SIPI, SIPI); AP 2 waits for its
; start-up IPI until tick 150. The 8254 ticks every 10 ms through IOAPIC pin 2
; to the BSP; for each tick, in order, the BSP sends every started AP a fixed
; IPI by physical APIC ID once that AP has taken the previous one (so none
; merge, however the host schedules the vCPUs). An AP's handler counts it,
; adds 1000 to a shared counter with lock xadd and carries a running hash of
; its counts in R12, state that lives only in that CPU; the BSP carries its
; own hash of the ticks in R13. After 300 ticks (3 s of virtual time) each AP
; reports its R12 on a second vector, and the BSP checks every count, the
; counter and the three hashes against what one uninterrupted run gives.
; A snapshot taken at any point (at 1 s: AP 1 halted or in its handler,
; AP 2 waiting for a start-up IPI, interrupts in flight) and restored on
; either engine must print the same lines and reach the same result.
; Expected: tests/guest/snapshot-smp*.out, exit status 3.

%include "rom.inc"
%include "idt64.inc"
%include "smp.inc"

TICKS_END       equ 300
AP2_START       equ 150             ; the tick at which AP 2 gets its start-up IPI
SHARE           equ 1000            ; added to the shared counter per IPI
HASH_MOD        equ 1000003

VEC_TICK        equ 0x40
VEC_WORK        equ 0x50
VEC_REPORT      equ 0x60
VEC_SPURIOUS    equ 0xFF

; Shared variables.
SV              equ 0x5000
TICKS           equ SV              ; PIT interrupts the BSP took
DONE_TICKS      equ SV + 4          ; ticks the BSP's loop has handled
SHARED          equ SV + 8
FAILED          equ SV + 12
START_CNT       equ SV + 0x40       ; per-CPU dwords, by APIC ID
COUNT           equ SV + 0x80       ; VEC_WORK IPIs taken
SENT            equ SV + 0xC0       ; VEC_WORK IPIs sent
REPORTED        equ SV + 0x100
HASH            equ SV + 0x140      ; qwords: R12 as reported
SV_SIZE         equ 0x200

; The hashes one uninterrupted run gives: h = (h * M + n) mod HASH_MOD.
%macro HASH_OF 3 ; name, multiplier, count
%assign %%h 7
%assign %%n 1
%rep %3
%assign %%h (%%h * %2 + %%n) % HASH_MOD
%assign %%n %%n + 1
%endrep
%1 equ %%h
%endmacro
HASH_OF HASH_AP1, 31, TICKS_END
HASH_OF HASH_AP2, 31, TICKS_END - AP2_START
HASH_OF HASH_BSP, 37, TICKS_END

; FAIL "what" -- a line, and the run ends with EXIT_FAIL.
%macro FAIL 1
	PRINT "x86v snapshot-smp: FAILED: ", %1, 10
	EXIT EXIT_FAIL
%endmacro

; WAIT_AP index, array, value, "what" -- until dword [array + 4 * index] >= value, or FAIL.
%macro WAIT_AP 4
	mov edi, %2 + 4 * %1
	mov esi, %3
	call wait_ge
	jnc %%ok
	FAIL %4
%%ok:
%endmacro

; HASH_STEP reg, multiplier, n -- reg = (reg * multiplier + n) mod HASH_MOD, n not
; RAX, RCX or RDX, which it uses.
%macro HASH_STEP 3
	mov rax, %1
	imul rax, rax, %2
	add rax, %3
	xor edx, edx
	mov ecx, HASH_MOD
	div rcx
	mov %1, rdx
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov edi, SV
	xor eax, eax
	mov ecx, SV_SIZE / 4
	rep stosd
	call idt_init64
	mov dl, 0x8E
	mov edi, VEC_TICK
	mov esi, tick_handler
	call idt_set64
	mov edi, VEC_WORK
	mov esi, work_handler
	call idt_set64
	mov edi, VEC_REPORT
	mov esi, report_handler
	call idt_set64
	mov edi, VEC_SPURIOUS
	mov esi, spurious_handler
	call idt_set64
	MAP_APICS
	mov r15, LAPIC_BASE
	mov r14, IOAPIC_BASE
	PIC_MASK_ALL
	READ_NB_CPUS
	cmp ebx, 3
	je .three
	FAIL "this guest needs --smp 3"
.three:
	mov dword [r15 + APIC_LVT_LINT0], LVT_MASKED | 0x700
	mov dword [r15 + APIC_LVT_LINT1], LVT_MASKED | 0x400
	call lapic_on
	mov esi, tramp_start
	mov edi, TRAMP_ADDR
	mov ecx, tramp_end - tramp_start
	rep movsb

	mov edx, 1
	call start_ap
	WAIT_AP 1, START_CNT, 1, "AP 1 did not start"
	PRINT "x86v snapshot-smp: 3 CPUs, AP 1 started, AP 2 waits for a start-up IPI", 10

	; The PIT: IOAPIC pin 2 to the BSP (physical APIC ID 0), channel 0 at 100 Hz.
	mov dword [r14], 0x11 + 2 * 2
	mov dword [r14 + 0x10], 0
	mov dword [r14], 0x10 + 2 * 2
	mov dword [r14 + 0x10], VEC_TICK
	mov al, 0x34
	out 0x43, al
	mov ax, 11932
	out 0x40, al
	mov al, ah
	out 0x40, al
	mov r13, 7
	sti

.wait:	cli
	mov eax, [TICKS]
	cmp eax, [DONE_TICKS]
	jne .tick
	sti
	hlt
	jmp .wait
.tick:	sti
	inc dword [DONE_TICKS]
	mov ebx, [DONE_TICKS]
	HASH_STEP r13, 37, rbx
	cmp ebx, AP2_START
	jne .no_start
	mov edx, 2
	call start_ap
	WAIT_AP 2, START_CNT, 1, "AP 2 did not start"
	PRINT "tick 150: AP 2 started", 10
	jmp .send
.no_start:
	mov eax, ebx
	xor edx, edx
	mov ecx, 50
	div ecx
	test edx, edx
	jnz .send
	PRINT "tick "
	mov eax, ebx
	call print_dec
	PRINT 10
.send:	mov edx, 1
	call work_ipi
	cmp ebx, AP2_START
	jbe .sent
	mov edx, 2
	call work_ipi
.sent:	cmp ebx, TICKS_END
	jb .wait

	; The end: the PIT off, every IPI taken, the APs' hashes reported.
	mov dword [r14], 0x10 + 2 * 2
	mov dword [r14 + 0x10], RTE_MASKED | VEC_TICK
	WAIT_AP 1, COUNT, TICKS_END, "AP 1 missed IPIs"
	WAIT_AP 2, COUNT, TICKS_END - AP2_START, "AP 2 missed IPIs"
	mov edx, 1
	mov eax, ICR_FIXED | ICR_ASSERT | VEC_REPORT
	call send_ipi
	mov edx, 2
	call send_ipi
	WAIT_AP 1, REPORTED, 1, "AP 1 did not report"
	WAIT_AP 2, REPORTED, 1, "AP 2 did not report"
	cmp dword [COUNT + 4], TICKS_END
	jne .bad_count
	cmp dword [COUNT + 8], TICKS_END - AP2_START
	jne .bad_count
	cmp dword [SHARED], SHARE * (TICKS_END * 2 - AP2_START)
	jne .bad_shared
	cmp r13, HASH_BSP
	jne .bad_bsp
	cmp qword [HASH + 8], HASH_AP1
	jne .bad_ap
	cmp qword [HASH + 16], HASH_AP2
	jne .bad_ap
	PRINT "x86v snapshot-smp: AP 1 took 300 IPIs, AP 2 took 150, shared counter 450000, every CPU's hash right", 10
	EXIT EXIT_OK
.bad_count:
	FAIL "an AP took more IPIs than it was sent"
.bad_shared:
	FAIL "the shared counter is wrong"
.bad_bsp:
	FAIL "the BSP's hash (R13) is wrong"
.bad_ap:
	FAIL "an AP's hash (R12) is wrong"

; start_ap: INIT (assert, de-assert), SIPI, SIPI to physical APIC ID EDX.
start_ap:
	mov eax, ICR_INIT | ICR_LEVEL | ICR_ASSERT
	call send_ipi
	mov eax, ICR_INIT | ICR_LEVEL
	call send_ipi
	mov eax, ICR_SIPI | ICR_ASSERT | SIPI_VEC
	call send_ipi
	call send_ipi
	ret

; work_ipi: once AP EDX took every IPI sent so far, one more.
work_ipi:
	push rdx
	mov edi, COUNT
	lea rdi, [rdi + rdx * 4]
	mov esi, [SENT + rdx * 4]
	call wait_ge
	jnc .ok
	FAIL "an AP did not take its IPI"
.ok:	inc dword [SENT + rdx * 4]
	mov eax, ICR_FIXED | ICR_ASSERT | VEC_WORK
	call send_ipi
	pop rdx
	ret

; print_dec: EAX in decimal.
print_dec:
	push rbx
	push rcx
	push rdx
	mov ecx, 10
	xor ebx, ebx
.div:	xor edx, edx
	div ecx
	push rdx
	inc ebx
	test eax, eax
	jnz .div
.out:	pop rax
	add al, '0'
	call putc64
	dec ebx
	jnz .out
	pop rdx
	pop rcx
	pop rbx
	ret

; lapic_on: software-enabled, TPR 0, the error LVT masked.
lapic_on:
	mov dword [r15 + APIC_LVT_ERR], LVT_MASKED | 0xFE
	mov dword [r15 + APIC_TPR], 0
	mov dword [r15 + APIC_SVR], 0x100 | VEC_SPURIOUS
	ret

tick_handler:
	lock inc dword [TICKS]
	mov dword [r15 + APIC_EOI], 0
	iretq

; The handlers run with R15 = LAPIC_BASE, RBP = the APIC ID (an AP's), as every CPU keeps
; them. An AP's work: R12 is its hash, kept across interrupts.
work_handler:
	push rax
	push rcx
	push rdx
	push r8
	mov r8d, [COUNT + rbp * 4]
	inc r8d
	mov [COUNT + rbp * 4], r8d
	HASH_STEP r12, 31, r8
	mov ecx, SHARE
.add:	mov eax, 1
	lock xadd [SHARED], eax
	dec ecx
	jnz .add
	mov dword [r15 + APIC_EOI], 0
	pop r8
	pop rdx
	pop rcx
	pop rax
	iretq

report_handler:
	mov [HASH + rbp * 8], r12
	mov dword [REPORTED + rbp * 4], 1
	mov dword [r15 + APIC_EOI], 0
	iretq

spurious_handler:
	iretq

exc_handler:
	jmp exc_unexpected64

; An AP, from the trampoline: its hash starts at 7, then it idles in STI; HLT.
ap_lm:
	AP_LONG_MODE_ENTRY
	call lapic_on
	mov r12, 7
	lock inc dword [START_CNT + rbp * 4]
.idle:	sti
	hlt
	jmp .idle

	SMP_ROUTINES
	UART_ROUTINES 64
	IDT_ROUTINES64
	ROM_END
