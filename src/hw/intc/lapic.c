/* SPDX-License-Identifier: MIT */
/*
 * Local APIC registers, interrupt acceptance and IPIs, following Intel SDM
 * Vol. 3A ch. 11: IA32_APIC_BASE and its state diagram (§11.4.4, §11.12.5),
 * the register map (Table 11-1) and its x2APIC MSR form (Table 11-6), LVT
 * (§11.5.1), ESR (§11.5.3), IPIs through the ICR (§11.6), destinations
 * (§11.6.2), TPR/PPR/APR, IRR/ISR/TMR and EOI (§11.8), the spurious vector
 * and software disable (§11.4.7.2, §11.9). The register file (MMIO, MSRs,
 * IA32_APIC_BASE) is in lapic_regs.c, the timer in lapic_timer.c.
 *
 * Not modelled: SMI (logged and dropped), thermal/performance-counter/CMCI
 * sources (their LVTs are plain storage), EOI-broadcast suppression (not
 * advertised in the version register), remote read (RRD reads 0), the focus
 * processor check (lowest-priority arbitration is the router's), delivery
 * status (an IPI is delivered at once, so it always reads idle).
 *
 * Each LAPIC is a device object ("lapic<APIC ID>", hw/device.h) whose
 * snapshot state is struct lapic_state (lapic_internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/intc/lapic_internal.h"

/* ---- small helpers ---- */

static bool vec_test(const uint32_t reg[8], unsigned v)
{
	return reg[v / 32] & (1u << (v % 32));
}

static void vec_set(uint32_t reg[8], unsigned v)
{
	reg[v / 32] |= 1u << (v % 32);
}

static void vec_clear(uint32_t reg[8], unsigned v)
{
	reg[v / 32] &= ~(1u << (v % 32));
}

int lapic_vec_highest(const uint32_t reg[8])
{
	for (int i = 7; i >= 0; i--)
		if (reg[i])
			return i * 32 + 31 - __builtin_clz(reg[i]);
	return -1;
}

bool lapic_hw_enabled(const struct lapic *l)
{
	return l->s.apic_base & LAPIC_BASE_EN;
}

bool lapic_x2apic_mode(const struct lapic *l)
{
	return l->s.apic_base & LAPIC_BASE_EXTD;
}

bool lapic_sw_enabled(const struct lapic *l)
{
	return l->s.svr & APIC_SVR_ENABLE;
}

void lapic_notify(struct lapic *l)
{
	if (l->ops.intr_changed)
		l->ops.intr_changed(l->opaque);
}

/* x2APIC logical ID: cluster in 31:16, one bit of 16 in 15:0 (SDM §11.12.10.2). */
uint32_t lapic_x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

unsigned lapic_prio_class(int v)
{
	return v < 0 ? 0 : (unsigned)v & 0xf0;
}

uint8_t lapic_get_ppr(const struct lapic *l)
{
	/* SDM §11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4. */
	unsigned isrv = lapic_prio_class(lapic_vec_highest(l->s.isr));
	return (l->s.tpr & 0xf0) >= isrv ? (uint8_t)l->s.tpr : (uint8_t)isrv;
}

/* ---- errors and local delivery ---- */

static void lapic_set_irr(struct lapic *l, uint8_t vector, bool level)
{
	vec_set(l->s.irr, vector);
	/* SDM §11.8.4: TMR follows the trigger mode of the accepted interrupt. */
	if (level)
		vec_set(l->s.tmr, vector);
	else
		vec_clear(l->s.tmr, vector);
	lapic_notify(l);
}

/* Records errors and raises the error LVT (SDM §11.5.3). */
void lapic_error(struct lapic *l, uint32_t bits)
{
	l->s.esr_pending |= bits;
	uint32_t lvt = l->s.lvt[LAPIC_LVT_ERROR];
	if ((lvt & APIC_LVT_MASKED) || !lapic_sw_enabled(l))
		return;
	uint8_t vector = lvt & APIC_LVT_VECTOR;
	if (vector < 16) {
		/* Not through lapic_error again: an illegal error vector would recurse. */
		l->s.esr_pending |= APIC_ESR_RECV_ILLEGAL;
		return;
	}
	lapic_set_irr(l, vector, false);
}

/* A fixed interrupt this LAPIC generated or received. */
void lapic_fixed(struct lapic *l, uint8_t vector, bool level)
{
	if (!lapic_sw_enabled(l))
		return;
	if (vector < 16) {
		lapic_error(l, APIC_ESR_RECV_ILLEGAL);
		return;
	}
	lapic_set_irr(l, vector, level);
}

void lapic_local_deliver(struct lapic *l, enum lapic_lvt_index idx)
{
	uint32_t lvt = l->s.lvt[idx];
	if (!(lvt & APIC_LVT_MASKED))
		lapic_fixed(l, lvt & APIC_LVT_VECTOR, false);
}

/* ---- LINT pins ---- */

static bool lint_asserted(const struct lapic *l, unsigned pin)
{
	return l->s.lint_level[pin] ^ !!(l->s.lvt[LAPIC_LVT_LINT0 + pin] & APIC_LVT_POLARITY_LOW);
}

/* A level-triggered fixed LINT input delivers while asserted and Remote IRR is clear. */
void lapic_lint_service_level(struct lapic *l, unsigned pin)
{
	uint32_t *lvt = &l->s.lvt[LAPIC_LVT_LINT0 + pin];
	if ((*lvt & (APIC_LVT_MASKED | APIC_LVT_REMOTE_IRR)) || !(*lvt & APIC_LVT_LEVEL) ||
	    ((*lvt & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT) != APIC_DM_FIXED ||
	    !lint_asserted(l, pin) || !lapic_sw_enabled(l))
		return;
	uint8_t vector = *lvt & APIC_LVT_VECTOR;
	if (vector >= 16)
		*lvt |= APIC_LVT_REMOTE_IRR;
	lapic_fixed(l, vector, true);
}

void lapic_set_lint(struct lapic *l, unsigned pin, int level)
{
	if (pin > 1) {
		log_warn("lapic: LINT%u does not exist", pin);
		return;
	}
	bool was = lint_asserted(l, pin);
	bool old_wire = l->s.lint_level[pin];
	l->s.lint_level[pin] = level != 0;
	bool now = lint_asserted(l, pin);
	if (!lapic_hw_enabled(l)) {
		/* SDM §11.4.3: without an APIC the pins are the CPU's INTR and NMI. */
		if (pin == 0 && old_wire != l->s.lint_level[0])
			lapic_notify(l);
		if (pin == 1 && l->s.lint_level[1] && !old_wire) {
			l->s.nmi_pending = true;
			lapic_notify(l);
		}
		return;
	}
	uint32_t lvt = l->s.lvt[LAPIC_LVT_LINT0 + pin];
	unsigned dm = (lvt & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT;
	if (dm == APIC_DM_EXTINT) {
		/* Level-sensitive: lapic_extint_pending() reads the pin. */
		if (was != now)
			lapic_notify(l);
		return;
	}
	if (lvt & APIC_LVT_MASKED)
		return;
	if (dm == APIC_DM_FIXED && (lvt & APIC_LVT_LEVEL)) {
		lapic_lint_service_level(l, pin);
		return;
	}
	if (!now || was)
		return;
	switch (dm) {
	case APIC_DM_FIXED:
		lapic_fixed(l, lvt & APIC_LVT_VECTOR, false);
		break;
	case APIC_DM_NMI:
		l->s.nmi_pending = true;
		lapic_notify(l);
		break;
	case APIC_DM_INIT:
		l->s.init_pending = true;
		lapic_notify(l);
		break;
	default:
		log_guest("lapic: LINT%u delivery mode %u not modelled", pin, dm);
		break;
	}
}

void lapic_lint_line_set(void *opaque, unsigned line, int level)
{
	lapic_set_lint(opaque, line, level);
}

/* ---- acceptance and the CPU side ---- */

void lapic_accept(struct lapic *l, uint8_t vector, unsigned delivery_mode, bool level)
{
	if (!lapic_hw_enabled(l))
		return;
	switch (delivery_mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		lapic_fixed(l, vector, level);
		return;
	case APIC_DM_NMI:
		l->s.nmi_pending = true;
		break;
	case APIC_DM_INIT:
		l->s.init_pending = true;
		break;
	case APIC_DM_SIPI:
		l->s.sipi_pending = true;
		l->s.sipi_vector = vector;
		break;
	case APIC_DM_EXTINT:
		l->s.extint_msg = true;
		break;
	case APIC_DM_SMI:
		log_guest("lapic %u: SMI not modelled, dropped", l->initial_id);
		return;
	default:
		log_guest("lapic %u: reserved delivery mode %u dropped", l->initial_id, delivery_mode);
		return;
	}
	lapic_notify(l);
}

bool lapic_has_interrupt(const struct lapic *l)
{
	if (!lapic_hw_enabled(l) || !lapic_sw_enabled(l))
		return false;
	int v = lapic_vec_highest(l->s.irr);
	return v >= 0 && lapic_prio_class(v) > (lapic_get_ppr(l) & 0xf0u);
}

int lapic_ack(struct lapic *l)
{
	if (!lapic_has_interrupt(l))
		return l->s.svr & APIC_SVR_VECTOR;
	int v = lapic_vec_highest(l->s.irr);
	vec_clear(l->s.irr, (unsigned)v);
	vec_set(l->s.isr, (unsigned)v);
	return v;
}

bool lapic_nmi_pending(const struct lapic *l)
{
	return l->s.nmi_pending;
}

void lapic_ack_nmi(struct lapic *l)
{
	l->s.nmi_pending = false;
}

bool lapic_init_pending(const struct lapic *l)
{
	return l->s.init_pending;
}

void lapic_ack_init(struct lapic *l)
{
	l->s.init_pending = false;
}

bool lapic_sipi_pending(const struct lapic *l, uint8_t *vector)
{
	if (l->s.sipi_pending && vector)
		*vector = l->s.sipi_vector;
	return l->s.sipi_pending;
}

void lapic_ack_sipi(struct lapic *l)
{
	l->s.sipi_pending = false;
}

bool lapic_extint_pending(const struct lapic *l)
{
	if (!lapic_hw_enabled(l))
		return l->s.lint_level[0];
	uint32_t lvt0 = l->s.lvt[LAPIC_LVT_LINT0];
	if (!(lvt0 & APIC_LVT_MASKED) &&
	    (lvt0 & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT == APIC_DM_EXTINT && lint_asserted(l, 0))
		return true;
	return l->s.extint_msg;
}

void lapic_ack_extint(struct lapic *l)
{
	l->s.extint_msg = false;
}

void lapic_eoi(struct lapic *l)
{
	int v = lapic_vec_highest(l->s.isr);
	if (v < 0)
		return;
	vec_clear(l->s.isr, (unsigned)v);
	bool level = vec_test(l->s.tmr, (unsigned)v);
	if (level) {
		for (unsigned pin = 0; pin < 2; pin++) {
			uint32_t *lvt = &l->s.lvt[LAPIC_LVT_LINT0 + pin];
			if ((*lvt & APIC_LVT_REMOTE_IRR) && (*lvt & APIC_LVT_VECTOR) == (unsigned)v) {
				*lvt &= ~APIC_LVT_REMOTE_IRR;
				lapic_lint_service_level(l, pin);
			}
		}
	}
	lapic_notify(l);
	if (level && l->ops.eoi_broadcast)
		l->ops.eoi_broadcast(l->opaque, (uint8_t)v);
}

/* ---- destinations and IPIs ---- */

uint32_t lapic_get_id(const struct lapic *l)
{
	return l->s.id;
}

bool lapic_match_dest(const struct lapic *l, uint32_t dest, bool logical)
{
	if (!lapic_hw_enabled(l))
		return false;
	if (dest == APIC_BROADCAST)
		return true;
	if (lapic_x2apic_mode(l)) {
		if (!logical)
			return dest == l->s.id;
		return (dest >> 16) == (l->s.ldr >> 16) && (dest & l->s.ldr & 0xffff) != 0;
	}
	if (dest > 0xff)
		return false;
	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == l->s.id;
	uint8_t lid = (uint8_t)(l->s.ldr >> 24);
	switch (l->s.dfr >> 28) {
	case 0xf: /* flat */
		return (lid & dest) != 0;
	case 0x0: /* cluster: 4-bit cluster, 4 member bits */
		return (lid >> 4) == (dest >> 4) && (lid & dest & 0xf) != 0;
	default:
		return false;
	}
}

void lapic_send_icr(struct lapic *l)
{
	uint32_t lo = (uint32_t)l->s.icr;
	uint8_t vector = lo & APIC_ICR_VECTOR;
	unsigned dm = (lo >> APIC_ICR_DM_SHIFT) & 7;
	unsigned sh = (lo >> APIC_ICR_SHORTHAND_SHIFT) & 3;
	bool level = lo & APIC_ICR_TRIGGER_LEVEL;
	uint32_t dest = lapic_x2apic_mode(l) ? (uint32_t)(l->s.icr >> 32) : (uint32_t)(l->s.icr >> 56);

	switch (dm) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (vector < 16) {
			lapic_error(l, APIC_ESR_SEND_ILLEGAL);
			return;
		}
		break;
	case APIC_DM_INIT:
		/* INIT level de-assert only synchronised arbitration IDs on P6;
		 * Pentium 4 and later do nothing (SDM §11.6.1). Linux still sends it. */
		if (level && !(lo & APIC_ICR_LEVEL_ASSERT))
			return;
		level = false;
		break;
	case APIC_DM_SMI:
	case APIC_DM_NMI:
	case APIC_DM_SIPI:
		level = false;
		break;
	default:
		log_guest("lapic %u: ICR delivery mode %u is reserved", l->initial_id, dm);
		return;
	}
	if (sh == APIC_SH_SELF) {
		/* SDM Table 11-3 lists "self" with fixed delivery only; a self-NMI
		 * is delivered too, as KVM and QEMU do and test suites expect. */
		if (dm == APIC_DM_FIXED)
			lapic_fixed(l, vector, level);
		else if (dm == APIC_DM_NMI)
			lapic_accept(l, vector, dm, level);
		else
			log_guest("lapic %u: self IPI with delivery mode %u ignored", l->initial_id, dm);
		return;
	}
	if (l->ops.send_ipi)
		l->ops.send_ipi(l->opaque, dest, !!(lo & APIC_ICR_DEST_LOGICAL), dm, vector, sh, level);
}

/* ---- life cycle ---- */

void lapic_regs_reset(struct lapic *l)
{
	l->s.tpr = 0;
	l->s.ldr = lapic_x2apic_mode(l) ? lapic_x2apic_ldr(l->s.id) : 0;
	l->s.dfr = APIC_DFR_FLAT;
	l->s.svr = 0xff;
	memset(l->s.isr, 0, sizeof(l->s.isr));
	memset(l->s.tmr, 0, sizeof(l->s.tmr));
	memset(l->s.irr, 0, sizeof(l->s.irr));
	l->s.esr = l->s.esr_pending = 0;
	for (int i = 0; i < LAPIC_LVT_COUNT; i++)
		l->s.lvt[i] = APIC_LVT_MASKED;
	if (l->bsp)
		l->s.lvt[LAPIC_LVT_LINT0] = APIC_DM_EXTINT << APIC_LVT_DM_SHIFT;
	l->s.icr = 0;
	lapic_timer_reset(l);
}

void lapic_drop_events(struct lapic *l)
{
	l->s.nmi_pending = l->s.init_pending = l->s.sipi_pending = l->s.extint_msg = false;
	l->s.sipi_vector = 0;
}

static void lapic_power_up(struct lapic *l)
{
	/* The pins keep their wire levels, read as bytes: a refused snapshot
	 * load (device_load) resets over whatever it had copied in, a
	 * non-boolean byte included. */
	for (unsigned pin = 0; pin < 2; pin++) {
		uint8_t level;
		memcpy(&level, &l->s.lint_level[pin], 1);
		l->s.lint_level[pin] = level != 0;
	}
	l->s.apic_base = LAPIC_BASE_DEFAULT | LAPIC_BASE_EN | (l->bsp ? LAPIC_BASE_BSP : 0);
	l->s.id = l->initial_id & 0xff;
	lapic_regs_reset(l);
	lapic_drop_events(l);
}

void lapic_reset(struct lapic *l)
{
	lapic_power_up(l);
	lapic_notify(l);
}

void lapic_init_reset(struct lapic *l)
{
	lapic_regs_reset(l);
	lapic_notify(l);
}

/* ---- device object ---- */

static const struct device_field lapic_fields[] = {
	DEVICE_FIELD(struct lapic_state, apic_base),
	DEVICE_FIELD(struct lapic_state, id),
	DEVICE_FIELD(struct lapic_state, tpr),
	DEVICE_FIELD(struct lapic_state, ldr),
	DEVICE_FIELD(struct lapic_state, dfr),
	DEVICE_FIELD(struct lapic_state, svr),
	DEVICE_FIELD(struct lapic_state, isr),
	DEVICE_FIELD(struct lapic_state, tmr),
	DEVICE_FIELD(struct lapic_state, irr),
	DEVICE_FIELD(struct lapic_state, esr),
	DEVICE_FIELD(struct lapic_state, esr_pending),
	DEVICE_FIELD(struct lapic_state, lvt),
	DEVICE_FIELD(struct lapic_state, icr),
	DEVICE_FIELD(struct lapic_state, timer_initial),
	DEVICE_FIELD(struct lapic_state, timer_dcr),
	DEVICE_BOOL(struct lapic_state, timer_running),
	DEVICE_FIELD(struct lapic_state, timer_start),
	DEVICE_FIELD(struct lapic_state, timer_period),
	DEVICE_FIELD(struct lapic_state, tsc_deadline),
	DEVICE_FIELD(struct lapic_state, timer_deadline),
	DEVICE_BOOL(struct lapic_state, lint_level),
	DEVICE_BOOL(struct lapic_state, nmi_pending),
	DEVICE_BOOL(struct lapic_state, init_pending),
	DEVICE_BOOL(struct lapic_state, sipi_pending),
	DEVICE_FIELD(struct lapic_state, sipi_vector),
	DEVICE_BOOL(struct lapic_state, extint_msg),
};

static int lapic_pre_save(struct device *dev)
{
	struct lapic *l = container_of(dev, struct lapic, dev);
	l->s.timer_deadline = vtimer_deadline(&l->timer);
	return 0;
}

static int lapic_post_load(struct device *dev, char *why, size_t why_len)
{
	struct lapic *l = container_of(dev, struct lapic, dev);
	int r = lapic_regs_post_load(l, why, why_len);
	if (r < 0)
		return r;
	/* No lapic_notify: the board asks the CPU side's questions again once
	 * every device is loaded. */
	return lapic_timer_post_load(l, why, why_len);
}

static void lapic_device_reset(struct device *dev)
{
	lapic_reset(container_of(dev, struct lapic, dev));
}

static void lapic_device_destroy(struct device *dev)
{
	lapic_destroy(container_of(dev, struct lapic, dev));
}

static const struct device_class lapic_class = {
	.type = "lapic",
	.version = 1,
	.fields = lapic_fields,
	.nfields = ARRAY_SIZE(lapic_fields),
	.reset = lapic_device_reset,
	.pre_save = lapic_pre_save,
	.post_load = lapic_post_load,
	.destroy = lapic_device_destroy,
};

struct device *lapic_device(struct lapic *l)
{
	return &l->dev;
}

struct lapic *lapic_create(struct vclock *clock, const struct lapic_config *cfg)
{
	struct lapic *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->clock = clock;
	if (cfg->ops)
		l->ops = *cfg->ops;
	l->opaque = cfg->opaque;
	l->initial_id = cfg->apic_id;
	l->tsc_hz = cfg->tsc_hz;
	l->tsc_deadline_supported = cfg->tsc_hz && l->ops.tsc_now;
	unsigned bits = cfg->phys_addr_bits ? cfg->phys_addr_bits : 36;
	if (bits > 52)
		bits = 52;
	/* Bits 0-7 and 9 are reserved, EXTD without x2APIC support, and everything above MAXPHYADDR. */
	l->base_reserved = 0x2ffULL | ~((1ULL << bits) - 1) |
			   (cfg->x2apic ? 0 : LAPIC_BASE_EXTD);
	l->bsp = cfg->bsp;
	char name[sizeof(l->dev.name)];
	snprintf(name, sizeof(name), "lapic%u", (unsigned)cfg->apic_id);
	device_init(&l->dev, &lapic_class, name, &l->s);
	lapic_timer_init(l);
	/* No notification: the owner of ops may still be under construction. */
	lapic_power_up(l);
	return l;
}

void lapic_destroy(struct lapic *l)
{
	if (!l)
		return;
	vtimer_cancel(&l->timer);
	free(l);
}
