; SPDX-License-Identifier: MIT
;
; virtio-rom: a minimal virtio driver in 32-bit protected mode (no paging,
; interrupts off), run with --rng, on both engines. It finds the virtio-rng
; function at PCI 00:02.0 through configuration mechanism #1, places its
; 64-bit BAR 4, and through the modern common configuration:
;   - resets the device, negotiates VERSION_1 (FEATURES_OK reads back),
;   - sets up queue 0 (8 entries) and DRIVER_OK,
;   - offers one 64-byte writable buffer, kicks, and finds it in the used
;     ring with length 64 and random bytes in it; the ISR byte says "queue"
;     once (reading clears it);
;   - turns MSI-X on, points queue 0 at table entry 0 (to the local APIC,
;     vector 0x40), offers a second buffer and finds the vector requested
;     in the local APIC's IRR (interrupts stay off: no handler, no IRET,
;     which kvm_pvm's emulator cannot run here);
;   - offers a buffer in the ROM (not writable RAM): the device sets
;     DEVICE_NEEDS_RESET; writing 0 to status resets it.
; Expected: tests/guest/virtio.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"
%include "virtio.inc"

exc_handler     equ catch_exc32
MSI_VECTOR      equ 0x40
MSI_IRR         equ 0xFEE00200 + (MSI_VECTOR / 32) * 0x10

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v virtio: 32-bit protected mode", 10
	call idt_init32

	PRINT "pci"
	PCI_READ 0x00
	CHECK " id=", eax, 8, 0x10441af4        ; 1AF4:1044, virtio-rng (modern)
	PCI_WRITE 0x20, BAR | 4                 ; BAR 4: 64-bit memory
	PCI_WRITE 0x24, 0
	PCI_WRITE 0x04, 6                       ; memory decoding, bus mastering
	PCI_READ 0x34
	CHECK " caps=", eax, 2, 0x40
	PRINT 10

	PRINT "init"
	mov byte [BAR + 0x14], 0                ; reset
	mov byte [BAR + 0x14], 1 | 2            ; ACKNOWLEDGE | DRIVER
	mov dword [BAR + 0x00], 1               ; device features 63:32
	mov eax, [BAR + 0x04]
	and eax, 1
	CHECK " version1=", eax, 1, 1
	mov dword [BAR + 0x08], 1
	mov dword [BAR + 0x0c], 1               ; VERSION_1, nothing else
	mov dword [BAR + 0x08], 0
	mov dword [BAR + 0x0c], 0
	mov byte [BAR + 0x14], 1 | 2 | 8        ; FEATURES_OK
	movzx eax, byte [BAR + 0x14]
	CHECK " status=", eax, 2, 0x0b
	movzx eax, word [BAR + 0x12]
	CHECK " queues=", eax, 2, 1
	mov word [BAR + 0x16], 0                ; queue 0
	mov word [BAR + 0x18], 8
	mov dword [BAR + 0x20], DESC
	mov dword [BAR + 0x24], 0
	mov dword [BAR + 0x28], AVAIL
	mov dword [BAR + 0x2c], 0
	mov dword [BAR + 0x30], USED
	mov dword [BAR + 0x34], 0
	mov word [BAR + 0x1c], 1                ; enable
	mov byte [BAR + 0x14], 1 | 2 | 4 | 8    ; DRIVER_OK
	PRINT 10

	PRINT "request"
	mov edi, DESC
	xor eax, eax
	mov ecx, 0x3000 / 4
	rep stosd
	mov dword [DESC], BUF                   ; descriptor 0: 64 writable bytes
	mov dword [DESC + 8], 64
	mov word [DESC + 12], 2                 ; WRITE
	mov word [AVAIL + 4], 0                 ; ring[0] = descriptor 0
	mov word [AVAIL + 2], 1                 ; idx
	mov word [BAR + 0x3000], 0              ; kick queue 0
	mov ecx, 100000
.wait:	cmp word [USED + 2], 1
	je .used
	dec ecx
	jnz .wait
.used:	movzx eax, word [USED + 2]
	CHECK " used=", eax, 2, 1
	CHECK " id=", [USED + 4], 2, 0
	CHECK " len=", [USED + 8], 2, 64
	mov esi, BUF                            ; 64 random bytes are not all zero
	xor eax, eax
	mov ecx, 16
.or:	or eax, [esi]
	add esi, 4
	loop .or
	test eax, eax
	setnz al
	movzx eax, al
	CHECK " random=", eax, 1, 1
	movzx eax, byte [BAR + 0x1000]
	CHECK " isr=", eax, 2, 1
	movzx eax, byte [BAR + 0x1000]
	CHECK " isr-again=", eax, 2, 0
	PRINT 10

	PRINT "msi-x"
	mov dword [APIC + 0xF0], 0x1ff          ; local APIC software-enabled
	PCI_READ 0x40                           ; the MSI-X capability; message control in 31:16
	mov ebx, eax
	and eax, 0xff
	CHECK " cap=", eax, 2, 0x11
	or ebx, 0x80000000                      ; MSI-X enable
	PCI_WRITE 0x40, ebx
	mov dword [BAR + 0x4000], APIC          ; table entry 0: to APIC ID 0
	mov dword [BAR + 0x4004], 0
	mov dword [BAR + 0x4008], MSI_VECTOR    ; fixed delivery, edge
	mov dword [BAR + 0x400c], 0             ; unmasked
	mov word [BAR + 0x16], 0
	mov word [BAR + 0x1a], 0                ; queue 0 -> entry 0
	movzx eax, word [BAR + 0x1a]
	CHECK " vector=", eax, 4, 0
	mov dword [DESC + 32], BUF + 64         ; descriptor 2: 64 more writable bytes
	mov dword [DESC + 40], 64
	mov word [DESC + 44], 2
	mov word [AVAIL + 6], 2                 ; ring[1] = descriptor 2
	mov word [AVAIL + 2], 2
	mov word [BAR + 0x3000], 0              ; kick
	mov ecx, 10000000                       ; the MSI may come later (ioeventfd, the event loop)
.msi:	test dword [MSI_IRR], 1 << (MSI_VECTOR % 32)
	jnz .took
	pause
	dec ecx
	jnz .msi
.took:	mov eax, [MSI_IRR]
	shr eax, MSI_VECTOR % 32
	and eax, 1
	CHECK " irr=", eax, 1, 1
	movzx eax, word [USED + 2]
	CHECK " used=", eax, 2, 2
	PRINT 10

	PRINT "bad buffer"
	mov dword [DESC + 16], 0xFFFF0000       ; descriptor 1: a writable buffer in the ROM
	mov dword [DESC + 24], 64
	mov word [DESC + 28], 2
	mov word [AVAIL + 8], 1                 ; ring[2] = descriptor 1
	mov word [AVAIL + 2], 3
	mov word [BAR + 0x3000], 0
	mov ecx, 100000                         ; the kick may be handled asynchronously (ioeventfd)
.broken:
	test byte [BAR + 0x14], 0x40
	jnz .flagged
	dec ecx
	jnz .broken
.flagged:
	movzx eax, byte [BAR + 0x14]
	CHECK " status=", eax, 2, 0x4f          ; DEVICE_NEEDS_RESET
	movzx eax, word [USED + 2]
	CHECK " used=", eax, 2, 2               ; nothing returned
	mov byte [BAR + 0x14], 0
	movzx eax, byte [BAR + 0x14]
	CHECK " reset=", eax, 2, 0
	movzx eax, word [BAR + 0x1c]
	CHECK " enabled=", eax, 1, 0
	PRINT 10
	FINISH

	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32
	ROM_END
