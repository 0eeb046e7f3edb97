/* SPDX-License-Identifier: MIT */
/*
 * The local APIC's register file (Intel SDM Vol. 3A ch. 11): the xAPIC MMIO
 * page (Table 11-1, 32-bit accesses to 16-byte-aligned registers), the x2APIC
 * MSRs (§11.12.1, Table 11-6, with their #GP rules), IA32_APIC_BASE and its
 * mode transitions (§11.4.4, §11.12.5), write masks of the LVT (Figure 11-8),
 * SVR (§11.9), ESR (§11.5.3), ICR (§11.6.1) and DFR/LDR (§11.6.2.2).
 * Behaviour behind the registers is in lapic.c and lapic_timer.c.
 *
 * Not modelled: APR is computed but nothing arbitrates on it; RRD reads 0.
 * An aligned 32-bit access to an unimplemented xAPIC offset sets ESR
 * "illegal register address", as the P6 and Pentium 4 do.
 *
 * lapic_regs_post_load holds the same write masks against a loaded snapshot.
 */
#include <errno.h>
#include <stdio.h>

#include "core/log.h"
#include "hw/intc/lapic_internal.h"

/* Writable bits of each LVT entry (SDM Figure 11-8); delivery status and Remote IRR are read-only. */
#define LVT_BASE_MASK (APIC_LVT_VECTOR | APIC_LVT_MASKED)
#define LVT_DM_MASK (LVT_BASE_MASK | APIC_LVT_DM_MASK)
#define LVT_LINT_MASK (LVT_DM_MASK | APIC_LVT_POLARITY_LOW | APIC_LVT_LEVEL)

#define ICR_LOW_WRITABLE 0x000ccfffu /* vector, mode, dest mode, level, trigger, shorthand */
/* x2APIC ICR bits that must be zero (SDM Figure 11-28; KVM's X2APIC_ICR_RESERVED_BITS). */
#define X2APIC_ICR_RESERVED 0x00000000fff32000ULL
#define APIC_SVR_WRITABLE (APIC_SVR_VECTOR | APIC_SVR_ENABLE | APIC_SVR_FOCUS_DISABLE)
#define APIC_TDCR_WRITABLE 0x0bu

static const uint16_t lapic_lvt_reg[LAPIC_LVT_COUNT] = {
	[LAPIC_LVT_CMCI] = APIC_LVT_CMCI,	[LAPIC_LVT_TIMER] = APIC_LVT_TIMER,
	[LAPIC_LVT_THERMAL] = APIC_LVT_THERMAL, [LAPIC_LVT_PERF] = APIC_LVT_PERF,
	[LAPIC_LVT_LINT0] = APIC_LVT_LINT0,	[LAPIC_LVT_LINT1] = APIC_LVT_LINT1,
	[LAPIC_LVT_ERROR] = APIC_LVT_ERROR,
};

static uint32_t lapic_lvt_writable(const struct lapic *l, enum lapic_lvt_index idx)
{
	switch (idx) {
	case LAPIC_LVT_TIMER:
		return LVT_BASE_MASK | APIC_LVT_TIMER_PERIODIC |
		       (l->tsc_deadline_supported ? APIC_LVT_TIMER_TSC_DEADLINE : 0);
	case LAPIC_LVT_LINT0:
	case LAPIC_LVT_LINT1:
		return LVT_LINT_MASK;
	case LAPIC_LVT_ERROR:
		return LVT_BASE_MASK;
	default:
		return LVT_DM_MASK;
	}
}

static uint32_t lapic_apr(const struct lapic *l)
{
	/* The arbitration priority of SDM Figure 11-15 (xAPIC only). */
	unsigned tprc = l->s.tpr & 0xf0, isrv = lapic_prio_class(lapic_vec_highest(l->s.isr));
	unsigned irrv = lapic_prio_class(lapic_vec_highest(l->s.irr));
	if (tprc >= irrv && tprc > isrv)
		return l->s.tpr;
	unsigned m = tprc > isrv ? tprc : isrv;
	return m > irrv ? m : irrv;
}

/* ---- registers ---- */

static int lapic_lvt_index(unsigned reg)
{
	for (int i = 0; i < LAPIC_LVT_COUNT; i++)
		if (lapic_lvt_reg[i] == reg)
			return i;
	return -1;
}

/* The 32-bit value of register reg, or false when reg is not implemented. */
static bool lapic_reg_read(const struct lapic *l, unsigned reg, uint32_t *v)
{
	int lvt = lapic_lvt_index(reg);
	if (lvt >= 0) {
		*v = l->s.lvt[lvt];
		return true;
	}
	if (reg >= APIC_ISR && reg < APIC_ESR) {
		unsigned i = (reg - APIC_ISR) / 16;
		*v = i < 8 ? l->s.isr[i] : i < 16 ? l->s.tmr[i - 8] : l->s.irr[i - 16];
		return true;
	}
	switch (reg) {
	case APIC_ID:
		*v = lapic_x2apic_mode(l) ? l->s.id : l->s.id << 24;
		return true;
	case APIC_VERSION:
		*v = LAPIC_VERSION;
		return true;
	case APIC_TPR:
		*v = l->s.tpr;
		return true;
	case APIC_APR:
		*v = lapic_apr(l);
		return true;
	case APIC_PPR:
		*v = lapic_get_ppr(l);
		return true;
	case APIC_EOI:
	case APIC_RRD:
		*v = 0;
		return true;
	case APIC_LDR:
		*v = l->s.ldr;
		return true;
	case APIC_DFR:
		*v = l->s.dfr;
		return true;
	case APIC_SVR:
		*v = l->s.svr;
		return true;
	case APIC_ESR:
		*v = l->s.esr;
		return true;
	case APIC_ICR_LOW:
		*v = (uint32_t)l->s.icr;
		return true;
	case APIC_ICR_HIGH:
		*v = (uint32_t)(l->s.icr >> 32);
		return true;
	case APIC_TIMER_ICR:
		*v = l->s.timer_initial;
		return true;
	case APIC_TIMER_CCR:
		*v = lapic_timer_current_count(l);
		return true;
	case APIC_TIMER_DCR:
		*v = l->s.timer_dcr;
		return true;
	default:
		return false;
	}
}

static void lapic_write_lvt(struct lapic *l, enum lapic_lvt_index idx, uint32_t value)
{
	uint32_t old = l->s.lvt[idx];
	uint32_t v = (value & lapic_lvt_writable(l, idx)) | (old & APIC_LVT_REMOTE_IRR);
	/* SDM §11.4.7.2: while software-disabled the mask bits stay set. */
	if (!lapic_sw_enabled(l))
		v |= APIC_LVT_MASKED;
	if (!(v & APIC_LVT_LEVEL))
		v &= ~APIC_LVT_REMOTE_IRR;
	l->s.lvt[idx] = v;
	if (idx == LAPIC_LVT_TIMER) {
		lapic_timer_lvt_changed(l, old);
	} else if (idx == LAPIC_LVT_LINT0 || idx == LAPIC_LVT_LINT1) {
		/* An unmasked level input that is asserted delivers now; ExtINT may appear. */
		lapic_lint_service_level(l, idx - LAPIC_LVT_LINT0);
		lapic_notify(l);
	}
}

static void lapic_write_svr(struct lapic *l, uint32_t value)
{
	l->s.svr = value & APIC_SVR_WRITABLE;
	if (!lapic_sw_enabled(l))
		for (int i = 0; i < LAPIC_LVT_COUNT; i++)
			l->s.lvt[i] |= APIC_LVT_MASKED;
	lapic_notify(l);
}

/*
 * Writes register reg in either mode; the x2APIC-only checks are done by the
 * caller. Returns false when reg is not implemented or is read-only.
 */
static bool lapic_reg_write(struct lapic *l, unsigned reg, uint32_t v)
{
	int lvt = lapic_lvt_index(reg);
	if (lvt >= 0) {
		lapic_write_lvt(l, (enum lapic_lvt_index)lvt, v);
		return true;
	}
	switch (reg) {
	case APIC_ID:
		/* Writable in xAPIC mode on many models; KVM allows it too. */
		l->s.id = v >> 24;
		return true;
	case APIC_TPR:
		l->s.tpr = v & 0xff;
		lapic_notify(l);
		return true;
	case APIC_EOI:
		lapic_eoi(l);
		return true;
	case APIC_LDR:
		l->s.ldr = v & 0xff000000u;
		return true;
	case APIC_DFR:
		l->s.dfr = v | 0x0fffffffu;
		return true;
	case APIC_SVR:
		lapic_write_svr(l, v);
		return true;
	case APIC_ESR:
		/* SDM §11.5.3: the write latches the errors seen since the last write. */
		l->s.esr = l->s.esr_pending;
		l->s.esr_pending = 0;
		return true;
	case APIC_ICR_LOW:
		l->s.icr = (l->s.icr & ~0xffffffffULL) | (v & ICR_LOW_WRITABLE);
		lapic_send_icr(l);
		return true;
	case APIC_ICR_HIGH:
		l->s.icr = (l->s.icr & 0xffffffffULL) | ((uint64_t)(v & 0xff000000u) << 32);
		return true;
	case APIC_TIMER_ICR:
		lapic_timer_write_initial(l, v);
		return true;
	case APIC_TIMER_DCR:
		lapic_timer_write_dcr(l, v & APIC_TDCR_WRITABLE);
		return true;
	default:
		return false;
	}
}

/* ---- xAPIC MMIO ---- */

static bool lapic_xapic_mode(const struct lapic *l)
{
	return lapic_hw_enabled(l) && !lapic_x2apic_mode(l);
}

bool lapic_mmio_claims(const struct lapic *l, uint64_t gpa)
{
	uint64_t base = l->s.apic_base & LAPIC_BASE_ADDR_MASK;
	return lapic_xapic_mode(l) && gpa >= base && gpa - base < LAPIC_MMIO_SIZE;
}

uint64_t lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size)
{
	uint32_t v = 0;
	if (!lapic_xapic_mode(l)) {
		log_guest("lapic %u: MMIO read at 0x%llx outside xAPIC mode", l->initial_id,
			  (unsigned long long)offset);
		return 0;
	}
	if (size != 4 || (offset & 0xf) || offset >= LAPIC_MMIO_SIZE) {
		log_guest("lapic %u: %u-byte read at offset 0x%llx ignored", l->initial_id, size,
			  (unsigned long long)offset);
		return 0;
	}
	if (offset == APIC_SELF_IPI || !lapic_reg_read(l, (unsigned)offset, &v)) {
		lapic_error(l, APIC_ESR_ILLEGAL_REG);
		return 0;
	}
	return v;
}

void lapic_mmio_write(struct lapic *l, uint64_t offset, uint64_t value, unsigned size)
{
	if (!lapic_xapic_mode(l)) {
		log_guest("lapic %u: MMIO write at 0x%llx outside xAPIC mode", l->initial_id,
			  (unsigned long long)offset);
		return;
	}
	if (size != 4 || (offset & 0xf) || offset >= LAPIC_MMIO_SIZE) {
		log_guest("lapic %u: %u-byte write at offset 0x%llx ignored", l->initial_id, size,
			  (unsigned long long)offset);
		return;
	}
	unsigned reg = (unsigned)offset;
	uint32_t dummy;
	if (reg == APIC_SELF_IPI || !lapic_reg_read(l, reg, &dummy)) {
		lapic_error(l, APIC_ESR_ILLEGAL_REG);
		return;
	}
	if (!lapic_reg_write(l, reg, (uint32_t)value))
		log_guest("lapic %u: write to read-only register 0x%x ignored", l->initial_id, reg);
}

static uint64_t lapic_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	return lapic_mmio_read(opaque, offset, size);
}

static void lapic_bus_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	lapic_mmio_write(opaque, offset, value, size);
}

const struct bus_ops lapic_bus_ops = {
	.read = lapic_bus_read,
	.write = lapic_bus_write,
	.min_size = 1,
	.max_size = 8,
};

/* ---- MSRs ---- */

uint64_t lapic_get_base(const struct lapic *l)
{
	return l->s.apic_base;
}

int lapic_set_base(struct lapic *l, uint64_t value)
{
	if (value & l->base_reserved)
		return -EINVAL;
	bool en = value & LAPIC_BASE_EN, extd = value & LAPIC_BASE_EXTD;
	bool old_en = lapic_hw_enabled(l), old_extd = lapic_x2apic_mode(l);
	/* SDM Figure 11-27: EXTD without EN is invalid, x2APIC cannot go back to
	 * xAPIC, and the disabled state reaches x2APIC only through xAPIC. */
	if (extd && !en)
		return -EINVAL;
	if (old_extd && en && !extd)
		return -EINVAL;
	if (!old_en && extd)
		return -EINVAL;
	/* The BSP flag is set by hardware at reset; writes do not change it. */
	l->s.apic_base = (value & ~LAPIC_BASE_BSP) | (l->bsp ? LAPIC_BASE_BSP : 0);
	if (old_en && !en) {
		/* Globally disabled: as if there were no APIC; it comes back in its reset state. */
		l->s.id = l->initial_id & 0xff;
		lapic_regs_reset(l);
		lapic_drop_events(l);
	} else if (extd && !old_extd) {
		/* SDM §11.12.5.1: entering x2APIC mode loads the x2APIC ID and derives LDR. */
		l->s.id = l->initial_id;
		l->s.ldr = lapic_x2apic_ldr(l->s.id);
	}
	lapic_notify(l);
	return 0;
}

static int lapic_x2apic_read(struct lapic *l, unsigned reg, uint64_t *value)
{
	uint32_t v;
	switch (reg) {
	case APIC_APR: /* not in the x2APIC register set */
	case APIC_EOI: /* write-only */
	case APIC_RRD:
	case APIC_DFR:
	case APIC_ICR_HIGH:
	case APIC_SELF_IPI:
		return -EINVAL;
	case APIC_ICR_LOW:
		*value = l->s.icr;
		return 0;
	default:
		if (!lapic_reg_read(l, reg, &v))
			return -EINVAL;
		*value = v;
		return 0;
	}
}

static int lapic_x2apic_write(struct lapic *l, unsigned reg, uint64_t value)
{
	if (reg == APIC_ICR_LOW) {
		if (value & X2APIC_ICR_RESERVED)
			return -EINVAL;
		l->s.icr = value & (0xffffffff00000000ULL | ICR_LOW_WRITABLE);
		lapic_send_icr(l);
		return 0;
	}
	/* Bits 63:32 are reserved in every other x2APIC register. */
	if (value >> 32)
		return -EINVAL;
	uint32_t v = (uint32_t)value;
	switch (reg) {
	case APIC_ID: /* read-only in x2APIC mode */
	case APIC_VERSION:
	case APIC_APR:
	case APIC_PPR:
	case APIC_RRD:
	case APIC_LDR:
	case APIC_DFR:
	case APIC_ICR_HIGH:
	case APIC_TIMER_CCR:
		return -EINVAL;
	case APIC_EOI:
	case APIC_ESR:
		/* SDM Table 11-6: only 0 may be written. */
		if (v)
			return -EINVAL;
		break;
	case APIC_SELF_IPI:
		if (v & ~0xffu)
			return -EINVAL;
		if (v < 16)
			lapic_error(l, APIC_ESR_SEND_ILLEGAL);
		else
			lapic_fixed(l, (uint8_t)v, false);
		return 0;
	default:
		break;
	}
	if (reg >= APIC_ISR && reg < APIC_ESR)
		return -EINVAL;
	return lapic_reg_write(l, reg, v) ? 0 : -EINVAL;
}

int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *value)
{
	*value = 0;
	if (msr == LAPIC_MSR_APIC_BASE) {
		*value = l->s.apic_base;
		return 0;
	}
	if (msr == LAPIC_MSR_TSC_DEADLINE) {
		if (!l->tsc_deadline_supported)
			return -EINVAL;
		*value = lapic_timer_get_deadline(l);
		return 0;
	}
	if (msr < LAPIC_MSR_X2APIC_FIRST || msr > LAPIC_MSR_X2APIC_LAST)
		return -ENOENT;
	if (!lapic_hw_enabled(l) || !lapic_x2apic_mode(l))
		return -EINVAL;
	return lapic_x2apic_read(l, (msr - LAPIC_MSR_X2APIC_FIRST) << 4, value);
}

int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t value)
{
	if (msr == LAPIC_MSR_APIC_BASE)
		return lapic_set_base(l, value);
	if (msr == LAPIC_MSR_TSC_DEADLINE) {
		if (!l->tsc_deadline_supported)
			return -EINVAL;
		lapic_timer_set_deadline(l, value);
		return 0;
	}
	if (msr < LAPIC_MSR_X2APIC_FIRST || msr > LAPIC_MSR_X2APIC_LAST)
		return -ENOENT;
	if (!lapic_hw_enabled(l) || !lapic_x2apic_mode(l))
		return -EINVAL;
	return lapic_x2apic_write(l, (msr - LAPIC_MSR_X2APIC_FIRST) << 4, value);
}

/* ---- snapshots ---- */

/* The first register of a loaded state that no sequence of guest accesses
 * could have produced, or NULL. */
static const char *lapic_regs_bad(const struct lapic *l)
{
	const struct lapic_state *s = &l->s;
	uint64_t base = s->apic_base;
	if ((base & l->base_reserved) || !(base & LAPIC_BASE_BSP) != !l->bsp ||
	    ((base & LAPIC_BASE_EXTD) && !(base & LAPIC_BASE_EN)))
		return "IA32_APIC_BASE";
	if (lapic_x2apic_mode(l) ? s->id != l->initial_id || s->ldr != lapic_x2apic_ldr(s->id)
				 : s->id > 0xff || (s->ldr & 0x00ffffffu))
		return "ID or LDR";
	if (s->tpr > 0xff)
		return "TPR";
	if ((s->dfr & 0x0fffffffu) != 0x0fffffffu)
		return "DFR";
	if (s->svr & ~APIC_SVR_WRITABLE)
		return "SVR";
	if ((s->esr | s->esr_pending) > 0xff)
		return "ESR";
	/* Vectors 0-15 are refused on acceptance, so they never reach IRR. */
	if ((s->isr[0] | s->irr[0] | s->tmr[0]) & 0xffff)
		return "IRR, ISR or TMR";
	for (int i = 0; i < LAPIC_LVT_COUNT; i++) {
		uint32_t ok = lapic_lvt_writable(l, (enum lapic_lvt_index)i);
		if (i == LAPIC_LVT_LINT0 || i == LAPIC_LVT_LINT1)
			ok |= APIC_LVT_REMOTE_IRR;
		if ((s->lvt[i] & ~ok) ||
		    ((s->lvt[i] & APIC_LVT_REMOTE_IRR) && !(s->lvt[i] & APIC_LVT_LEVEL)))
			return "LVT"; /* includes a timer mode this LAPIC does not offer */
	}
	if (((uint32_t)s->icr & ~ICR_LOW_WRITABLE) ||
	    (!lapic_x2apic_mode(l) && ((s->icr >> 32) & 0x00ffffffu)))
		return "ICR";
	if (s->timer_dcr & ~APIC_TDCR_WRITABLE)
		return "timer divide configuration";
	return NULL;
}

int lapic_regs_post_load(struct lapic *l, char *why, size_t why_len)
{
	const char *bad = lapic_regs_bad(l);
	if (bad) {
		snprintf(why, why_len, "%s: %s out of range", l->dev.name, bad);
		return -EINVAL;
	}
	return 0;
}
