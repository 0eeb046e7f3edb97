; SPDX-License-Identifier: MIT
;
; virtio-boot: a 1 MiB disk image whose boot sector SeaBIOS loads
; from a virtio-blk disk: it prints a line on COM1 and leaves through the
; debug-exit port (status 3). tests/guest/seabios-virtio-blk.test.
	bits 16
	org 0x7c00
	cli
	xor ax, ax
	mov ds, ax
	mov si, msg
.next:	lodsb
	test al, al
	jz .done
	mov dx, 0x3f8
	out dx, al
	jmp .next
.done:	mov al, 1
	out 0xf4, al
	hlt
msg:	db "x86v: booted from virtio-blk", 13, 10, 0
	times 510 - ($ - $$) db 0
	dw 0xaa55
	times 1048576 - ($ - $$) db 0 ; a 1 MiB disk (SeaBIOS cannot read smaller ones)
