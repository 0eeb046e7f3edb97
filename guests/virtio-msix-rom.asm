; SPDX-License-Identifier: MIT
;
; virtio-msix-rom: MSI-X of a virtio function as a driver programs it, in
; 32-bit protected mode (no paging, interrupts off: every message is found
; in the local APIC's IRR, none is taken), run with --rng on every engine and
; with --irqchip kernel, where each vector in use goes through an eventfd
; bound with KVM_IRQFD. With virtio-rng at PCI 00:02.0 (as guests/virtio-rom)
; and queue 0 of 8 entries, each request one 64-byte buffer:
;   - MSI-X on, table entry 0 (vector 0x41) for queue 0, entry 1 (vector
;     0x50) for configuration changes; a request: 0x41 in the IRR;
;   - entry 0's data rewritten to 0x42 while unmasked: the next request
;     sends the new message;
;   - 2 s of the ACPI PM timer since the start (tests/snapshot's driver cuts
;     the run in two here), then queue 0 on entry 1: 0x50 in the IRR;
;   - entry 0 masked, its data set to 0x43, queue 0 back on it: a request
;     sets its pending bit and sends nothing; unmasking sends it (0x43 in the
;     IRR) and clears the bit;
;   - the same with the function mask (MSI-X control bit 14) and 0x44;
;   - MSI-X off: a request raises INTx (the ISR byte says "queue") and sends
;     no message (entry 0's new data 0x45 stays out of the IRR);
;   - writing 0 to status resets the device.
; Expected: tests/guest/virtio-msix.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"
%include "virtio.inc"

exc_handler     equ catch_exc32
TABLE           equ BAR + 0x4000    ; MSI-X table: address low, high, data, control
PBA             equ BAR + 0x5000
IRR             equ APIC + 0x200
PM_TMR          equ 0x608           ; ACPI PM timer: 3.579545 MHz, 24 bits
PM_HZ           equ 3579545
T_PREV          equ VARS_ADDR + 0x100
T_SUM           equ VARS_ADDR + 0x104

; REQUEST n -- offers descriptor n-1 (64 writable bytes) as the n-th request,
; kicks queue 0 and waits for the used index to reach n; EAX = the used index.
%macro REQUEST 1
	mov dword [DESC + 16 * (%1 - 1)], BUF + 64 * (%1 - 1)
	mov dword [DESC + 16 * (%1 - 1) + 8], 64
	mov word [DESC + 16 * (%1 - 1) + 12], 2  ; WRITE
	mov word [AVAIL + 4 + 2 * (%1 - 1)], %1 - 1
	mov word [AVAIL + 2], %1
	mov word [BAR + 0x3000], 0
	mov ecx, 10000000                       ; the kick may be handled later (ioeventfd, the event loop)
%%wait:	cmp word [USED + 2], %1
	je %%done
	pause
	dec ecx
	jnz %%wait
%%done:	movzx eax, word [USED + 2]
%endmacro

; IRR_NOW vec -- EAX = vector vec's bit in the local APIC's IRR
%macro IRR_NOW 1
	mov eax, [IRR + (%1 / 32) * 0x10]
	shr eax, %1 % 32
	and eax, 1
%endmacro

; IRR_WAIT vec -- the same, once the bit is set or after a long while
%macro IRR_WAIT 1
	mov ecx, 10000000                       ; the message may come from the event loop's thread
%%wait:	test dword [IRR + (%1 / 32) * 0x10], 1 << (%1 % 32)
	jnz %%done
	pause
	dec ecx
	jnz %%wait
%%done:	IRR_NOW %1
%endmacro

; PBA_WAIT -- EAX = the pending bits, once vector 0's is set or after a long while
%macro PBA_WAIT 0
	mov ecx, 10000000
%%wait:	test dword [PBA], 1
	jnz %%done
	pause
	dec ecx
	jnz %%wait
%%done:	mov eax, [PBA]
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	mov dx, PM_TMR
	in eax, dx
	and eax, 0xffffff
	mov [T_PREV], eax
	mov dword [T_SUM], 0
	PRINT "x86v virtio-msix: 32-bit protected mode", 10
	call idt_init32

	PRINT "pci"
	PCI_READ 0x00
	CHECK " id=", eax, 8, 0x10441af4        ; 1AF4:1044, virtio-rng (modern)
	PCI_WRITE 0x20, BAR | 4                 ; BAR 4: 64-bit memory
	PCI_WRITE 0x24, 0
	PCI_WRITE 0x04, 6                       ; memory decoding, bus mastering
	PCI_READ 0x40                           ; the MSI-X capability; message control in 31:16
	mov ebx, eax
	and eax, 0xff
	CHECK " msi-x=", eax, 2, 0x11
	mov eax, ebx
	shr eax, 16
	and eax, 0x7ff
	CHECK " table-size=", eax, 3, 1         ; N-1: a vector for the queue, one for configuration
	PRINT 10

	PRINT "init"
	mov edi, DESC
	xor eax, eax
	mov ecx, 0x3000 / 4
	rep stosd
	mov dword [APIC + 0xF0], 0x1ff          ; local APIC software-enabled
	and ebx, 0x3fffffff                     ; MSI-X enable, no function mask
	or ebx, 0x80000000
	mov [VARS_ADDR + 0x108], ebx            ; that control word, for later
	PCI_WRITE 0x40, ebx
	mov dword [TABLE + 0x00], APIC          ; entry 0: APIC ID 0, vector 0x41, fixed, edge
	mov dword [TABLE + 0x04], 0
	mov dword [TABLE + 0x08], 0x41
	mov dword [TABLE + 0x0c], 0             ; unmasked
	mov dword [TABLE + 0x10], APIC          ; entry 1: vector 0x50
	mov dword [TABLE + 0x14], 0
	mov dword [TABLE + 0x18], 0x50
	mov dword [TABLE + 0x1c], 0
	mov byte [BAR + 0x14], 0                ; reset
	mov byte [BAR + 0x14], 1 | 2            ; ACKNOWLEDGE | DRIVER
	mov dword [BAR + 0x08], 1
	mov dword [BAR + 0x0c], 1               ; VERSION_1, nothing else
	mov dword [BAR + 0x08], 0
	mov dword [BAR + 0x0c], 0
	mov byte [BAR + 0x14], 1 | 2 | 8        ; FEATURES_OK
	mov word [BAR + 0x10], 1                ; configuration changes: entry 1
	movzx eax, word [BAR + 0x10]
	CHECK " config-vector=", eax, 4, 1
	mov word [BAR + 0x16], 0                ; queue 0
	mov word [BAR + 0x18], 8
	mov word [BAR + 0x1a], 0                ; queue 0: entry 0
	movzx eax, word [BAR + 0x1a]
	CHECK " queue-vector=", eax, 4, 0
	mov dword [BAR + 0x20], DESC
	mov dword [BAR + 0x24], 0
	mov dword [BAR + 0x28], AVAIL
	mov dword [BAR + 0x2c], 0
	mov dword [BAR + 0x30], USED
	mov dword [BAR + 0x34], 0
	mov word [BAR + 0x1c], 1                ; enable
	mov byte [BAR + 0x14], 1 | 2 | 4 | 8    ; DRIVER_OK
	movzx eax, byte [BAR + 0x14]
	CHECK " status=", eax, 2, 0x0f
	PRINT 10

	PRINT "vector 0"
	REQUEST 1
	CHECK " used=", eax, 2, 1
	IRR_WAIT 0x41
	CHECK " irr41=", eax, 1, 1
	mov eax, [PBA]
	CHECK " pba=", eax, 2, 0
	PRINT 10

	PRINT "new message"
	mov dword [TABLE + 0x08], 0x42          ; rewritten while unmasked
	REQUEST 2
	CHECK " used=", eax, 2, 2
	IRR_WAIT 0x42
	CHECK " irr42=", eax, 1, 1
	PRINT 10

	; 2 s of guest time since the start: a snapshot taken meanwhile is
	; restored with the vectors as they are here.
.pm:	mov dx, PM_TMR
	in eax, dx
	and eax, 0xffffff
	mov ebx, eax
	sub eax, [T_PREV]
	and eax, 0xffffff                       ; the 24-bit counter wraps
	add [T_SUM], eax
	mov [T_PREV], ebx
	cmp dword [T_SUM], 2 * PM_HZ
	jb .pm
	PRINT "pm timer: 2 s", 10

	PRINT "vector 1"
	mov word [BAR + 0x16], 0
	mov word [BAR + 0x1a], 1                ; queue 0 on entry 1, which configuration uses
	REQUEST 3
	CHECK " used=", eax, 2, 3
	IRR_WAIT 0x50
	CHECK " irr50=", eax, 1, 1
	PRINT 10

	PRINT "masked"
	mov dword [TABLE + 0x0c], 1             ; entry 0 masked
	mov dword [TABLE + 0x08], 0x43          ; and given vector 0x43 meanwhile
	mov word [BAR + 0x1a], 0                ; queue 0 back on entry 0
	REQUEST 4
	CHECK " used=", eax, 2, 4
	PBA_WAIT
	CHECK " pba=", eax, 2, 1
	IRR_NOW 0x43
	CHECK " irr43=", eax, 1, 0
	mov dword [TABLE + 0x0c], 0             ; unmasked: the pending message goes out
	IRR_WAIT 0x43
	CHECK " unmasked irr43=", eax, 1, 1
	mov eax, [PBA]
	CHECK " pba=", eax, 2, 0
	PRINT 10

	PRINT "function mask"
	mov ebx, [VARS_ADDR + 0x108]
	or ebx, 0x40000000                      ; function mask
	PCI_WRITE 0x40, ebx
	mov dword [TABLE + 0x08], 0x44
	REQUEST 5
	CHECK " used=", eax, 2, 5
	PBA_WAIT
	CHECK " pba=", eax, 2, 1
	IRR_NOW 0x44
	CHECK " irr44=", eax, 1, 0
	PCI_WRITE 0x40, [VARS_ADDR + 0x108]     ; function unmasked
	IRR_WAIT 0x44
	CHECK " unmasked irr44=", eax, 1, 1
	mov eax, [PBA]
	CHECK " pba=", eax, 2, 0
	PRINT 10

	PRINT "msi-x off"
	mov dword [TABLE + 0x08], 0x45
	mov ebx, [VARS_ADDR + 0x108]
	and ebx, 0x7fffffff                     ; MSI-X disabled: INTx and the ISR byte
	PCI_WRITE 0x40, ebx
	REQUEST 6
	CHECK " used=", eax, 2, 6
	mov ecx, 10000000                       ; reading the ISR byte clears it: keep the first nonzero
.isr:	movzx eax, byte [BAR + 0x1000]
	test eax, eax
	jnz .isr_done
	pause
	dec ecx
	jnz .isr
.isr_done:
	CHECK " isr=", eax, 2, 1
	IRR_NOW 0x45
	CHECK " irr45=", eax, 1, 0
	mov byte [BAR + 0x14], 0
	movzx eax, byte [BAR + 0x14]
	CHECK " reset=", eax, 2, 0
	PRINT 10
	FINISH

	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32
	ROM_END
