; SPDX-License-Identifier: MIT
;
; gdb-smp: a Multiboot v1 ELF32 kernel for two CPUs (x86v run --smp 2
; --kernel FILE), the guest of the GDB stub's thread tests (tests/gdb/smp.gdb,
; tests/gdb/rsp_threads.py): symbols for GDB, and code simple enough that a
; debugger session can predict it. The BSP copies a real-mode trampoline to
; 0x8000 and starts the AP with INIT, SIPI, SIPI (start-up vector 08, SDM
; Vol. 3A §9.4.4; ICR at 0xFEE00300/0xFEE00310), then counts in bsp_loop
; (bsp_count) until the AP has counted ap_limit (AP_LIMIT, a debugger may
; change it) times in ap_loop (ap_count); then it prints "gdb-smp: done" and
; exits with status 3. The AP goes from the
; trampoline to flat 32-bit protected mode and counts forever. Integer code
; at CPL 0 only (what kvm_pvm's emulator runs); no interrupts.

%include "x86v.inc"

MB_MAGIC        equ 0x1BADB002
MB_FLAGS        equ 0

LAPIC_SVR       equ 0xFEE000F0
LAPIC_ICR_LO    equ 0xFEE00300
LAPIC_ICR_HI    equ 0xFEE00310
ICR_INIT        equ 5 << 8
ICR_SIPI        equ 6 << 8
ICR_ASSERT      equ 1 << 14
AP_APIC_ID      equ 1

TRAMP_ADDR      equ 0x8000
AP_LIMIT        equ 200000
INIT_DELAY      equ 10000           ; loop iterations between INIT and SIPI
START_WAIT      equ 1000000         ; loop iterations the BSP waits for the AP to count

SEL_CODE        equ 0x08
SEL_DATA        equ 0x10

	section .multiboot
	align 4
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)

	section .data
	align 8
gdt:	dq 0
	dq 0x00CF9A000000FFFF           ; 0x08 code, flat 32-bit
	dq 0x00CF92000000FFFF           ; 0x10 data, flat
gdt_end:
gdtr:	dw gdt_end - gdt - 1
	dd gdt
	global ap_limit
ap_limit:	dd AP_LIMIT

	section .bss
	global ap_count, bsp_count
ap_count:	resd 1
bsp_count:	resd 1
	resb 4096
stack_top:

	section .text
	bits 32
	global _start, bsp_loop, ap_entry, ap_loop
_start:
	cli
	cld
	mov esp, stack_top
	lgdt [gdtr]
	jmp SEL_CODE:.flat
.flat:	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esi, tramp
	mov edi, TRAMP_ADDR
	mov ecx, tramp_end - tramp
	rep movsb
	; The local APIC software-enabled (SVR bit 8, spurious vector ff) before
	; it sends IPIs, as firmware and Linux do: KVM's in-kernel local APIC
	; (--irqchip kernel) sends nothing from a software-disabled one.
	mov dword [LAPIC_SVR], 0x1FF
start_ap:
	mov dword [LAPIC_ICR_HI], AP_APIC_ID << 24
	mov dword [LAPIC_ICR_LO], ICR_INIT | ICR_ASSERT
	; A pause before the start-up IPIs, as the MP specification asks (KVM's
	; in-kernel local APIC drops a SIPI that comes before the AP took the INIT).
	mov ecx, INIT_DELAY
.init_delay:
	dec ecx
	jnz .init_delay
	mov dword [LAPIC_ICR_HI], AP_APIC_ID << 24
	mov dword [LAPIC_ICR_LO], ICR_SIPI | ICR_ASSERT | (TRAMP_ADDR >> 12)
	mov dword [LAPIC_ICR_HI], AP_APIC_ID << 24
	mov dword [LAPIC_ICR_LO], ICR_SIPI | ICR_ASSERT | (TRAMP_ADDR >> 12)
	; No sign of the AP after a while (its thread was slow to take the INIT:
	; a debugger had the machine stopped, a loaded host): start it again.
	mov ecx, START_WAIT
.wait:	cmp dword [ap_count], 0
	jne bsp_loop
	dec ecx
	jnz .wait
	jmp start_ap
bsp_loop:
	inc dword [bsp_count]
	mov eax, [ap_limit]
	cmp [ap_count], eax
	jb bsp_loop
	PRINT "gdb-smp: done", 10
	EXIT EXIT_OK

ap_entry:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
ap_loop:
	inc dword [ap_count]
	jmp ap_loop

	UART_ROUTINES 32

; Copied to TRAMP_ADDR; the AP starts here in real mode, CS = TRAMP_ADDR >> 4.
	bits 16
tramp:
	cli
	o32 lgdt [cs:tramp_gdtr - tramp]
	mov eax, cr0
	or al, 1                        ; CR0.PE
	mov cr0, eax
	jmp dword SEL_CODE:ap_entry
tramp_gdtr:
	dw gdt_end - gdt - 1
	dd gdt
tramp_end:
