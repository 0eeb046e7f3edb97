/* SPDX-License-Identifier: MIT */
/*
 * Model-specific registers and the instructions built on them: RDMSR/WRMSR,
 * RDTSC/RDTSCP, RDPMC, SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS and the FS/GS base
 * instructions RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (SDM Vol. 2, Vol. 4).
 * SYSCALL and SYSRET exist only in 64-bit mode, as on Intel (the model's
 * vendor); elsewhere they raise #UD.
 * The local APIC's MSRs (IA32_APIC_BASE, x2APIC, TSC deadline) belong to the
 * machine and go through engine_host; any other MSR not listed here raises
 * #GP(0), as on a CPU that lacks it.
 */
#include <Zydis/Zydis.h>

#include "core/log.h"
#include "engine/soft/soft_engine.h"

#define MSR_IA32_BIOS_SIGN_ID 0x8b
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
/* Machine check: the model has no error-reporting banks and no MCG_CTL
 * (IA32_MCG_CAP = 0), and nothing to report (IA32_MCG_STATUS = 0). */
#define MSR_IA32_MCG_CAP 0x179
#define MSR_IA32_MCG_STATUS 0x17a
/* An interpreter executes nothing speculatively: none of the transient-execution
 * issues these bits rule out apply (Linux then skips the matching mitigations,
 * e.g. page-table isolation). RDCL_NO, SSB_NO, MDS_NO, PSCHANGE_MC_NO, TAA_NO,
 * SBDR_SSDP_NO, FBSDP_NO, PSDP_NO, BHI_NO, GDS_NO, RFDS_NO, ITS_NO. */
#define SOFT_ARCH_CAPABILITIES                                                                          \
	((1ULL << 0) | (1ULL << 4) | (1ULL << 5) | (1ULL << 6) | (1ULL << 8) | (1ULL << 13) | (1ULL << 14) | \
	 (1ULL << 15) | (1ULL << 20) | (1ULL << 26) | (1ULL << 27) | (1ULL << 62))
#define EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

static bool read_msr(struct soft_cpu *cpu, uint32_t index, uint64_t *v)
{
	const struct x86_cpu_state *s = &cpu->s;
	const struct x86_msrs *m = &s->msr;
	switch (index) {
	case MSR_EFER: *v = s->efer; return true;
	case MSR_STAR: *v = m->star; return true;
	case MSR_LSTAR: *v = m->lstar; return true;
	case MSR_CSTAR: *v = m->cstar; return true;
	case MSR_SFMASK: *v = m->sfmask; return true;
	case MSR_FS_BASE: *v = s->seg[X86_FS].base; return true;
	case MSR_GS_BASE: *v = s->seg[X86_GS].base; return true;
	case MSR_KERNEL_GS_BASE: *v = m->kernel_gs_base; return true;
	case MSR_IA32_SYSENTER_CS: *v = m->sysenter_cs; return true;
	case MSR_IA32_SYSENTER_ESP: *v = m->sysenter_esp; return true;
	case MSR_IA32_SYSENTER_EIP: *v = m->sysenter_eip; return true;
	case MSR_IA32_TSC: *v = soft_tsc_read(cpu); return true;
	case MSR_TSC_AUX: *v = m->tsc_aux; return true;
	case MSR_IA32_PAT: *v = m->pat; return true;
	case MSR_IA32_MISC_ENABLE: *v = m->misc_enable; return true;
	case MSR_IA32_BIOS_SIGN_ID: *v = 0; return true; /* microcode revision 0: none loaded */
	case MSR_IA32_ARCH_CAPABILITIES: *v = SOFT_ARCH_CAPABILITIES; return true;
	case MSR_IA32_MCG_CAP: *v = 0; return true;
	case MSR_IA32_MCG_STATUS: *v = 0; return true;
	default: return false;
	}
}

static bool pat_valid(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = (v >> (i * 8)) & 0xff;
		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

static bool write_msr(struct soft_cpu *cpu, uint32_t index, uint64_t v)
{
	struct x86_cpu_state *s = &cpu->s;
	struct x86_msrs *m = &s->msr;
	switch (index) {
	case MSR_EFER:
		if (v & ~(EFER_WRITABLE | EFER_LMA))
			return false;
		/* LME cannot change while paging is on. */
		if ((s->cr0 & CR0_PG) && ((v ^ s->efer) & EFER_LME))
			return false;
		s->efer = (v & EFER_WRITABLE) | (s->efer & EFER_LMA);
		soft_tlb_flush_all(cpu, true);
		soft_cpu_mode_changed(cpu);
		return true;
	case MSR_STAR: m->star = v; return true;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!soft_is_canonical(v))
			return false;
		if (index == MSR_LSTAR) m->lstar = v;
		else if (index == MSR_CSTAR) m->cstar = v;
		else if (index == MSR_FS_BASE) s->seg[X86_FS].base = v;
		else if (index == MSR_GS_BASE) s->seg[X86_GS].base = v;
		else if (index == MSR_KERNEL_GS_BASE) m->kernel_gs_base = v;
		else if (index == MSR_IA32_SYSENTER_ESP) m->sysenter_esp = v;
		else m->sysenter_eip = v;
		return true;
	case MSR_SFMASK: m->sfmask = v & 0xffffffffULL; return true;
	case MSR_IA32_SYSENTER_CS: m->sysenter_cs = v & 0xffff; return true;
	case MSR_IA32_TSC: soft_tsc_write(cpu, v); return true;
	case MSR_TSC_AUX:
		if (v >> 32)
			return false;
		m->tsc_aux = v;
		return true;
	case MSR_IA32_PAT:
		if (!pat_valid(v))
			return false;
		m->pat = v;
		return true;
	case MSR_IA32_MISC_ENABLE: m->misc_enable = v; return true;
	case MSR_IA32_BIOS_SIGN_ID: return true; /* written before CPUID(1) to read the revision */
	case MSR_IA32_MCG_STATUS: return v == 0; /* handlers clear it */
	default: return false;
	}
}

/* The machine's MSRs, for this vCPU (a host callback: see soft_host_pio). */
static bool host_msr_read(struct soft_cpu *cpu, uint32_t index, uint64_t *value)
{
	const struct engine_host *h = cpu->host;
	if (!h->msr_read)
		return false;
	soft_exec_end(cpu);
	int r = h->msr_read(h->opaque, cpu->index, index, value);
	soft_exec_start(cpu);
	return r == 0;
}

static bool host_msr_write(struct soft_cpu *cpu, uint32_t index, uint64_t value)
{
	const struct engine_host *h = cpu->host;
	if (!h->msr_write)
		return false;
	soft_exec_end(cpu);
	int r = h->msr_write(h->opaque, cpu->index, index, value);
	soft_exec_start(cpu);
	return r == 0;
}

static void op_rdmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if (cpu->cpl != 0)
		soft_raise_gp(cpu, 0);
	uint32_t index = (uint32_t)cpu->s.gpr[X86_RCX];
	uint64_t v;
	cpu->check_unrepeatable = true; /* the machine's MSRs (local APIC) may have effects */
	if (!read_msr(cpu, index, &v) && !host_msr_read(cpu, index, &v)) {
		/* Kernels probe MSRs and expect #GP. */
		log_guest("soft: RDMSR %#x: no such MSR, #GP", index);
		soft_raise_gp(cpu, 0);
	}
	soft_reg_write(cpu, X86_RAX, 4, v & 0xffffffffULL);
	soft_reg_write(cpu, X86_RDX, 4, v >> 32);
}

static void op_wrmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if (cpu->cpl != 0)
		soft_raise_gp(cpu, 0);
	uint32_t index = (uint32_t)cpu->s.gpr[X86_RCX];
	uint64_t v = (cpu->s.gpr[X86_RDX] << 32) | (cpu->s.gpr[X86_RAX] & 0xffffffffULL);
	cpu->check_unrepeatable = true;
	if (!write_msr(cpu, index, v) && !host_msr_write(cpu, index, v)) {
		log_guest("soft: WRMSR %#x <- %#llx refused, #GP", index, (unsigned long long)v);
		soft_raise_gp(cpu, 0);
	}
	cpu->end_block = true;
}

static void op_rdtsc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if ((cpu->s.cr4 & CR4_TSD) && cpu->cpl != 0)
		soft_raise_gp(cpu, 0);
	uint64_t t = soft_tsc_read(cpu);
	soft_reg_write(cpu, X86_RAX, 4, t & 0xffffffffULL);
	soft_reg_write(cpu, X86_RDX, 4, t >> 32);
	if (in->mnemonic == ZYDIS_MNEMONIC_RDTSCP)
		soft_reg_write(cpu, X86_RCX, 4, cpu->s.msr.tsc_aux);
}

/* Flat segments the fast system calls load without reading descriptors. */
static struct x86_segment flat(uint16_t sel, bool code, bool l, unsigned dpl)
{
	uint32_t attr = SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_G | ((uint32_t)dpl << SEG_ATTR_DPL_SHIFT) |
			SEG_TYPE_ACCESSED | (code ? SEG_TYPE_CODE | SEG_TYPE_CODE_R : SEG_TYPE_DATA_RW);
	attr |= (code && l) ? SEG_ATTR_L : SEG_ATTR_DB;
	return (struct x86_segment){ .selector = sel, .base = 0, .limit = 0xffffffff, .attr = attr };
}

static void op_syscall(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	struct x86_cpu_state *s = &cpu->s;
	if (!(s->efer & EFER_SCE) || !soft_in_64bit_mode(cpu))
		soft_raise_ud(cpu);
	uint16_t sel = (uint16_t)((s->msr.star >> 32) & 0xfffc);
	s->gpr[X86_RCX] = s->rip;
	s->gpr[X86_R11] = s->rflags & ~RFLAGS_RF;
	s->rip = s->msr.lstar;
	s->rflags = (s->rflags & ~(s->msr.sfmask | RFLAGS_RF)) | RFLAGS_FIXED;
	/* A TF that FMASK clears takes no single-step trap in the kernel. */
	if (!(s->rflags & RFLAGS_TF))
		cpu->db_tf = false;
	s->seg[X86_CS] = flat(sel, true, true, 0);
	s->seg[X86_SS] = flat((uint16_t)(sel + 8), false, false, 0);
	soft_cpu_mode_changed(cpu);
}

static void op_sysret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct x86_cpu_state *s = &cpu->s;
	if (!(s->efer & EFER_SCE) || !soft_in_64bit_mode(cpu))
		soft_raise_ud(cpu);
	if (cpu->cpl != 0)
		soft_raise_gp(cpu, 0);
	uint16_t base = (uint16_t)(s->msr.star >> 48);
	if (in->opsize == 8) {
		if (!soft_is_canonical(s->gpr[X86_RCX]))
			soft_raise_gp(cpu, 0);
		s->seg[X86_CS] = flat((uint16_t)((base + 16) | 3), true, true, 3);
		s->rip = s->gpr[X86_RCX];
	} else {
		s->seg[X86_CS] = flat((uint16_t)(base | 3), true, false, 3);
		s->rip = s->gpr[X86_RCX] & 0xffffffffULL;
	}
	s->rflags = (s->gpr[X86_R11] & 0x3c7fd7ULL) | RFLAGS_FIXED;
	/* SS keeps its selector from STAR but the cached attributes are a flat DPL-3 stack. */
	s->seg[X86_SS] = flat((uint16_t)((base + 8) | 3), false, false, 3);
	soft_cpu_mode_changed(cpu);
}

static void op_sysenter(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	struct x86_cpu_state *s = &cpu->s;
	uint16_t cs = (uint16_t)(s->msr.sysenter_cs & 0xfffc);
	if (!(s->cr0 & CR0_PE) || cs == 0)
		soft_raise_gp(cpu, 0);
	s->rflags &= ~(RFLAGS_VM | RFLAGS_IF | RFLAGS_RF);
	s->seg[X86_CS] = flat(cs, true, cpu->long_mode, 0);
	s->seg[X86_SS] = flat((uint16_t)(cs + 8), false, false, 0);
	s->rip = cpu->long_mode ? s->msr.sysenter_eip : (s->msr.sysenter_eip & 0xffffffffULL);
	s->gpr[X86_RSP] = cpu->long_mode ? s->msr.sysenter_esp : (s->msr.sysenter_esp & 0xffffffffULL);
	soft_cpu_mode_changed(cpu);
}

static void op_sysexit(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct x86_cpu_state *s = &cpu->s;
	uint16_t cs = (uint16_t)(s->msr.sysenter_cs & 0xfffc);
	if (!(s->cr0 & CR0_PE) || cs == 0 || cpu->cpl != 0)
		soft_raise_gp(cpu, 0);
	bool to64 = in->opsize == 8;
	uint16_t new_cs = (uint16_t)((cs + (to64 ? 32 : 16)) | 3);
	s->seg[X86_CS] = flat(new_cs, true, to64, 3);
	s->seg[X86_SS] = flat((uint16_t)((cs + (to64 ? 40 : 24)) | 3), false, false, 3);
	s->rip = to64 ? s->gpr[X86_RDX] : (s->gpr[X86_RDX] & 0xffffffffULL);
	s->gpr[X86_RSP] = to64 ? s->gpr[X86_RCX] : (s->gpr[X86_RCX] & 0xffffffffULL);
	soft_cpu_mode_changed(cpu);
}

static void op_swapgs(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	if (!soft_in_64bit_mode(cpu))
		soft_raise_ud(cpu);
	if (cpu->cpl != 0)
		soft_raise_gp(cpu, 0);
	uint64_t t = cpu->s.seg[X86_GS].base;
	cpu->s.seg[X86_GS].base = cpu->s.msr.kernel_gs_base;
	cpu->s.msr.kernel_gs_base = t;
}

/* RDPMC: the model has no performance-monitoring counters (no CPUID leaf
 * 0Ah), so every counter index is out of range: #GP(0). */
static void op_rdpmc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_raise_gp(cpu, 0);
}

/* RDFSBASE RDGSBASE WRFSBASE WRGSBASE: 64-bit mode with CR4.FSGSBASE, any
 * CPL; a 32-bit operand reads the low half or writes it zero-extended. */
static void fs_gs_base(struct soft_cpu *cpu, const struct soft_insn *in, int sreg, bool write)
{
	if (!soft_in_64bit_mode(cpu) || !(cpu->s.cr4 & CR4_FSGSBASE) || (in->flags & SOFT_INSN_LOCK))
		soft_raise_ud(cpu);
	unsigned size = in->op[0].size;
	if (!write) {
		soft_reg_write(cpu, in->op[0].reg, size, cpu->s.seg[sreg].base);
		return;
	}
	uint64_t base = soft_reg_read(cpu, in->op[0].reg, size);
	if (!soft_is_canonical(base))
		soft_raise_gp(cpu, 0);
	cpu->s.seg[sreg].base = base;
}

static void op_rdfsbase(struct soft_cpu *cpu, const struct soft_insn *in) { fs_gs_base(cpu, in, X86_FS, false); }
static void op_rdgsbase(struct soft_cpu *cpu, const struct soft_insn *in) { fs_gs_base(cpu, in, X86_GS, false); }
static void op_wrfsbase(struct soft_cpu *cpu, const struct soft_insn *in) { fs_gs_base(cpu, in, X86_FS, true); }
static void op_wrgsbase(struct soft_cpu *cpu, const struct soft_insn *in) { fs_gs_base(cpu, in, X86_GS, true); }

void soft_register_msr(soft_handler_fn **table)
{
	table[ZYDIS_MNEMONIC_RDPMC] = op_rdpmc;
	table[ZYDIS_MNEMONIC_RDFSBASE] = op_rdfsbase;
	table[ZYDIS_MNEMONIC_RDGSBASE] = op_rdgsbase;
	table[ZYDIS_MNEMONIC_WRFSBASE] = op_wrfsbase;
	table[ZYDIS_MNEMONIC_WRGSBASE] = op_wrgsbase;
	table[ZYDIS_MNEMONIC_RDMSR] = op_rdmsr;
	table[ZYDIS_MNEMONIC_WRMSR] = op_wrmsr;
	table[ZYDIS_MNEMONIC_RDTSC] = op_rdtsc;
	table[ZYDIS_MNEMONIC_RDTSCP] = op_rdtsc;
	table[ZYDIS_MNEMONIC_SYSCALL] = op_syscall;
	table[ZYDIS_MNEMONIC_SYSRET] = op_sysret;
	table[ZYDIS_MNEMONIC_SYSENTER] = op_sysenter;
	table[ZYDIS_MNEMONIC_SYSEXIT] = op_sysexit;
	table[ZYDIS_MNEMONIC_SWAPGS] = op_swapgs;
}
