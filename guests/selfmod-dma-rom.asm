; SPDX-License-Identifier: MIT
;
; selfmod-dma-rom: code modified by a device's DMA. In 32-bit protected mode a
; snippet "mov eax, 1; ret" is copied to RAM and called (so an engine that
; caches decoded code has it cached); then the fw_cfg DMA interface (QEMU's
; fw_cfg spec: FWCfgDmaAccess at 0x514) reads the 4-byte signature item
; ("QEMU") into the snippet's immediate, and the snippet is called again: it
; must return 0x554d4551. Also checks the DMA control word reads back 0
; (done, no error). Expected: tests/guest/selfmod-dma.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

SNIPPET         equ 0x200000
DMA_DESC        equ 0x201000       ; FWCfgDmaAccess: control, length (BE32), address (BE64)
FW_CFG_DMA_HI   equ 0x514
FW_CFG_DMA_LO   equ 0x518
DMA_CTL_READ    equ 0x02
DMA_CTL_SELECT  equ 0x08
FW_CFG_SIGNATURE equ 0x0000

exc_handler     equ catch_exc32

; BSWAP32 reg: to the big-endian order the fw_cfg DMA descriptor uses.
%macro BE32 1
	bswap %1
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	call idt_init32
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v selfmod-dma: protected mode", 10

	mov esi, snippet
	mov edi, SNIPPET
	mov ecx, snippet.size
	rep movsb
	call SNIPPET
	CHECK "first call: ", eax, 8, 1
	PRINT 10

	; DMA the signature into the immediate of "mov eax, imm32" (SNIPPET + 1).
	mov eax, (FW_CFG_SIGNATURE << 16) | DMA_CTL_SELECT | DMA_CTL_READ
	BE32 eax
	mov [DMA_DESC], eax
	mov eax, 4
	BE32 eax
	mov [DMA_DESC + 4], eax
	mov dword [DMA_DESC + 8], 0             ; address bits 63..32 (big-endian)
	mov eax, SNIPPET + 1
	BE32 eax
	mov [DMA_DESC + 12], eax
	xor eax, eax
	mov dx, FW_CFG_DMA_HI
	out dx, eax                             ; high half of the descriptor address
	mov eax, DMA_DESC
	BE32 eax
	mov dx, FW_CFG_DMA_LO
	out dx, eax                             ; low half: starts the transfer
	CHECK "dma control: ", [DMA_DESC], 8, 0
	PRINT 10
	call SNIPPET
	CHECK "second call: ", eax, 8, 0x554d4551
	PRINT 10
	FINISH

snippet:
	mov eax, 1
	ret
.size	equ $ - snippet

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
