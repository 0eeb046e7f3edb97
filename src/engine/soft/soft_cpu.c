/* SPDX-License-Identifier: MIT */
/*
 * Mode bookkeeping, condition codes and port I/O with its permission checks
 * (SDM Vol. 1 §19.5: IOPL and the I/O permission bitmap).
 */
#include "engine/soft/soft_engine.h"
#include "engine/soft/soft_insn.h"


void soft_cpu_mode_changed(struct soft_cpu *cpu)
{
	struct x86_cpu_state *s = &cpu->s;
	cpu->long_mode = (s->efer & EFER_LMA) != 0;
	if (!(s->cr0 & CR0_PE))
		cpu->cpl = 0;
	else if (s->rflags & RFLAGS_VM)
		cpu->cpl = 3;
	else
		cpu->cpl = (s->seg[X86_SS].attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
	if (cpu->long_mode && (s->seg[X86_CS].attr & SEG_ATTR_L))
		cpu->code_size = 8;
	else if ((s->cr0 & CR0_PE) && !(s->rflags & RFLAGS_VM) && (s->seg[X86_CS].attr & SEG_ATTR_DB))
		cpu->code_size = 4;
	else
		cpu->code_size = 2;
	cpu->smap_ac = (s->cr4 & CR4_SMAP) ? RFLAGS_AC : 0;
	soft_seg_flat_update(cpu);
	cpu->end_block = true;
}

bool soft_cond(const struct soft_cpu *cpu, unsigned cc)
{
	return soft_flags_cond(cpu->s.rflags, cc);
}

/* I/O is allowed when CPL <= IOPL (protected mode, not V86); otherwise every
 * bit for the accessed ports in the TSS's I/O permission bitmap must be 0. */
static void io_check(struct soft_cpu *cpu, uint16_t port, unsigned size)
{
	const struct x86_cpu_state *s = &cpu->s;
	if (!(s->cr0 & CR0_PE))
		return;
	unsigned iopl = (s->rflags & RFLAGS_IOPL) >> 12;
	if (!(s->rflags & RFLAGS_VM) && cpu->cpl <= iopl)
		return;
	const struct x86_segment *tr = &s->tr;
	unsigned type = tr->attr & SEG_ATTR_TYPE;
	/* Only a 32/64-bit TSS (types 9/11) has a bitmap. */
	if ((tr->attr & SEG_ATTR_UNUSABLE) || (type != 9 && type != 11) || tr->limit < 0x67)
		soft_raise_gp(cpu, 0);
	uint64_t base_off = soft_lin_read(cpu, tr->base + 0x66, 2, false);
	uint64_t byte = base_off + port / 8;
	if (byte + 1 > tr->limit)
		soft_raise_gp(cpu, 0);
	uint64_t bits = soft_lin_read(cpu, tr->base + byte, 2, false);
	uint64_t mask = ((1u << size) - 1) << (port & 7);
	if (bits & mask)
		soft_raise_gp(cpu, 0);
}

uint64_t soft_io_read(struct soft_cpu *cpu, uint16_t port, unsigned size)
{
	io_check(cpu, port, size);
	uint64_t v = 0;
	cpu->check_unrepeatable = true;
	soft_host_pio(cpu, port, &v, size, false);
	return v & soft_size_mask(size);
}

void soft_io_write(struct soft_cpu *cpu, uint16_t port, unsigned size, uint64_t value)
{
	io_check(cpu, port, size);
	cpu->check_unrepeatable = true;
	soft_host_pio(cpu, port, &value, size, true);
}
