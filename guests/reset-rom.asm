; SPDX-License-Identifier: MIT
;
; reset-rom: the three ways a PC guest resets the machine, and the CMOS RAM
; that survives a reset. Each boot reads a counter from CMOS byte 0x40 (0 at
; power-on), prints it, increments it and resets through the next mechanism:
;   boot 0: port 0x92 bit 0 (fast reset)
;   boot 1: port 0xCF9, reset control register (write 0x06)
;   boot 2: i8042 command 0xFE (pulse the reset line)
;   boot 3: exit through the debug-exit port.
; Expected without --no-reboot: tests/guest/reset.out, status 3. With
; --no-reboot x86v ends at the first reset with status 18.

%include "rom.inc"

CMOS_COUNTER equ 0x40

entry16:
	REAL_INIT
	mov al, CMOS_COUNTER
	out 0x70, al
	in al, 0x71
	mov bl, al
	PRINT "x86v reset: boot "
	add al, '0'
	call putc16
	mov al, 10
	call putc16
	mov al, CMOS_COUNTER
	out 0x70, al
	mov al, bl
	inc al
	out 0x71, al

	cmp bl, 0
	je .port92
	cmp bl, 1
	je .cf9
	cmp bl, 2
	je .kbd
	PRINT "x86v reset: done", 10
	EXIT EXIT_OK

.port92:
	in al, 0x92
	and al, 0xfe
	out 0x92, al
	or al, 1
	out 0x92, al
	jmp .stuck
.cf9:
	mov dx, 0xcf9
	mov al, 0x06
	out dx, al
	jmp .stuck
.kbd:
	mov al, 0xfe
	out 0x64, al
.stuck:
	PRINT "x86v reset: the reset did not happen", 10
	EXIT EXIT_FAIL

	UART_ROUTINES 16
	ROM_END
