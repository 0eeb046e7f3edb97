/* SPDX-License-Identifier: MIT */
/*
 * The x87 FPU's computational instructions (SDM Vol. 1 ch. 8, Vol. 2 the
 * F* instruction pages): loads and stores in every memory format (m16/m32/
 * m64 integer, m32/m64/m80 real, m80 BCD), arithmetic, comparisons (also
 * FCOMI/FUCOMI into EFLAGS), FCMOVcc, constants, transcendentals, FXCH,
 * FFREE(P), FINCSTP/FDECSTP, FNOP and the 8087/287 no-ops.
 *
 * Every one of them runs on the host FPU, which is the same ISA: the guest's
 * x87 state (control word, status, tags, the eight registers) is loaded with
 * FRSTOR, the guest's own instruction (same escape byte, same ModRM; memory
 * operands rewritten to [rdi], a host buffer) executes, and FNSAVE reads the
 * state back. Results, C0-C3, stack faults, tags, masked responses and
 * unmasked-exception behaviour (destination left alone) are therefore
 * exactly the hardware's, in every precision and rounding mode. The host
 * never traps: the exception flags the guest already had are cleared in the
 * image (so nothing is pending when the instruction starts) and merged back
 * afterwards, and FNSAVE is a non-waiting instruction that also
 * reinitialises the host FPU, whose control word is then restored.
 * Unmasked guest exceptions surface as FSW.ES and raise #MF on the next
 * waiting x87 instruction (x87_check_pending).
 *
 * Not implemented: the FOP of memory forms records the guest's ModRM only
 * approximately (mod/rm rebuilt from the operand, the reg field exact; only
 * the displacement width of 32/64-bit forms can differ from the encoding);
 * FERR#/IGNNE# (CR0.NE = 0) is not modelled.
 */
#include <Zydis/Zydis.h>

#include "core/log.h"
#include "engine/soft/interp/host_flags.h"
#include "engine/soft/interp/x87.h"

/*
 * One host stub per x87 opcode: escape byte, ModRM, RET. Memory forms keep
 * the reg field and use [rdi] (mod 00, rm 111) as their operand. 8 x 256
 * stubs of 4 bytes, indexed by (escape - 0xd8) * 256 + ModRM.
 */
__asm__(".pushsection .text\n"
	".balign 64\n"
	".globl x87_host_stubs\n"
	".hidden x87_host_stubs\n"
	"x87_host_stubs:\n"
	".irp esc, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	".set x87_m, 0\n"
	".rept 256\n"
	".if x87_m >= 0xc0\n"
	".byte \\esc, x87_m, 0xc3, 0xcc\n"
	".else\n"
	".byte \\esc, (x87_m & 0x38) | 7, 0xc3, 0xcc\n"
	".endif\n"
	".set x87_m, x87_m + 1\n"
	".endr\n"
	".endr\n"
	".popsection\n");
extern const uint8_t x87_host_stubs[] __attribute__((visibility("hidden")));

/* The FNSAVE/FRSTOR image, 32-bit protected-mode format (SDM Vol. 1 Figure
 * 8-10): registers in stack order, tags in physical order. */
struct x87_image {
	uint16_t fcw, pad0, fsw, pad1, ftw, pad2;
	uint32_t fip;
	uint16_t fcs, fop;
	uint32_t fdp;
	uint16_t fds, pad3;
	uint8_t st[8][10];
} __attribute__((packed));

static void image_from_state(const struct x86_fpu_state *f, struct x87_image *img)
{
	memset(img, 0, sizeof(*img));
	img->fcw = f->fcw;
	/* Nothing pending when the host instruction starts: the old flags are merged back later. */
	img->fsw = f->fsw & (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
	img->ftw = x87_full_tag_word(f);
	unsigned top = x87_top(f);
	for (unsigned i = 0; i < 8; i++)
		memcpy(img->st[i], f->st[(top + i) & 7], 10);
}

static void state_from_image(struct x86_fpu_state *f, const struct x87_image *img, uint16_t old_fsw)
{
	uint16_t fsw = img->fsw | (old_fsw & (FSW_EXC | FSW_SF));
	f->fsw = x87_fsw_summary(fsw, f->fcw);
	f->ftw = x87_abridge_tags(img->ftw);
	unsigned top = x87_top(f);
	for (unsigned i = 0; i < 8; i++) {
		memcpy(f->st[(top + i) & 7], img->st[i], 10);
		memset(f->st[(top + i) & 7] + 10, 0, 6);
	}
}

/* FRSTOR img; the stub with rdi = mem and the guest's arithmetic flags; FNSAVE img. */
static void host_run(struct x87_image *img, void *mem, uint64_t *rflags, const uint8_t *stub)
{
	uint16_t host_cw;
	uint64_t f = host_flags_in(*rflags);
	__asm__ volatile("fnstcw %[cw]\n\t"
			 "frstor %[img]\n\t"
			 "lea -128(%%rsp), %%rsp\n\t"
			 "push %[f]\n\t"
			 "popfq\n\t"
			 "call *%[stub]\n\t"
			 "pushfq\n\t"
			 "pop %[f]\n\t"
			 "lea 128(%%rsp), %%rsp\n\t"
			 "fnsave %[img]\n\t"
			 "fldcw %[cw]"
			 : [img] "+m"(*img), [cw] "=m"(host_cw), [f] "+r"(f)
			 : [stub] "r"(stub), "D"(mem)
			 : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
	*rflags = (*rflags & ~SOFT_ARITH_FLAGS) | (f & SOFT_ARITH_FLAGS);
}

/* ---- checks shared by every x87 instruction ---- */

void x87_check_nm(struct soft_cpu *cpu)
{
	if (cpu->s.cr0 & (CR0_EM | CR0_TS))
		soft_raise(cpu, X86_EXC_NM, 0, false);
}

void x87_check_pending(struct soft_cpu *cpu)
{
	if (!(cpu->s.fpu.fsw & FSW_ES))
		return;
	if (cpu->s.cr0 & CR0_NE)
		soft_raise(cpu, X86_EXC_MF, 0, false);
	log_guest("soft: x87 exception pending with CR0.NE=0: FERR# is not modelled, continuing");
}

uint64_t x87_mem_linear(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, unsigned len,
			enum soft_access acc)
{
	const struct soft_operand *op = &in->op[n];
	return soft_seg_linear(cpu, op->seg, soft_ea(cpu, in, op), len, acc);
}

/* ---- ModRM of the guest instruction, rebuilt from the decoded form ---- */

/* The reg field of a memory form (SDM Vol. 2 Table; escape and size
 * tell apart the few mnemonics that occur twice). -1: not a computational form. */
static int mem_reg_field(unsigned esc, unsigned mn, unsigned size)
{
	switch (mn) {
	case ZYDIS_MNEMONIC_FADD: case ZYDIS_MNEMONIC_FIADD: return 0;
	case ZYDIS_MNEMONIC_FMUL: case ZYDIS_MNEMONIC_FIMUL: return 1;
	case ZYDIS_MNEMONIC_FCOM: case ZYDIS_MNEMONIC_FICOM: return 2;
	case ZYDIS_MNEMONIC_FCOMP: case ZYDIS_MNEMONIC_FICOMP: return 3;
	case ZYDIS_MNEMONIC_FSUB: case ZYDIS_MNEMONIC_FISUB: return 4;
	case ZYDIS_MNEMONIC_FSUBR: case ZYDIS_MNEMONIC_FISUBR: return 5;
	case ZYDIS_MNEMONIC_FDIV: case ZYDIS_MNEMONIC_FIDIV: return 6;
	case ZYDIS_MNEMONIC_FDIVR: case ZYDIS_MNEMONIC_FIDIVR: return 7;
	case ZYDIS_MNEMONIC_FLD: return esc == 0xdb ? 5 : 0;
	case ZYDIS_MNEMONIC_FILD: return esc == 0xdf && size == 8 ? 5 : 0;
	case ZYDIS_MNEMONIC_FISTTP: return 1;
	case ZYDIS_MNEMONIC_FST: case ZYDIS_MNEMONIC_FIST: return 2;
	case ZYDIS_MNEMONIC_FSTP: return esc == 0xdb ? 7 : 3;
	case ZYDIS_MNEMONIC_FISTP: return esc == 0xdf && size == 8 ? 7 : 3;
	case ZYDIS_MNEMONIC_FBLD: return 4;
	case ZYDIS_MNEMONIC_FBSTP: return 6;
	default: return -1;
	}
}

/* The ModRM of a register form without its ST(i) bits. -1: unknown. */
static int reg_form_base(unsigned esc, unsigned mn)
{
	bool d8 = esc == 0xd8; /* D8 has ST(0) as destination; DC/DE swap SUB/SUBR and DIV/DIVR */
	switch (mn) {
	case ZYDIS_MNEMONIC_FADD: case ZYDIS_MNEMONIC_FADDP: return 0xc0;
	case ZYDIS_MNEMONIC_FMUL: case ZYDIS_MNEMONIC_FMULP: return 0xc8;
	case ZYDIS_MNEMONIC_FCOM: return 0xd0;
	case ZYDIS_MNEMONIC_FCOMP: return esc == 0xde ? 0xd0 : 0xd8; /* DE D0+i is an alias */
	case ZYDIS_MNEMONIC_FSUB: return d8 ? 0xe0 : 0xe8;
	case ZYDIS_MNEMONIC_FSUBR: return d8 ? 0xe8 : 0xe0;
	case ZYDIS_MNEMONIC_FDIV: return d8 ? 0xf0 : 0xf8;
	case ZYDIS_MNEMONIC_FDIVR: return d8 ? 0xf8 : 0xf0;
	case ZYDIS_MNEMONIC_FSUBP: return 0xe8;
	case ZYDIS_MNEMONIC_FSUBRP: return 0xe0;
	case ZYDIS_MNEMONIC_FDIVP: return 0xf8;
	case ZYDIS_MNEMONIC_FDIVRP: return 0xf0;
	case ZYDIS_MNEMONIC_FLD: return 0xc0;
	case ZYDIS_MNEMONIC_FXCH: return 0xc8;
	case ZYDIS_MNEMONIC_FNOP: return 0xd0;
	case ZYDIS_MNEMONIC_FSTPNCE: return 0xd8;
	case ZYDIS_MNEMONIC_FST: return 0xd0;
	case ZYDIS_MNEMONIC_FSTP: return 0xd8; /* DD D8+i; DF D0+i and D8+i are aliases */
	case ZYDIS_MNEMONIC_FFREE: case ZYDIS_MNEMONIC_FFREEP: return 0xc0;
	case ZYDIS_MNEMONIC_FUCOM: return 0xe0;
	case ZYDIS_MNEMONIC_FUCOMP: return 0xe8;
	case ZYDIS_MNEMONIC_FUCOMPP: return 0xe9;
	case ZYDIS_MNEMONIC_FCOMPP: return 0xd9;
	case ZYDIS_MNEMONIC_FCMOVB: case ZYDIS_MNEMONIC_FCMOVNB: return 0xc0;
	case ZYDIS_MNEMONIC_FCMOVE: case ZYDIS_MNEMONIC_FCMOVNE: return 0xc8;
	case ZYDIS_MNEMONIC_FCMOVBE: case ZYDIS_MNEMONIC_FCMOVNBE: return 0xd0;
	case ZYDIS_MNEMONIC_FCMOVU: case ZYDIS_MNEMONIC_FCMOVNU: return 0xd8;
	case ZYDIS_MNEMONIC_FUCOMI: case ZYDIS_MNEMONIC_FUCOMIP: return 0xe8;
	case ZYDIS_MNEMONIC_FCOMI: case ZYDIS_MNEMONIC_FCOMIP: return 0xf0;
	case ZYDIS_MNEMONIC_FENI8087_NOP: return 0xe0;
	case ZYDIS_MNEMONIC_FDISI8087_NOP: return 0xe1;
	case ZYDIS_MNEMONIC_FSETPM287_NOP: return 0xe4;
	case ZYDIS_MNEMONIC_FCHS: return 0xe0;
	case ZYDIS_MNEMONIC_FABS: return 0xe1;
	case ZYDIS_MNEMONIC_FTST: return 0xe4;
	case ZYDIS_MNEMONIC_FXAM: return 0xe5;
	case ZYDIS_MNEMONIC_FLD1: return 0xe8;
	case ZYDIS_MNEMONIC_FLDL2T: return 0xe9;
	case ZYDIS_MNEMONIC_FLDL2E: return 0xea;
	case ZYDIS_MNEMONIC_FLDPI: return 0xeb;
	case ZYDIS_MNEMONIC_FLDLG2: return 0xec;
	case ZYDIS_MNEMONIC_FLDLN2: return 0xed;
	case ZYDIS_MNEMONIC_FLDZ: return 0xee;
	case ZYDIS_MNEMONIC_F2XM1: return 0xf0;
	case ZYDIS_MNEMONIC_FYL2X: return 0xf1;
	case ZYDIS_MNEMONIC_FPTAN: return 0xf2;
	case ZYDIS_MNEMONIC_FPATAN: return 0xf3;
	case ZYDIS_MNEMONIC_FXTRACT: return 0xf4;
	case ZYDIS_MNEMONIC_FPREM1: return 0xf5;
	case ZYDIS_MNEMONIC_FDECSTP: return 0xf6;
	case ZYDIS_MNEMONIC_FINCSTP: return 0xf7;
	case ZYDIS_MNEMONIC_FPREM: return 0xf8;
	case ZYDIS_MNEMONIC_FYL2XP1: return 0xf9;
	case ZYDIS_MNEMONIC_FSQRT: return 0xfa;
	case ZYDIS_MNEMONIC_FSINCOS: return 0xfb;
	case ZYDIS_MNEMONIC_FRNDINT: return 0xfc;
	case ZYDIS_MNEMONIC_FSCALE: return 0xfd;
	case ZYDIS_MNEMONIC_FSIN: return 0xfe;
	case ZYDIS_MNEMONIC_FCOS: return 0xff;
	default: return -1;
	}
}

enum mem_dir { MEM_NONE, MEM_LOAD, MEM_STORE };

/* Whether the memory form /reg of escape esc reads or writes its operand. */
static enum mem_dir mem_direction(unsigned esc, unsigned reg)
{
	switch (esc) {
	case 0xd9: return reg == 0 ? MEM_LOAD : MEM_STORE;
	case 0xdb: return reg == 0 || reg == 5 ? MEM_LOAD : MEM_STORE;
	case 0xdd: return reg == 0 ? MEM_LOAD : MEM_STORE;
	case 0xdf: return reg == 0 || reg == 4 || reg == 5 ? MEM_LOAD : MEM_STORE;
	default: return MEM_LOAD; /* D8 DA DC DE: arithmetic and compares */
	}
}

/* The rm field of a 16-bit memory operand (SDM Vol. 2A Table 2-1): each
 * base/index combination has exactly one encoding. -1: none. */
static int rm16(unsigned base, unsigned index)
{
	if (base == X86_RSI || base == X86_RDI) { /* [si+bx] written the other way round */
		unsigned t = base;
		base = index;
		index = t;
	}
	switch (base) {
	case X86_RBX: return index == X86_RSI ? 0 : index == X86_RDI ? 1 : index == SOFT_NOREG ? 7 : -1;
	case X86_RBP: return index == X86_RSI ? 2 : index == X86_RDI ? 3 : index == SOFT_NOREG ? 6 : -1;
	case SOFT_NOREG: return index == X86_RSI ? 4 : index == X86_RDI ? 5 : -1;
	default: return -1;
	}
}

/* mod and rm of a memory operand, as an assembler would most likely have
 * encoded it: only FOP sees them (SDM Vol. 1 §8.1.9: FOP holds the ModR/M
 * byte). Exact for 16-bit addressing and for the forms that have a single
 * encoding; only the displacement width (disp8 vs disp32) is a guess. */
static unsigned approx_mod_rm(const struct soft_cpu *cpu, const struct soft_insn *in,
			      const struct soft_operand *op)
{
	unsigned disp_mod = op->disp == (int8_t)op->disp ? 0x40 : 0x80;
	if (in->addrsize == 2) {
		if (op->base == SOFT_NOREG && op->index == SOFT_NOREG)
			return 6; /* mod 00 rm 110: disp16 only */
		int rm = rm16(op->base, op->index);
		if (rm < 0)
			return 6;
		/* [bp] has no mod-00 form (that encoding is disp16) */
		return (op->disp || rm == 6 ? disp_mod : 0) | (unsigned)rm;
	}
	if (op->base == SOFT_REG_RIP)
		return 5;
	if (op->base == SOFT_NOREG) {
		/* In 64-bit mode mod 00 rm 101 is RIP-relative: an absolute
		 * disp32 needs a SIB byte (rm 100, Vol. 2A §2.2.1.6). */
		return op->index == SOFT_NOREG && !soft_in_64bit_mode(cpu) ? 5 : 4;
	}
	unsigned rm = op->index != SOFT_NOREG || (op->base & 7) == 4 ? 4 : op->base & 7;
	unsigned mod = op->disp == 0 && (op->base & 7) != 5 ? 0 : disp_mod;
	return mod | rm;
}

/* FIP, FDP and FOP after a non-control instruction (SDM Vol. 1 §8.1.8-8.1.9). */
static void record_pointers(struct soft_cpu *cpu, const struct soft_insn *in, int mem_op, unsigned modrm)
{
	struct x86_fpu_state *f = &cpu->s.fpu;
	bool real = x87_real_format(cpu);
	f->fop = (uint16_t)(((in->opcode & 7) << 8) | modrm);
	f->fip = real ? (cpu->s.seg[X86_CS].base + cpu->insn_rip) & 0xffffffff : cpu->insn_rip;
	if (mem_op >= 0) {
		const struct soft_operand *op = &in->op[mem_op];
		uint64_t ea = soft_ea(cpu, in, op);
		f->fdp = real ? (cpu->s.seg[op->seg].base + ea) & 0xffffffff : ea;
	}
}

/* Control instructions leave FIP, FDP and FOP alone (SDM Vol. 1 §8.1.8). */
static bool is_control(unsigned mn)
{
	switch (mn) {
	case ZYDIS_MNEMONIC_FINCSTP: case ZYDIS_MNEMONIC_FDECSTP: case ZYDIS_MNEMONIC_FFREE:
	case ZYDIS_MNEMONIC_FFREEP: case ZYDIS_MNEMONIC_FNOP: case ZYDIS_MNEMONIC_FENI8087_NOP:
	case ZYDIS_MNEMONIC_FDISI8087_NOP: case ZYDIS_MNEMONIC_FSETPM287_NOP:
		return true;
	default:
		return false;
	}
}

/* The 8087/287 leftovers are no-ops that, like FN* instructions, do not wait. */
static bool is_non_waiting(unsigned mn)
{
	return mn == ZYDIS_MNEMONIC_FENI8087_NOP || mn == ZYDIS_MNEMONIC_FDISI8087_NOP ||
	       mn == ZYDIS_MNEMONIC_FSETPM287_NOP;
}

/* ---- the one handler of every computational x87 instruction ---- */

static void x87_compute(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned esc = in->opcode;
	int mem_op = -1;
	unsigned st_index = 0;
	for (unsigned i = 0; i < in->nops; i++) {
		if (in->op[i].kind == SOFT_OP_MEM)
			mem_op = (int)i;
		else if (in->op[i].kind == SOFT_OP_ST && in->op[i].reg)
			st_index = in->op[i].reg;
	}
	unsigned size = mem_op >= 0 ? in->op[mem_op].size : 0;
	int field = mem_op >= 0 ? mem_reg_field(esc, in->mnemonic, size) : reg_form_base(esc, in->mnemonic);
	if (esc < 0xd8 || esc > 0xdf || field < 0 || size > 10) {
		log_guest("soft: x87 form %s (escape %#x) not recognised: #UD",
			  ZydisMnemonicGetString((ZydisMnemonic)in->mnemonic), esc);
		soft_raise_ud(cpu);
	}
	unsigned host_modrm = mem_op >= 0 ? ((unsigned)field << 3) | 7 : (unsigned)field | st_index;
	enum mem_dir dir = mem_op >= 0 ? mem_direction(esc, (unsigned)field) : MEM_NONE;

	x87_check_nm(cpu);
	if (!is_non_waiting(in->mnemonic))
		x87_check_pending(cpu);

	_Alignas(16) uint8_t buf[16] = { 0 };
	uint64_t lin = 0;
	bool user = cpu->cpl == 3;
	if (dir == MEM_LOAD) {
		lin = x87_mem_linear(cpu, in, (unsigned)mem_op, size, SOFT_ACC_READ);
		soft_lin_read_bytes(cpu, lin, buf, size, user);
	} else if (dir == MEM_STORE) {
		lin = x87_mem_linear(cpu, in, (unsigned)mem_op, size, SOFT_ACC_WRITE);
	}

	struct x86_fpu_state *f = &cpu->s.fpu;
	struct x87_image img, img0;
	image_from_state(f, &img0);
	img = img0;
	uint64_t rflags = cpu->s.rflags;
	const uint8_t *stub = &x87_host_stubs[((esc - 0xd8) * 256 + host_modrm) * 4];
	host_run(&img, buf, &rflags, stub);

	bool store = dir == MEM_STORE;
	if (store && (img.fsw & ~f->fcw & (FSW_EXC & ~FSW_PE))) {
		/* An unmasked exception may have suppressed the store: run again
		 * over a different buffer; a store writes the same bytes both times. */
		_Alignas(16) uint8_t buf2[16];
		memset(buf2, 0xff, sizeof(buf2));
		struct x87_image img2 = img0;
		uint64_t rflags2 = cpu->s.rflags;
		host_run(&img2, buf2, &rflags2, stub);
		store = memcmp(buf, buf2, size) == 0;
	}
	if (store)
		soft_lin_write_bytes(cpu, lin, buf, size, user); /* may fault: nothing committed yet */

	state_from_image(f, &img, f->fsw);
	cpu->s.rflags = rflags;
	if (!is_control(in->mnemonic)) {
		unsigned fop_modrm =
			mem_op >= 0 ? ((unsigned)field << 3) | approx_mod_rm(cpu, in, &in->op[mem_op]) : host_modrm;
		record_pointers(cpu, in, mem_op, fop_modrm);
	}
}

/* FWAIT: #NM only when both MP and TS are set (Table 2-2), then pending exceptions. */
static void op_fwait(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if ((cpu->s.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		soft_raise(cpu, X86_EXC_NM, 0, false);
	x87_check_pending(cpu);
}

void soft_register_x87(soft_handler_fn **table)
{
	static const uint16_t computational[] = {
		ZYDIS_MNEMONIC_FADD, ZYDIS_MNEMONIC_FADDP, ZYDIS_MNEMONIC_FIADD,
		ZYDIS_MNEMONIC_FSUB, ZYDIS_MNEMONIC_FSUBP, ZYDIS_MNEMONIC_FISUB,
		ZYDIS_MNEMONIC_FSUBR, ZYDIS_MNEMONIC_FSUBRP, ZYDIS_MNEMONIC_FISUBR,
		ZYDIS_MNEMONIC_FMUL, ZYDIS_MNEMONIC_FMULP, ZYDIS_MNEMONIC_FIMUL,
		ZYDIS_MNEMONIC_FDIV, ZYDIS_MNEMONIC_FDIVP, ZYDIS_MNEMONIC_FIDIV,
		ZYDIS_MNEMONIC_FDIVR, ZYDIS_MNEMONIC_FDIVRP, ZYDIS_MNEMONIC_FIDIVR,
		ZYDIS_MNEMONIC_FCOM, ZYDIS_MNEMONIC_FCOMP, ZYDIS_MNEMONIC_FCOMPP,
		ZYDIS_MNEMONIC_FUCOM, ZYDIS_MNEMONIC_FUCOMP, ZYDIS_MNEMONIC_FUCOMPP,
		ZYDIS_MNEMONIC_FICOM, ZYDIS_MNEMONIC_FICOMP,
		ZYDIS_MNEMONIC_FCOMI, ZYDIS_MNEMONIC_FCOMIP, ZYDIS_MNEMONIC_FUCOMI, ZYDIS_MNEMONIC_FUCOMIP,
		ZYDIS_MNEMONIC_FTST, ZYDIS_MNEMONIC_FXAM,
		ZYDIS_MNEMONIC_FLD, ZYDIS_MNEMONIC_FILD, ZYDIS_MNEMONIC_FBLD,
		ZYDIS_MNEMONIC_FST, ZYDIS_MNEMONIC_FSTP, ZYDIS_MNEMONIC_FSTPNCE,
		ZYDIS_MNEMONIC_FIST, ZYDIS_MNEMONIC_FISTP, ZYDIS_MNEMONIC_FISTTP, ZYDIS_MNEMONIC_FBSTP,
		ZYDIS_MNEMONIC_FLD1, ZYDIS_MNEMONIC_FLDZ, ZYDIS_MNEMONIC_FLDPI, ZYDIS_MNEMONIC_FLDL2E,
		ZYDIS_MNEMONIC_FLDL2T, ZYDIS_MNEMONIC_FLDLG2, ZYDIS_MNEMONIC_FLDLN2,
		ZYDIS_MNEMONIC_FCHS, ZYDIS_MNEMONIC_FABS, ZYDIS_MNEMONIC_FSQRT, ZYDIS_MNEMONIC_FRNDINT,
		ZYDIS_MNEMONIC_FSCALE, ZYDIS_MNEMONIC_FXTRACT, ZYDIS_MNEMONIC_FPREM, ZYDIS_MNEMONIC_FPREM1,
		ZYDIS_MNEMONIC_FSIN, ZYDIS_MNEMONIC_FCOS, ZYDIS_MNEMONIC_FSINCOS, ZYDIS_MNEMONIC_FPTAN,
		ZYDIS_MNEMONIC_FPATAN, ZYDIS_MNEMONIC_F2XM1, ZYDIS_MNEMONIC_FYL2X, ZYDIS_MNEMONIC_FYL2XP1,
		ZYDIS_MNEMONIC_FXCH, ZYDIS_MNEMONIC_FFREE, ZYDIS_MNEMONIC_FFREEP,
		ZYDIS_MNEMONIC_FINCSTP, ZYDIS_MNEMONIC_FDECSTP, ZYDIS_MNEMONIC_FNOP,
		ZYDIS_MNEMONIC_FENI8087_NOP, ZYDIS_MNEMONIC_FDISI8087_NOP, ZYDIS_MNEMONIC_FSETPM287_NOP,
		ZYDIS_MNEMONIC_FCMOVB, ZYDIS_MNEMONIC_FCMOVE, ZYDIS_MNEMONIC_FCMOVBE, ZYDIS_MNEMONIC_FCMOVU,
		ZYDIS_MNEMONIC_FCMOVNB, ZYDIS_MNEMONIC_FCMOVNE, ZYDIS_MNEMONIC_FCMOVNBE, ZYDIS_MNEMONIC_FCMOVNU,
	};
	for (size_t i = 0; i < sizeof(computational) / sizeof(computational[0]); i++)
		table[computational[i]] = x87_compute;
	table[ZYDIS_MNEMONIC_FWAIT] = op_fwait;
	x87_register_env(table);
	fpu_register_state(table);
}
