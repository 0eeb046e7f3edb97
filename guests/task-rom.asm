; SPDX-License-Identifier: MIT
;
; task-rom: hardware task switches in 32-bit protected mode (no paging),
; SDM Vol. 3A chapter 7. The main task runs on the TSS at TSS_ADDR (LTR);
;   - JMP to a 32-bit TSS: task A sees its registers from its TSS, TR = A,
;     NT clear, CR0.TS set, the main TSS not busy and A busy; A JMPs back:
;     main's registers are restored, A's saved EIP is after its JMP;
;   - CALL through a task gate to task B: B sees NT set, the back link = main,
;     main still busy; B's IRETD returns (NT): B not busy, main's NT clear;
;   - CALL to a 16-bit TSS (type 1): the task runs 16-bit code with the
;     registers of its TSS, IRET returns; its TSS holds the saved IP;
;   - #DE through an IDT task gate (task C: back link, NT, the main task's
;     saved EIP is the DIV, no error code pushed; C skips it) and #GP with an
;     error code through a task gate (task D pops the error code);
;   - errors before the commit point (the old task's context): JMP/CALL to the
;     busy current TSS -> #GP(sel), IRET with NT to a TSS that is not busy ->
;     #TS(link), a TSS with limit 0x50 -> #TS(sel), a not-present TSS -> #NP;
;   - after the commit point: a TSS whose DS selector lies beyond the GDT
;     limit -> #TS(DS selector) delivered in the new task (TR = that TSS, EIP
;     = its entry, selectors loaded); a TSS with the T bit -> #DB (DR6.BT) at
;     the new task's first instruction. Both then JMP back to the main TSS.
; Expected: tests/guest/task.out, exit status 3.

%include "rom.inc"
%include "idt32.inc"
%include "check.inc"

exc_handler     equ catch_exc32

SEL_MAIN        equ SEL_TSS     ; 0x38: the main task (template descriptor)
SEL_TSS_A       equ 0x48
SEL_TSS_B       equ 0x50
SEL_GATE_B      equ 0x58        ; task gate -> SEL_TSS_B
SEL_TSS_C       equ 0x60        ; #DE handler task
SEL_TSS_SMALL   equ 0x68        ; limit 0x50: too small
SEL_TSS_BAD     equ 0x70        ; DS = 0xfff8
SEL_TSS_D       equ 0x78        ; #GP handler task
SEL_TSS16       equ 0x80        ; 16-bit TSS
SEL_CODE16      equ 0x88        ; 16-bit code, base 0xF0000
SEL_DATA16      equ 0x90        ; 16-bit stack, base 0
SEL_TSS_T       equ 0x98        ; T bit set
SEL_TSS_NP      equ 0xA0        ; not present
GDT_LIMIT       equ 0xA7

TSS_A           equ 0x5000
TSS_B           equ 0x5100
TSS_C           equ 0x5200
TSS_SMALL       equ 0x5300
TSS_BAD         equ 0x5400
TSS_D           equ 0x5500
TSS16           equ 0x5600
TSS_T           equ 0x5700
TSS_NP          equ 0x5800

REC             equ VARS_ADDR + 0x100   ; what the tasks record
A_EAX           equ REC + 0x00
A_ESP           equ REC + 0x04
A_TR            equ REC + 0x08
A_FL            equ REC + 0x0c
A_CR0           equ REC + 0x10
A_MAINTYPE      equ REC + 0x14
A_TYPE          equ REC + 0x18
B_FL            equ REC + 0x20
B_LINK          equ REC + 0x24
B_MAINTYPE      equ REC + 0x28
B_TR            equ REC + 0x2c
C_LINK          equ REC + 0x30
C_FL            equ REC + 0x34
C_EIP           equ REC + 0x38
C_ESP           equ REC + 0x3c
D_ERR           equ REC + 0x40
D_ESP           equ REC + 0x44
D_EIP           equ REC + 0x48
W_FL            equ REC + 0x50          ; 16-bit task
W_AX            equ REC + 0x54
W_SP            equ REC + 0x58
W_TR            equ REC + 0x5c
SAVED_IDT13     equ REC + 0x60

; TSSDESC selector, base, limit, access byte (0x89: available 32-bit TSS, 0x81: 16-bit)
%macro TSSDESC 4
	mov word [GDT_ADDR + %1], %3
	mov word [GDT_ADDR + %1 + 2], (%2) & 0xFFFF
	mov byte [GDT_ADDR + %1 + 4], ((%2) >> 16) & 0xFF
	mov byte [GDT_ADDR + %1 + 5], %4
	mov byte [GDT_ADDR + %1 + 6], 0
	mov byte [GDT_ADDR + %1 + 7], (%2) >> 24
%endmacro

; TSS32 base, eip, esp -- a 32-bit TSS: flat ring-0 segments, EFLAGS 2
%macro TSS32 3
	mov edi, %1
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov dword [%1 + 0x20], %2
	mov dword [%1 + 0x24], 2
	mov dword [%1 + 0x38], %3
	mov dword [%1 + 0x48], SEL_DATA
	mov dword [%1 + 0x4C], SEL_CODE32
	mov dword [%1 + 0x50], SEL_DATA
	mov dword [%1 + 0x54], SEL_DATA
	mov dword [%1 + 0x58], SEL_DATA
	mov dword [%1 + 0x5C], SEL_DATA
	mov word [%1 + 0x66], 0x68
%endmacro

; TYPEOF reg32, selector -- the descriptor type nibble (busy bit = 2)
%macro TYPEOF 2
	movzx %1, byte [GDT_ADDR + %2 + 5]
	and %1, 0xF
%endmacro

entry16:
	REAL_INIT
	ENTER_PM
	mov dword [FAILS], 0
	mov dword [RESUME], 0
	PRINT "x86v task: 32-bit protected mode", 10
	call idt_init32
	; the main TSS, then the others
	mov edi, TSS_ADDR
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov word [TSS_ADDR + 0x66], 0x68
	TSS32 TSS_A, task_a, 0x51000
	mov dword [TSS_A + 0x28], 0xA1A1A1A1
	TSS32 TSS_B, task_b, 0x52000
	TSS32 TSS_C, task_c, 0x53000
	TSS32 TSS_SMALL, task_a, 0x53800
	TSS32 TSS_BAD, task_bad, 0x54000
	mov dword [TSS_BAD + 0x54], 0xFFF8          ; DS beyond the GDT limit
	TSS32 TSS_D, task_d, 0x55000
	TSS32 TSS_T, task_t, 0x57000
	mov word [TSS_T + 0x64], 1                  ; T: #DB on entry
	TSS32 TSS_NP, task_a, 0x58000
	; the 16-bit TSS: IP, FLAGS, AX..DI, ES CS SS DS, LDT
	mov edi, TSS16
	xor eax, eax
	mov ecx, 0x2C / 4
	rep stosd
	mov word [TSS16 + 0x0E], task16 - ROM_BASE
	mov word [TSS16 + 0x10], 2
	mov word [TSS16 + 0x12], 0x1616              ; AX
	mov word [TSS16 + 0x1A], 0x6800              ; SP
	mov word [TSS16 + 0x22], SEL_DATA            ; ES
	mov word [TSS16 + 0x24], SEL_CODE16          ; CS
	mov word [TSS16 + 0x26], SEL_DATA16          ; SS
	mov word [TSS16 + 0x28], SEL_DATA            ; DS

	TSSDESC SEL_TSS_A, TSS_A, 0x67, 0x89
	TSSDESC SEL_TSS_B, TSS_B, 0x67, 0x89
	mov dword [GDT_ADDR + SEL_GATE_B], SEL_TSS_B << 16
	mov dword [GDT_ADDR + SEL_GATE_B + 4], 0x8500  ; task gate, DPL 0, present
	TSSDESC SEL_TSS_C, TSS_C, 0x67, 0x89
	TSSDESC SEL_TSS_SMALL, TSS_SMALL, 0x50, 0x89
	TSSDESC SEL_TSS_BAD, TSS_BAD, 0x67, 0x89
	TSSDESC SEL_TSS_D, TSS_D, 0x67, 0x89
	TSSDESC SEL_TSS16, TSS16, 0x2B, 0x81
	mov dword [GDT_ADDR + SEL_CODE16], 0x0000FFFF
	mov dword [GDT_ADDR + SEL_CODE16 + 4], 0x00009B0F ; base 0xF0000, 16-bit
	mov dword [GDT_ADDR + SEL_DATA16], 0x0000FFFF
	mov dword [GDT_ADDR + SEL_DATA16 + 4], 0x00009300 ; 16-bit stack (B = 0)
	TSSDESC SEL_TSS_T, TSS_T, 0x67, 0x89
	TSSDESC SEL_TSS_NP, TSS_NP, 0x67, 0x09          ; not present
	mov word [VARS_ADDR + 0x980], GDT_LIMIT
	mov dword [VARS_ADDR + 0x982], GDT_ADDR
	lgdt [VARS_ADDR + 0x980]
	mov ax, SEL_MAIN
	ltr ax

	mov edi, REC
	xor eax, eax
	mov ecx, 0x80 / 4
	rep stosd
	; IDT: #DE -> task gate to C
	mov dword [IDT_ADDR + 0 * 8], SEL_TSS_C << 16
	mov dword [IDT_ADDR + 0 * 8 + 4], 0x8500

	; ---- JMP to a TSS and back ----
	PRINT "jmp"
	mov ebx, 0x600DB0B0
	mov esi, 0x51515151
	jmp SEL_TSS_A:0
	CHECK " eax=", [A_EAX], 8, 0xA1A1A1A1
	CHECK " esp=", [A_ESP], 8, 0x51000
	CHECK " tr=", [A_TR], 4, SEL_TSS_A
	CHECK " fl=", [A_FL], 8, 0x2
	CHECK " ts=", [A_CR0], 1, 1
	CHECK " types main=", [A_MAINTYPE], 1, 9
	CHECK " a=", [A_TYPE], 1, 0xB
	PRINT 10, " "
	CHECK " back ebx=", ebx, 8, 0x600DB0B0
	CHECK " esi=", esi, 8, 0x51515151
	xor eax, eax
	str ax
	CHECK " tr=", eax, 4, SEL_MAIN
	TYPEOF eax, SEL_MAIN
	CHECK " types main=", eax, 1, 0xB
	TYPEOF eax, SEL_TSS_A
	CHECK " a=", eax, 1, 9
	CHECK " a.eip=", [TSS_A + 0x20], 8, task_a.back
	CHECK " main.esi=", [TSS_ADDR + 0x40], 8, 0x51515151
	PRINT 10
	clts

	; ---- CALL through a task gate, IRET back ----
	PRINT "call gate"
	call SEL_GATE_B:0
	CHECK " nt=", [B_FL], 8, 0x4002
	CHECK " link=", [B_LINK], 4, SEL_MAIN
	CHECK " tr=", [B_TR], 4, SEL_TSS_B
	CHECK " main busy=", [B_MAINTYPE], 1, 0xB
	pushfd
	pop eax
	and eax, 0x4000
	CHECK " back nt=", eax, 4, 0
	TYPEOF eax, SEL_TSS_B
	CHECK " b=", eax, 1, 9
	CHECK " b.eip=", [TSS_B + 0x20], 8, task_b.back
	mov eax, [TSS_B + 0x24]
	and eax, 0x4000
	CHECK " b.nt=", eax, 4, 0
	PRINT 10

	; ---- CALL a 16-bit TSS ----
	PRINT "call tss16"
	call SEL_TSS16:0
	CHECK " fl=", [W_FL], 4, 0x4002
	CHECK " ax=", [W_AX], 4, 0x1616
	CHECK " sp=", [W_SP], 4, 0x6800
	CHECK " tr=", [W_TR], 4, SEL_TSS16
	movzx eax, word [TSS16 + 0x0E]
	CHECK " ip=", eax, 4, task16.back - ROM_BASE
	movzx eax, word [TSS16]
	CHECK " link=", eax, 4, SEL_MAIN
	TYPEOF eax, SEL_TSS16
	CHECK " type=", eax, 1, 1
	PRINT 10

	; ---- #DE through an IDT task gate ----
	PRINT "#DE task"
	mov eax, 1
	xor edx, edx
	xor ecx, ecx
.de:	div ecx                                    ; 2 bytes; task C skips it
	CHECK " link=", [C_LINK], 4, SEL_MAIN
	CHECK " fl=", [C_FL], 8, 0x4002
	CHECK " eip=", [C_EIP], 8, .de
	CHECK " esp=", [C_ESP], 8, 0x53000
	TYPEOF eax, SEL_TSS_C
	CHECK " c=", eax, 1, 9
	PRINT 10

	; ---- #GP(error code) through an IDT task gate ----
	PRINT "#GP task"
	mov eax, [IDT_ADDR + 13 * 8]
	mov [SAVED_IDT13], eax
	mov eax, [IDT_ADDR + 13 * 8 + 4]
	mov [SAVED_IDT13 + 4], eax
	mov dword [IDT_ADDR + 13 * 8], SEL_TSS_D << 16
	mov dword [IDT_ADDR + 13 * 8 + 4], 0x8500
	mov ax, 0xFFF8
.gp:	mov ds, ax                                 ; 2 bytes; task D skips it
	mov eax, [SAVED_IDT13]
	mov [IDT_ADDR + 13 * 8], eax
	mov eax, [SAVED_IDT13 + 4]
	mov [IDT_ADDR + 13 * 8 + 4], eax
	CHECK " err=", [D_ERR], 4, 0xFFF8
	CHECK " esp=", [D_ESP], 8, 0x55000
	CHECK " eip=", [D_EIP], 8, .gp
	PRINT 10

	; ---- errors before the commit point ----
	PRINT "busy jmp"
	TRY .e1
	jmp SEL_MAIN:0
.e1:	CAUGHT 13, SEL_MAIN
	PRINT 10, "busy call"
	TRY .e2
	call SEL_MAIN:0
.e2:	CAUGHT 13, SEL_MAIN
	PRINT 10, "iret to idle"
	mov word [TSS_ADDR], SEL_TSS_A              ; back link to a TSS that is not busy
	TRY .e3
	pushfd
	or dword [esp], 0x4000                      ; NT
	popfd
	iretd
.e3:	CAUGHT 10, SEL_TSS_A
	pushfd
	pop eax
	and eax, 0x4000
	CHECK " nt=", eax, 4, 0
	PRINT 10, "small tss"
	TRY .e4
	jmp SEL_TSS_SMALL:0
.e4:	CAUGHT 10, SEL_TSS_SMALL
	xor eax, eax
	str ax
	CHECK " tr=", eax, 4, SEL_MAIN
	PRINT 10, "not present"
	TRY .e5
	call SEL_TSS_NP:0
.e5:	CAUGHT 11, SEL_TSS_NP
	TYPEOF eax, SEL_MAIN
	CHECK " main=", eax, 1, 0xB
	PRINT 10

	; ---- #TS after the commit point: in the new task ----
	PRINT "bad ds"
	TRY .bad_caught
	jmp SEL_TSS_BAD:0
	jmp .bad_done                              ; main resumes here
.bad_caught:
	CAUGHT 10, 0xFFF8
	CHECK " eip=", [EXC_IP], 8, task_bad
	xor eax, eax
	str ax
	CHECK " tr=", eax, 4, SEL_TSS_BAD
	TYPEOF eax, SEL_MAIN
	CHECK " main=", eax, 1, 9
	jmp SEL_MAIN:0
.bad_done:
	xor eax, eax
	str ax
	CHECK " back tr=", eax, 4, SEL_MAIN
	TYPEOF eax, SEL_TSS_BAD
	CHECK " bad=", eax, 1, 9
	PRINT 10

	; ---- the T bit: #DB (BT) before the new task's first instruction ----
	PRINT "t bit"
	mov eax, 0
	mov dr6, eax
	TRY .t_caught
	jmp SEL_TSS_T:0
	jmp .t_done
.t_caught:
	CAUGHT 1, 0
	CHECK " eip=", [EXC_IP], 8, task_t
	mov eax, dr6
	and eax, 0xF00F
	CHECK " dr6=", eax, 4, 0x8000
	jmp SEL_MAIN:0
.t_done:
	PRINT 10
	FINISH

; ---- the tasks ----
task_a:
	pushfd
	pop dword [A_FL]
	mov [A_EAX], eax
	mov [A_ESP], esp
	xor eax, eax
	str ax
	mov [A_TR], eax
	mov eax, cr0
	shr eax, 3
	and eax, 1
	mov [A_CR0], eax
	TYPEOF eax, SEL_MAIN
	mov [A_MAINTYPE], eax
	TYPEOF eax, SEL_TSS_A
	mov [A_TYPE], eax
	mov esi, 0xAAAAAAAA
	jmp SEL_MAIN:0
.back:	jmp task_a

task_b:
	pushfd
	pop dword [B_FL]
	movzx eax, word [TSS_B]
	mov [B_LINK], eax
	TYPEOF eax, SEL_MAIN
	mov [B_MAINTYPE], eax
	xor eax, eax
	str ax
	mov [B_TR], eax
	iretd
.back:	jmp task_b

task_c:
	movzx eax, word [TSS_C]
	mov [C_LINK], eax
	pushfd
	pop dword [C_FL]
	mov eax, [TSS_ADDR + 0x20]
	mov [C_EIP], eax
	mov [C_ESP], esp
	add dword [TSS_ADDR + 0x20], 2
	iretd
	jmp task_c

task_d:
	pop eax
	mov [D_ERR], eax
	mov [D_ESP], esp
	mov eax, [TSS_ADDR + 0x20]
	mov [D_EIP], eax
	add dword [TSS_ADDR + 0x20], 2
	iretd
	jmp task_d

task_bad:
	hlt                     ; never runs: the switch faults first
task_t:
	hlt                     ; never runs before the #DB is handled

	bits 16
task16:
	pushf
	pop word [W_FL]
	mov [W_AX], ax
	mov [W_SP], sp
	str ax
	mov [W_TR], ax
	iret
.back:	jmp task16
	bits 32

	UART_ROUTINES 32
	IDT_ROUTINES32
	CHECK_ROUTINES32

	ROM_END
