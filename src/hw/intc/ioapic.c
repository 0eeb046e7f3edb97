/* SPDX-License-Identifier: MIT */
/*
 * I/O APIC, following the Intel 82093AA datasheet (May 1996): the indirect
 * register window (§3.1: IOREGSEL, IOWIN), the ID, version and arbitration
 * registers (§3.2.1-3.2.3), the redirection table (§3.2.4) with edge and
 * level triggering, Remote IRR, masking and input polarity; plus the EOI
 * register at +0x40 of version 0x20 IOAPICs (Intel ICH/PCH datasheets).
 *
 * Level pins deliver while asserted and unmasked with Remote IRR clear, and
 * again after the EOI if still asserted. A level pin that is unmasked (or
 * turned level) while asserted delivers at once — the datasheet says masked
 * level asserts are ignored, but Linux relies on KVM and QEMU delivering them.
 * SMI, NMI, INIT and ExtINT entries are edge whatever the trigger bit says
 * (datasheet: "treated as edge triggered").
 *
 * Not modelled: delivery status (delivery is immediate, so it reads idle),
 * the APIC serial bus and arbitration (the arbitration register mirrors the
 * ID, as in KVM), the IRQ pin assertion register, extended destination IDs
 * (bits 55:48 read 0), and EOI-storm throttling.
 *
 * The IOAPIC is a device object ("ioapic", hw/device.h); its snapshot state
 * is struct ioapic_state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/intc/ioapic.h"

#define IOAPIC_REDIR_LOW_WRITABLE                                                    \
	(IOAPIC_REDIR_VECTOR | IOAPIC_REDIR_DM_MASK | IOAPIC_REDIR_DEST_LOGICAL |     \
	 IOAPIC_REDIR_INTPOL_LOW | IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_MASKED)
#define IOAPIC_REDIR_HIGH_WRITABLE 0xff000000u

/* What the guest sees and a snapshot keeps (ioapic_fields). Remote IRR is
 * bit 14 of each entry; there is no IRR of its own, since a message leaves
 * as soon as its pin asks (a masked edge is lost, a masked level waits on
 * the wire). */
struct ioapic_state {
	uint32_t ioregsel; /* bits 7:0 */
	uint32_t id; /* the ID register: bits 27:24 */
	uint64_t redtbl[IOAPIC_NUM_PINS];
	uint32_t wire; /* input pin levels, bit per pin */
};

struct ioapic {
	struct device dev;
	ioapic_deliver_fn *deliver;
	void *opaque;
	uint8_t reset_id;
	struct ioapic_state s;
};

static unsigned entry_dm(uint64_t e)
{
	return (unsigned)((e & IOAPIC_REDIR_DM_MASK) >> IOAPIC_REDIR_DM_SHIFT);
}

/* Level-triggered in effect: only fixed and lowest-priority messages can be. */
static bool entry_level(uint64_t e)
{
	unsigned dm = entry_dm(e);
	return (e & IOAPIC_REDIR_LEVEL) && (dm == IOAPIC_DM_FIXED || dm == IOAPIC_DM_LOWEST);
}

static bool pin_asserted(const struct ioapic *io, unsigned pin)
{
	bool wire = io->s.wire & (1u << pin);
	return wire ^ !!(io->s.redtbl[pin] & IOAPIC_REDIR_INTPOL_LOW);
}

static void ioapic_send(struct ioapic *io, unsigned pin)
{
	uint64_t *e = &io->s.redtbl[pin];
	unsigned dm = entry_dm(*e);
	bool level = entry_level(*e);
	if (dm == 3 || dm == 6) {
		log_guest("ioapic: pin %u has reserved delivery mode %u", pin, dm);
		return;
	}
	/* Remote IRR is set before delivery so a synchronous EOI finds it. */
	if (level)
		*e |= IOAPIC_REDIR_REMOTE_IRR;
	if (io->deliver)
		io->deliver(io->opaque, (uint32_t)(*e >> IOAPIC_REDIR_DEST_SHIFT),
			    !!(*e & IOAPIC_REDIR_DEST_LOGICAL), dm, (uint8_t)(*e & IOAPIC_REDIR_VECTOR),
			    level);
}

/* A level pin delivers while asserted, unmasked, and not waiting for its EOI. */
static void ioapic_service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->s.redtbl[pin];
	if (entry_level(e) && !(e & (IOAPIC_REDIR_MASKED | IOAPIC_REDIR_REMOTE_IRR)) &&
	    pin_asserted(io, pin))
		ioapic_send(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	if (pin >= IOAPIC_NUM_PINS) {
		log_warn("ioapic: input pin %u does not exist", pin);
		return;
	}
	bool was = pin_asserted(io, pin);
	if (level)
		io->s.wire |= 1u << pin;
	else
		io->s.wire &= ~(1u << pin);
	bool now = pin_asserted(io, pin);
	uint64_t e = io->s.redtbl[pin];
	if (entry_level(e)) {
		ioapic_service_level(io, pin);
		return;
	}
	/* Edge: the rising edge of the asserted level; masked edges are lost. */
	if (now && !was && !(e & IOAPIC_REDIR_MASKED))
		ioapic_send(io, pin);
}

void ioapic_irq_line_set(void *opaque, unsigned line, int level)
{
	ioapic_set_irq(opaque, line, level);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint64_t *e = &io->s.redtbl[pin];
		if ((*e & IOAPIC_REDIR_VECTOR) != vector || !(*e & IOAPIC_REDIR_REMOTE_IRR))
			continue;
		*e &= ~(uint64_t)IOAPIC_REDIR_REMOTE_IRR;
		ioapic_service_level(io, pin);
	}
}

/* ---- registers ---- */

static uint32_t ioapic_read_window(const struct ioapic *io)
{
	unsigned idx = io->s.ioregsel & 0xff;
	switch (idx) {
	case IOAPIC_REG_ID:
		return io->s.id;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION;
	case IOAPIC_REG_ARB:
		return io->s.id;
	default:
		break;
	}
	if (idx >= IOAPIC_REG_REDTBL && idx < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
		uint64_t e = io->s.redtbl[(idx - IOAPIC_REG_REDTBL) / 2];
		return (idx & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	log_guest("ioapic: read of undefined register 0x%02x", idx);
	return 0;
}

static void ioapic_write_window(struct ioapic *io, uint32_t value)
{
	unsigned idx = io->s.ioregsel & 0xff;
	if (idx == IOAPIC_REG_ID) {
		io->s.id = value & IOAPIC_ID_MASK;
		return;
	}
	if (idx < IOAPIC_REG_REDTBL || idx >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
		log_guest("ioapic: write 0x%x to %s register 0x%02x ignored", value,
			  idx < IOAPIC_REG_REDTBL ? "read-only" : "undefined", idx);
		return;
	}
	unsigned pin = (idx - IOAPIC_REG_REDTBL) / 2;
	uint64_t *e = &io->s.redtbl[pin];
	if (idx & 1) {
		*e = (*e & 0xffffffffULL) | ((uint64_t)(value & IOAPIC_REDIR_HIGH_WRITABLE) << 32);
		return;
	}
	uint64_t ro = *e & IOAPIC_REDIR_REMOTE_IRR;
	*e = (*e & ~0xffffffffULL) | (value & IOAPIC_REDIR_LOW_WRITABLE) | ro;
	/* Remote IRR is meaningless for edge entries (KVM clears it too, so a
	 * guest can recover a stuck level line by toggling the trigger mode). */
	if (!entry_level(*e))
		*e &= ~(uint64_t)IOAPIC_REDIR_REMOTE_IRR;
	ioapic_service_level(io, pin);
}

static uint64_t ioapic_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *io = opaque;
	if (size > 4) {
		/* The bus splits wider accesses (max_size 4); keep a defined answer anyway. */
		return 0;
	}
	switch (offset) {
	case IOAPIC_IOREGSEL:
		return io->s.ioregsel;
	case IOAPIC_IOWIN:
		return ioapic_read_window(io);
	case IOAPIC_EOIR:
		return 0;
	default:
		log_guest("ioapic: %u-byte read at offset 0x%llx", size, (unsigned long long)offset);
		return 0;
	}
}

static void ioapic_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ioapic *io = opaque;
	uint32_t v = (uint32_t)value;
	if (size > 4)
		return;
	switch (offset) {
	case IOAPIC_IOREGSEL:
		io->s.ioregsel = v & 0xff;
		break;
	case IOAPIC_IOWIN:
		if (size != 4) {
			/* A partial write would zero the rest of a redirection dword. */
			log_guest("ioapic: %u-byte write to IOWIN ignored", size);
			break;
		}
		ioapic_write_window(io, v);
		break;
	case IOAPIC_EOIR:
		ioapic_eoi(io, (uint8_t)v);
		break;
	default:
		log_guest("ioapic: %u-byte write 0x%x at offset 0x%llx ignored", size, v,
			  (unsigned long long)offset);
		break;
	}
}

const struct bus_ops ioapic_bus_ops = {
	.read = ioapic_read,
	.write = ioapic_write,
	.min_size = 1,
	.max_size = 4,
};

/* ---- life cycle ---- */

void ioapic_reset(struct ioapic *io)
{
	io->s.ioregsel = 0;
	io->s.id = (uint32_t)(io->reset_id & 0xf) << 24;
	for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++)
		io->s.redtbl[i] = IOAPIC_REDIR_MASKED;
}

static const struct device_field ioapic_fields[] = {
	DEVICE_FIELD(struct ioapic_state, ioregsel),
	DEVICE_FIELD(struct ioapic_state, id),
	DEVICE_FIELD(struct ioapic_state, redtbl),
	DEVICE_FIELD(struct ioapic_state, wire),
};

static int ioapic_post_load(struct device *dev, char *why, size_t why_len)
{
	struct ioapic *io = container_of(dev, struct ioapic, dev);
	const struct ioapic_state *s = &io->s;
	const uint64_t entry_bits = ((uint64_t)IOAPIC_REDIR_HIGH_WRITABLE << 32) |
				    IOAPIC_REDIR_LOW_WRITABLE | IOAPIC_REDIR_REMOTE_IRR;
	if (s->ioregsel > 0xff) {
		snprintf(why, why_len, "%s: IOREGSEL 0x%x out of range", dev->name, s->ioregsel);
		return -EINVAL;
	}
	if (s->id & ~IOAPIC_ID_MASK) {
		snprintf(why, why_len, "%s: ID register 0x%x has reserved bits", dev->name, s->id);
		return -EINVAL;
	}
	if (s->wire >> IOAPIC_NUM_PINS) {
		snprintf(why, why_len, "%s: levels on pins that do not exist", dev->name);
		return -EINVAL;
	}
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint64_t e = s->redtbl[pin];
		/* Remote IRR only ever stands on an entry that is level in effect
		 * (ioapic_send, ioapic_write_window). */
		if ((e & ~entry_bits) || ((e & IOAPIC_REDIR_REMOTE_IRR) && !entry_level(e))) {
			snprintf(why, why_len, "%s: redirection entry %u is inconsistent", dev->name, pin);
			return -EINVAL;
		}
	}
	/* No delivery here: a level pin that waits for its EOI still waits, and
	 * one that was not sent (masked) is sent when the guest unmasks it. */
	return 0;
}

static void ioapic_device_reset(struct device *dev)
{
	ioapic_reset(container_of(dev, struct ioapic, dev));
}

static void ioapic_device_destroy(struct device *dev)
{
	ioapic_destroy(container_of(dev, struct ioapic, dev));
}

static const struct device_class ioapic_class = {
	.type = "ioapic",
	.version = 1,
	.fields = ioapic_fields,
	.nfields = ARRAY_SIZE(ioapic_fields),
	.reset = ioapic_device_reset,
	.post_load = ioapic_post_load,
	.destroy = ioapic_device_destroy,
};

struct device *ioapic_device(struct ioapic *io)
{
	return &io->dev;
}

struct ioapic *ioapic_create(const struct ioapic_config *cfg)
{
	struct ioapic *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->deliver = cfg->deliver;
	io->opaque = cfg->opaque;
	io->reset_id = cfg->id;
	device_init(&io->dev, &ioapic_class, "ioapic", &io->s);
	ioapic_reset(io);
	return io;
}

void ioapic_destroy(struct ioapic *io)
{
	free(io);
}
