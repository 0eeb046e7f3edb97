; SPDX-License-Identifier: MIT
;
; irq-rom: external interrupts through the 8259A pair from the 8254 PIT, in
; 32-bit protected mode. Programs the PICs (ICW1-4: vectors 0x20/0x28, edge),
; unmasks IRQ 0 only, sets PIT channel 0 to mode 2 (rate generator) with a
; 10 ms period, then idles with STI; HLT. Each IRQ 0 handler run counts a tick
; and sends a non-specific EOI; the fifth masks IRQ 0 (so the output cannot
; depend on host timing), and the guest checks the ISR is clear (OCW3 read
; ISR) and exits.
; Expected: tests/guest/irq.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"

TICKS equ VARS_ADDR

entry16:
	REAL_INIT
	ENTER_PM
	PRINT "x86v irq: protected mode", 10
	call idt_init32
	mov edi, 0x20
	mov esi, irq0_handler
	mov dl, 0x8E
	call idt_set32
	mov dword [TICKS], 0

	; 8259A: ICW1 edge + ICW4, ICW2 vector base, ICW3 cascade on IR2, ICW4 8086 mode.
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
	mov al, 0xfe                    ; unmask IRQ 0
	out 0x21, al
	mov al, 0xff
	out 0xa1, al

	; 8254 channel 0, lobyte/hibyte, mode 2, binary: 11932 counts = 10 ms.
	mov al, 0x34
	out 0x43, al
	mov ax, 11932
	out 0x40, al
	mov al, ah
	out 0x40, al
	PRINT "x86v irq: PIT running", 10

.wait:	sti
	hlt
	cmp dword [TICKS], 5
	jb .wait
	cli
	mov al, 0x0b                    ; OCW3: read ISR
	out 0x20, al
	in al, 0x20
	test al, al
	jnz fail
	PRINT "x86v irq: 5 ticks, ISR clear", 10
	EXIT EXIT_OK

fail:
	PRINT "x86v irq: FAILED", 10
	EXIT EXIT_FAIL

irq0_handler:
	push eax
	inc dword [TICKS]
	PRINT "tick", 10
	cmp dword [TICKS], 5
	jb .eoi
	mov al, 0xff                    ; OCW1: mask everything after the fifth tick
	out 0x21, al
.eoi:
	mov al, 0x20                    ; non-specific EOI
	out 0x20, al
	pop eax
	iretd

exc_handler:
	jmp exc_unexpected32

	UART_ROUTINES 32
	IDT_ROUTINES32
	ROM_END
