; SPDX-License-Identifier: MIT
;
; multiboot: a Multiboot v1 ELF32 kernel (x86v run --kernel FILE --append TEXT
; -m 64). Checks the boot state the loader hands over and prints what it got:
;   - EAX = 0x2BADB002 (else exit status 35)
;   - info flags include MEM, CMDLINE, MODS, MMAP, BOOT_LOADER_NAME (else 37)
;   - the command line, the boot loader name and the module count (0, else 49)
;   - every memory-map entry, as "mmap BASE LENGTH TYPE" in hex
;   - mem_lower (KiB) ends the RAM entry at 0 (else 41), mem_upper (KiB) is the
;     length of the RAM entry at 1 MiB (else 43); no such entries: 39
;   - its .data segment was loaded (else 45) and its .bss is zero (else 47)
; Expected with --append "console=ttyS0 x86v multiboot test" -m 64:
; tests/guest/multiboot.out, exit status 3.

%include "x86v.inc"

MB_MAGIC        equ 0x1BADB002
MB_FLAGS        equ 0x00000003          ; page-align modules, want memory info
MB_BOOT_MAGIC   equ 0x2BADB002
MB_WANT         equ (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9)

	section .multiboot
	align 4
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)

	section .data
data_word:	dd 0x5eed1234

	section .bss
bss_word:	resd 1
ram_low:	resd 1                  ; length of the RAM entry at 0
ram_high:	resd 1                  ; length of the RAM entry at 1 MiB
	resb 8192
stack_top:

	section .text
	bits 32
	global _start
_start:
	cli
	cld
	mov esp, stack_top
	cmp eax, MB_BOOT_MAGIC
	je .magic_ok
	PRINT "x86v multiboot: bad magic "
	PRINTHEX eax, 8
	PRINT 10
	EXIT EXIT_FAIL + 1
.magic_ok:
	PRINT "x86v multiboot: magic ok", 10
	mov eax, [ebx]
	and eax, MB_WANT
	cmp eax, MB_WANT
	je .flags_ok
	PRINT "x86v multiboot: flags "
	PRINTHEX [ebx], 8
	PRINT 10
	EXIT EXIT_FAIL + 2
.flags_ok:
	PRINT "x86v multiboot: cmdline '"
	mov esi, [ebx + 16]
	call puts32
	PRINT "'", 10
	PRINT "x86v multiboot: loader '"
	mov esi, [ebx + 64]
	call puts32
	PRINT "'", 10
	PRINT "x86v multiboot: mods "
	PRINTHEX [ebx + 20], 8
	PRINT 10

	mov esi, [ebx + 48]             ; mmap_addr
	mov edi, esi
	add edi, [ebx + 44]             ; + mmap_length
.entry:	cmp esi, edi
	jae .mmap_done
	PRINT "x86v multiboot: mmap "
	PRINTHEX [esi + 8], 8           ; base, high half first
	PRINTHEX [esi + 4], 8
	PRINT " "
	PRINTHEX [esi + 16], 8          ; length
	PRINTHEX [esi + 12], 8
	PRINT " "
	PRINTHEX [esi + 20], 1          ; type
	PRINT 10
	cmp dword [esi + 20], 1         ; remember the two RAM entries
	jne .next
	cmp dword [esi + 8], 0
	jne .next
	mov eax, [esi + 4]
	cmp eax, 0
	jne .high
	mov eax, [esi + 12]
	mov [ram_low], eax
	jmp .next
.high:	cmp eax, 0x100000
	jne .next
	mov eax, [esi + 12]
	mov [ram_high], eax
.next:	mov eax, [esi]                  ; size excludes the size field itself
	lea esi, [esi + eax + 4]
	jmp .entry
.mmap_done:

	PRINT "x86v multiboot: mem_lower "
	PRINTHEX [ebx + 4], 8
	PRINT " mem_upper "
	PRINTHEX [ebx + 8], 8
	PRINT 10
	cmp dword [ram_low], 0
	je .no_ram
	cmp dword [ram_high], 0
	jne .ram_ok
.no_ram:
	EXIT EXIT_FAIL + 3
.ram_ok:
	mov eax, [ebx + 4]
	shl eax, 10
	cmp eax, [ram_low]
	je .lower_ok
	EXIT EXIT_FAIL + 4
.lower_ok:
	mov eax, [ebx + 8]
	shl eax, 10
	cmp eax, [ram_high]
	je .upper_ok
	EXIT EXIT_FAIL + 5
.upper_ok:
	cmp dword [data_word], 0x5eed1234
	je .data_ok
	EXIT EXIT_FAIL + 6
.data_ok:
	cmp dword [bss_word], 0
	je .bss_ok
	EXIT EXIT_FAIL + 7
.bss_ok:
	cmp dword [ebx + 20], 0
	je .mods_ok
	EXIT EXIT_FAIL + 8
.mods_ok:
	PRINT "x86v multiboot: done", 10
	EXIT EXIT_OK

	UART_ROUTINES 32
