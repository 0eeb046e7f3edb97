/* SPDX-License-Identifier: MIT */
/*
 * The local APIC's state, shared by lapic.c (interrupt acceptance, LINT
 * pins, EOI, IPIs, destinations, reset, the device object), lapic_regs.c
 * (MMIO, MSRs, register write masks) and lapic_timer.c (the APIC timer).
 * Not for use outside them.
 */
#ifndef X86V_HW_INTC_LAPIC_INTERNAL_H
#define X86V_HW_INTC_LAPIC_INTERNAL_H

#include "hw/device.h"
#include "hw/intc/lapic.h"

enum lapic_lvt_index {
	LAPIC_LVT_CMCI,
	LAPIC_LVT_TIMER,
	LAPIC_LVT_THERMAL,
	LAPIC_LVT_PERF,
	LAPIC_LVT_LINT0,
	LAPIC_LVT_LINT1,
	LAPIC_LVT_ERROR,
	LAPIC_LVT_COUNT,
};

/* What the guest sees and a snapshot keeps (lapic_fields in lapic.c). */
struct lapic_state {
	uint64_t apic_base;
	uint32_t id; /* xAPIC: 8 bits; x2APIC: 32 bits */
	uint32_t tpr;
	uint32_t ldr;
	uint32_t dfr;
	uint32_t svr;
	uint32_t isr[8], tmr[8], irr[8];
	uint32_t esr; /* what reads return: latched by the last ESR write */
	uint32_t esr_pending; /* errors since the last ESR write */
	uint32_t lvt[LAPIC_LVT_COUNT];
	uint64_t icr; /* xAPIC: high half holds bits 31:24 of ICR high */

	/* Timer: the current count is computed from timer_start and timer_period. */
	uint32_t timer_initial;
	uint32_t timer_dcr;
	bool timer_running; /* counting (one-shot not yet expired, or periodic) */
	int64_t timer_start; /* virtual ns at which the count was (virtually) loaded */
	int64_t timer_period; /* ns for one full count, after LAPIC_TIMER_MIN_PERIOD_NS */
	uint64_t tsc_deadline; /* IA32_TSC_DEADLINE; 0 = disarmed */
	int64_t timer_deadline; /* the vtimer's, or VCLOCK_NEVER (snapshots only: pre_save) */

	/* Pins and latched events. */
	bool lint_level[2]; /* wire levels */
	bool nmi_pending;
	bool init_pending;
	bool sipi_pending;
	uint8_t sipi_vector;
	bool extint_msg;
};

struct lapic {
	struct device dev;
	struct vclock *clock;
	struct lapic_ops ops;
	void *opaque;
	uint32_t initial_id;
	bool bsp; /* IA32_APIC_BASE.BSP, fixed at creation */
	bool tsc_deadline_supported;
	uint64_t tsc_hz;
	uint64_t base_reserved; /* IA32_APIC_BASE bits that must be 0 */
	struct vtimer timer;
	struct lapic_state s;
};

/* lapic.c */
bool lapic_sw_enabled(const struct lapic *l);
/* Highest vector set in an ISR/IRR/TMR bitmap, or -1. */
int lapic_vec_highest(const uint32_t reg[8]);
/* Priority class (bits 7:4) of a vector from lapic_vec_highest; 0 for -1. */
unsigned lapic_prio_class(int vector);
uint32_t lapic_x2apic_ldr(uint32_t id);
/* Tells the CPU side that what it should deliver may have changed. */
void lapic_notify(struct lapic *l);
/* Records ESR bits and raises the error LVT. */
void lapic_error(struct lapic *l, uint32_t bits);
/* A fixed interrupt generated or received here: into IRR (TMR = level). */
void lapic_fixed(struct lapic *l, uint8_t vector, bool level);
/* Delivers LVT entry idx as a local interrupt (fixed, edge), unless masked. */
void lapic_local_deliver(struct lapic *l, enum lapic_lvt_index idx);
/* Re-checks a level-triggered fixed LINT input after its LVT or Remote IRR changed. */
void lapic_lint_service_level(struct lapic *l, unsigned pin);
void lapic_eoi(struct lapic *l);
/* Acts on the ICR just written. */
void lapic_send_icr(struct lapic *l);
/* Registers as after RESET, except the ID, IA32_APIC_BASE and latched events. */
void lapic_regs_reset(struct lapic *l);
void lapic_drop_events(struct lapic *l);

/* lapic_regs.c */
/* Snapshots: checks the loaded registers against their write masks and the
 * mode they belong to. 0, or -EINVAL with a one-line reason in why. */
int lapic_regs_post_load(struct lapic *l, char *why, size_t why_len);

/* lapic_timer.c */
void lapic_timer_init(struct lapic *l);
/* Snapshots: checks the loaded timer fields and re-arms the vtimer from
 * timer_deadline. 0, or -EINVAL / -ENOMEM with a one-line reason in why. */
int lapic_timer_post_load(struct lapic *l, char *why, size_t why_len);
void lapic_timer_reset(struct lapic *l);
void lapic_timer_write_initial(struct lapic *l, uint32_t value);
void lapic_timer_write_dcr(struct lapic *l, uint32_t value);
/* Called after the LVT timer entry changed from old (mode switches). */
void lapic_timer_lvt_changed(struct lapic *l, uint32_t old);
uint32_t lapic_timer_current_count(const struct lapic *l);
uint64_t lapic_timer_get_deadline(const struct lapic *l);
void lapic_timer_set_deadline(struct lapic *l, uint64_t deadline);

#endif
