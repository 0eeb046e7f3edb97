; SPDX-License-Identifier: MIT
;
; debug-rom: the guest-visible debug features in 32-bit protected mode
; (SDM Vol. 3B §17.2-17.3). A #DB interrupt-gate handler records, per
; exception, the frame's EIP and RF bit, DR6 (B0-B3, BD, BS, BT) and DR7,
; clears DR6 and sets RF in the frame before IRETD (to resume past an
; instruction breakpoint).
;   - single-step: POPF sets TF (no trap after the POPF itself), one trap
;     after each following instruction with DR6.BS; none after INT n (the
;     event clears TF; the handler's IRETD restores it), none after MOV SS
;     (held back until after the next instruction: one trap for both), none
;     after an instruction that faults (#UD, whose handler skips it), one
;     after the POPF that clears TF: 9 traps at known addresses;
;   - DR0 instruction breakpoint (fault before the instruction, DR6.B0, RF = 0
;     in the frame) in a loop of 2: RF set by the handler lets each execution
;     run once;
;   - DR1 4-byte write breakpoint (trap after the write, DR6.B1; reads and
;     the neighbouring dword do not trigger) and DR2 2-byte read/write
;     breakpoint at an odd address (aligned down: DR6.B2);
;   - DR7.GD: MOV from DR0 faults with DR6.BD, RF = 1 in the frame (a fault),
;     GD cleared on entry, then the MOV runs;
;   - ICEBP (F1): a #DB trap after it, no DR6 status bit;
;   - MOV SS from a watched word, then ICEBP: only ICEBP's #DB arrives (the
;     watchpoint trap the MOV SS held back is dropped, as on hardware).
; Expected: tests/guest/debug.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

exc_handler     equ catch_exc32

DB_COUNT        equ VARS_ADDR + 0x100
DB_EIP          equ VARS_ADDR + 0x110   ; 16 entries each
DB_DR6          equ VARS_ADDR + 0x150
DB_RF           equ VARS_ADDR + 0x190
DB_DR7          equ VARS_ADDR + 0x1D0
WVAR            equ VARS_ADDR + 0x300   ; DR1: write, 4 bytes
RVAR            equ VARS_ADDR + 0x310   ; DR2: read/write, 2 bytes at RVAR + 1 -> RVAR
SSVAR           equ VARS_ADDR + 0x320   ; DR0: the SS selector MOV SS reads

; AT n, base, label, dr6 -- the n-th #DB: EIP (as label - base) and DR6
%macro AT 4
	mov eax, [DB_EIP + 4 * %1]
	sub eax, %2
	CHECK " ", eax, 2, %3 - %2
	CHECK "/", [DB_DR6 + 4 * %1], 4, %4
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v debug: 32-bit protected mode", 10
	call idt_init32
	mov edi, 1
	mov esi, db_handler
	mov dl, 0x8E
	call idt_set32
	mov edi, 6
	mov esi, ud_handler
	call idt_set32
	mov edi, 0x41
	mov esi, int41_handler
	call idt_set32

	; ---- single-step ----
	PRINT "single-step"
	call reset_db
	mov bx, SEL_DATA
	pushfd
	or dword [esp], 0x100
	popfd                           ; TF is set from the next instruction on
s1:	nop
s2:	mov eax, 1
s3:	add eax, 2
s4:	int 0x41                        ; no trap: the event clears TF
s5:	nop                             ; traps: TF is back after the handler's IRETD
s6:	mov ss, bx                      ; its trap waits ...
s7:	nop                             ; ... one trap after this one
s8:	ud2                             ; faults: no trap; the handler skips it
s9:	nop
s10:	pushfd
s11:	and dword [esp], ~0x100
s12:	popfd                           ; started with TF set: traps
s13:	nop                             ; no trap
	CHECK " traps=", [DB_COUNT], 2, 9
	PRINT 10, " "
	AT 0, s1, s2, 0x4000
	AT 1, s1, s3, 0x4000
	AT 2, s1, s4, 0x4000
	AT 3, s1, s6, 0x4000
	AT 4, s1, s8, 0x4000
	PRINT 10, " "
	AT 5, s1, s10, 0x4000
	AT 6, s1, s11, 0x4000
	AT 7, s1, s12, 0x4000
	AT 8, s1, s13, 0x4000
	CHECK " rf=", [DB_RF + 4 * 5], 5, 0
	PRINT 10

	; ---- DR0: instruction breakpoint ----
	PRINT "dr0 exec"
	call reset_db
	mov eax, bp_insn
	mov dr0, eax
	mov eax, 0x401                  ; L0, R/W0 = 00 (execute), LEN0 = 00
	mov dr7, eax
	mov ecx, 2
	xor edx, edx
bp_insn:
	inc edx                         ; #DB before each execution
	dec ecx
	jnz bp_insn
	mov eax, 0x400
	mov dr7, eax
	CHECK " traps=", [DB_COUNT], 2, 2
	CHECK " runs=", edx, 2, 2
	AT 0, bp_insn, bp_insn, 0x0001
	AT 1, bp_insn, bp_insn, 0x0001
	CHECK " rf=", [DB_RF], 5, 0
	CHECK " dr7=", [DB_DR7], 8, 0x401
	PRINT 10

	; ---- DR1 write, DR2 read/write data breakpoints ----
	PRINT "dr1 write, dr2 rw"
	call reset_db
	mov eax, WVAR
	mov dr1, eax
	mov eax, RVAR + 1
	mov dr2, eax
	; L1 | R/W1 = 01, LEN1 = 11 (4 bytes); L2 | R/W2 = 11, LEN2 = 01 (2 bytes)
	mov eax, 0x400 | 0x04 | 0x10 | (0x1 << 20) | (0x3 << 22) | (0x3 << 24) | (0x1 << 26)
	mov dr7, eax
d0:	mov eax, [WVAR]                 ; read: DR1 is write-only
d1:	mov [WVAR], eax                 ; B1
d2:	mov byte [WVAR + 3], 1          ; B1: overlaps
d3:	mov [WVAR + 4], eax             ; next dword: nothing
d4:	mov al, [RVAR]                  ; B2: DR2 covers RVAR..RVAR+1
d5:	mov al, [RVAR + 2]              ; nothing
d6:	mov eax, 0x400
	mov dr7, eax
	CHECK " traps=", [DB_COUNT], 2, 3
	AT 0, d0, d2, 0x0002
	AT 1, d0, d3, 0x0002
	AT 2, d0, d5, 0x0004
	CHECK " rf=", [DB_RF], 5, 0
	PRINT 10

	; ---- DR7.GD ----
	PRINT "gd"
	call reset_db
	mov eax, 0x2400
	mov dr7, eax
gd_insn:
	mov eax, dr0                    ; #DB (BD) first; GD is clear when it reruns
	CHECK " traps=", [DB_COUNT], 2, 1
	AT 0, gd_insn, gd_insn, 0x2000
	CHECK " rf=", [DB_RF], 5, 0x10000
	CHECK " dr7=", [DB_DR7], 8, 0x400
	mov eax, dr7
	CHECK " now=", eax, 8, 0x400
	PRINT 10

	; ---- ICEBP ----
	PRINT "icebp"
	call reset_db
ice:	db 0xF1
ice_next:
	CHECK " traps=", [DB_COUNT], 2, 1
	AT 0, ice, ice_next, 0x0000
	PRINT 10

	; ---- MOV SS from a watched word, then ICEBP ----
	PRINT "mov ss+icebp"
	call reset_db
	mov word [SSVAR], SEL_DATA
	mov eax, SSVAR
	mov dr0, eax
	mov eax, 0x70401                ; L0, R/W0 = 11 (read/write), LEN0 = 01 (2 bytes)
	mov dr7, eax
	mov ss, [SSVAR]
msi:	db 0xF1
msi_next:
	mov eax, 0x400
	mov dr7, eax
	CHECK " traps=", [DB_COUNT], 2, 1
	mov eax, [DB_EIP]
	sub eax, msi
	CHECK " eip=", eax, 2, msi_next - msi
	PRINT 10
	FINISH

reset_db:
	push eax
	mov dword [DB_COUNT], 0
	xor eax, eax
	mov dr6, eax
	pop eax
	ret

; #DB: record, clear DR6, set RF in the frame (resume past an instruction breakpoint).
db_handler:
	push eax
	push ebx
	mov ebx, [DB_COUNT]
	cmp ebx, 15
	ja .full
	mov eax, [esp + 8]              ; EIP
	mov [DB_EIP + ebx * 4], eax
	mov eax, [esp + 16]             ; EFLAGS
	and eax, 0x10000
	mov [DB_RF + ebx * 4], eax
	mov eax, dr6
	and eax, 0xE00F
	mov [DB_DR6 + ebx * 4], eax
	mov eax, dr7
	mov [DB_DR7 + ebx * 4], eax
.full:	inc dword [DB_COUNT]
	xor eax, eax
	mov dr6, eax
	or dword [esp + 16], 0x10000
	pop ebx
	pop eax
	iretd

ud_handler:
	add dword [esp], 2              ; skip UD2
	iretd

int41_handler:
	iretd

	bits 32
	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
