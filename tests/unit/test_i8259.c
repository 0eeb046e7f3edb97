/* SPDX-License-Identifier: MIT */
/*
 * 8259A pair register-level tests: power-up state, the ICW1..ICW4 sequence
 * (with and without ICW3/ICW4), edge and level triggering from the ELCR and
 * LTIM, priority resolution and nesting, every OCW2 command, OCW3 register
 * reads, poll mode, special mask mode, auto-EOI with rotation, special fully
 * nested mode, the cascade and both spurious cases, a sweep of guest
 * garbage, and snapshots (a faithful copy; hostile records refused or
 * harmless). The CPU's INT pin is a fake that records every change.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/log.h"
#include "core/statebuf.h"
#include "hw/device.h"
#include "hw/intc/i8259.h"

struct rig {
	struct i8259 *pic;
	int level;
	unsigned rises;
	unsigned calls;
	unsigned redundant; /* intr_out called without a change */
};

static void fake_intr(void *opaque, int level)
{
	struct rig *r = opaque;
	r->calls++;
	if (level == r->level)
		r->redundant++;
	if (level && !r->level)
		r->rises++;
	r->level = level;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->pic = pic_create(fake_intr, r);
	if (!r->pic)
		abort();
}

static void rig_fini(struct rig *r)
{
	CHECK_EQ(r->redundant, 0);
	CHECK_EQ(r->level, pic_intr_level(r->pic));
	pic_destroy(r->pic);
}

static void out_m(struct rig *r, unsigned off, uint8_t v)
{
	pic_master_ops.write(r->pic, off, v, 1);
}

static void out_s(struct rig *r, unsigned off, uint8_t v)
{
	pic_slave_ops.write(r->pic, off, v, 1);
}

static uint8_t in_m(struct rig *r, unsigned off)
{
	return (uint8_t)pic_master_ops.read(r->pic, off, 1);
}

static uint8_t in_s(struct rig *r, unsigned off)
{
	return (uint8_t)pic_slave_ops.read(r->pic, off, 1);
}

static uint8_t irr_m(struct rig *r)
{
	out_m(r, 0, OCW3_SEL | OCW3_RR);
	return in_m(r, 0);
}

static uint8_t isr_m(struct rig *r)
{
	out_m(r, 0, OCW3_SEL | OCW3_RR | OCW3_RIS);
	return in_m(r, 0);
}

static uint8_t irr_s(struct rig *r)
{
	out_s(r, 0, OCW3_SEL | OCW3_RR);
	return in_s(r, 0);
}

static uint8_t isr_s(struct rig *r)
{
	out_s(r, 0, OCW3_SEL | OCW3_RR | OCW3_RIS);
	return in_s(r, 0);
}

/* What Linux's init_8259A and SeaBIOS write, with the given ICW4 values. */
static void init_pc(struct rig *r, uint8_t icw4_m, uint8_t icw4_s)
{
	out_m(r, 0, ICW1_INIT | ICW1_IC4);
	out_m(r, 1, 0x20);
	out_m(r, 1, 1u << PIC_CASCADE_IRQ);
	out_m(r, 1, icw4_m);
	out_s(r, 0, ICW1_INIT | ICW1_IC4);
	out_s(r, 1, 0x28);
	out_s(r, 1, PIC_CASCADE_IRQ);
	out_s(r, 1, icw4_s);
}

static void irq(struct rig *r, unsigned n, int level)
{
	pic_set_irq(r->pic, n, level);
}

static void pulse(struct rig *r, unsigned n)
{
	irq(r, n, 1);
	irq(r, n, 0);
}

static void test_power_up(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(pic_master_ops.min_size, 1);
	CHECK_EQ(pic_master_ops.max_size, 1);
	CHECK_EQ(pic_slave_ops.max_size, 1);
	CHECK_EQ(pic_elcr_ops.max_size, 1);
	CHECK_EQ(in_m(&r, 1), 0xff);
	CHECK_EQ(in_s(&r, 1), 0xff);
	CHECK_EQ(in_m(&r, 0), 0); /* IRR */
	CHECK_EQ(isr_m(&r), 0);
	CHECK_EQ(pic_elcr_ops.read(r.pic, 0, 1), 0);
	CHECK_EQ(pic_elcr_ops.read(r.pic, 1, 1), 0);
	/* Everything masked: a request shows in IRR but INT stays low. */
	irq(&r, 0, 1);
	CHECK_EQ(irr_m(&r), 0x01);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(r.calls, 0);
	/* An INTA anyway gets the spurious IR7 of vector base 0. */
	CHECK_EQ(pic_read_irq(r.pic), 7);
	CHECK_EQ(isr_m(&r), 0);
	CHECK_EQ(irr_m(&r), 0x01);
	/* Unmasking lets it through with the power-up vector base 0. */
	out_m(&r, 1, 0xfe);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0);
	CHECK_EQ(r.level, 0);
	rig_fini(&r);
}

static void test_icw_sequence(void)
{
	struct rig r;
	rig_init(&r);
	out_m(&r, 0, ICW1_INIT | ICW1_IC4);
	CHECK_EQ(in_m(&r, 1), 0); /* ICW1 clears IMR */
	out_m(&r, 1, 0x27); /* T2..T0 are ignored in 8086 mode */
	out_m(&r, 1, 0x04);
	out_m(&r, 1, ICW4_UPM);
	CHECK_EQ(in_m(&r, 1), 0); /* those were ICWs, not OCW1 */
	out_m(&r, 1, 0x5a); /* now OCW1 */
	CHECK_EQ(in_m(&r, 1), 0x5a);
	out_m(&r, 1, 0x00);
	irq(&r, 3, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	CHECK_EQ(isr_m(&r), 0x08);

	/* A new ICW1 clears ISR and IMR, selects IRR reads, and resets the edge
	 * sense: IR3 is still high, so it must fall and rise again. */
	out_m(&r, 0, ICW1_INIT | ICW1_IC4);
	CHECK_EQ(in_m(&r, 0), 0); /* IRR selected again; edge sense reset */
	out_m(&r, 0, OCW3_SEL | OCW3_RR | OCW3_RIS);
	out_m(&r, 0, ICW1_INIT | ICW1_IC4);
	out_m(&r, 1, 0x40);
	out_m(&r, 1, 0x04);
	out_m(&r, 1, ICW4_UPM);
	CHECK_EQ(in_m(&r, 0), 0); /* IRR, not ISR */
	CHECK_EQ(isr_m(&r), 0);
	irq(&r, 3, 1); /* still high: no edge */
	CHECK_EQ(irr_m(&r), 0);
	CHECK_EQ(r.level, 0);
	irq(&r, 3, 0);
	irq(&r, 3, 1);
	CHECK_EQ(irr_m(&r), 0x08);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x43);
	irq(&r, 3, 0);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);

	/* Single mode with ICW4: ICW2 then ICW4, no ICW3. */
	out_m(&r, 0, ICW1_INIT | ICW1_SNGL | ICW1_IC4);
	out_m(&r, 1, 0x50);
	out_m(&r, 1, ICW4_UPM | ICW4_AEOI); /* ICW4, not ICW3 */
	out_m(&r, 1, 0xfb); /* OCW1 */
	CHECK_EQ(in_m(&r, 1), 0xfb);
	/* Single mode: IR2 is an ordinary input (here the slave's INT wire). */
	out_s(&r, 0, ICW1_INIT | ICW1_IC4);
	out_s(&r, 1, 0x70);
	out_s(&r, 1, 2);
	out_s(&r, 1, ICW4_UPM);
	irq(&r, 9, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x52); /* master's own vector for IR2 */
	CHECK_EQ(isr_m(&r), 0); /* auto-EOI */
	CHECK_EQ(isr_s(&r), 0); /* the slave saw no cascade address */
	irq(&r, 9, 0);
	out_s(&r, 0, ICW1_INIT | ICW1_IC4); /* drop the slave's request */

	/* Single mode without ICW4: ICW2 only (MCS-80 mode gets a log line). */
	out_m(&r, 0, ICW1_INIT | ICW1_SNGL);
	out_m(&r, 1, 0x60);
	out_m(&r, 1, 0xef); /* OCW1 already */
	CHECK_EQ(in_m(&r, 1), 0xef);
	irq(&r, 4, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x64);
	CHECK_EQ(isr_m(&r), 0x10); /* no ICW4: no auto-EOI */
	irq(&r, 4, 0);

	/* Cascade without ICW4 on either chip: ICW2, ICW3, then OCW1. */
	out_m(&r, 0, ICW1_INIT);
	out_m(&r, 1, 0x08);
	out_m(&r, 1, 0x04);
	out_m(&r, 1, 0x12);
	CHECK_EQ(in_m(&r, 1), 0x12);
	rig_fini(&r);
}

static void test_edge_and_level(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	/* Edge: latched on the rising edge, kept when the line falls. */
	irq(&r, 1, 1);
	CHECK_EQ(r.level, 1);
	irq(&r, 1, 0);
	CHECK_EQ(irr_m(&r), 0x02);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x21);
	CHECK_EQ(irr_m(&r), 0);
	CHECK_EQ(isr_m(&r), 0x02);
	CHECK_EQ(r.level, 0);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0);
	/* A line that stays high gives one interrupt, not one per call. */
	irq(&r, 1, 1);
	irq(&r, 1, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x21);
	irq(&r, 1, 1);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(irr_m(&r), 0);
	CHECK_EQ(r.level, 0);
	irq(&r, 1, 0);

	/* Level (ELCR bit 10): IRR follows the line. */
	pic_elcr_ops.write(r.pic, 1, 1u << 2, 1);
	irq(&r, 10, 1);
	CHECK_EQ(irr_s(&r), 0x04);
	CHECK_EQ(r.level, 1);
	irq(&r, 10, 0);
	CHECK_EQ(irr_s(&r), 0);
	CHECK_EQ(irr_m(&r), 0x04); /* the master's IR2 is edge: it latched */
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2f); /* slave spurious, see test_spurious */
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	/* The acknowledge leaves a level request in IRR while the line is high,
	 * so the EOI brings the interrupt straight back. */
	irq(&r, 10, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2a);
	CHECK_EQ(irr_s(&r), 0x04);
	CHECK_EQ(isr_s(&r), 0x04);
	CHECK_EQ(r.level, 0);
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2a);
	irq(&r, 10, 0);
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 0);

	/* Switching a high line to level mode makes it request at once;
	 * switching back to edge keeps the request latched. */
	irq(&r, 11, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2b);
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 0);
	pic_elcr_ops.write(r.pic, 1, 1u << 3, 1);
	CHECK_EQ(irr_s(&r), 0x08);
	CHECK_EQ(r.level, 1);
	pic_elcr_ops.write(r.pic, 1, 0, 1);
	CHECK_EQ(irr_s(&r), 0x08);
	irq(&r, 11, 0);
	CHECK_EQ(irr_s(&r), 0x08);
	rig_fini(&r);
}

static void test_elcr_fixed_bits(void)
{
	struct rig r;
	rig_init(&r);
	pic_elcr_ops.write(r.pic, 0, 0xff, 1);
	pic_elcr_ops.write(r.pic, 1, 0xff, 1);
	CHECK_EQ(pic_elcr_ops.read(r.pic, 0, 1), PIC_ELCR_MASTER_MASK);
	CHECK_EQ(pic_elcr_ops.read(r.pic, 1, 1), PIC_ELCR_SLAVE_MASK);
	CHECK_EQ(PIC_ELCR_MASTER_MASK, 0xf8); /* IRQ 0, 1, 2 */
	CHECK_EQ(PIC_ELCR_SLAVE_MASK, 0xde); /* IRQ 8, 13 */
	/* ICW1 leaves the ELCR alone; IRQ 0 stays edge whatever was written. */
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	CHECK_EQ(pic_elcr_ops.read(r.pic, 0, 1), 0xf8);
	irq(&r, 0, 1);
	irq(&r, 0, 0);
	CHECK_EQ(irr_m(&r), 0x01);
	irq(&r, 8, 1);
	irq(&r, 8, 0);
	CHECK_EQ(irr_s(&r), 0x01);
	irq(&r, 9, 1);
	irq(&r, 9, 0);
	CHECK_EQ(irr_s(&r), 0x01); /* IRQ 9 is level now */
	pic_reset(r.pic);
	CHECK_EQ(pic_elcr_ops.read(r.pic, 0, 1), 0);
	CHECK_EQ(pic_elcr_ops.read(r.pic, 1, 1), 0);
	rig_fini(&r);
}

static void test_ltim(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	out_m(&r, 0, ICW1_INIT | ICW1_IC4 | ICW1_LTIM);
	out_m(&r, 1, 0x20);
	out_m(&r, 1, 0x04);
	out_m(&r, 1, ICW4_UPM);
	/* LTIM makes even IRQ 0 level-triggered on that chip. */
	irq(&r, 0, 1);
	CHECK_EQ(r.level, 1);
	irq(&r, 0, 0);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(irr_m(&r), 0);
	/* A level line that is high through ICW1 keeps requesting. */
	irq(&r, 5, 1);
	out_m(&r, 0, ICW1_INIT | ICW1_IC4 | ICW1_LTIM);
	CHECK_EQ(irr_m(&r), 0x20);
	out_m(&r, 1, 0x20);
	out_m(&r, 1, 0x04);
	out_m(&r, 1, ICW4_UPM);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x25);
	/* The slave is still edge-triggered. */
	irq(&r, 12, 1);
	irq(&r, 12, 0);
	CHECK_EQ(irr_s(&r), 0x10);
	rig_fini(&r);
}

static void test_priority_and_nesting(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	pulse(&r, 5);
	pulse(&r, 3);
	CHECK_EQ(irr_m(&r), 0x28);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	CHECK_EQ(isr_m(&r), 0x08);
	CHECK_EQ(irr_m(&r), 0x20);
	CHECK_EQ(r.level, 0); /* IR5 waits behind IR3 in service */
	pulse(&r, 3);
	CHECK_EQ(r.level, 0); /* IR3 again: equal priority does not nest */
	pulse(&r, 1);
	CHECK_EQ(r.level, 1); /* IR1 nests */
	CHECK_EQ(pic_read_irq(r.pic), 0x21);
	CHECK_EQ(isr_m(&r), 0x0a);
	CHECK_EQ(r.level, 0);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI); /* clears IR1, the highest */
	CHECK_EQ(isr_m(&r), 0x08);
	CHECK_EQ(r.level, 0);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x23); /* the second IR3 edge */
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(pic_read_irq(r.pic), 0x25);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 0);
	/* A masked request stays in IRR and is delivered when unmasked. */
	out_m(&r, 1, 0x40);
	pulse(&r, 6);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(irr_m(&r), 0x40);
	out_m(&r, 1, 0x00);
	CHECK_EQ(r.level, 1);
	/* Masking after INT rose lowers INT again. */
	out_m(&r, 1, 0x40);
	CHECK_EQ(r.level, 0);
	rig_fini(&r);
}

static void test_ocw2_commands(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	/* Specific EOI clears exactly the named level. */
	pulse(&r, 4);
	CHECK_EQ(pic_read_irq(r.pic), 0x24);
	pulse(&r, 3);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	CHECK_EQ(isr_m(&r), 0x18);
	out_m(&r, 0, OCW2_SPECIFIC_EOI | 4);
	CHECK_EQ(isr_m(&r), 0x08);
	out_m(&r, 0, OCW2_SPECIFIC_EOI | 6); /* not in service: no effect */
	CHECK_EQ(isr_m(&r), 0x08);
	out_m(&r, 0, OCW2_NOP);
	CHECK_EQ(isr_m(&r), 0x08);

	/* Rotate on non-specific EOI: IR3 becomes the lowest, IR4 the highest. */
	out_m(&r, 0, OCW2_ROTATE_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0);
	pulse(&r, 0);
	pulse(&r, 5);
	pulse(&r, 3);
	CHECK_EQ(pic_read_irq(r.pic), 0x25); /* 5 before 0 and 3 */
	CHECK_EQ(r.level, 0); /* IR0 ranks 4th now, below IR5 in service */
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(pic_read_irq(r.pic), 0x20); /* then 0 (rank 4) before 3 (rank 7) */
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);

	/* Set priority: L = 6 becomes the lowest, 7 the highest. */
	out_m(&r, 0, OCW2_SET_PRIORITY | 6);
	pulse(&r, 0);
	pulse(&r, 6);
	pulse(&r, 7);
	CHECK_EQ(pic_read_irq(r.pic), 0x27);
	CHECK_EQ(r.level, 0); /* 0 and 6 rank below 7 in service */
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI); /* clears 7, the highest-ranked */
	CHECK_EQ(isr_m(&r), 0);
	CHECK_EQ(pic_read_irq(r.pic), 0x20);
	/* Rotate on specific EOI: L = 0 in service, becomes the lowest. */
	out_m(&r, 0, OCW2_ROTATE_SPECIFIC_EOI | 0);
	CHECK_EQ(isr_m(&r), 0);
	pulse(&r, 0);
	CHECK_EQ(pic_read_irq(r.pic), 0x26); /* order 1..7, 0: 6 before 0 */
	out_m(&r, 0, OCW2_SPECIFIC_EOI | 6);
	CHECK_EQ(pic_read_irq(r.pic), 0x20);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	/* Non-specific EOI follows the rotated order: with 1 lowest (prio 2..1),
	 * ISR 1 and 4 in service, the EOI clears 4. */
	out_m(&r, 0, OCW2_SET_PRIORITY | 3); /* order 4, 5, 6, 7, 0, 1, 2, 3 */
	pulse(&r, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x21);
	pulse(&r, 4);
	CHECK_EQ(pic_read_irq(r.pic), 0x24);
	CHECK_EQ(isr_m(&r), 0x12);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0x02);
	rig_fini(&r);
}

static void test_auto_eoi(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM | ICW4_AEOI, ICW4_UPM);
	pulse(&r, 3);
	pulse(&r, 5);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	CHECK_EQ(isr_m(&r), 0); /* no ISR bit in auto-EOI */
	CHECK_EQ(r.level, 1); /* so IR5 follows at once */
	CHECK_EQ(pic_read_irq(r.pic), 0x25);
	CHECK_EQ(r.level, 0);
	/* Rotate in auto-EOI: each acknowledged level becomes the lowest. */
	out_m(&r, 0, OCW2_ROTATE_AEOI_SET);
	pulse(&r, 1);
	pulse(&r, 6);
	CHECK_EQ(pic_read_irq(r.pic), 0x21); /* order 0..7: 1 first; now 2..7,0,1 */
	pulse(&r, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x26); /* 6 outranks 1 now */
	/* order 7, 0..6: 1 next */
	CHECK_EQ(pic_read_irq(r.pic), 0x21);
	CHECK_EQ(r.level, 0);
	out_m(&r, 0, OCW2_ROTATE_AEOI_CLEAR);
	pulse(&r, 3);
	pulse(&r, 0);
	CHECK_EQ(pic_read_irq(r.pic), 0x23); /* order 2..7, 0, 1 (after IR1): 3 first */
	pulse(&r, 4);
	CHECK_EQ(pic_read_irq(r.pic), 0x24); /* no rotation any more: order unchanged */
	CHECK_EQ(pic_read_irq(r.pic), 0x20);
	/* ICW1 without auto-EOI clears rotate-in-AEOI too. */
	init_pc(&r, ICW4_UPM | ICW4_AEOI, ICW4_UPM);
	out_m(&r, 0, OCW2_ROTATE_AEOI_SET);
	init_pc(&r, ICW4_UPM | ICW4_AEOI, ICW4_UPM);
	pulse(&r, 3);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	pulse(&r, 5);
	pulse(&r, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x21); /* order not rotated after IR3 */
	CHECK_EQ(pic_read_irq(r.pic), 0x25);
	rig_fini(&r);
}

static void test_cascade(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	irq(&r, 12, 1);
	CHECK_EQ(irr_s(&r), 0x10);
	CHECK_EQ(irr_m(&r), 0x04);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2c);
	CHECK_EQ(isr_s(&r), 0x10);
	CHECK_EQ(isr_m(&r), 0x04);
	CHECK_EQ(irr_s(&r), 0);
	CHECK_EQ(irr_m(&r), 0);
	CHECK_EQ(r.level, 0);
	/* IRQ 8 outranks 12 on the slave, but the master's IR2 is in service:
	 * without SFNM it waits for the master's EOI. */
	irq(&r, 8, 1);
	CHECK_EQ(irr_m(&r), 0x04);
	CHECK_EQ(r.level, 0);
	/* A master input above IR2 still nests; one below does not. */
	pulse(&r, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x21);
	out_m(&r, 0, OCW2_SPECIFIC_EOI | 1);
	pulse(&r, 3);
	CHECK_EQ(r.level, 0);
	/* Linux's order: slave EOI, then master EOI. */
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_s(&r), 0);
	CHECK_EQ(r.level, 0);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x28);
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 0);
	/* Masking IR2 on the master hides the whole slave. */
	irq(&r, 8, 0);
	out_m(&r, 1, 0x04);
	irq(&r, 8, 1);
	CHECK_EQ(irr_s(&r), 0x01);
	CHECK_EQ(r.level, 0);
	out_m(&r, 1, 0x00);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x28);
	/* A slave that does not carry ID 2 leaves the bus floating. */
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_s(&r, 0, ICW1_INIT | ICW1_IC4);
	out_s(&r, 1, 0x28);
	out_s(&r, 1, 5);
	out_s(&r, 1, ICW4_UPM);
	irq(&r, 8, 0);
	irq(&r, 8, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0xff);
	CHECK_EQ(isr_m(&r), 0x04);
	CHECK_EQ(isr_s(&r), 0);
	rig_fini(&r);
}

static void test_spurious(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	/* Master: a level request that drops before INTA. */
	pic_elcr_ops.write(r.pic, 0, 0x08, 1);
	irq(&r, 3, 1);
	CHECK_EQ(r.level, 1);
	irq(&r, 3, 0);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(pic_read_irq(r.pic), 0x27);
	CHECK_EQ(isr_m(&r), 0); /* no ISR bit for a spurious IR7 */
	CHECK_EQ(r.level, 0);
	/* A request masked after INT rose is the same. */
	pulse(&r, 4);
	CHECK_EQ(r.level, 1);
	out_m(&r, 1, 0x10);
	CHECK_EQ(pic_read_irq(r.pic), 0x27);
	CHECK_EQ(isr_m(&r), 0);
	CHECK_EQ(irr_m(&r), 0x10);
	out_m(&r, 1, 0x00);
	CHECK_EQ(pic_read_irq(r.pic), 0x24);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	/* A real IR7 sets its ISR bit: that is how handlers tell them apart. */
	pulse(&r, 7);
	CHECK_EQ(pic_read_irq(r.pic), 0x27);
	CHECK_EQ(isr_m(&r), 0x80);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);

	/* Slave: its level request drops after the master latched IR2. */
	pic_elcr_ops.write(r.pic, 1, 0x02, 1);
	irq(&r, 9, 1);
	CHECK_EQ(r.level, 1);
	irq(&r, 9, 0);
	CHECK_EQ(irr_s(&r), 0);
	CHECK_EQ(irr_m(&r), 0x04); /* IR2 is edge: still latched */
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2f);
	CHECK_EQ(isr_s(&r), 0);
	CHECK_EQ(isr_m(&r), 0x04); /* the master's IR2 is in service */
	CHECK_EQ(r.level, 0);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0);
	/* Nothing at all pending: master IR7 with the vector base 0x20. */
	CHECK_EQ(pic_read_irq(r.pic), 0x27);
	rig_fini(&r);
}

static void test_ocw3_reads_and_poll(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	out_m(&r, 1, 0x80);
	pulse(&r, 6);
	pulse(&r, 7);
	CHECK_EQ(in_m(&r, 0), 0xc0); /* IRR after ICW1 */
	out_m(&r, 0, OCW3_SEL | OCW3_RR | OCW3_RIS);
	CHECK_EQ(in_m(&r, 0), 0);
	out_m(&r, 0, OCW3_SEL | OCW3_RIS); /* RIS without RR: no change */
	CHECK_EQ(in_m(&r, 0), 0);
	out_m(&r, 0, OCW3_SEL | OCW3_RR);
	out_m(&r, 0, OCW3_SEL); /* no change */
	CHECK_EQ(in_m(&r, 0), 0xc0);
	CHECK_EQ(in_m(&r, 1), 0x80); /* A0 = 1 always reads IMR */
	/* Poll: the read acknowledges the highest request. */
	CHECK_EQ(r.level, 1);
	out_m(&r, 0, OCW3_SEL | OCW3_P);
	CHECK_EQ(in_m(&r, 0), PIC_POLL_I | 6);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(in_m(&r, 0), 0x80); /* poll is one read only; back to IRR */
	out_m(&r, 0, OCW3_SEL | OCW3_RR | OCW3_RIS);
	CHECK_EQ(in_m(&r, 0), 0x40);
	/* IR7 is masked and IR6 in service: the poll word says nothing. */
	out_m(&r, 0, OCW3_SEL | OCW3_P);
	CHECK_EQ(in_m(&r, 1), 0);
	CHECK_EQ(in_m(&r, 1), 0x80); /* and the poll is over */
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(&r, 1, 0x00);
	CHECK_EQ(r.level, 1);
	/* Poll through A0 = 1, with P and RR together: the poll wins. */
	out_m(&r, 0, OCW3_SEL | OCW3_P | OCW3_RR);
	CHECK_EQ(in_m(&r, 1), PIC_POLL_I | 7);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(in_m(&r, 0), 0); /* RR came with RIS = 0: IRR */
	out_m(&r, 0, OCW3_SEL | OCW3_RR | OCW3_RIS);
	CHECK_EQ(in_m(&r, 0), 0x80);
	rig_fini(&r);
}

static void test_special_mask_mode(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	pulse(&r, 3);
	CHECK_EQ(pic_read_irq(r.pic), 0x23);
	pulse(&r, 5);
	CHECK_EQ(r.level, 0); /* fully nested: 5 waits behind 3 */
	/* The IR3 handler masks itself and enters special mask mode. */
	out_m(&r, 1, 0x08);
	out_m(&r, 0, OCW3_SEL | OCW3_ESMM | OCW3_SMM);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x25);
	CHECK_EQ(isr_m(&r), 0x28);
	/* A lower level nests under 5 too, but not 5 itself again. */
	pulse(&r, 5);
	CHECK_EQ(r.level, 0);
	pulse(&r, 6);
	CHECK_EQ(r.level, 0); /* 5 (unmasked, in service) still outranks 6 */
	/* Non-specific EOI in SMM skips the masked ISR bit 3: clears 5. */
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0x08);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x25);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(pic_read_irq(r.pic), 0x26);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0x08);
	/* ESMM without SMM leaves it; ESMM = 0 changes nothing. */
	out_m(&r, 0, OCW3_SEL | OCW3_SMM);
	pulse(&r, 4);
	CHECK_EQ(r.level, 1);
	out_m(&r, 0, OCW3_SEL | OCW3_ESMM);
	CHECK_EQ(r.level, 0); /* back to fully nested: 3 in service blocks 4 */
	out_m(&r, 1, 0x00);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0);
	CHECK_EQ(pic_read_irq(r.pic), 0x24);
	rig_fini(&r);
}

static void test_special_fully_nested(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM | ICW4_SFNM, ICW4_UPM);
	irq(&r, 12, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2c);
	CHECK_EQ(r.level, 0);
	/* A higher slave request gets through the master's IR2 in service. */
	irq(&r, 9, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x29);
	CHECK_EQ(isr_s(&r), 0x12);
	CHECK_EQ(isr_m(&r), 0x04);
	/* A lower slave request does not, and neither does a lower master one. */
	irq(&r, 14, 1);
	pulse(&r, 5);
	CHECK_EQ(r.level, 0);
	/* A higher master input does. */
	pulse(&r, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x21);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	/* The handler's EOI to the slave; the slave's ISR still holds 12, so
	 * the master's IR2 stays in service. */
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_s(&r), 0x10);
	CHECK_EQ(r.level, 0);
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_s(&r), 0);
	/* 14 now requests: SFNM passes it even with IR2 still in service. */
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2e);
	out_s(&r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(isr_m(&r), 0);
	CHECK_EQ(pic_read_irq(r.pic), 0x25);

	/* The same without SFNM: the higher slave request waits. */
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	irq(&r, 12, 0);
	irq(&r, 9, 0);
	irq(&r, 14, 0);
	irq(&r, 12, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2c);
	irq(&r, 9, 1);
	CHECK_EQ(r.level, 0);
	rig_fini(&r);
}

static void test_slave_auto_eoi(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM | ICW4_AEOI);
	irq(&r, 8, 1);
	irq(&r, 12, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x28);
	CHECK_EQ(isr_s(&r), 0);
	/* The slave's INT stays up for 12; the INTA cycle dropped it briefly,
	 * so the master latched IR2 again and delivers after its EOI. */
	CHECK_EQ(irr_m(&r), 0x04);
	CHECK_EQ(r.level, 0);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2c);
	out_m(&r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(irr_m(&r), 0);
	rig_fini(&r);
}

static void test_board_inputs_and_reset(void)
{
	struct rig r;
	rig_init(&r);
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	/* The cascade input and inputs past 15 are not the board's to drive. */
	irq(&r, 2, 1);
	irq(&r, 16, 1);
	irq(&r, 0xffffffffu, 1);
	CHECK_EQ(irr_m(&r), 0);
	CHECK_EQ(irr_s(&r), 0);
	CHECK_EQ(r.level, 0);
	/* pic_irq_set is an irq_set_fn. */
	irq_set_fn *fn = pic_irq_set;
	fn(r.pic, 15, 1);
	CHECK_EQ(irr_s(&r), 0x80);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(r.rises, 1);
	/* Reset drops INT and returns to the power-up state. */
	pic_reset(r.pic);
	CHECK_EQ(r.level, 0);
	CHECK_EQ(pic_intr_level(r.pic), 0);
	CHECK_EQ(in_m(&r, 1), 0xff);
	CHECK_EQ(in_s(&r, 1), 0xff);
	CHECK_EQ(in_s(&r, 0), 0);
	/* The line is still high after reset: no new edge until it falls. */
	init_pc(&r, ICW4_UPM, ICW4_UPM);
	CHECK_EQ(r.level, 0);
	fn(r.pic, 15, 0);
	fn(r.pic, 15, 1);
	CHECK_EQ(r.level, 1);
	CHECK_EQ(pic_read_irq(r.pic), 0x2f);
	CHECK_EQ(isr_s(&r), 0x80); /* a real IRQ 15 this time */
	pic_destroy(NULL);
	rig_fini(&r);
}

static uint32_t lcg_next(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 1;
}

static void check_sane(struct rig *r)
{
	CHECK_EQ(r->level, pic_intr_level(r->pic));
	CHECK_EQ(r->redundant, 0);
}

/* After any garbage, a full init brings back a working pair. */
static void check_recovers(struct rig *r)
{
	for (unsigned i = 0; i < 16; i++)
		if (i != 2)
			irq(r, i, 0);
	pic_elcr_ops.write(r->pic, 0, 0, 1);
	pic_elcr_ops.write(r->pic, 1, 0, 1);
	init_pc(r, ICW4_UPM, ICW4_UPM);
	CHECK_EQ(r->level, 0);
	CHECK_EQ(irr_m(r), 0);
	CHECK_EQ(isr_m(r), 0);
	irq(r, 10, 1);
	CHECK_EQ(r->level, 1);
	CHECK_EQ(pic_read_irq(r->pic), 0x2a);
	irq(r, 10, 0);
	out_s(r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(r, 0, OCW2_NONSPECIFIC_EOI);
	pulse(r, 0);
	CHECK_EQ(pic_read_irq(r->pic), 0x20);
	out_m(r, 0, OCW2_NONSPECIFIC_EOI);
	CHECK_EQ(r->level, 0);
	check_sane(r);
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r);
	int saved = check_failures;
	const struct bus_ops *ops[3] = { &pic_master_ops, &pic_slave_ops, &pic_elcr_ops };
	for (unsigned d = 0; d < 3; d++) {
		for (unsigned off = 0; off < 2; off++) {
			for (unsigned v = 0; v < 256; v++) {
				ops[d]->write(r.pic, off, v, 1);
				for (unsigned d2 = 0; d2 < 3; d2++)
					for (unsigned o2 = 0; o2 < 2; o2++)
						(void)ops[d2]->read(r.pic, o2, 1);
				(void)pic_read_irq(r.pic);
				check_sane(&r);
			}
		}
	}
	check_recovers(&r);
	uint32_t seed = 4242;
	for (unsigned i = 0; i < 300000 && check_failures == saved; i++) {
		uint32_t x = lcg_next(&seed);
		unsigned d = (x >> 8) % 3, off = (x >> 10) & 1;
		uint8_t v = (uint8_t)x;
		switch ((x >> 12) % 6) {
		case 0:
		case 1:
			ops[d]->write(r.pic, off, v, 1);
			break;
		case 2:
			(void)ops[d]->read(r.pic, off, 1);
			break;
		case 3:
			irq(&r, v & 15, (x >> 16) & 1);
			break;
		default: {
			int vec = pic_read_irq(r.pic);
			CHECK(vec >= 0 && vec <= 0xff);
			break;
		}
		}
		if ((i & 63) == 0)
			check_sane(&r);
		if ((i & 65535) == 65535)
			check_recovers(&r);
	}
	check_recovers(&r);
	rig_fini(&r);
}

/* The board's part after a load: it reads INT itself (intr_out is not called). */
static void sync_int(struct rig *r)
{
	r->level = pic_intr_level(r->pic);
	r->redundant = 0;
}

static int save_load(struct rig *from, struct rig *to, struct statebuf *sb, char *why, size_t why_len)
{
	sb_init(sb);
	CHECK_EQ(device_save(pic_device(from->pic), sb), 0);
	struct state_reader sr;
	sr_init(&sr, sb->data, sb->len);
	int rc = device_load(pic_device(to->pic), &sr, why, why_len);
	if (rc == 0)
		CHECK_EQ(sr.left, 0);
	return rc;
}

/* The same accesses on both sides, every answer recorded. */
static unsigned snapshot_script(struct rig *r, uint8_t *out)
{
	unsigned n = 0;
	out[n++] = in_s(r, 0); /* the pending poll */
	out[n++] = in_m(r, 0); /* ISR: OCW3 RR/RIS stays selected */
	out[n++] = in_m(r, 1);
	out[n++] = in_s(r, 1);
	out[n++] = irr_m(r);
	out[n++] = irr_s(r);
	out[n++] = isr_s(r);
	out[n++] = (uint8_t)pic_elcr_ops.read(r->pic, 1, 1);
	out[n++] = (uint8_t)r->level;
	for (unsigned i = 0; i < 4; i++) {
		out[n++] = (uint8_t)pic_read_irq(r->pic);
		out[n++] = isr_m(r);
		out[n++] = isr_s(r);
		out[n++] = (uint8_t)r->level;
		out_m(r, 0, OCW2_NONSPECIFIC_EOI); /* special mask mode: skips masked IR4 */
	}
	irq(r, 10, 0);
	pulse(r, 13);
	pulse(r, 9);
	out[n++] = (uint8_t)pic_read_irq(r->pic); /* slave auto-EOI rotation decides */
	out[n++] = (uint8_t)pic_read_irq(r->pic);
	out_m(r, 0, OCW2_NONSPECIFIC_EOI);
	out[n++] = isr_m(r);
	out_m(r, 0, OCW3_SEL | OCW3_ESMM); /* back to fully nested */
	out_m(r, 1, 0);
	pulse(r, 7);
	pulse(r, 6);
	out[n++] = (uint8_t)r->level;
	out_m(r, 0, OCW2_NONSPECIFIC_EOI);
	out_m(r, 0, OCW2_NONSPECIFIC_EOI);
	out[n++] = (uint8_t)pic_read_irq(r->pic);
	out[n++] = (uint8_t)pic_read_irq(r->pic);
	out[n++] = isr_m(r);
	return n;
}

/* A pair with priorities rotated, special mask mode, a masked request, a
 * level input, the slave in auto-EOI with rotation and a poll pending, INT
 * high: a copy in a fresh pair answers every access the same way, and the
 * load drives nothing through intr_out. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	init_pc(&a, ICW4_UPM, ICW4_UPM | ICW4_AEOI);
	out_s(&a, 0, OCW2_ROTATE_AEOI_SET);
	pic_elcr_ops.write(a.pic, 1, 0x04, 1); /* IRQ 10 level-triggered */
	out_m(&a, 1, 0x02); /* IR1 masked */
	out_m(&a, 0, OCW2_SET_PRIORITY | 3); /* IR4 highest, IR3 lowest */
	pulse(&a, 1);
	pulse(&a, 0);
	pulse(&a, 5);
	pulse(&a, 4);
	irq(&a, 10, 1);
	pulse(&a, 12);
	CHECK_EQ(pic_read_irq(a.pic), 0x24);
	/* The IR4 handler masks itself and enters special mask mode. */
	out_m(&a, 1, 0x12);
	out_m(&a, 0, OCW3_SEL | OCW3_ESMM | OCW3_SMM);
	CHECK_EQ(pic_read_irq(a.pic), 0x25);
	out_m(&a, 0, OCW2_SPECIFIC_EOI | 5);
	out_s(&a, 0, OCW3_SEL | OCW3_P);
	out_m(&a, 0, OCW3_SEL | OCW3_RR | OCW3_RIS);
	CHECK_EQ(a.level, 1);

	struct statebuf sb;
	char why[256] = "";
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(b.calls, 0);
	CHECK_EQ(pic_intr_level(b.pic), 1);
	sync_int(&b);
	uint8_t out_a[64], out_b[64];
	unsigned na = snapshot_script(&a, out_a), nb = snapshot_script(&b, out_b);
	CHECK_EQ(na, nb);
	for (unsigned i = 0; i < na && i < nb; i++)
		CHECK_EQ(out_b[i], out_a[i]);
	/* Not a trivial state: the poll found the slave's IRQ 10 and rotated the
	 * slave (auto-EOI), IR4 stays in service under special mask mode, the
	 * master's acks follow its rotated order (IR0 before the cascade), and
	 * the slave's follow its own (IRQ 12 before 10, 13 before 9). */
	CHECK_EQ(out_a[0], PIC_POLL_I | 2);
	CHECK_EQ(out_a[1], 0x10);
	CHECK_EQ(out_a[2], 0x12);
	CHECK_EQ(out_a[9], 0x20);
	CHECK_EQ(out_a[13], 0x2c);
	CHECK_EQ(out_a[17], 0x2a);
	CHECK_EQ(out_a[25], 0x2d);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

/* Records whose fields break an invariant are refused with the pair left in
 * its reset state; random records either fail to load or give a pair that
 * survives any guest traffic (the ASan build checks "survives"). */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	init_pc(&a, ICW4_UPM | ICW4_AEOI, ICW4_UPM);
	pic_elcr_ops.write(a.pic, 0, 0x20, 1);
	out_m(&a, 1, 0x40);
	irq(&a, 5, 1);
	pulse(&a, 14);
	out_m(&a, 0, OCW2_SET_PRIORITY | 6);
	struct statebuf sb;
	char why[256];
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	struct rec_field fs[64];
	unsigned nf = rec_fields(&sb, pic_device(a.pic), fs, ARRAY_SIZE(fs));
	CHECK_EQ(nf, 37);

	static const struct {
		const char *field;
		uint8_t value;
		const char *why;
	} bad[] = {
		{ "master.init_step", 1, "pic: master initialisation step out of range" },
		{ "slave.init_step", 5, "pic: slave initialisation step out of range" },
		{ "slave.prio_base", 8, "pic: slave priority base out of range" },
		{ "master.vector_base", 0x21, "pic: master vector base out of range" },
		{ "master.elcr", 0x24, "pic: master ELCR out of range" },
		{ "slave.elcr", 0x01, "pic: slave ELCR out of range" },
		{ "slave.special_mask", 2, "device pic: field slave.special_mask is not a boolean" },
		{ "intr_level", 0xff, "device pic: field intr_level is not a boolean" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct statebuf copy;
		sb_init(&copy);
		sb_put(&copy, sb.data, sb.len);
		uint8_t *at = rec_find(&copy, fs, nf, bad[i].field);
		if (at)
			*at = bad[i].value;
		struct state_reader sr;
		sr_init(&sr, copy.data, copy.len);
		CHECK_EQ(device_load(pic_device(b.pic), &sr, why, sizeof(why)), -EINVAL);
		CHECK_STR(why, bad[i].why);
		sync_int(&b);
		/* The power-up state. */
		CHECK_EQ(in_m(&b, 1), 0xff);
		CHECK_EQ(in_s(&b, 1), 0xff);
		CHECK_EQ(pic_elcr_ops.read(b.pic, 0, 1), 0);
		CHECK_EQ(isr_m(&b), 0);
		CHECK_EQ(b.level, 0);
		CHECK_EQ(pic_read_irq(b.pic), 7);
		sb_free(&copy);
	}

	/* Random records: every field random, or a few bytes changed. */
	uint32_t seed = 0x5eed;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf copy;
		sb_init(&copy);
		sb_put(&copy, sb.data, sb.len);
		if (round % 4 < 2) {
			for (unsigned i = 0; i < nf; i++)
				for (uint32_t k = 0; k < fs[i].size; k++)
					copy.data[fs[i].at + k] = (uint8_t)(lcg_next(&seed) >> 3) &
								  (round % 4 == 1 && fs[i].is_bool ? 1 : 0xff);
		} else {
			for (unsigned c = 1 + lcg_next(&seed) % 3; c > 0; c--) {
				const struct rec_field *f = &fs[lcg_next(&seed) % nf];
				uint32_t x = lcg_next(&seed);
				copy.data[f->at] = f->is_bool && (x & 7) ? (x >> 4) & 1 : (uint8_t)(x >> 8);
			}
		}
		struct state_reader sr;
		sr_init(&sr, copy.data, copy.len);
		int rc = device_load(pic_device(b.pic), &sr, why, sizeof(why));
		sync_int(&b);
		sb_free(&copy);
		if (rc < 0) {
			CHECK_EQ(rc, -EINVAL);
			CHECK_EQ(in_m(&b, 1), 0xff);
			continue;
		}
		loaded++;
		const struct bus_ops *ops[3] = { &pic_master_ops, &pic_slave_ops, &pic_elcr_ops };
		for (unsigned i = 0; i < 300; i++) {
			uint32_t x = lcg_next(&seed);
			unsigned d = (x >> 8) % 3, off = (x >> 10) & 1;
			switch ((x >> 12) % 5) {
			case 0:
				ops[d]->write(b.pic, off, (uint8_t)x, 1);
				break;
			case 1:
				(void)ops[d]->read(b.pic, off, 1);
				break;
			case 2:
				irq(&b, x & 15, (x >> 16) & 1);
				break;
			default:
				CHECK(pic_read_irq(b.pic) <= 0xff);
				break;
			}
		}
		check_sane(&b);
		check_recovers(&b);
	}
	CHECK(loaded >= 50);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

CHECK_MAIN(TEST_CASE(test_power_up), TEST_CASE(test_icw_sequence), TEST_CASE(test_edge_and_level),
	   TEST_CASE(test_elcr_fixed_bits), TEST_CASE(test_ltim),
	   TEST_CASE(test_priority_and_nesting), TEST_CASE(test_ocw2_commands),
	   TEST_CASE(test_auto_eoi), TEST_CASE(test_cascade), TEST_CASE(test_spurious),
	   TEST_CASE(test_ocw3_reads_and_poll), TEST_CASE(test_special_mask_mode),
	   TEST_CASE(test_special_fully_nested), TEST_CASE(test_slave_auto_eoi),
	   TEST_CASE(test_board_inputs_and_reset), TEST_CASE(test_garbage),
	   TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
