/* SPDX-License-Identifier: MIT */
/*
 * An interrupt line as an object: a device holds one and drives its level;
 * whoever wired it (the board) decides which controller input it reaches.
 * Devices never include a controller header and never know the engine.
 */
#ifndef X86V_HW_IRQ_H
#define X86V_HW_IRQ_H

typedef void irq_set_fn(void *opaque, unsigned line, int level);

struct irq_line {
	irq_set_fn *set;
	void *opaque;
	unsigned line;
};

/* level is 0 or 1. An unconnected line (set == NULL) ignores it. */
static inline void irq_set_level(const struct irq_line *irq, int level)
{
	if (irq && irq->set)
		irq->set(irq->opaque, irq->line, level);
}

static inline void irq_pulse(const struct irq_line *irq)
{
	irq_set_level(irq, 1);
	irq_set_level(irq, 0);
}

#endif
