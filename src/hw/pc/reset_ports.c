/* SPDX-License-Identifier: MIT */
/*
 * System Control Port A (0x92, IBM PS/2 Technical Reference) and the PIIX3
 * Reset Control register (0xcf9, Intel 82371FB/SB datasheet). What a write
 * with RCPU set does is the board's: here hard (SRST) and soft resets both
 * call the one reset callback, and RCPU acts on every write that has it set
 * (as QEMU's PIIX does) rather than only on a 0 → 1 transition.
 *
 * Not modelled: the power-on password lock (port 0x92 bit 3) and the disk
 * activity light (bits 6, 7) are stored and read back without effect; A20
 * is never masked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "hw/device.h"
#include "hw/pc/reset_ports.h"

#define RESET_PORT92_DEFAULT RESET_PORT92_A20

/* What the guest sees and a snapshot keeps (reset_ports_fields). */
struct reset_ports_state {
	uint8_t port92; /* A20 and the stored bits; bit 0 for its 0 -> 1 edge */
	uint8_t cf9;
};

struct reset_ports {
	struct device dev;
	void (*reset)(void *opaque);
	void *opaque;
	struct reset_ports_state s;
};

static void reset_request(struct reset_ports *rp)
{
	if (rp->reset)
		rp->reset(rp->opaque);
}

static uint64_t reset_port92_read(void *opaque, uint64_t offset, unsigned size)
{
	struct reset_ports *rp = opaque;
	(void)size;
	return offset == 0 ? rp->s.port92 : 0xff;
}

static void reset_port92_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct reset_ports *rp = opaque;
	(void)size;
	if (offset != 0)
		return;
	uint8_t old = rp->s.port92;
	rp->s.port92 = (uint8_t)value;
	/* Last: the callback may reset this device. */
	if ((value & RESET_PORT92_FAST_RESET) && !(old & RESET_PORT92_FAST_RESET))
		reset_request(rp);
}

static uint64_t reset_cf9_read(void *opaque, uint64_t offset, unsigned size)
{
	struct reset_ports *rp = opaque;
	(void)size;
	return offset == 0 ? rp->s.cf9 : 0xff;
}

static void reset_cf9_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct reset_ports *rp = opaque;
	(void)size;
	if (offset != 0)
		return;
	/* Bits 0 and 4..7 are reserved and read 0. */
	rp->s.cf9 = (uint8_t)value & RESET_CF9_MASK;
	if (value & RESET_CF9_RCPU)
		reset_request(rp);
}

const struct bus_ops reset_port92_bus_ops = {
	.read = reset_port92_read,
	.write = reset_port92_write,
	.min_size = 1,
	.max_size = 1,
};

const struct bus_ops reset_cf9_bus_ops = {
	.read = reset_cf9_read,
	.write = reset_cf9_write,
	.min_size = 1,
	.max_size = 1,
};

bool reset_a20_enabled(const struct reset_ports *rp)
{
	return rp->s.port92 & RESET_PORT92_A20;
}

void reset_ports_reset(struct reset_ports *rp)
{
	rp->s.port92 &= ~RESET_PORT92_FAST_RESET;
	rp->s.cf9 = 0;
}

static const struct device_field reset_ports_fields[] = {
	DEVICE_FIELD(struct reset_ports_state, port92),
	DEVICE_FIELD(struct reset_ports_state, cf9),
};

static int reset_ports_post_load(struct device *dev, char *why, size_t why_len)
{
	struct reset_ports *rp = container_of(dev, struct reset_ports, dev);
	/* Every value of port 0x92 is one the guest can write. */
	if (rp->s.cf9 & ~RESET_CF9_MASK) {
		snprintf(why, why_len, "%s: reserved bits of port 0xcf9 set", dev->name);
		return -EINVAL;
	}
	return 0;
}

static void reset_ports_device_reset(struct device *dev)
{
	reset_ports_reset(container_of(dev, struct reset_ports, dev));
}

static void reset_ports_device_destroy(struct device *dev)
{
	reset_ports_destroy(container_of(dev, struct reset_ports, dev));
}

static const struct device_class reset_ports_class = {
	.type = "reset-ports",
	.version = 1,
	.fields = reset_ports_fields,
	.nfields = ARRAY_SIZE(reset_ports_fields),
	.reset = reset_ports_device_reset,
	.post_load = reset_ports_post_load,
	.destroy = reset_ports_device_destroy,
};

struct device *reset_ports_device(struct reset_ports *rp)
{
	return &rp->dev;
}

struct reset_ports *reset_ports_create(void (*reset)(void *opaque), void *opaque)
{
	struct reset_ports *rp = calloc(1, sizeof(*rp));
	if (!rp)
		return NULL;
	rp->reset = reset;
	rp->opaque = opaque;
	device_init(&rp->dev, &reset_ports_class, "reset-ports", &rp->s);
	rp->s.port92 = RESET_PORT92_DEFAULT;
	return rp;
}

void reset_ports_destroy(struct reset_ports *rp)
{
	free(rp);
}
