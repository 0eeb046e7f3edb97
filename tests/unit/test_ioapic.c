/* SPDX-License-Identifier: MIT */
/*
 * IOAPIC register-level tests (82093AA): reset values and write masks, the
 * IOREGSEL/IOWIN window, edge and level pins, Remote IRR and EOI (broadcast
 * and the +0x40 register) with re-delivery, masking, polarity, delivery
 * modes that are always edge, a sweep of guest garbage, and snapshots (a
 * faithful copy; hostile records refused or harmless).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/statebuf.h"
#include "hw/device.h"
#include "hw/intc/ioapic.h"

struct msg {
	uint32_t dest;
	bool logical;
	unsigned dm;
	uint8_t vector;
	bool level;
};

struct rig {
	struct ioapic *io;
	struct msg msgs[64];
	unsigned n;
	/* Optional: EOI from inside the callback, as a router on a CPU that acks at once. */
	bool eoi_inside;
	unsigned depth;
};

static void fake_deliver(void *opaque, uint32_t dest, bool logical, unsigned dm, uint8_t vector,
			 bool level)
{
	struct rig *r = opaque;
	if (r->n < ARRAY_SIZE(r->msgs))
		r->msgs[r->n] = (struct msg){ dest, logical, dm, vector, level };
	r->n++;
	if (r->eoi_inside && r->depth < 3) {
		r->depth++;
		ioapic_eoi(r->io, vector);
		r->depth--;
	}
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	struct ioapic_config cfg = { .id = 2, .deliver = fake_deliver, .opaque = r };
	r->io = ioapic_create(&cfg);
	if (!r->io)
		abort();
}

static void rig_fini(struct rig *r)
{
	ioapic_destroy(r->io);
}

static uint32_t reg_rd(struct rig *r, unsigned idx)
{
	ioapic_bus_ops.write(r->io, IOAPIC_IOREGSEL, idx, 4);
	return (uint32_t)ioapic_bus_ops.read(r->io, IOAPIC_IOWIN, 4);
}

static void reg_wr(struct rig *r, unsigned idx, uint32_t v)
{
	ioapic_bus_ops.write(r->io, IOAPIC_IOREGSEL, idx, 4);
	ioapic_bus_ops.write(r->io, IOAPIC_IOWIN, v, 4);
}

static void redir(struct rig *r, unsigned pin, uint32_t low, uint8_t dest)
{
	reg_wr(r, IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)dest << 24);
	reg_wr(r, IOAPIC_REG_REDTBL + 2 * pin, low);
}

static uint32_t redir_low(struct rig *r, unsigned pin)
{
	return reg_rd(r, IOAPIC_REG_REDTBL + 2 * pin);
}

static void test_reset_values(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(ioapic_bus_ops.min_size, 1);
	CHECK_EQ(ioapic_bus_ops.max_size, 4);
	CHECK_EQ(ioapic_bus_ops.read(r.io, IOAPIC_IOREGSEL, 4), 0);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ID), 0x02000000);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_VER), 0x00170020);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ARB), 0x02000000);
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		CHECK_EQ(reg_rd(&r, IOAPIC_REG_REDTBL + 2 * pin), IOAPIC_REDIR_MASKED);
		CHECK_EQ(reg_rd(&r, IOAPIC_REG_REDTBL + 2 * pin + 1), 0);
	}
	/* Masked after reset: pins deliver nothing. */
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		ioapic_set_irq(r.io, pin, 1);
	CHECK_EQ(r.n, 0);
	rig_fini(&r);
}

static void test_write_masks(void)
{
	struct rig r;
	rig_init(&r);
	/* IOREGSEL keeps 8 bits. */
	ioapic_bus_ops.write(r.io, IOAPIC_IOREGSEL, 0xffffff01, 4);
	CHECK_EQ(ioapic_bus_ops.read(r.io, IOAPIC_IOREGSEL, 4), 0x01);
	/* ID: bits 27:24; arbitration mirrors it. */
	reg_wr(&r, IOAPIC_REG_ID, 0xffffffff);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ID), 0x0f000000);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ARB), 0x0f000000);
	/* Version and arbitration are read-only. */
	reg_wr(&r, IOAPIC_REG_VER, 0);
	reg_wr(&r, IOAPIC_REG_ARB, 0);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_VER), 0x00170020);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ARB), 0x0f000000);
	/* Redirection entry: delivery status, Remote IRR and bits 55:17 are read-only. */
	reg_wr(&r, IOAPIC_REG_REDTBL + 2 * 5, 0xffffffff);
	CHECK_EQ(redir_low(&r, 5), 0x1afff);
	reg_wr(&r, IOAPIC_REG_REDTBL + 2 * 5 + 1, 0xffffffff);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_REDTBL + 2 * 5 + 1), 0xff000000);
	CHECK_EQ(r.n, 0);
	/* Undefined registers read 0 and ignore writes. */
	CHECK_EQ(reg_rd(&r, 0x03), 0);
	CHECK_EQ(reg_rd(&r, 0x0f), 0);
	CHECK_EQ(reg_rd(&r, 0x40), 0);
	CHECK_EQ(reg_rd(&r, 0xff), 0);
	reg_wr(&r, 0x40, 0xffffffff);
	reg_wr(&r, 0xff, 0xffffffff);
	/* Byte access to IOREGSEL (as some guests do), byte read of IOWIN. */
	ioapic_bus_ops.write(r.io, IOAPIC_IOREGSEL, IOAPIC_REG_VER, 1);
	CHECK_EQ(ioapic_bus_ops.read(r.io, IOAPIC_IOWIN, 4), 0x00170020);
	/* Narrow IOWIN writes are ignored. */
	ioapic_bus_ops.write(r.io, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL, 4);
	ioapic_bus_ops.write(r.io, IOAPIC_IOWIN, 0x31, 1);
	ioapic_bus_ops.write(r.io, IOAPIC_IOWIN, 0x31, 2);
	CHECK_EQ(redir_low(&r, 0), IOAPIC_REDIR_MASKED);
	rig_fini(&r);
}

static void test_edge(void)
{
	struct rig r;
	rig_init(&r);
	redir(&r, 1, 0x31, 3);
	ioapic_set_irq(r.io, 1, 1);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.msgs[0].dest, 3);
	CHECK(!r.msgs[0].logical);
	CHECK_EQ(r.msgs[0].dm, IOAPIC_DM_FIXED);
	CHECK_EQ(r.msgs[0].vector, 0x31);
	CHECK(!r.msgs[0].level);
	/* Staying high or falling: nothing. */
	ioapic_set_irq(r.io, 1, 1);
	ioapic_set_irq(r.io, 1, 0);
	CHECK_EQ(r.n, 1);
	ioapic_irq_line_set(r.io, 1, 1);
	CHECK_EQ(r.n, 2);
	ioapic_set_irq(r.io, 1, 0);
	/* No Remote IRR for edge entries; EOI does nothing. */
	CHECK_EQ(redir_low(&r, 1), 0x31);
	ioapic_eoi(r.io, 0x31);
	CHECK_EQ(r.n, 2);
	/* Masked edges are lost, also across unmasking. */
	redir(&r, 1, IOAPIC_REDIR_MASKED | 0x31, 3);
	ioapic_set_irq(r.io, 1, 1);
	CHECK_EQ(r.n, 2);
	redir(&r, 1, 0x31, 3);
	CHECK_EQ(r.n, 2);
	ioapic_set_irq(r.io, 1, 0);
	/* Logical destination, lowest priority. */
	redir(&r, 2, IOAPIC_REDIR_DEST_LOGICAL | (IOAPIC_DM_LOWEST << 8) | 0x32, 0x0f);
	ioapic_set_irq(r.io, 2, 1);
	CHECK_EQ(r.n, 3);
	CHECK(r.msgs[2].logical);
	CHECK_EQ(r.msgs[2].dm, IOAPIC_DM_LOWEST);
	CHECK_EQ(r.msgs[2].dest, 0x0f);
	/* Active-low edge: the falling wire edge asserts. */
	redir(&r, 3, IOAPIC_REDIR_INTPOL_LOW | 0x33, 0);
	ioapic_set_irq(r.io, 3, 1);
	CHECK_EQ(r.n, 3);
	ioapic_set_irq(r.io, 3, 0);
	CHECK_EQ(r.n, 4);
	CHECK_EQ(r.msgs[3].vector, 0x33);
	rig_fini(&r);
}

static void test_level_remote_irr(void)
{
	struct rig r;
	rig_init(&r);
	redir(&r, 9, IOAPIC_REDIR_LEVEL | 0x49, 1);
	CHECK_EQ(r.n, 0);
	ioapic_set_irq(r.io, 9, 1);
	CHECK_EQ(r.n, 1);
	CHECK(r.msgs[0].level);
	CHECK_EQ(r.msgs[0].vector, 0x49);
	CHECK(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR);
	/* Still asserted, Remote IRR set: nothing more. */
	ioapic_set_irq(r.io, 9, 1);
	CHECK_EQ(r.n, 1);
	/* EOI of another vector: nothing. */
	ioapic_eoi(r.io, 0x48);
	CHECK_EQ(r.n, 1);
	/* EOI while still asserted: delivered again. */
	ioapic_eoi(r.io, 0x49);
	CHECK_EQ(r.n, 2);
	CHECK(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR);
	/* Deasserted, then EOI: Remote IRR clears, no delivery. */
	ioapic_set_irq(r.io, 9, 0);
	ioapic_eoi(r.io, 0x49);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR, 0);
	/* The EOI register at +0x40 does the same. */
	ioapic_set_irq(r.io, 9, 1);
	CHECK_EQ(r.n, 3);
	ioapic_bus_ops.write(r.io, IOAPIC_EOIR, 0x49, 4);
	CHECK_EQ(r.n, 4);
	ioapic_set_irq(r.io, 9, 0);
	ioapic_bus_ops.write(r.io, IOAPIC_EOIR, 0x49, 1);
	CHECK_EQ(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR, 0);
	CHECK_EQ(ioapic_bus_ops.read(r.io, IOAPIC_EOIR, 4), 0);
	/* Remote IRR is read-only: writing it neither sets nor clears it. */
	redir(&r, 9, IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_REMOTE_IRR | 0x49, 1);
	CHECK_EQ(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR, 0);
	ioapic_set_irq(r.io, 9, 1);
	CHECK_EQ(r.n, 5);
	redir(&r, 9, IOAPIC_REDIR_LEVEL | 0x49, 1);
	CHECK(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR);
	CHECK_EQ(r.n, 5);
	/* Turning the entry edge clears Remote IRR. */
	redir(&r, 9, 0x49, 1);
	CHECK_EQ(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR, 0);
	/* Back to level while asserted: delivers at once. */
	redir(&r, 9, IOAPIC_REDIR_LEVEL | 0x49, 1);
	CHECK_EQ(r.n, 6);
	ioapic_set_irq(r.io, 9, 0);
	ioapic_eoi(r.io, 0x49);
	/* Two pins sharing a vector: one EOI serves both. */
	redir(&r, 10, IOAPIC_REDIR_LEVEL | 0x49, 1);
	ioapic_set_irq(r.io, 9, 1);
	ioapic_set_irq(r.io, 10, 1);
	CHECK_EQ(r.n, 8);
	ioapic_set_irq(r.io, 9, 0);
	ioapic_eoi(r.io, 0x49);
	CHECK_EQ(r.n, 9);
	CHECK_EQ(redir_low(&r, 9) & IOAPIC_REDIR_REMOTE_IRR, 0);
	CHECK(redir_low(&r, 10) & IOAPIC_REDIR_REMOTE_IRR);
	rig_fini(&r);
}

static void test_level_masking_and_polarity(void)
{
	struct rig r;
	rig_init(&r);
	/* Masked level pin: nothing while masked, delivers when unmasked while asserted. */
	redir(&r, 11, IOAPIC_REDIR_MASKED | IOAPIC_REDIR_LEVEL | 0x51, 0);
	ioapic_set_irq(r.io, 11, 1);
	CHECK_EQ(r.n, 0);
	CHECK_EQ(redir_low(&r, 11) & IOAPIC_REDIR_REMOTE_IRR, 0);
	redir(&r, 11, IOAPIC_REDIR_LEVEL | 0x51, 0);
	CHECK_EQ(r.n, 1);
	/* Masking after delivery keeps Remote IRR; EOI while masked does not re-deliver. */
	redir(&r, 11, IOAPIC_REDIR_MASKED | IOAPIC_REDIR_LEVEL | 0x51, 0);
	CHECK(redir_low(&r, 11) & IOAPIC_REDIR_REMOTE_IRR);
	ioapic_eoi(r.io, 0x51);
	CHECK_EQ(r.n, 1);
	redir(&r, 11, IOAPIC_REDIR_LEVEL | 0x51, 0);
	CHECK_EQ(r.n, 2);
	ioapic_set_irq(r.io, 11, 0);
	ioapic_eoi(r.io, 0x51);
	/* Masked and deasserted, then unmasked: nothing. */
	redir(&r, 11, IOAPIC_REDIR_MASKED | IOAPIC_REDIR_LEVEL | 0x51, 0);
	redir(&r, 11, IOAPIC_REDIR_LEVEL | 0x51, 0);
	CHECK_EQ(r.n, 2);

	/* Active low (PCI): a low wire is asserted. Programming the entry while
	 * the wire rests high delivers nothing. */
	ioapic_set_irq(r.io, 16, 1);
	redir(&r, 16, IOAPIC_REDIR_INTPOL_LOW | IOAPIC_REDIR_LEVEL | 0x61, 0);
	CHECK_EQ(r.n, 2);
	ioapic_set_irq(r.io, 16, 0);
	CHECK_EQ(r.n, 3);
	CHECK_EQ(r.msgs[2].vector, 0x61);
	CHECK(r.msgs[2].level);
	ioapic_eoi(r.io, 0x61);
	CHECK_EQ(r.n, 4); /* still low = still asserted */
	ioapic_set_irq(r.io, 16, 1);
	ioapic_eoi(r.io, 0x61);
	CHECK_EQ(r.n, 4);
	CHECK_EQ(redir_low(&r, 16) & IOAPIC_REDIR_REMOTE_IRR, 0);
	/* An entry left active-high at reset with a low wire: no delivery. */
	redir(&r, 17, IOAPIC_REDIR_LEVEL | 0x62, 0);
	CHECK_EQ(r.n, 4);
	rig_fini(&r);
}

static void test_delivery_modes(void)
{
	struct rig r;
	rig_init(&r);
	/* NMI, SMI, INIT, ExtINT are edge even when programmed level. */
	const unsigned dms[] = { IOAPIC_DM_NMI, IOAPIC_DM_SMI, IOAPIC_DM_INIT, IOAPIC_DM_EXTINT };
	for (unsigned i = 0; i < ARRAY_SIZE(dms); i++) {
		redir(&r, i, IOAPIC_REDIR_LEVEL | (dms[i] << 8), 0xff);
		ioapic_set_irq(r.io, i, 1);
		CHECK_EQ(r.n, i + 1);
		CHECK_EQ(r.msgs[i].dm, dms[i]);
		CHECK(!r.msgs[i].level);
		CHECK_EQ(r.msgs[i].dest, 0xff);
		CHECK_EQ(redir_low(&r, i) & IOAPIC_REDIR_REMOTE_IRR, 0);
		ioapic_set_irq(r.io, i, 1);
		CHECK_EQ(r.n, i + 1);
	}
	/* Reserved delivery modes deliver nothing. */
	redir(&r, 5, 3u << 8, 0);
	redir(&r, 6, IOAPIC_REDIR_LEVEL | (6u << 8), 0);
	ioapic_set_irq(r.io, 5, 1);
	ioapic_set_irq(r.io, 6, 1);
	CHECK_EQ(r.n, ARRAY_SIZE(dms));
	rig_fini(&r);
}

static void test_eoi_from_callback(void)
{
	/* A router whose CPU takes and EOIs the interrupt synchronously: the
	 * re-delivery recursion is bounded by the caller, and state is consistent. */
	struct rig r;
	rig_init(&r);
	r.eoi_inside = true;
	redir(&r, 4, IOAPIC_REDIR_LEVEL | 0x44, 0);
	ioapic_set_irq(r.io, 4, 1);
	CHECK_EQ(r.n, 4); /* first delivery + 3 nested EOIs re-delivering */
	CHECK(redir_low(&r, 4) & IOAPIC_REDIR_REMOTE_IRR);
	rig_fini(&r);
}

static void test_reset(void)
{
	struct rig r;
	rig_init(&r);
	redir(&r, 7, IOAPIC_REDIR_LEVEL | 0x47, 9);
	reg_wr(&r, IOAPIC_REG_ID, 0x05000000);
	ioapic_set_irq(r.io, 7, 1);
	CHECK_EQ(r.n, 1);
	ioapic_reset(r.io);
	CHECK_EQ(ioapic_bus_ops.read(r.io, IOAPIC_IOREGSEL, 4), 0);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ID), 0x02000000);
	CHECK_EQ(redir_low(&r, 7), IOAPIC_REDIR_MASKED);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_REDTBL + 15), 0);
	/* The wire is still high: unmasking as level delivers. */
	redir(&r, 7, IOAPIC_REDIR_LEVEL | 0x47, 9);
	CHECK_EQ(r.n, 2);
	rig_fini(&r);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r);
	/* Bad pins from the board. */
	ioapic_set_irq(r.io, IOAPIC_NUM_PINS, 1);
	ioapic_set_irq(r.io, 0xffffffff, 1);
	CHECK_EQ(r.n, 0);
	/* Odd offsets and sizes. */
	CHECK_EQ(ioapic_bus_ops.read(r.io, 0x04, 4), 0);
	CHECK_EQ(ioapic_bus_ops.read(r.io, 0x11, 1), 0);
	CHECK_EQ(ioapic_bus_ops.read(r.io, 0x20, 4), 0);
	CHECK_EQ(ioapic_bus_ops.read(r.io, 0xffc, 4), 0);
	CHECK_EQ(ioapic_bus_ops.read(r.io, IOAPIC_IOWIN, 8), 0);
	ioapic_bus_ops.write(r.io, 0x04, 0xffffffff, 4);
	ioapic_bus_ops.write(r.io, 0x13, 0xff, 1);
	ioapic_bus_ops.write(r.io, IOAPIC_IOWIN, ~0ULL, 8);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ID), 0x02000000);
	CHECK_EQ(redir_low(&r, 0), IOAPIC_REDIR_MASKED);

	/* Random traffic: register writes, pin changes, EOIs. The callback
	 * records; nothing may crash, and every entry keeps its invariants. */
	uint64_t seed = 0x243f6a8885a308d3ULL;
	for (unsigned i = 0; i < 200000; i++) {
		uint64_t x = xorshift(&seed), v = xorshift(&seed);
		unsigned size = 1u << (x & 3);
		unsigned off = (unsigned)((x >> 2) & 0xfff);
		if ((x >> 14) & 1)
			off &= 0x50;
		switch ((x >> 16) & 3) {
		case 0:
			(void)ioapic_bus_ops.read(r.io, off, size > 4 ? 4 : size);
			break;
		case 1:
			ioapic_bus_ops.write(r.io, off, v, size > 4 ? 4 : size);
			break;
		case 2:
			ioapic_set_irq(r.io, (unsigned)(v % IOAPIC_NUM_PINS), (int)((v >> 8) & 1));
			break;
		default:
			ioapic_eoi(r.io, (uint8_t)v);
			break;
		}
		r.n = 0;
	}
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint32_t lo = redir_low(&r, pin), hi = reg_rd(&r, IOAPIC_REG_REDTBL + 2 * pin + 1);
		CHECK_EQ(lo & ~(0x1afffu | IOAPIC_REDIR_REMOTE_IRR), 0);
		CHECK_EQ(hi & 0x00ffffffu, 0);
		if (!(lo & IOAPIC_REDIR_LEVEL))
			CHECK_EQ(lo & IOAPIC_REDIR_REMOTE_IRR, 0);
	}
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_VER), 0x00170020);
	CHECK_EQ(reg_rd(&r, IOAPIC_REG_ID) & ~IOAPIC_ID_MASK, 0);
	rig_fini(&r);
}

static int save_load(struct rig *from, struct rig *to, struct statebuf *sb, char *why, size_t why_len)
{
	sb_init(sb);
	CHECK_EQ(device_save(ioapic_device(from->io), sb), 0);
	struct state_reader sr;
	sr_init(&sr, sb->data, sb->len);
	int rc = device_load(ioapic_device(to->io), &sr, why, why_len);
	if (rc == 0)
		CHECK_EQ(sr.left, 0);
	return rc;
}

/* The same pin changes, EOIs and unmasking on both sides. */
static void snapshot_script(struct rig *r)
{
	r->n = 0;
	ioapic_eoi(r->io, 0x35); /* pin 5 still asserted: again */
	redir(r, 7, IOAPIC_REDIR_LEVEL | 0x37, 2); /* unmasked while asserted */
	ioapic_set_irq(r->io, 9, 0); /* active low: asserts */
	ioapic_set_irq(r->io, 1, 1); /* edge */
	ioapic_set_irq(r->io, 12, 0);
	redir(r, 12, 0x3c, 4);
	ioapic_set_irq(r->io, 12, 1); /* a new edge after unmasking */
	ioapic_eoi(r->io, 0x50); /* pin 20 still asserted: again */
	ioapic_set_irq(r->io, 5, 0);
	ioapic_eoi(r->io, 0x35); /* deasserted: Remote IRR clears, nothing sent */
	ioapic_set_irq(r->io, 5, 1);
}

/* Edge, level (Remote IRR set, waiting for an EOI), masked and active-low
 * pins with their wires up, an ID and an index register left pointing into
 * the table: a copy in a fresh IOAPIC reads and delivers the same, and the
 * load itself sends nothing. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	reg_wr(&a, IOAPIC_REG_ID, 0x0a000000);
	redir(&a, 1, 0x31, 3);
	redir(&a, 5, IOAPIC_REDIR_LEVEL | 0x35, 1);
	ioapic_set_irq(a.io, 5, 1);
	redir(&a, 7, IOAPIC_REDIR_MASKED | IOAPIC_REDIR_LEVEL | 0x37, 2);
	ioapic_set_irq(a.io, 7, 1);
	ioapic_set_irq(a.io, 9, 1); /* high first: the entry is active low */
	redir(&a, 9, IOAPIC_REDIR_INTPOL_LOW | IOAPIC_REDIR_LEVEL | 0x39, 0);
	redir(&a, 12, IOAPIC_REDIR_MASKED | 0x3c, 4);
	ioapic_set_irq(a.io, 12, 1);
	redir(&a, 20, IOAPIC_REDIR_DEST_LOGICAL | (IOAPIC_DM_LOWEST << 8) | IOAPIC_REDIR_LEVEL | 0x50, 0x0f);
	ioapic_set_irq(a.io, 20, 1);
	CHECK_EQ(a.n, 2);
	ioapic_bus_ops.write(a.io, IOAPIC_IOREGSEL, IOAPIC_REG_REDTBL + 2 * 5, 4);

	struct statebuf sb;
	char why[256] = "";
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(b.n, 0);
	/* The index register as left, then every register. */
	CHECK_EQ(ioapic_bus_ops.read(b.io, IOAPIC_IOREGSEL, 4), IOAPIC_REG_REDTBL + 2 * 5);
	CHECK_EQ(ioapic_bus_ops.read(b.io, IOAPIC_IOWIN, 4),
		 IOAPIC_REDIR_REMOTE_IRR | IOAPIC_REDIR_LEVEL | 0x35);
	for (unsigned idx = 0; idx < 0x40; idx++)
		CHECK_EQ(reg_rd(&b, idx), reg_rd(&a, idx));
	CHECK_EQ(reg_rd(&b, IOAPIC_REG_ID), 0x0a000000);
	CHECK_EQ(b.n, 0);

	snapshot_script(&a);
	snapshot_script(&b);
	CHECK_EQ(b.n, a.n);
	CHECK_EQ(a.n, 7);
	for (unsigned i = 0; i < a.n && i < b.n; i++) {
		CHECK_EQ(b.msgs[i].dest, a.msgs[i].dest);
		CHECK_EQ(b.msgs[i].logical, a.msgs[i].logical);
		CHECK_EQ(b.msgs[i].dm, a.msgs[i].dm);
		CHECK_EQ(b.msgs[i].vector, a.msgs[i].vector);
		CHECK_EQ(b.msgs[i].level, a.msgs[i].level);
	}
	static const uint8_t vectors[] = { 0x35, 0x37, 0x39, 0x31, 0x3c, 0x50, 0x35 };
	for (unsigned i = 0; i < ARRAY_SIZE(vectors) && i < a.n; i++)
		CHECK_EQ(a.msgs[i].vector, vectors[i]);
	for (unsigned idx = 0; idx < 0x40; idx++)
		CHECK_EQ(reg_rd(&b, idx), reg_rd(&a, idx));
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

/* Records whose fields break an invariant are refused with the IOAPIC left
 * in its reset state; random records either fail to load or give an IOAPIC
 * that survives any guest traffic (the ASan build checks "survives"). */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	redir(&a, 3, IOAPIC_REDIR_LEVEL | 0x43, 1);
	redir(&a, 4, 0x44, 1);
	ioapic_set_irq(a.io, 3, 1);
	ioapic_set_irq(a.io, 6, 1);
	ioapic_bus_ops.write(a.io, IOAPIC_IOREGSEL, 0, 4);
	struct statebuf sb;
	char why[256];
	CHECK_EQ(save_load(&a, &b, &sb, why, sizeof(why)), 0);
	struct rec_field fs[8];
	unsigned nf = rec_fields(&sb, ioapic_device(a.io), fs, ARRAY_SIZE(fs));
	CHECK_EQ(nf, 4);

	static const struct {
		const char *field;
		unsigned byte;
		uint8_t value;
		const char *why;
	} bad[] = {
		{ "ioregsel", 1, 0x01, "ioapic: IOREGSEL 0x100 out of range" },
		{ "id", 0, 0x01, "ioapic: ID register 0x2000001 has reserved bits" },
		{ "id", 3, 0x10, "ioapic: ID register 0x10000000 has reserved bits" },
		{ "wire", 3, 0x01, "ioapic: levels on pins that do not exist" },
		/* Pin 3 (level, Remote IRR) turned edge: Remote IRR on an edge entry. */
		{ "redtbl", 3 * 8 + 1, 0x40, "ioapic: redirection entry 3 is inconsistent" },
		/* Pin 4: delivery status (read-only, always idle here). */
		{ "redtbl", 4 * 8 + 1, 0x10, "ioapic: redirection entry 4 is inconsistent" },
		/* Pin 23: bits 55:17 are reserved. */
		{ "redtbl", 23 * 8 + 4, 0x01, "ioapic: redirection entry 23 is inconsistent" },
		/* Pin 5: Remote IRR on a level NMI entry (NMI is edge). */
		{ "redtbl", 5 * 8 + 1, 0xc4, "ioapic: redirection entry 5 is inconsistent" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct statebuf copy;
		sb_init(&copy);
		sb_put(&copy, sb.data, sb.len);
		uint8_t *at = rec_find(&copy, fs, nf, bad[i].field);
		if (at)
			at[bad[i].byte] = bad[i].value;
		struct state_reader sr;
		sr_init(&sr, copy.data, copy.len);
		b.n = 0;
		CHECK_EQ(device_load(ioapic_device(b.io), &sr, why, sizeof(why)), -EINVAL);
		CHECK_STR(why, bad[i].why);
		CHECK_EQ(b.n, 0);
		/* The reset state. */
		CHECK_EQ(ioapic_bus_ops.read(b.io, IOAPIC_IOREGSEL, 4), 0);
		CHECK_EQ(reg_rd(&b, IOAPIC_REG_ID), 0x02000000);
		for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
			CHECK_EQ(redir_low(&b, pin), IOAPIC_REDIR_MASKED);
		sb_free(&copy);
	}

	/* Random records: every field random, a few bytes changed, or entries,
	 * pin levels and the index register random within their writable bits
	 * (odd but loadable: reserved delivery modes, Remote IRR with the wire
	 * low, ...). */
	uint64_t seed = 0x13198a2e03707344ULL;
	unsigned loaded = 0;
	uint8_t *redtbl = rec_find(&sb, fs, nf, "redtbl"), *wire = rec_find(&sb, fs, nf, "wire");
	uint8_t *ioregsel = rec_find(&sb, fs, nf, "ioregsel");
	if (!redtbl || !wire || !ioregsel)
		return;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf copy;
		sb_init(&copy);
		sb_put(&copy, sb.data, sb.len);
		if (round % 4 == 0) {
			for (unsigned i = 0; i < nf; i++)
				for (uint32_t k = 0; k < fs[i].size; k++)
					copy.data[fs[i].at + k] = (uint8_t)xorshift(&seed);
		} else if (round % 4 == 1) {
			for (unsigned c = 1 + xorshift(&seed) % 6; c > 0; c--) {
				uint64_t e = xorshift(&seed) & 0xff0000000001ffffULL & ~(uint64_t)IOAPIC_REDIR_DELIVS;
				unsigned dm = (e >> 8) & 7;
				if ((!(e & IOAPIC_REDIR_LEVEL) || dm > 1) && (xorshift(&seed) & 7))
					e &= ~(uint64_t)IOAPIC_REDIR_REMOTE_IRR;
				memcpy(copy.data + (redtbl - sb.data) + 8 * (xorshift(&seed) % IOAPIC_NUM_PINS), &e, 8);
			}
			uint32_t w = (uint32_t)xorshift(&seed) & 0xffffff, sel = (uint32_t)xorshift(&seed) & 0xff;
			memcpy(copy.data + (wire - sb.data), &w, 4);
			memcpy(copy.data + (ioregsel - sb.data), &sel, 4);
		} else {
			for (unsigned c = 1 + xorshift(&seed) % 2; c > 0; c--) {
				const struct rec_field *f = &fs[xorshift(&seed) % nf];
				uint64_t x = xorshift(&seed);
				uint8_t *at = copy.data + f->at + x % f->size;
				if ((x >> 32) & 1)
					*at ^= (uint8_t)(1u << ((x >> 33) & 7));
				else
					*at = (uint8_t)(x >> 40);
			}
		}
		struct state_reader sr;
		sr_init(&sr, copy.data, copy.len);
		b.n = 0;
		int rc = device_load(ioapic_device(b.io), &sr, why, sizeof(why));
		sb_free(&copy);
		CHECK_EQ(b.n, 0);
		if (rc < 0) {
			CHECK_EQ(rc, -EINVAL);
			CHECK_EQ(reg_rd(&b, IOAPIC_REG_ID), 0x02000000);
			continue;
		}
		loaded++;
		for (unsigned i = 0; i < 300; i++) {
			uint64_t x = xorshift(&seed), v = xorshift(&seed);
			unsigned size = 1u << (x & 3);
			unsigned off = (unsigned)((x >> 2) & 0xfff);
			if ((x >> 14) & 1)
				off &= 0x50;
			switch ((x >> 16) & 3) {
			case 0:
				(void)ioapic_bus_ops.read(b.io, off, size > 4 ? 4 : size);
				break;
			case 1:
				ioapic_bus_ops.write(b.io, off, v, size > 4 ? 4 : size);
				break;
			case 2:
				ioapic_set_irq(b.io, (unsigned)(v % IOAPIC_NUM_PINS), (int)((v >> 8) & 1));
				break;
			default:
				ioapic_eoi(b.io, (uint8_t)v);
				break;
			}
			b.n = 0;
		}
		for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
			uint32_t lo = redir_low(&b, pin), hi = reg_rd(&b, IOAPIC_REG_REDTBL + 2 * pin + 1);
			CHECK_EQ(lo & ~(0x1afffu | IOAPIC_REDIR_REMOTE_IRR), 0);
			CHECK_EQ(hi & 0x00ffffffu, 0);
		}
	}
	CHECK(loaded >= 100);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

CHECK_MAIN(TEST_CASE(test_reset_values), TEST_CASE(test_write_masks), TEST_CASE(test_edge),
	   TEST_CASE(test_level_remote_irr), TEST_CASE(test_level_masking_and_polarity),
	   TEST_CASE(test_delivery_modes), TEST_CASE(test_eoi_from_callback), TEST_CASE(test_reset),
	   TEST_CASE(test_garbage), TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
