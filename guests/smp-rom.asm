; SPDX-License-Identifier: MIT
;
; smp-rom: several CPUs (x86v --smp N, 2 <= N <= 8), in long mode at CPL 0,
; with integer code only (kvm_pvm's emulator of CPL-0 code runs neither x87
; nor SSE nor IRETD). Intel SDM Vol. 3A ch. 9.4 (MP initialisation) and
; ch. 11.6 (IPIs); the MultiProcessor Specification's INIT-SIPI-SIPI.
; The BSP reads the number of CPUs from fw_cfg (FW_CFG_NB_CPUS, key 5) and
; checks, printing one line per check:
;   - start-up: a real-mode trampoline copied to 0x8000 (start-up vector 08)
;     takes an AP to 32-bit protected mode, then long mode; the AP reads its
;     APIC ID from its own local APIC, sets its bit in a map (lock bts) and
;     counts its start. First INIT (assert, de-assert), SIPI, SIPI to APIC ID
;     1 by physical destination, then INIT, SIPI, SIPI to all excluding self
;     (AP 1 restarts); every AP's IA32_APIC_BASE has BSP clear, and its
;     SVR, LDR and DFR read at entry are INIT's (software-disabled, 0, flat);
;   - a shared counter incremented ITER (50000) times by every CPU at once
;     (after a barrier), with lock xadd, with a lock cmpxchg retry loop, and
;     with a plain inc inside an xchg spinlock: the totals are exact. (kvm_pvm
;     emulates CPL-0 code at a few MIPS: 100000 took 12 s at --smp 4 on two
;     host cores, 50000 takes 6; nasm -DTIMING appends each phase's TSC
;     cycles / 2^20 to its line, to size ITER on a host);
;   - IPIs, each counted per CPU by the receiver's handler: fixed by physical
;     APIC ID (from the BSP and from an AP) and to ff (broadcast); logical
;     flat (DFR all ones, LDR 1 << (24 + ID)) and logical cluster (DFR
;     0fffffff, cluster (ID / 2) + 1, member bit 1 << (ID & 1)): single CPUs,
;     several, ff (flat), none; lowest priority to a logical set (exactly
;     one CPU takes each, from the set); the all including self and all
;     excluding self shorthands from every CPU; self
;     IPIs on every CPU; NMIs by physical ID and to all excluding self
;     (counted by the NMI handler); INIT then SIPI to a running AP (it starts
;     again from the trampoline, INIT reset its local APIC, it takes IPIs
;     again); a SIPI alone to a running AP (ignored);
;   - the PIT through IOAPIC pin 2 to the last AP by physical ID, then to AP 1
;     by logical ID: only that AP takes them.
; After each IPI check every CPU takes a low-priority "flush" IPI: once its
; handler ran, every higher-vector interrupt sent to that CPU earlier has been
; handled, so the per-CPU counts are final and compared exactly. Which CPU
; takes a lowest-priority interrupt is the platform's choice and is never
; printed; neither is anything that depends on timing or on which CPU runs
; first. Every wait on another CPU is bounded (2^34 TSC cycles) and reports a
; failure instead of hanging. Only the BSP prints; the APs idle in STI; HLT
; and run the commands the BSP posts in shared memory (each post is followed
; by a fixed IPI that wakes them).
; Expected: tests/guest/smp2.out (--smp 2), smp4.out (--smp 4), exit status 3.

%include "rom.inc"
%include "idt64.inc"
%include "check.inc"
%include "smp.inc"

%define ITER 50000
%defstr ITER_STR ITER
PIT_DIVISOR     equ 11932           ; 10 ms
PIT_TICKS       equ 4               ; the AP's PIT handler masks pin 2 at this count

; Vectors: the flush is the lowest class, so when its handler runs every
; other interrupt sent to that CPU before it has been handled.
VEC_FLUSH       equ 0x21
VEC_KICK        equ 0x31
VEC_PIT         equ 0x61
VEC_TEST        equ 0x81
VEC_SPURIOUS    equ 0xFF

; Commands the BSP posts to the APs.
CMD_COUNT       equ 1               ; ARG_LO = method (0 xadd, 1 cmpxchg, 2 spinlock)
CMD_SEND        equ 2               ; write ARG_HI, ARG_LO to the ICR
CMD_SETLOG      equ 3               ; load DFR/LDR for LOGMODE

; Shared variables (RAM below the real-mode stack).
SV              equ 0x5000
NCPUS           equ SV
NAPS            equ SV + 4
BSP_ID          equ SV + 8
LAST_AP         equ SV + 12
CPU_MAP         equ SV + 16         ; qword: bit n = APIC ID n checked in (lock bts)
CMD_SEQ         equ SV + 24
CMD             equ SV + 28
CMD_WHO         equ SV + 32         ; APIC ID of the AP that runs it, 0xff: all
ARG_HI          equ SV + 36
ARG_LO          equ SV + 40
DONE            equ SV + 44         ; APs done with the current command
READY           equ SV + 48         ; the counters' start barrier
COUNTER         equ SV + 52
SPINLOCK        equ SV + 56
LOGMODE         equ SV + 60         ; 1 flat, 2 cluster
ALL_MASK        equ SV + 64         ; (1 << NCPUS) - 1
LP_TOTAL        equ SV + 68
COUNT_STUCK     equ SV + 72         ; a CPU gave up waiting for the spinlock
; per-CPU dword arrays, indexed by APIC ID
START_CNT       equ SV + 0x100
SEEN            equ SV + 0x140      ; the last CMD_SEQ the AP looked at
HITS            equ SV + 0x180      ; VEC_TEST handler runs
EXPECT          equ SV + 0x1C0
NMIS            equ SV + 0x200
FLUSHED         equ SV + 0x240
KICKS           equ SV + 0x280
PIT_HITS        equ SV + 0x2C0
SPURS           equ SV + 0x300
APBASE          equ SV + 0x340      ; IA32_APIC_BASE[31:0] read at check-in
STUCK_LEFT      equ SV + 0x380      ; iterations left when the CPU gave up on the spinlock
AP_SVR          equ SV + 0x3C0      ; the AP's SVR, LDR and DFR at entry, before it sets them
AP_LDR          equ SV + 0x400
AP_DFR          equ SV + 0x440
SV_SIZE         equ 0x480

; WAIT_OR_FAIL "what" -- after a call of a wait routine: CF set = timed out.
%macro WAIT_OR_FAIL 1
	jnc %%ok
	PRINT " [timeout: ", %1, "]"
	inc dword [FAILS]
%%ok:
%endmacro

; EXPECT_EQ a, b, "label" -- dwords; prints only on a mismatch.
%macro EXPECT_EQ 3
	push rax
	push rdx
	mov eax, %1
	mov edx, %2
	cmp eax, edx
	je %%ok
	PRINT " [", %3, " "
	PRINTHEX rax, 8
	PRINT ", want "
	PRINTHEX rdx, 8
	PRINT "]"
	inc dword [FAILS]
%%ok:	pop rdx
	pop rax
%endmacro

; ZERO addr -- clears a per-CPU array.
%macro ZERO 1
	push rax
	push rcx
	push rdi
	mov edi, %1
	xor eax, eax
	mov ecx, MAX_CPUS
	rep stosd
	pop rdi
	pop rcx
	pop rax
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	mov edi, SV
	xor eax, eax
	mov ecx, SV_SIZE / 4
	rep stosd
	mov dword [FAILS], 0
	mov dword [LOGMODE], 1
	PRINT "x86v smp: long mode", 10
	call idt_init64
	mov dl, 0x8E
	mov edi, 2
	mov esi, nmi_handler
	call idt_set64
	mov edi, VEC_FLUSH
	mov esi, flush_handler
	call idt_set64
	mov edi, VEC_KICK
	mov esi, kick_handler
	call idt_set64
	mov edi, VEC_PIT
	mov esi, pit_handler
	call idt_set64
	mov edi, VEC_TEST
	mov esi, test_handler
	call idt_set64
	mov edi, VEC_SPURIOUS
	mov esi, spurious_handler
	call idt_set64

	MAP_APICS
	mov r15, LAPIC_BASE
	mov r14, IOAPIC_BASE
	PIC_MASK_ALL
	READ_NB_CPUS
	mov [NCPUS], ebx
	PRINT "x86v smp: fw_cfg NB_CPUS "
	PRINTHEX rbx, 4
	PRINT 10
	cmp ebx, 2
	jb .bad_count
	cmp ebx, MAX_CPUS
	jbe .count_ok
.bad_count:
	PRINT "x86v smp: FAILED: this guest needs 2 to 8 CPUs", 10
	EXIT EXIT_FAIL
.count_ok:
	lea eax, [rbx - 1]
	mov [NAPS], eax
	mov [LAST_AP], eax                  ; x86v numbers the APIC IDs 0..N-1
	mov ecx, ebx
	mov eax, 1
	shl eax, cl
	dec eax
	mov [ALL_MASK], eax

	; The BSP's local APIC, then its check-in like an AP's.
	mov eax, [r15 + APIC_ID]
	shr eax, 24
	mov [BSP_ID], eax
	mov ebp, eax
	mov dword [r15 + APIC_LVT_LINT0], LVT_MASKED | 0x700
	mov dword [r15 + APIC_LVT_LINT1], LVT_MASKED | 0x400
	call lapic_setup
	lock bts qword [CPU_MAP], rbp
	sti                                 ; the BSP runs with interrupts on from here

	; The trampoline to 0x8000.
	mov esi, tramp_start
	mov edi, TRAMP_ADDR
	mov ecx, tramp_end - tramp_start
	rep movsb

	; ---- start-up: INIT, SIPI, SIPI to APIC ID 1 by physical destination ----
	PRINT "smp: INIT (assert, de-assert), SIPI, SIPI to APIC ID 1: AP 1 ran the trampoline at 0x8000 and checked in"
	mov edx, 1
	mov eax, ICR_INIT | ICR_LEVEL | ICR_ASSERT
	call send_ipi
	mov eax, ICR_INIT | ICR_LEVEL       ; de-assert: P4 and later ignore it, Linux sends it
	call send_ipi
	mov eax, ICR_SIPI | ICR_ASSERT | SIPI_VEC
	call send_ipi
	call send_ipi
	mov edi, START_CNT + 4
	mov esi, 1
	call wait_ge
	WAIT_OR_FAIL "AP 1 start"
	mov eax, [CPU_MAP]
	EXPECT_EQ eax, 3, "map"
	PRINT 10

	; ---- start-up: INIT, SIPI, SIPI to all excluding self ----
	PRINT "smp: INIT, SIPI, SIPI to all excluding self: every AP checked in (AP 1 again), the BSP did not restart"
	mov eax, ICR_OTHERS | ICR_INIT | ICR_ASSERT
	call send_ipi
	mov eax, ICR_OTHERS | ICR_SIPI | ICR_ASSERT | SIPI_VEC
	call send_ipi
	call send_ipi
	mov esi, [NCPUS]                    ; AP 1 twice, the others once
	mov edi, START_CNT
	call wait_sum_ge
	WAIT_OR_FAIL "AP start"
	mov eax, [CPU_MAP]
	EXPECT_EQ eax, [ALL_MASK], "map"
	mov edi, EXPECT
	mov eax, 1
	mov ecx, MAX_CPUS
	rep stosd
	mov dword [EXPECT + 4], 2
	mov dword [EXPECT], 0
	mov esi, START_CNT
	mov edi, EXPECT
	call check_array
	PRINT 10
	ZERO EXPECT
	cmp dword [FAILS], 0                ; the rest needs every AP in its idle loop
	je .all_up
	PRINT "smp: the start-up failed, nothing more to check", 10
	FINISH
.all_up:

	PRINT "smp: IA32_APIC_BASE: fee00900 (BSP) on the BSP, fee00800 on every AP"
	mov ecx, MSR_APIC_BASE
	rdmsr
	EXPECT_EQ eax, 0xFEE00900, "BSP"
	mov edi, EXPECT
	mov eax, 0xFEE00800
	mov ecx, MAX_CPUS
	rep stosd
	mov eax, [BSP_ID]
	mov dword [EXPECT + rax * 4], 0
	mov esi, APBASE
	mov edi, EXPECT
	call check_array
	PRINT 10
	ZERO EXPECT
	PRINT "smp: every AP's local APIC as INIT left it: SVR 000000ff (software-disabled), LDR 0, DFR ffffffff"
	call check_init_state
	PRINT 10

	; ---- a shared counter ---------------------------------------------------
	PRINT "smp: shared counter, lock xadd, ", ITER_STR, " times on every CPU at once: exact"
	xor eax, eax
	call counter_test
	PRINT 10
	PRINT "smp: shared counter, lock cmpxchg retry loop, ", ITER_STR, " times on every CPU at once: exact"
	mov eax, 1
	call counter_test
	PRINT 10
	PRINT "smp: shared counter, plain inc under an xchg spinlock, ", ITER_STR, " times on every CPU at once: exact"
	mov eax, 2
	call counter_test
	PRINT 10

	; ---- fixed IPIs by physical APIC ID ---------------------------------------
	PRINT "smp: fixed IPIs by physical APIC ID, 3 from the BSP and 1 from the last AP to every CPU (each itself too), ff (broadcast) from the BSP"
	mov r10d, HITS
	mov r11d, ICR_FIXED | VEC_TEST
	xor ebx, ebx
.phys:	mov edx, ebx
	call bit_of                         ; r9d = 1 << ebx
	mov r8d, [BSP_ID]
	call ipi_case
	call ipi_case
	call ipi_case
	mov r8d, [LAST_AP]
	call ipi_case
	inc ebx
	cmp ebx, [NCPUS]
	jb .phys
	mov r8d, [BSP_ID]
	mov edx, 0xFF                       ; broadcast, the sender included
	mov r9d, [ALL_MASK]
	call ipi_case
	call ipi_verify

	; ---- logical destinations, flat model -------------------------------------
	PRINT "smp: fixed IPIs by logical ID, flat model (DFR ffffffff, LDR 1 << (24 + ID)): each CPU, all, the odd IDs, ff (broadcast), none"
	mov dword [LOGMODE], 1
	call set_logical_all
	mov r10d, HITS
	mov r11d, ICR_FIXED | ICR_LOGICAL | VEC_TEST
	mov r8d, [BSP_ID]
	xor ebx, ebx
.flat:	call bit_of
	mov edx, r9d
	call ipi_case
	inc ebx
	cmp ebx, [NCPUS]
	jb .flat
	mov edx, [ALL_MASK]                 ; every CPU at once
	mov r9d, edx
	call ipi_case
	mov r8d, [LAST_AP]                  ; the odd IDs, from the last AP
	mov edx, [ALL_MASK]
	and edx, 0xAA
	mov r9d, edx
	call ipi_case
	mov edx, 0xFF                       ; broadcast, from the last AP
	mov r9d, [ALL_MASK]
	call ipi_case
	mov r8d, [BSP_ID]
	mov ebx, [NCPUS]                    ; a bit no CPU has
	call bit_of
	mov edx, r9d
	xor r9d, r9d
	call ipi_case
	call ipi_verify

	; ---- lowest priority ---------------------------------------------------------
	PRINT "smp: lowest priority to all CPUs (logical flat) from the BSP, 8 times: 8 taken, each by one CPU"
	mov r8d, [BSP_ID]
	mov edx, [ALL_MASK]
	mov r9d, edx
	mov ecx, 8
	call lowest_case
	PRINT 10
	PRINT "smp: lowest priority to the APs (logical flat) from the last AP, 4 times: 4 taken, each by one AP"
	mov r8d, [LAST_AP]
	mov edx, [ALL_MASK]
	mov eax, [BSP_ID]
	btr edx, eax
	mov r9d, edx
	mov ecx, 4
	call lowest_case
	PRINT 10

	; ---- logical destinations, cluster model -----------------------------------
	PRINT "smp: fixed IPIs by logical ID, cluster model (DFR 0fffffff): each CPU, each whole cluster, a missing member, a missing cluster"
	mov dword [LOGMODE], 2
	call set_logical_all
	mov r10d, HITS
	mov r11d, ICR_FIXED | ICR_LOGICAL | VEC_TEST
	mov r8d, [BSP_ID]
	xor ebx, ebx
.clus:	call bit_of
	mov ecx, ebx
	call cluster_id
	mov edx, eax
	call ipi_case
	inc ebx
	cmp ebx, [NCPUS]
	jb .clus
	xor ebx, ebx                        ; cluster (ID / 2) + 1 holds IDs 2k and 2k + 1
	mov r8d, [LAST_AP]
.whole:	mov edx, ebx
	shr edx, 1
	inc edx
	shl edx, 4
	or edx, 0xF
	mov r9d, 3
	mov ecx, ebx
	shl r9d, cl
	and r9d, [ALL_MASK]
	call ipi_case
	add ebx, 2
	cmp ebx, [NCPUS]
	jb .whole
	mov r8d, [BSP_ID]
	xor r9d, r9d
	mov edx, 0x14                       ; cluster 1, member 4: no such member
	call ipi_case
	mov edx, 0x71                       ; cluster 7 does not exist
	call ipi_case
	call ipi_verify
	mov dword [LOGMODE], 1              ; back to flat
	call set_logical_all

	; ---- shorthands ---------------------------------------------------------------
	PRINT "smp: fixed IPIs to all including self, from every CPU: every CPU takes each"
	mov r10d, HITS
	mov r11d, ICR_FIXED | ICR_ALL | VEC_TEST
	xor ebx, ebx
.all:	mov r8d, ebx
	xor edx, edx
	mov r9d, [ALL_MASK]
	call ipi_case
	inc ebx
	cmp ebx, [NCPUS]
	jb .all
	call ipi_verify

	PRINT "smp: fixed IPIs to all excluding self, from every CPU: every CPU but the sender takes each"
	mov r10d, HITS
	mov r11d, ICR_FIXED | ICR_OTHERS | VEC_TEST
	xor ebx, ebx
.oth:	mov r8d, ebx
	xor edx, edx
	mov r9d, [ALL_MASK]
	btr r9d, ebx
	call ipi_case
	inc ebx
	cmp ebx, [NCPUS]
	jb .oth
	call ipi_verify

	PRINT "smp: self IPIs (shorthand 01), from every CPU: only the sender takes each"
	mov r10d, HITS
	mov r11d, ICR_FIXED | ICR_SELF | VEC_TEST
	xor ebx, ebx
.self:	mov r8d, ebx
	xor edx, edx
	call bit_of
	call ipi_case
	call ipi_case
	inc ebx
	cmp ebx, [NCPUS]
	jb .self
	call ipi_verify

	; ---- NMI ------------------------------------------------------------------------
	PRINT "smp: NMI IPIs by physical ID to every CPU and to all excluding self from the BSP and the last AP: counted by the NMI handlers"
	mov r10d, NMIS
	mov r11d, ICR_NMI
	mov r8d, [BSP_ID]
	xor ebx, ebx
.nmi:	mov edx, ebx
	call bit_of
	call ipi_case
	inc ebx
	cmp ebx, [NCPUS]
	jb .nmi
	mov r11d, ICR_NMI | ICR_OTHERS
	xor edx, edx
	mov r9d, [ALL_MASK]
	btr r9d, r8d
	call ipi_case
	mov r8d, [LAST_AP]
	mov r9d, [ALL_MASK]
	btr r9d, r8d
	call ipi_case
	call ipi_verify

	; ---- INIT, SIPI to a running AP ------------------------------------------------
	PRINT "smp: INIT, SIPI to the running last AP (physical): it ran the trampoline again and checked in, its local APIC reset, no other CPU restarted"
	mov esi, START_CNT
	mov edi, EXPECT
	mov ecx, MAX_CPUS
	rep movsd
	mov ebx, [LAST_AP]
	inc dword [EXPECT + rbx * 4]
	mov edx, ebx
	mov eax, ICR_INIT | ICR_ASSERT
	call send_ipi
	mov eax, ICR_SIPI | ICR_ASSERT | SIPI_VEC
	call send_ipi
	lea rdi, [START_CNT + rbx * 4]
	mov esi, [EXPECT + rbx * 4]
	call wait_ge
	WAIT_OR_FAIL "restart"
	mov esi, START_CNT
	mov edi, EXPECT
	call check_array
	mov eax, [APBASE + rbx * 4]
	EXPECT_EQ eax, 0xFEE00800, "IA32_APIC_BASE"
	mov eax, [AP_SVR + rbx * 4]         ; its LDR was 1 << (24 + ID), its SVR 1ff
	EXPECT_EQ eax, 0xFF, "SVR"
	mov eax, [AP_LDR + rbx * 4]
	EXPECT_EQ eax, 0, "LDR"
	mov eax, [AP_DFR + rbx * 4]
	EXPECT_EQ eax, 0xFFFFFFFF, "DFR"
	PRINT 10
	ZERO EXPECT
	PRINT "smp: a SIPI alone to the running last AP is ignored"
	mov esi, START_CNT
	mov edi, EXPECT
	mov ecx, MAX_CPUS
	rep movsd
	mov edx, ebx
	mov eax, ICR_SIPI | ICR_ASSERT | SIPI_VEC
	call send_ipi
	call flush_all                      ; the AP meets the SIPI before it can take the flush
	mov esi, START_CNT
	mov edi, EXPECT
	call check_array
	PRINT 10
	ZERO EXPECT
	PRINT "smp: the restarted AP takes fixed IPIs by physical ID and by logical flat ID again"
	mov r10d, HITS
	mov r8d, [BSP_ID]
	call bit_of
	mov r11d, ICR_FIXED | VEC_TEST
	mov edx, ebx
	call ipi_case
	mov r11d, ICR_FIXED | ICR_LOGICAL | VEC_TEST
	mov edx, r9d
	call ipi_case
	call ipi_verify

	; ---- IOAPIC to an AP -------------------------------------------------------------
	PRINT "smp: IOAPIC pin 2 (PIT, ISA IRQ 0) -> the last AP by physical ID, fixed: only that AP takes them"
	mov ebx, [LAST_AP]
	mov eax, ebx
	shl eax, 24
	mov ecx, VEC_PIT
	call pit_case
	PRINT 10
	PRINT "smp: IOAPIC pin 2 (PIT, ISA IRQ 0) -> AP 1 by logical flat ID, fixed: only that AP takes them"
	mov ebx, 1
	mov eax, 2 << 24
	mov ecx, VEC_PIT | RTE_LOGICAL
	call pit_case
	PRINT 10
	mov al, 0x30                        ; PIT channel 0 to mode 0: one more count, then quiet
	out 0x43, al
	mov al, 0xff
	out 0x40, al
	out 0x40, al
	mov ecx, 0x10 + 2 * 2
	mov eax, RTE_MASKED | VEC_PIT
	call ioapic_write

	PRINT "smp: no spurious interrupts on any CPU"
	mov esi, SPURS
	mov edi, EXPECT
	call check_array
	PRINT 10
	mov eax, [COUNT_STUCK]
	test eax, eax
	jz .finish
	PRINT "smp: FAILED: a CPU gave up waiting for the spinlock: lock "
	PRINTHEX [SPINLOCK], 8
	PRINT ", iterations left per CPU"
	xor ecx, ecx
.left:	PRINT " "
	PRINTHEX [STUCK_LEFT + rcx * 4], 8
	inc ecx
	cmp ecx, [NCPUS]
	jb .left
	PRINT 10
	inc dword [FAILS]
.finish:
	FINISH

; ---- BSP routines ---------------------------------------------------------------

; check_init_state: every AP's SVR, LDR and DFR at its last entry are INIT's values.
check_init_state:
	push rax
	push rcx
	mov ecx, 0
.cpu:	cmp ecx, [BSP_ID]
	je .next
	EXPECT_EQ [AP_SVR + rcx * 4], 0xFF, "SVR"
	EXPECT_EQ [AP_LDR + rcx * 4], 0, "LDR"
	EXPECT_EQ [AP_DFR + rcx * 4], 0xFFFFFFFF, "DFR"
.next:	inc ecx
	cmp ecx, [NCPUS]
	jb .cpu
	pop rcx
	pop rax
	ret

; bit_of: R9D = 1 << EBX.
bit_of:
	push rcx
	mov ecx, ebx
	mov r9d, 1
	shl r9d, cl
	pop rcx
	ret

; cluster_id: EAX = the cluster-model logical ID of APIC ID ECX:
; cluster (ID / 2) + 1 in bits 7:4, member bit 1 << (ID & 1).
cluster_id:
	push rcx
	push rdx
	mov edx, ecx
	and ecx, 1
	mov eax, 1
	shl eax, cl
	shr edx, 1
	inc edx
	shl edx, 4
	or eax, edx
	pop rdx
	pop rcx
	ret

; counter_test: EAX = method. Every CPU adds ITER to COUNTER at once.
counter_test:
	push rax
	push rcx
	mov dword [COUNTER], 0
	mov dword [SPINLOCK], 0
	mov dword [READY], 0
	mov [ARG_LO], eax
	mov eax, CMD_COUNT
	mov ecx, 0xff
	call post_cmd
	call tsc_now
	push rax
	mov eax, [ARG_LO]
	call count_run
	call wait_done
%ifdef TIMING
	call tsc_now
	sub rax, [rsp]
	shr rax, 20
	PRINT " [Mcycles "
	PRINTHEX rax, 8
	PRINT "]"
%endif
	pop rax
	mov ecx, [NCPUS]
	imul ecx, ecx, ITER
	EXPECT_EQ [COUNTER], ecx, "total"
	pop rcx
	pop rax
	ret

; set_logical_all: every CPU loads DFR/LDR for LOGMODE.
set_logical_all:
	push rax
	push rcx
	call set_logical
	mov eax, CMD_SETLOG
	mov ecx, 0xff
	call post_cmd
	call wait_done
	pop rcx
	pop rax
	ret

; ipi_case: CPU R8D sends ICR low R11D to destination EDX (8 bits); the CPUs in
; mask R9D are each expected to count it once in the array at R10. Waits until
; the array's sum reaches what is expected so far (EXPECT's sum).
ipi_case:
	push rax
	push rcx
	push rsi
	push rdi
	call send_from
	xor ecx, ecx
.mark:	bt r9d, ecx
	jnc .next
	inc dword [EXPECT + rcx * 4]
.next:	inc ecx
	cmp ecx, [NCPUS]
	jb .mark
	mov edi, EXPECT
	call sum_array
	mov esi, eax
	mov rdi, r10
	call wait_sum_ge
	jnc .ok
	PRINT " [timeout: from "
	PRINTHEX r8, 2
	PRINT " icr "
	PRINTHEX r11, 8
	PRINT " dest "
	PRINTHEX rdx, 2
	PRINT "]"
	inc dword [FAILS]
.ok:	pop rdi
	pop rsi
	pop rcx
	pop rax
	ret

; ipi_verify: flush every CPU, compare the array at R10 with EXPECT, end the
; line, clear the counts.
ipi_verify:
	call flush_all
	mov rsi, r10
	mov edi, EXPECT
	call check_array
	PRINT 10
	ZERO HITS
	ZERO NMIS
	ZERO EXPECT
	ret

; lowest_case: CPU R8D sends ECX lowest-priority IPIs to logical (flat)
; destination EDX, one at a time; each must be taken by exactly one CPU, all
; of them in R9D.
lowest_case:
	push rax
	push rcx
	push rdx
	push rsi
	push rdi
	push r11
	mov r11d, ICR_LOWEST | ICR_LOGICAL | VEC_TEST
	mov dword [LP_TOTAL], 0
.send:	call send_from
	inc dword [LP_TOTAL]
	mov edi, HITS
	mov esi, [LP_TOTAL]
	call wait_sum_ge
	WAIT_OR_FAIL "lowest priority"
	dec ecx
	jnz .send
	call flush_all
	mov edi, HITS
	call sum_array
	EXPECT_EQ eax, [LP_TOTAL], "taken"
	xor ecx, ecx
.outside:
	bt r9d, ecx
	jc .in
	EXPECT_EQ [HITS + rcx * 4], 0, "outside the set"
.in:	inc ecx
	cmp ecx, [NCPUS]
	jb .outside
	ZERO HITS
	pop r11
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rax
	ret

; pit_case: IOAPIC pin 2 -> destination EAX (entry bits 63:32), entry low ECX;
; the PIT runs at 10 ms; APIC ID EBX must take PIT_TICKS interrupts (its
; handler then masks the pin), no other CPU any.
pit_case:
	push rax
	push rcx
	push rdi
	push rsi
	ZERO PIT_HITS
	push rcx
	mov ecx, 0x10 + 2 * 2 + 1
	call ioapic_write
	pop rax
	mov ecx, 0x10 + 2 * 2
	call ioapic_write
	mov al, 0x34                        ; channel 0, lobyte/hibyte, mode 2
	out 0x43, al
	mov ax, PIT_DIVISOR
	out 0x40, al
	mov al, ah
	out 0x40, al
	lea rdi, [PIT_HITS + rbx * 4]
	mov esi, PIT_TICKS
	call wait_ge
	WAIT_OR_FAIL "PIT interrupts"
	call flush_all
	xor ecx, ecx
.cpu:	cmp ecx, ebx
	je .next
	EXPECT_EQ [PIT_HITS + rcx * 4], 0, "another CPU"
.next:	inc ecx
	cmp ecx, [NCPUS]
	jb .cpu
	pop rsi
	pop rdi
	pop rcx
	pop rax
	ret

; ioapic_write: ECX = register index, EAX = value.
ioapic_write:
	pushfq
	cli
	mov [r14], ecx
	mov [r14 + 0x10], eax
	popfq
	ret

; send_from: CPU R8D sends ICR low R11D to destination EDX: the BSP itself,
; or an AP through CMD_SEND.
send_from:
	push rax
	push rcx
	cmp r8d, [BSP_ID]
	jne .ap
	mov eax, r11d
	call send_ipi
	jmp .out
.ap:	mov eax, edx
	shl eax, 24
	mov [ARG_HI], eax
	mov [ARG_LO], r11d
	mov eax, CMD_SEND
	mov ecx, r8d
	call post_cmd
	call wait_done
.out:	pop rcx
	pop rax
	ret

; post_cmd: command EAX for the AP with APIC ID ECX (0xff: every AP); every
; AP is woken with a fixed IPI and counts DONE once it is through.
post_cmd:
	push rax
	push rdx
	mov dword [DONE], 0
	mov [CMD], eax
	mov [CMD_WHO], ecx
	inc dword [CMD_SEQ]                 ; after CMD (stores are not reordered)
	xor edx, edx
.kick:	cmp edx, [BSP_ID]
	je .next
	mov eax, ICR_FIXED | VEC_KICK
	call send_ipi
.next:	inc edx
	cmp edx, [NCPUS]
	jb .kick
	pop rdx
	pop rax
	ret

; wait_done: until every AP is through the current command.
wait_done:
	push rsi
	push rdi
	mov edi, DONE
	mov esi, [NAPS]
	call wait_ge
	WAIT_OR_FAIL "the APs did not run a command"
	pop rdi
	pop rsi
	ret

; flush_all: every CPU takes VEC_FLUSH, the lowest vector in use, so by then
; it has handled every interrupt sent to it before.
flush_all:
	push rax
	push rdx
	push rsi
	push rdi
	xor edx, edx
.cpu:	lea rdi, [FLUSHED + rdx * 4]
	mov esi, [rdi]
	inc esi
	mov eax, ICR_FIXED | VEC_FLUSH
	call send_ipi
	call wait_ge
	jnc .next
	PRINT " [timeout: flush of CPU "
	PRINTHEX rdx, 2
	PRINT "]"
	inc dword [FAILS]
.next:	inc edx
	cmp edx, [NCPUS]
	jb .cpu
	pop rdi
	pop rsi
	pop rdx
	pop rax
	ret

; check_array: compare the per-CPU dwords at RSI with those at RDI; prints
; each difference.
check_array:
	push rax
	push rcx
	push rdx
	xor ecx, ecx
.cpu:	mov eax, [rsi + rcx * 4]
	mov edx, [rdi + rcx * 4]
	cmp eax, edx
	je .next
	PRINT " [CPU "
	PRINTHEX rcx, 2
	PRINT ": "
	PRINTHEX rax, 8
	PRINT ", want "
	PRINTHEX rdx, 8
	PRINT "]"
	inc dword [FAILS]
.next:	inc ecx
	cmp ecx, [NCPUS]
	jb .cpu
	pop rdx
	pop rcx
	pop rax
	ret

; sum_array: EAX = the sum of the per-CPU dwords at RDI.
sum_array:
	push rcx
	xor eax, eax
	xor ecx, ecx
.cpu:	add eax, [rdi + rcx * 4]
	inc ecx
	cmp ecx, [NCPUS]
	jb .cpu
	pop rcx
	ret

; wait_sum_ge: until the sum of the per-CPU dwords at RDI >= ESI. CF = 1: timed out.
wait_sum_ge:
	push rax
	push rcx
	push rdx
	call tsc_now
	mov rcx, rax
.loop:	call sum_array
	cmp eax, esi
	jae .ok
	pause
	call tsc_now
	sub rax, rcx
	mov rdx, WAIT_TSC
	cmp rax, rdx
	jb .loop
	pop rdx
	pop rcx
	pop rax
	stc
	ret
.ok:	pop rdx
	pop rcx
	pop rax
	clc
	ret

; ---- routines every CPU runs (RBP = own APIC ID, R15 = LAPIC_BASE) ---------------

; lapic_setup: software-enable the local APIC, TPR 0, error LVT masked, DFR/LDR.
lapic_setup:
	mov dword [r15 + APIC_LVT_ERR], LVT_MASKED | 0xFE
	mov dword [r15 + APIC_TPR], 0
	mov dword [r15 + APIC_SVR], 0x100 | VEC_SPURIOUS
	call set_logical
	ret

; set_logical: DFR and LDR for LOGMODE: flat, LDR = 1 << (24 + ID); cluster,
; LDR = cluster_id(ID) << 24.
set_logical:
	push rax
	push rcx
	cmp dword [LOGMODE], 2
	je .cluster
	mov dword [r15 + APIC_DFR], 0xFFFFFFFF
	mov ecx, ebp
	mov eax, 1
	shl eax, cl
	shl eax, 24
	mov [r15 + APIC_LDR], eax
	jmp .out
.cluster:
	mov dword [r15 + APIC_DFR], 0x0FFFFFFF
	mov ecx, ebp
	call cluster_id
	shl eax, 24
	mov [r15 + APIC_LDR], eax
.out:	pop rcx
	pop rax
	ret

; count_run: EAX = method; adds ITER to COUNTER once every CPU is at the barrier.
count_run:
	push rax
	push rcx
	push rdx
	push rsi
	push rdi
	push r8
	mov r8d, eax
	lock inc dword [READY]
	mov edi, READY
	mov esi, [NCPUS]
	call wait_ge                        ; on a timeout: go on, the total tells
	mov ecx, ITER
	cmp r8d, 1
	je .cmpxchg
	ja .spinlock
.xadd:	mov eax, 1
	lock xadd [COUNTER], eax
	dec ecx
	jnz .xadd
	jmp .out
.cmpxchg:
	mov eax, [COUNTER]
.retry:	lea edx, [rax + 1]
	lock cmpxchg [COUNTER], edx         ; on failure EAX = the current value
	jnz .retry
	dec ecx
	jnz .cmpxchg
	jmp .out
.spinlock:
.acquire:
	mov eax, 1
	xchg eax, [SPINLOCK]
	test eax, eax
	jz .locked
	call tsc_now
	mov rsi, rax                        ; a bound on this wait for the lock
.held:	pause
	cmp dword [SPINLOCK], 0
	je .acquire
	call tsc_now
	sub rax, rsi
	mov rdx, WAIT_TSC
	cmp rax, rdx
	jb .held
	mov dword [COUNT_STUCK], 1
	mov [STUCK_LEFT + rbp * 4], ecx
	jmp .out
.locked:
	inc dword [COUNTER]
	mov dword [SPINLOCK], 0
	dec ecx
	jnz .acquire
.out:	pop r8
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rax
	ret

; ---- interrupt handlers (any CPU) -------------------------------------------------

; COUNT_HANDLER name, array, eoi -- counts one run in array[own APIC ID].
%macro COUNT_HANDLER 3
%1:
	push rax
	push rdx
	mov edx, LAPIC_BASE
	mov eax, [rdx + APIC_ID]
	shr eax, 24
	and eax, MAX_CPUS - 1
	lock inc dword [%2 + rax * 4]
%if %3
	mov dword [rdx + APIC_EOI], 0
%endif
	pop rdx
	pop rax
	iretq
%endmacro

	COUNT_HANDLER test_handler, HITS, 1
	COUNT_HANDLER flush_handler, FLUSHED, 1
	COUNT_HANDLER kick_handler, KICKS, 1
	COUNT_HANDLER nmi_handler, NMIS, 0
	COUNT_HANDLER spurious_handler, SPURS, 0

; The PIT on IOAPIC pin 2: the CPU that takes the PIT_TICKS-th masks the pin.
pit_handler:
	push rax
	push rdx
	mov edx, LAPIC_BASE
	mov eax, [rdx + APIC_ID]
	shr eax, 24
	and eax, MAX_CPUS - 1
	lock inc dword [PIT_HITS + rax * 4]
	cmp dword [PIT_HITS + rax * 4], PIT_TICKS
	jb .eoi
	mov eax, IOAPIC_BASE
	mov dword [rax], 0x10 + 2 * 2
	mov dword [rax + 0x10], RTE_MASKED | VEC_PIT
.eoi:	mov dword [rdx + APIC_EOI], 0
	pop rdx
	pop rax
	iretq

exc_handler:
	jmp exc_unexpected64

; ---- the APs ------------------------------------------------------------------------

	bits 64
ap_lm:
	AP_LONG_MODE_ENTRY
	mov eax, [r15 + APIC_SVR]           ; what INIT left (SDM §11.4.7.3)
	mov [AP_SVR + rbp * 4], eax
	mov eax, [r15 + APIC_LDR]
	mov [AP_LDR + rbp * 4], eax
	mov eax, [r15 + APIC_DFR]
	mov [AP_DFR + rbp * 4], eax
	call lapic_setup
	mov ecx, MSR_APIC_BASE
	rdmsr
	mov [APBASE + rbp * 4], eax
	mov eax, [CMD_SEQ]                  ; commands from now on only
	mov [SEEN + rbp * 4], eax
	lock bts qword [CPU_MAP], rbp
	lock inc dword [START_CNT + rbp * 4]

; The AP's idle loop: STI; HLT until a new command.
ap_idle:
	cli
	mov eax, [CMD_SEQ]
	cmp eax, [SEEN + rbp * 4]
	jne .cmd
	sti
	hlt
	jmp ap_idle
.cmd:	mov [SEEN + rbp * 4], eax
	sti
	mov eax, [CMD_WHO]
	cmp eax, 0xff
	je .mine
	cmp eax, ebp
	jne .done
.mine:	mov eax, [CMD]
	cmp eax, CMD_COUNT
	jne .not_count
	mov eax, [ARG_LO]
	call count_run
	jmp .done
.not_count:
	cmp eax, CMD_SEND
	jne .not_send
	mov edx, [ARG_HI]
	shr edx, 24
	mov eax, [ARG_LO]
	call send_ipi
	jmp .done
.not_send:
	cmp eax, CMD_SETLOG
	jne .done
	call set_logical
.done:	lock inc dword [DONE]
	jmp ap_idle

	SMP_ROUTINES
	UART_ROUTINES 64
	IDT_ROUTINES64
	ROM_END
