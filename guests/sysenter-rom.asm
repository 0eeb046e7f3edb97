; SPDX-License-Identifier: MIT
;
; sysenter-rom: SYSENTER/SYSEXIT in 32-bit protected mode. SYSENTER_CS =
; 0x08 (CS 0x08, SS 0x10 per the SDM: CS+8) -- so this guest uses its own GDT
; layout: 0x08 code0, 0x10 data0, 0x18 code3, 0x20 data3 (SYSEXIT: CS+16,
; SS+24 with RPL 3). Ring 0 SYSEXITs to ring 3 (EDX = EIP, ECX = ESP), which
; SYSENTERs back; the kernel side checks CS, SS, ESP = SYSENTER_ESP and
; EFLAGS.IF/VM cleared, the user side checks CS = 0x53, SS = 0x5b and ESP.
; Also: SYSENTER with SYSENTER_CS = 0 raises #GP(0).
; Expected: tests/guest/sysenter.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

exc_handler     equ catch_exc32
K_ESP           equ 0x50000

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v sysenter: 32-bit protected mode", 10
	; GDT entries 0x40 code0, 0x48 data0, 0x50 code3, 0x58 data3
	mov dword [GDT_ADDR + 0x40], 0x0000FFFF
	mov dword [GDT_ADDR + 0x44], 0x00CF9B00
	mov dword [GDT_ADDR + 0x48], 0x0000FFFF
	mov dword [GDT_ADDR + 0x4c], 0x00CF9300
	mov dword [GDT_ADDR + 0x50], 0x0000FFFF
	mov dword [GDT_ADDR + 0x54], 0x00CFFB00
	mov dword [GDT_ADDR + 0x58], 0x0000FFFF
	mov dword [GDT_ADDR + 0x5c], 0x00CFF300
	mov word [VARS_ADDR + 0x920], 0x5f
	mov dword [VARS_ADDR + 0x922], GDT_ADDR
	lgdt [VARS_ADDR + 0x920]
	call idt_init32

	PRINT "sysenter with cs=0"
	xor eax, eax
	xor edx, edx
	mov ecx, 0x174
	wrmsr
	TRY .gp
	sysenter
.gp:	CAUGHT 13, 0
	PRINT 10

	mov ecx, 0x174                  ; SYSENTER_CS
	mov eax, 0x40
	xor edx, edx
	wrmsr
	mov ecx, 0x175                  ; SYSENTER_ESP
	mov eax, K_ESP
	wrmsr
	mov ecx, 0x176                  ; SYSENTER_EIP
	mov eax, kernel_entry
	wrmsr

	mov edx, user_entry
	mov ecx, USTACK_TOP - 16
	sysexit

user_entry:
	mov [ss:VARS_ADDR + 0x900], esp
	mov ax, cs
	mov [ss:VARS_ADDR + 0x904], ax
	mov ax, ss
	mov [ss:VARS_ADDR + 0x908], ax
	push 0x202                      ; IF set: SYSENTER must clear it
	popfd
	mov dword [ss:VARS_ADDR + 0x90c], 0x12345678
	sysenter

kernel_entry:
	mov [ss:VARS_ADDR + 0x910], esp
	pushfd
	pop dword [ss:VARS_ADDR + 0x914]
	mov ax, cs
	mov [ss:VARS_ADDR + 0x918], ax
	mov ax, ss
	mov [ss:VARS_ADDR + 0x91c], ax
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	PRINT "user"
	CHECK " cs=", [VARS_ADDR + 0x904], 4, 0x53
	CHECK " ss=", [VARS_ADDR + 0x908], 4, 0x5b
	CHECK " esp=", [VARS_ADDR + 0x900], 8, USTACK_TOP - 16
	PRINT 10
	PRINT "kernel"
	movzx eax, word [VARS_ADDR + 0x918]
	CHECK " cs=", eax, 4, 0x40
	movzx eax, word [VARS_ADDR + 0x91c]
	CHECK " ss=", eax, 4, 0x48
	CHECK " esp=", [VARS_ADDR + 0x910], 8, K_ESP
	mov eax, [VARS_ADDR + 0x914]
	and eax, 0x20200
	CHECK " if|vm=", eax, 8, 0
	PRINT 10
	FINISH

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
