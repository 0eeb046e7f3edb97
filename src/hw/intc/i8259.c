/* SPDX-License-Identifier: MIT */
/*
 * 8259A programmable interrupt controller pair, following the Intel 8259A
 * datasheet (order 231468): the initialisation sequence ICW1..ICW4, OCW1
 * (IMR), OCW2 (non-specific / specific EOI, rotation on EOI, rotation in
 * auto-EOI, set priority), OCW3 (IRR/ISR read, poll, special mask mode),
 * auto-EOI, special fully nested mode on the master, priority resolution with
 * rotation, and the spurious IR7 of an acknowledge that finds no request.
 * Trigger mode per line comes from the PIIX ELCR (82371AB §4.1.12), with the
 * bits of IRQ 0, 1, 2, 8 and 13 fixed to edge; ICW1_LTIM is also honoured
 * (level for every input of that chip), as on a discrete 8259A.
 *
 * Not modelled: MCS-80/85 mode (ICW4 uPM = 0 or no ICW4 is accepted and
 * treated as 8086 mode, with a log line: the CPU would fetch a CALL opcode),
 * buffered mode (BUF, M/S are stored nowhere: they only steer SP/EN), the
 * requirement that an edge-triggered input stay high until INTA (IRR keeps a
 * latched edge even when the line drops, so a device may pulse its line), and
 * bus contention when a slave in single mode answers INTA.
 *
 * The pair is one device object ("pic", hw/device.h): both chips' registers,
 * input levels and the INT level last driven are its snapshot state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/intc/i8259.h"

/* One chip's guest-visible state; the pair's is struct pic_state (pic_fields). */
struct pic_chip {
	uint8_t irr;
	uint8_t isr;
	uint8_t imr;
	uint8_t lines; /* input levels, for edge detection and level tracking */
	uint8_t elcr;
	uint8_t prio_base; /* the IR with the highest priority (IR0 until rotated) */
	uint8_t vector_base; /* ICW2, T7..T3 */
	uint8_t icw3; /* master: IRs with a slave; slave: its ID in bits 2..0 */
	uint8_t init_step; /* 0: ready; 2, 3, 4: ICW2..ICW4 expected next */
	bool icw4_needed;
	bool single;
	bool ltim;
	bool auto_eoi;
	bool rotate_aeoi;
	bool sfnm;
	bool special_mask;
	bool poll;
	bool read_isr;
};

/* What a snapshot keeps (pic_fields). */
struct pic_state {
	struct pic_chip chip[2]; /* [0] master, [1] slave */
	bool intr_level; /* the master's INT as last driven through intr_out */
};

struct i8259 {
	struct device dev;
	pic_intr_fn *intr_out;
	void *opaque;
	struct pic_state s;
};

/* Writable ELCR bits of the master and the slave. */
static const uint8_t pic_elcr_mask[2] = { PIC_ELCR_MASTER_MASK, PIC_ELCR_SLAVE_MASK };

static uint8_t chip_level_mask(const struct pic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/* 0 for the highest priority, 7 for the lowest. */
static unsigned chip_rank(const struct pic_chip *c, unsigned ir)
{
	return (ir - c->prio_base) & 7;
}

/* The IR of highest priority among the bits of set (nonzero). */
static unsigned chip_highest(const struct pic_chip *c, uint8_t set)
{
	for (unsigned r = 0; r < 8; r++) {
		unsigned ir = (c->prio_base + r) & 7;
		if (set & (1u << ir))
			return ir;
	}
	return 0;
}

static bool chip_cascade_on(const struct pic_chip *c, bool master, unsigned ir)
{
	return master && !c->single && (c->icw3 & (1u << ir));
}

/* The IR this chip would present on INTA now, or -1 (datasheet "Priority Resolver"). */
static int chip_pending(const struct pic_chip *c, bool master)
{
	uint8_t req = c->irr & ~c->imr;
	if (!req)
		return -1;
	unsigned ir = chip_highest(c, req);
	uint8_t serv = c->isr;
	/* Special mask mode: a masked level in service inhibits nothing. */
	if (c->special_mask)
		serv &= ~c->imr;
	if (serv) {
		unsigned cur = chip_highest(c, serv);
		unsigned r = chip_rank(c, ir), rc = chip_rank(c, cur);
		/* SFNM: a cascade input in service still lets its own slave's
		 * higher-priority requests through, so the master must see it. */
		bool sfnm_again = c->sfnm && ir == cur && chip_cascade_on(c, master, ir);
		if (r > rc || (r == rc && !sfnm_again))
			return -1;
	}
	return (int)ir;
}

static void chip_set_line(struct pic_chip *c, unsigned ir, bool level)
{
	uint8_t bit = (uint8_t)(1u << ir);
	bool level_trig = chip_level_mask(c) & bit;
	if (level) {
		if (level_trig || !(c->lines & bit))
			c->irr |= bit;
		c->lines |= bit;
	} else {
		c->lines &= (uint8_t)~bit;
		if (level_trig)
			c->irr &= (uint8_t)~bit;
	}
}

/* Level-triggered requests follow their lines again (after an ELCR or LTIM change). */
static void chip_resync_levels(struct pic_chip *c)
{
	uint8_t lm = chip_level_mask(c);
	c->irr = (uint8_t)((c->irr & ~lm) | (c->lines & lm));
}

/* Recomputes the slave's INT (the master's IR2 wire) and the master's INT. */
static void pic_update(struct i8259 *pic)
{
	struct pic_chip *m = &pic->s.chip[0], *s = &pic->s.chip[1];
	chip_set_line(m, PIC_CASCADE_IRQ, chip_pending(s, false) >= 0);
	bool level = chip_pending(m, true) >= 0;
	if (level != pic->s.intr_level) {
		pic->s.intr_level = level;
		if (pic->intr_out)
			pic->intr_out(pic->opaque, level);
	}
}

/* Second INTA pulse (or poll read): the request goes in service. */
static void chip_intack(struct pic_chip *c, unsigned ir)
{
	uint8_t bit = (uint8_t)(1u << ir);
	if (c->auto_eoi) {
		if (c->rotate_aeoi)
			c->prio_base = (uint8_t)((ir + 1) & 7);
	} else {
		c->isr |= bit;
	}
	/* A level-triggered request stays while its line is high. */
	if (!(chip_level_mask(c) & bit))
		c->irr &= (uint8_t)~bit;
}

int pic_read_irq(struct i8259 *pic)
{
	struct pic_chip *m = &pic->s.chip[0], *s = &pic->s.chip[1];
	int ir = chip_pending(m, true);
	int vector;
	if (ir < 0) {
		/* Nothing left to acknowledge: the master's default IR7. */
		vector = m->vector_base + 7;
	} else if (chip_cascade_on(m, true, (unsigned)ir)) {
		if (!s->single && (s->icw3 & 7) != (unsigned)ir) {
			vector = 0xff; /* no slave answers this cascade address */
		} else {
			int sir = chip_pending(s, false);
			if (sir >= 0) {
				chip_intack(s, (unsigned)sir);
				vector = s->vector_base + sir;
			} else {
				vector = s->vector_base + 7;
			}
		}
		chip_intack(m, (unsigned)ir);
		/* The slave's INT falls during the INTA sequence, so a request it
		 * still holds (auto-EOI, special mask) reaches IR2 as a new edge. */
		m->lines &= (uint8_t)~(1u << ir);
	} else {
		chip_intack(m, (unsigned)ir);
		vector = m->vector_base + ir;
	}
	pic_update(pic);
	return vector & 0xff;
}

bool pic_intr_level(const struct i8259 *pic)
{
	return pic->s.intr_level;
}

void pic_set_irq(struct i8259 *pic, unsigned irq, int level)
{
	if (irq >= PIC_NUM_IRQS || irq == PIC_CASCADE_IRQ)
		return;
	chip_set_line(&pic->s.chip[irq >> 3], irq & 7, level != 0);
	pic_update(pic);
}

void pic_irq_set(void *opaque, unsigned line, int level)
{
	pic_set_irq(opaque, line, level);
}

static void chip_icw1(struct pic_chip *c, uint8_t v)
{
	c->icw4_needed = v & ICW1_IC4;
	c->single = v & ICW1_SNGL;
	c->ltim = v & ICW1_LTIM;
	/* "The edge sense circuit is reset": an edge input must go low, then
	 * high again; level inputs still request while high. */
	c->irr = 0;
	chip_resync_levels(c);
	c->isr = 0;
	c->imr = 0;
	c->prio_base = 0; /* IR7 lowest */
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	/* Without IC4 every ICW4 function is zero. */
	c->auto_eoi = false;
	c->sfnm = false;
	c->rotate_aeoi = false;
	c->init_step = 2;
}

static void chip_icw_next(struct pic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = v;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	default:
		c->auto_eoi = v & ICW4_AEOI;
		c->sfnm = v & ICW4_SFNM;
		if (!(v & ICW4_UPM))
			log_guest("pic: ICW4 selects MCS-80/85 mode; treated as 8086 mode");
		c->init_step = 0;
		return;
	}
	if (c->init_step == 0 && !c->icw4_needed)
		log_guest("pic: initialised without ICW4 (MCS-80/85 mode); treated as 8086 mode");
}

static void chip_eoi(struct pic_chip *c, unsigned ir, bool rotate)
{
	c->isr &= (uint8_t)~(1u << ir);
	if (rotate)
		c->prio_base = (uint8_t)((ir + 1) & 7);
}

static void chip_ocw2(struct pic_chip *c, uint8_t v)
{
	unsigned level = v & OCW2_LEVEL_MASK;
	switch (v & OCW2_CMD_MASK) {
	case OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_aeoi = false;
		break;
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_aeoi = true;
		break;
	case OCW2_NONSPECIFIC_EOI:
	case OCW2_ROTATE_NONSPECIFIC_EOI: {
		/* In special mask mode a masked ISR bit is not cleared (datasheet). */
		uint8_t serv = c->special_mask ? (uint8_t)(c->isr & ~c->imr) : c->isr;
		if (serv)
			chip_eoi(c, chip_highest(c, serv), v & OCW2_R);
		break;
	}
	case OCW2_SPECIFIC_EOI:
	case OCW2_ROTATE_SPECIFIC_EOI:
		chip_eoi(c, level, v & OCW2_R);
		break;
	case OCW2_SET_PRIORITY:
		c->prio_base = (uint8_t)((level + 1) & 7); /* L becomes the lowest */
		break;
	default: /* OCW2_NOP */
		break;
	}
}

static void chip_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & 0x80)
		log_guest("pic: OCW3 with D7 set (0x%02x); treated as OCW3", v);
	if (v & OCW3_P)
		c->poll = true;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
	if (v & OCW3_ESMM)
		c->special_mask = v & OCW3_SMM;
}

static uint8_t chip_poll_read(struct i8259 *pic, struct pic_chip *c)
{
	c->poll = false;
	int ir = chip_pending(c, c == &pic->s.chip[0]);
	if (ir < 0)
		return 0;
	chip_intack(c, (unsigned)ir);
	pic_update(pic);
	return (uint8_t)(PIC_POLL_I | ir);
}

static uint64_t pic_chip_read(struct i8259 *pic, struct pic_chip *c, uint64_t offset)
{
	if (c->poll)
		return chip_poll_read(pic, c);
	if (offset == 0)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

static void pic_chip_write(struct i8259 *pic, struct pic_chip *c, uint64_t offset, uint8_t v)
{
	if (offset == 0) {
		if (v & ICW1_INIT)
			chip_icw1(c, v);
		else if (v & OCW3_SEL)
			chip_ocw3(c, v);
		else
			chip_ocw2(c, v);
	} else if (c->init_step) {
		chip_icw_next(c, v);
	} else {
		c->imr = v;
	}
	pic_update(pic);
}

static uint64_t pic_master_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8259 *pic = opaque;
	(void)size;
	return pic_chip_read(pic, &pic->s.chip[0], offset & 1);
}

static void pic_master_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8259 *pic = opaque;
	(void)size;
	pic_chip_write(pic, &pic->s.chip[0], offset & 1, (uint8_t)value);
}

static uint64_t pic_slave_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8259 *pic = opaque;
	(void)size;
	return pic_chip_read(pic, &pic->s.chip[1], offset & 1);
}

static void pic_slave_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8259 *pic = opaque;
	(void)size;
	pic_chip_write(pic, &pic->s.chip[1], offset & 1, (uint8_t)value);
}

static uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8259 *pic = opaque;
	(void)size;
	return pic->s.chip[offset & 1].elcr;
}

static void pic_elcr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8259 *pic = opaque;
	struct pic_chip *c = &pic->s.chip[offset & 1];
	uint8_t mask = pic_elcr_mask[offset & 1];
	(void)size;
	uint8_t v = (uint8_t)value;
	if (v & ~mask)
		log_guest("pic: ELCR%u write 0x%02x sets read-only bits", (unsigned)(offset & 1), v);
	c->elcr = v & mask;
	chip_resync_levels(c);
	pic_update(pic);
}

const struct bus_ops pic_master_ops = {
	.read = pic_master_read,
	.write = pic_master_write,
	.min_size = 1,
	.max_size = 1,
};

const struct bus_ops pic_slave_ops = {
	.read = pic_slave_read,
	.write = pic_slave_write,
	.min_size = 1,
	.max_size = 1,
};

const struct bus_ops pic_elcr_ops = {
	.read = pic_elcr_read,
	.write = pic_elcr_write,
	.min_size = 1,
	.max_size = 1,
};

static void chip_reset(struct pic_chip *c, bool master)
{
	uint8_t lines = c->lines;
	memset(c, 0, sizeof(*c));
	c->lines = lines;
	c->imr = 0xff;
	c->icw3 = master ? 1u << PIC_CASCADE_IRQ : PIC_CASCADE_IRQ;
}

void pic_reset(struct i8259 *pic)
{
	/* Read as a byte: a refused snapshot load (device_load) resets over
	 * whatever it had copied in, a non-boolean byte included. */
	uint8_t was_up;
	memcpy(&was_up, &pic->s.intr_level, 1);
	pic->s.intr_level = was_up != 0;
	chip_reset(&pic->s.chip[0], true);
	chip_reset(&pic->s.chip[1], false);
	pic_update(pic);
}

/* ---- device object ---- */

/* A member of chip i, named "master.irr", "slave.irr", ... */
#define PIC_CHIP_FIELD(i, prefix, member, is_bool)                         \
	{ prefix "." #member, offsetof(struct pic_state, chip[i].member), \
	  sizeof(((struct pic_state *)0)->chip[i].member), 1, is_bool }
#define PIC_CHIP_FIELDS(i, prefix)                        \
	PIC_CHIP_FIELD(i, prefix, irr, false),            \
	PIC_CHIP_FIELD(i, prefix, isr, false),            \
	PIC_CHIP_FIELD(i, prefix, imr, false),            \
	PIC_CHIP_FIELD(i, prefix, lines, false),          \
	PIC_CHIP_FIELD(i, prefix, elcr, false),           \
	PIC_CHIP_FIELD(i, prefix, prio_base, false),      \
	PIC_CHIP_FIELD(i, prefix, vector_base, false),    \
	PIC_CHIP_FIELD(i, prefix, icw3, false),           \
	PIC_CHIP_FIELD(i, prefix, init_step, false),      \
	PIC_CHIP_FIELD(i, prefix, icw4_needed, true),     \
	PIC_CHIP_FIELD(i, prefix, single, true),          \
	PIC_CHIP_FIELD(i, prefix, ltim, true),            \
	PIC_CHIP_FIELD(i, prefix, auto_eoi, true),        \
	PIC_CHIP_FIELD(i, prefix, rotate_aeoi, true),     \
	PIC_CHIP_FIELD(i, prefix, sfnm, true),            \
	PIC_CHIP_FIELD(i, prefix, special_mask, true),    \
	PIC_CHIP_FIELD(i, prefix, poll, true),            \
	PIC_CHIP_FIELD(i, prefix, read_isr, true)

static const struct device_field pic_fields[] = {
	PIC_CHIP_FIELDS(0, "master"),
	PIC_CHIP_FIELDS(1, "slave"),
	DEVICE_BOOL(struct pic_state, intr_level),
};

static int pic_post_load(struct device *dev, char *why, size_t why_len)
{
	struct i8259 *pic = container_of(dev, struct i8259, dev);
	for (unsigned i = 0; i < 2; i++) {
		const struct pic_chip *c = &pic->s.chip[i];
		const char *chip = i ? "slave" : "master";
		const char *bad = NULL;
		if (c->init_step != 0 && (c->init_step < 2 || c->init_step > 4))
			bad = "initialisation step";
		else if (c->prio_base > 7)
			bad = "priority base";
		else if (c->vector_base & 7)
			bad = "vector base"; /* ICW2 keeps T7..T3 */
		else if (c->elcr & ~pic_elcr_mask[i])
			bad = "ELCR"; /* a fixed-edge bit set */
		if (bad) {
			snprintf(why, why_len, "%s: %s %s out of range", dev->name, chip, bad);
			return -EINVAL;
		}
	}
	/* Nothing to rebuild: the INT level and the cascade wire are saved as
	 * they were last driven; a disagreement with the registers is settled
	 * (through intr_out) by the next update, never here. */
	return 0;
}

static void pic_device_reset(struct device *dev)
{
	pic_reset(container_of(dev, struct i8259, dev));
}

static void pic_device_destroy(struct device *dev)
{
	pic_destroy(container_of(dev, struct i8259, dev));
}

static const struct device_class pic_class = {
	.type = "i8259",
	.version = 1,
	.fields = pic_fields,
	.nfields = ARRAY_SIZE(pic_fields),
	.reset = pic_device_reset,
	.post_load = pic_post_load,
	.destroy = pic_device_destroy,
};

struct device *pic_device(struct i8259 *pic)
{
	return &pic->dev;
}

struct i8259 *pic_create(pic_intr_fn *intr_out, void *opaque)
{
	struct i8259 *pic = calloc(1, sizeof(*pic));
	if (!pic)
		return NULL;
	pic->intr_out = intr_out;
	pic->opaque = opaque;
	device_init(&pic->dev, &pic_class, "pic", &pic->s);
	pic_reset(pic);
	return pic;
}

void pic_destroy(struct i8259 *pic)
{
	free(pic);
}
