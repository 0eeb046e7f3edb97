; SPDX-License-Identifier: MIT
;
; apic-rom: the local APIC and the IOAPIC, in long mode at CPL 0, with the
; 8259 pair masked. Intel SDM Vol. 3A ch. 11 (APIC), the 82093AA IOAPIC
; datasheet, and the 16550 datasheet for the UART's THRE interrupt.
;   - xAPIC MMIO at 0xfee00000: ID, version, SVR (software enable, spurious
;     vector 0xff), LINT0/LINT1 masked, TPR/PPR;
;   - timer at vector 0x30, divide by 1: one-shot (the current count falls,
;     one interrupt, then the count reads 0) and periodic (4 interrupts, the
;     count always within the period, 0 once stopped);
;   - a self-IPI through the ICR: in IRR while IF = 0, in ISR inside its
;     handler, both clear after EOI;
;   - TPR 0x50 holds vector 0x58 (class 5) in IRR but lets 0x68 through;
;     TPR 0 releases 0x58;
;   - IOAPIC at 0xfec00000: 24 pins; ISA IRQ 0 (PIT) on pin 2 as an edge
;     interrupt at 0x40; a one-shot of 4 PIT periods fires after 3 to 5 PIT
;     interrupts (both timers run on the same clock; only this relation is
;     printed, never a duration); masking the pin stops delivery;
;   - ISA IRQ 4 (the UART, whose THRE interrupt stays asserted until IIR is
;     read) on pin 4 as a level interrupt at 0x44: Remote IRR and TMR set on
;     delivery, an EOI while the line is still up delivers it again, and once
;     the handler reads IIR the line drops and Remote IRR clears.
; Every value printed is a vector, a count or a relation, so the output is
; the same on every engine and host. A failed check prints its number and
; exits with EXIT_FAIL + number.
; Expected: tests/guest/apic.out, exit status 3.

%include "rom.inc"
%include "idt64.inc"

LAPIC_BASE      equ 0xFEE00000
IOAPIC_BASE     equ 0xFEC00000
; local APIC registers (SDM Table 11-1)
APIC_ID         equ 0x20
APIC_VER        equ 0x30
APIC_TPR        equ 0x80
APIC_PPR        equ 0xA0
APIC_EOI        equ 0xB0
APIC_SVR        equ 0xF0
APIC_ISR        equ 0x100
APIC_TMR        equ 0x180
APIC_IRR        equ 0x200
APIC_ICR_LO     equ 0x300
APIC_ICR_HI     equ 0x310
APIC_LVT_TIMER  equ 0x320
APIC_LVT_LINT0  equ 0x350
APIC_LVT_LINT1  equ 0x360
APIC_LVT_ERR    equ 0x370
APIC_TIMER_ICR  equ 0x380
APIC_TIMER_CCR  equ 0x390
APIC_TIMER_DCR  equ 0x3E0
LVT_MASKED      equ 1 << 16
LVT_PERIODIC    equ 1 << 17
ICR_SELF        equ 1 << 18         ; destination shorthand 01b
; IOAPIC (82093AA): IOREGSEL at +0, IOWIN at +0x10; entry n at index 0x10 + 2n
IOAPIC_VER      equ 0x01
RTE_LEVEL       equ 1 << 15
RTE_REMOTE_IRR  equ 1 << 14
RTE_MASKED      equ 1 << 16

VEC_TIMER       equ 0x30
VEC_PIT         equ 0x40
VEC_UART        equ 0x44
VEC_IPI         equ 0x50
VEC_LOW         equ 0x58
VEC_HIGH        equ 0x68
VEC_SPURIOUS    equ 0xFF

ONESHOT_COUNT   equ 20000000        ; 20 ms at the 1 GHz APIC timer clock
PERIOD_COUNT    equ 5000000         ; 5 ms
PIT_DIVISOR     equ 11932           ; 10 ms at 1.193182 MHz
PIT_PERIOD_NS   equ 10000000
PIT_TICKS       equ 8               ; the PIT handler masks pin 2 at this count

MMIO_PD         equ PT_ADDR + 0x3000 ; page directory for 3..4 GiB

TIMER_N         equ VARS_ADDR           ; timer interrupts
TIMER_PIT       equ VARS_ADDR + 8       ; PIT_N when the timer last fired
TIMER_CCR_MAX   equ VARS_ADDR + 16      ; largest current count seen in the timer handler
PIT_N           equ VARS_ADDR + 24
UART_N          equ VARS_ADDR + 32
UART_RTE1       equ VARS_ADDR + 40      ; pin 4's entry in the first handler run
UART_TMR1       equ VARS_ADDR + 48      ; TMR bit for 0x44 then
IPI_N           equ VARS_ADDR + 56
IPI_SEEN        equ VARS_ADDR + 64      ; 1: ISR set and IRR clear inside the handler
SPUR_N          equ VARS_ADDR + 72
LOG_N           equ VARS_ADDR + 80      ; vectors of the TPR test, in delivery order
LOG             equ VARS_ADDR + 88
VARS_SIZE       equ 96

; FAIL_IF cc, n -- after a compare: when condition cc holds, check n failed.
%macro FAIL_IF 2
	j%-1 %%ok
	mov bl, %2
	jmp fail
%%ok:
%endmacro

; VEC_BIT base, vector -- ZF = 0 when vector's bit is set in ISR/TMR/IRR at base.
%macro VEC_BIT 2
	test dword [r15 + %1 + 0x10 * ((%2) >> 5)], 1 << ((%2) & 31)
%endmacro

; WAIT_FOR var, n -- sleep with interrupts on until qword var >= n. HLT rather
; than STI; NOP; CLI: an engine may take a pending interrupt a few instructions
; after STI's shadow ends (kvm_pvm and the soft engine recognise it at their
; next exit or block end), while HLT waits for it on every engine.
%macro WAIT_FOR 2
%%again:
	sti
	hlt
	cli
	cmp qword [%1], %2
	jb %%again
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	ENTER_LM
	PRINT "x86v apic: long mode", 10
	call idt_init64
	mov edi, VEC_TIMER
	mov esi, timer_handler
	mov dl, 0x8E
	call idt_set64
	mov edi, VEC_PIT
	mov esi, pit_handler
	call idt_set64
	mov edi, VEC_UART
	mov esi, uart_handler
	call idt_set64
	mov edi, VEC_IPI
	mov esi, ipi_handler
	call idt_set64
	mov edi, VEC_LOW
	mov esi, low_handler
	call idt_set64
	mov edi, VEC_HIGH
	mov esi, high_handler
	call idt_set64
	mov edi, VEC_SPURIOUS
	mov esi, spurious_handler
	call idt_set64

	; ENTER_LM maps only the first GiB: add 2 MiB uncached pages for the
	; IOAPIC and the local APIC (PDPT entry 3 -> MMIO_PD).
	mov edi, MMIO_PD
	xor eax, eax
	mov ecx, 4096 / 4
	rep stosd
	mov dword [PT_ADDR + 0x1000 + 3 * 8], MMIO_PD + 3            ; P | RW
	mov dword [MMIO_PD + ((IOAPIC_BASE - 0xC0000000) >> 21) * 8], IOAPIC_BASE | 0x9B
	mov dword [MMIO_PD + ((LAPIC_BASE - 0xC0000000) >> 21) * 8], LAPIC_BASE | 0x9B
	mov rax, cr3                    ; P | RW | PWT | PCD | PS above
	mov cr3, rax
	mov r15, LAPIC_BASE
	mov r14, IOAPIC_BASE
	mov edi, VARS_ADDR
	xor eax, eax
	mov ecx, VARS_SIZE / 4
	rep stosd

	; The 8259 pair initialised (vectors 0x20/0x28) and fully masked: every
	; interrupt below comes through the local APIC.
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
	mov al, 0xff
	out 0x21, al
	out 0xa1, al

	; ---- the local APIC ------------------------------------------------
	mov eax, [r15 + APIC_ID]
	shr eax, 24
	cmp eax, 0
	FAIL_IF ne, 1
	mov eax, [r15 + APIC_VER]       ; integrated APIC: version 1xh
	and eax, 0xf0
	cmp eax, 0x10
	FAIL_IF ne, 2
	mov dword [r15 + APIC_LVT_LINT0], LVT_MASKED | 0x700   ; ExtINT, masked
	mov dword [r15 + APIC_LVT_LINT1], LVT_MASKED | 0x400   ; NMI, masked
	mov dword [r15 + APIC_LVT_ERR], LVT_MASKED | 0xFE
	mov dword [r15 + APIC_TPR], 0
	mov dword [r15 + APIC_SVR], 0x100 | VEC_SPURIOUS
	mov eax, [r15 + APIC_SVR]
	and eax, 0x1ff
	cmp eax, 0x100 | VEC_SPURIOUS
	FAIL_IF ne, 3
	PRINT "apic: id 0, integrated, software-enabled (SVR 0x1ff), LINT0/LINT1 masked", 10

	; ---- timer, one-shot -------------------------------------------------
	mov dword [r15 + APIC_TIMER_DCR], 0x0B      ; divide by 1
	mov dword [r15 + APIC_LVT_TIMER], VEC_TIMER
	mov dword [r15 + APIC_TIMER_ICR], ONESHOT_COUNT
	mov r8d, [r15 + APIC_TIMER_CCR]             ; r8 = previous count
	cmp r8d, 0
	FAIL_IF e, 4
	cmp r8d, ONESHOT_COUNT
	FAIL_IF a, 5
	mov r10d, r8d                               ; first count read
	xor r9d, r9d                                ; 1 once the count fell
	sti
.oneshot:
	mov rax, [TIMER_N]
	mov ecx, [r15 + APIC_TIMER_CCR]
	test rax, rax
	jnz .oneshot_fired
	cmp ecx, r8d
	FAIL_IF a, 6                                ; a one-shot count never rises
	mov r8d, ecx
	cmp ecx, r10d
	jae .oneshot
	mov r9d, 1
	jmp .oneshot
.oneshot_fired:
	cmp ecx, 0                                  ; fired => the count is 0
	FAIL_IF ne, 7
	cmp r9d, 1
	FAIL_IF ne, 8
	mov ecx, 1000                               ; it stays 0 and does not fire again
.oneshot_after:
	cmp dword [r15 + APIC_TIMER_CCR], 0
	FAIL_IF ne, 9
	dec ecx
	jnz .oneshot_after
	cli
	cmp qword [TIMER_N], 1
	FAIL_IF ne, 10
	PRINT "apic: one-shot timer at 0x30: the current count fell, one interrupt, then 0", 10

	; ---- timer, periodic -------------------------------------------------
	mov qword [TIMER_N], 0
	mov qword [TIMER_CCR_MAX], 0
	mov dword [r15 + APIC_LVT_TIMER], VEC_TIMER | LVT_PERIODIC
	mov dword [r15 + APIC_TIMER_ICR], PERIOD_COUNT
	WAIT_FOR TIMER_N, 4
	mov dword [r15 + APIC_TIMER_ICR], 0         ; initial count 0 stops the timer
	cmp qword [TIMER_N], 4
	FAIL_IF ne, 11
	cmp qword [TIMER_CCR_MAX], PERIOD_COUNT     ; reloaded within the period
	FAIL_IF a, 12
	cmp dword [r15 + APIC_TIMER_CCR], 0
	FAIL_IF ne, 13
	mov dword [r15 + APIC_LVT_TIMER], LVT_MASKED | VEC_TIMER
	PRINT "apic: periodic timer at 0x30: 4 interrupts, the count within the period, 0 once stopped", 10

	; ---- self-IPI --------------------------------------------------------
	mov dword [r15 + APIC_ICR_HI], 0
	mov dword [r15 + APIC_ICR_LO], ICR_SELF | VEC_IPI           ; fixed, edge
	VEC_BIT APIC_IRR, VEC_IPI
	FAIL_IF z, 14
	VEC_BIT APIC_ISR, VEC_IPI
	FAIL_IF nz, 15
	cmp qword [IPI_N], 0
	FAIL_IF ne, 16
	WAIT_FOR IPI_N, 1
	cmp qword [IPI_N], 1
	FAIL_IF ne, 17
	cmp qword [IPI_SEEN], 1
	FAIL_IF ne, 18
	VEC_BIT APIC_ISR, VEC_IPI
	FAIL_IF nz, 19
	VEC_BIT APIC_IRR, VEC_IPI
	FAIL_IF nz, 20
	PRINT "apic: self-IPI 0x50: in IRR while IF=0, in ISR in its handler, both clear after EOI", 10

	; ---- TPR -------------------------------------------------------------
	mov dword [r15 + APIC_TPR], 0x50
	mov eax, [r15 + APIC_PPR]                   ; nothing in service: PPR = TPR
	cmp eax, 0x50
	FAIL_IF ne, 21
	mov dword [r15 + APIC_ICR_LO], ICR_SELF | VEC_LOW
	mov dword [r15 + APIC_ICR_LO], ICR_SELF | VEC_HIGH
	WAIT_FOR LOG_N, 1                           ; only 0x68 can wake it
	cmp qword [LOG_N], 1
	FAIL_IF ne, 22
	cmp byte [LOG], VEC_HIGH
	FAIL_IF ne, 23
	VEC_BIT APIC_IRR, VEC_LOW                   ; class 5 <= TPR class 5: held
	FAIL_IF z, 24
	mov dword [r15 + APIC_TPR], 0
	WAIT_FOR LOG_N, 2
	cmp qword [LOG_N], 2
	FAIL_IF ne, 25
	cmp byte [LOG + 1], VEC_LOW
	FAIL_IF ne, 26
	PRINT "apic: TPR 0x50 holds 0x58 in IRR and lets 0x68 through; TPR 0 releases 0x58 (order 68 58)", 10

	; ---- IOAPIC, edge: the PIT on pin 2 ------------------------------------
	mov ecx, IOAPIC_VER
	call ioapic_read
	shr eax, 16
	and eax, 0xff
	cmp eax, 23                                 ; maximum redirection entry
	FAIL_IF ne, 27
	mov ecx, 0x10 + 2 * 2 + 1
	xor eax, eax                                ; destination APIC ID 0
	call ioapic_write
	mov ecx, 0x10 + 2 * 2
	mov eax, VEC_PIT                            ; fixed, physical, edge, high
	call ioapic_write
	mov al, 0x34                                ; channel 0, lobyte/hibyte, mode 2
	out 0x43, al
	mov ax, PIT_DIVISOR
	out 0x40, al
	mov al, ah
	out 0x40, al
	WAIT_FOR PIT_N, 1
	; Arm a one-shot of 4 PIT periods right after a PIT interrupt: by the time
	; it fires the PIT has fired 4 more times, give or take one.
	mov r12, [PIT_N]
	mov qword [TIMER_N], 0
	mov dword [r15 + APIC_LVT_TIMER], VEC_TIMER
	mov dword [r15 + APIC_TIMER_ICR], 4 * PIT_PERIOD_NS
	WAIT_FOR TIMER_N, 1
	mov rax, [TIMER_PIT]
	sub rax, r12
	cmp rax, 3
	FAIL_IF b, 28
	cmp rax, 5
	FAIL_IF a, 29
	WAIT_FOR PIT_N, PIT_TICKS
	mov ecx, 0x10 + 2 * 2
	call ioapic_read
	test eax, RTE_MASKED                        ; masked by the handler
	FAIL_IF z, 30
	; 3 more PIT periods with the pin masked: nothing arrives.
	mov qword [TIMER_N], 0
	mov dword [r15 + APIC_TIMER_ICR], 3 * PIT_PERIOD_NS
	WAIT_FOR TIMER_N, 1
	cmp qword [PIT_N], PIT_TICKS
	FAIL_IF ne, 31
	mov al, 0x30                                ; PIT channel 0 back to mode 0: one more count, then quiet
	out 0x43, al
	mov al, 0xff
	out 0x40, al
	out 0x40, al
	PRINT "ioapic: 24 pins; pin 2 (PIT, ISA IRQ 0) -> 0x40 edge: 8 interrupts, none once masked", 10
	PRINT "apic: a one-shot of 4 PIT periods fired after 3 to 5 PIT interrupts", 10

	; ---- IOAPIC, level: the UART's THRE interrupt on pin 4 -------------------
	mov ecx, 0x10 + 2 * 4 + 1
	xor eax, eax
	call ioapic_write
	mov ecx, 0x10 + 2 * 4
	mov eax, VEC_UART | RTE_LEVEL               ; fixed, physical, level, active high
	call ioapic_write
	mov dx, COM1 + 4                            ; MCR: DTR, RTS, OUT2 (gates IRQ 4 on a PC)
	mov al, 0x0b
	out dx, al
	mov dx, COM1 + 1                            ; IER: ETBEI; THR is empty, so THRE is pending
	mov al, 0x02
	out dx, al
	VEC_BIT APIC_IRR, VEC_UART                  ; accepted while IF=0
	FAIL_IF z, 32
	mov ecx, 0x10 + 2 * 4
	call ioapic_read
	test eax, RTE_REMOTE_IRR
	FAIL_IF z, 33
	WAIT_FOR UART_N, 2
	mov ecx, 0x10 + 2 * 4
	call ioapic_read
	test eax, RTE_REMOTE_IRR                    ; line down, EOI done
	FAIL_IF nz, 34
	mov dx, COM1 + 1                            ; IER off before printing again
	xor al, al
	out dx, al
	mov dx, COM1 + 4
	out dx, al
	cmp qword [UART_N], 2
	FAIL_IF ne, 35
	test qword [UART_RTE1], RTE_REMOTE_IRR
	FAIL_IF z, 36
	cmp qword [UART_TMR1], 0                    ; level-triggered: TMR set
	FAIL_IF e, 37
	mov ecx, 0x10 + 2 * 4
	mov eax, RTE_MASKED | RTE_LEVEL | VEC_UART
	call ioapic_write
	PRINT "ioapic: pin 4 (UART THRE, ISA IRQ 4) -> 0x44 level: Remote IRR and TMR set,", 10
	PRINT "ioapic: EOI while asserted delivers it again, IIR read drops it: 2 interrupts, Remote IRR clear", 10

	cmp qword [SPUR_N], 0
	FAIL_IF ne, 38
	PRINT "x86v apic: done, no spurious interrupts", 10
	EXIT EXIT_OK

fail:
	PRINT "x86v apic: FAILED check "
	movzx eax, bl
	PRINTHEX rax, 2
	PRINT 10
	add bl, EXIT_FAIL
	EXIT bl

; ioapic_read: ECX = register index -> EAX. ioapic_write: ECX index, EAX value.
; The index/window pair must not be split by a handler that uses it too.
ioapic_read:
	pushfq
	cli
	mov [r14], ecx
	mov eax, [r14 + 0x10]
	popfq
	ret

ioapic_write:
	pushfq
	cli
	mov [r14], ecx
	mov [r14 + 0x10], eax
	popfq
	ret

timer_handler:
	push rax
	inc qword [TIMER_N]
	mov rax, [PIT_N]
	mov [TIMER_PIT], rax
	mov eax, [r15 + APIC_TIMER_CCR]
	cmp rax, [TIMER_CCR_MAX]
	jbe .eoi
	mov [TIMER_CCR_MAX], rax
.eoi:	mov dword [r15 + APIC_EOI], 0
	pop rax
	iretq

pit_handler:
	push rax
	push rcx
	inc qword [PIT_N]
	cmp qword [PIT_N], PIT_TICKS
	jb .eoi
	mov ecx, 0x10 + 2 * 2
	mov eax, RTE_MASKED | VEC_PIT
	call ioapic_write
.eoi:	mov dword [r15 + APIC_EOI], 0
	pop rcx
	pop rax
	iretq

; Level-triggered: the first run leaves the UART asserting (the EOI must bring
; the interrupt back); the second reads IIR, which clears THRE and drops IRQ 4.
uart_handler:
	push rax
	push rcx
	push rdx
	inc qword [UART_N]
	cmp qword [UART_N], 1
	jne .second
	mov ecx, 0x10 + 2 * 4
	call ioapic_read
	mov [UART_RTE1], rax
	xor eax, eax
	VEC_BIT APIC_TMR, VEC_UART
	setnz al
	mov [UART_TMR1], rax
	jmp .eoi
.second:
	mov dx, COM1 + 2                            ; IIR
	in al, dx
.eoi:	mov dword [r15 + APIC_EOI], 0
	pop rdx
	pop rcx
	pop rax
	iretq

ipi_handler:
	push rax
	inc qword [IPI_N]
	xor eax, eax
	VEC_BIT APIC_ISR, VEC_IPI
	jz .done
	VEC_BIT APIC_IRR, VEC_IPI
	jnz .done
	mov eax, 1
.done:	mov [IPI_SEEN], rax
	mov dword [r15 + APIC_EOI], 0
	pop rax
	iretq

; The TPR test's vectors: each appends its own number to LOG.
low_handler:
	push rax
	mov al, VEC_LOW
	jmp log_vector
high_handler:
	push rax
	mov al, VEC_HIGH
log_vector:
	push rcx
	mov rcx, [LOG_N]
	mov [LOG + rcx], al
	inc qword [LOG_N]
	mov dword [r15 + APIC_EOI], 0
	pop rcx
	pop rax
	iretq

spurious_handler:                               ; no EOI for the spurious vector
	inc qword [SPUR_N]
	iretq

exc_handler:
	jmp exc_unexpected64

	UART_ROUTINES 64
	IDT_ROUTINES64
	ROM_END
