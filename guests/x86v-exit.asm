; SPDX-License-Identifier: MIT
;
; x86v-exit: a tiny Linux x86-64 program for the guest initramfs. `x86v-exit N`
; writes the byte N to x86v's exact-status port 0xf5, which ends x86v with exit
; status N (README: exit status). Linux needs ioperm() for that (root); on
; anything but x86v the write does nothing and the program exits 1.
; Built by scripts/mkguest: nasm -f elf64 + ld.

	bits 64
	global _start

SYS_IOPERM equ 173
SYS_EXIT   equ 60
STATUS_PORT equ 0xf5

	section .text
_start:
	mov rdi, [rsp]                  ; argc
	cmp rdi, 2
	jne fail
	mov rsi, [rsp + 16]             ; argv[1]
	xor ebx, ebx
	xor ecx, ecx
.digit:	movzx eax, byte [rsi]
	test eax, eax
	jz .parsed
	sub eax, '0'
	cmp eax, 9
	ja fail
	imul ebx, ebx, 10
	add ebx, eax
	cmp ebx, 255
	ja fail
	inc rsi
	inc ecx
	jmp .digit
.parsed:
	test ecx, ecx
	jz fail
	mov eax, SYS_IOPERM
	mov edi, STATUS_PORT
	mov esi, 1
	mov edx, 1
	syscall
	test rax, rax
	jnz fail
	mov eax, ebx
	out STATUS_PORT, al
fail:
	mov eax, SYS_EXIT
	mov edi, 1
	syscall
