/* SPDX-License-Identifier: MIT */
/*
 * Port 0x92 and 0xcf9: power-on values, the fast-reset edge, the A20 bit,
 * RCPU with and without SRST, read-back masks, system reset, every byte
 * value at every offset, and snapshots (faithful, and hostile ones refused).
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/statebuf.h"
#include "hw/device.h"
#include "hw/pc/reset_ports.h"

struct rig {
	unsigned resets;
	struct reset_ports *rp;
};

static void on_reset(void *opaque)
{
	struct rig *r = opaque;
	r->resets++;
}

static void rig_init(struct rig *r)
{
	r->resets = 0;
	r->rp = reset_ports_create(on_reset, r);
	if (!r->rp)
		abort();
}

static uint8_t rd92(struct rig *r)
{
	return (uint8_t)reset_port92_bus_ops.read(r->rp, 0, 1);
}

static void wr92(struct rig *r, uint8_t v)
{
	reset_port92_bus_ops.write(r->rp, 0, v, 1);
}

static uint8_t rdcf9(struct rig *r)
{
	return (uint8_t)reset_cf9_bus_ops.read(r->rp, 0, 1);
}

static void wrcf9(struct rig *r, uint8_t v)
{
	reset_cf9_bus_ops.write(r->rp, 0, v, 1);
}

static void test_power_on(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(reset_port92_bus_ops.max_size, 1);
	CHECK_EQ(reset_cf9_bus_ops.max_size, 1);
	CHECK_EQ(rd92(&r), RESET_PORT92_A20);
	CHECK(reset_a20_enabled(r.rp));
	CHECK_EQ(rdcf9(&r), 0);
	CHECK_EQ(r.resets, 0);
	reset_ports_destroy(r.rp);
}

static void test_port92(void)
{
	struct rig r;
	rig_init(&r);
	wr92(&r, 0x00);
	CHECK(!reset_a20_enabled(r.rp));
	CHECK_EQ(rd92(&r), 0x00);
	wr92(&r, RESET_PORT92_A20 | 0xc8);
	CHECK(reset_a20_enabled(r.rp));
	CHECK_EQ(rd92(&r), RESET_PORT92_A20 | 0xc8);
	CHECK_EQ(r.resets, 0);
	/* Fast reset on the 0 → 1 edge only. */
	wr92(&r, RESET_PORT92_A20 | RESET_PORT92_FAST_RESET);
	CHECK_EQ(r.resets, 1);
	CHECK_EQ(rd92(&r), RESET_PORT92_A20 | RESET_PORT92_FAST_RESET);
	wr92(&r, RESET_PORT92_A20 | RESET_PORT92_FAST_RESET);
	CHECK_EQ(r.resets, 1);
	/* The system reset clears bit 0, so the next write resets again. */
	reset_ports_reset(r.rp);
	CHECK_EQ(rd92(&r), RESET_PORT92_A20);
	wr92(&r, RESET_PORT92_FAST_RESET);
	CHECK_EQ(r.resets, 2);
	wr92(&r, 0);
	wr92(&r, RESET_PORT92_FAST_RESET);
	CHECK_EQ(r.resets, 3);
	reset_ports_destroy(r.rp);
}

static void test_cf9(void)
{
	struct rig r;
	rig_init(&r);
	wrcf9(&r, RESET_CF9_SRST);
	CHECK_EQ(r.resets, 0);
	CHECK_EQ(rdcf9(&r), RESET_CF9_SRST);
	wrcf9(&r, 0xff & ~RESET_CF9_RCPU);
	CHECK_EQ(rdcf9(&r), RESET_CF9_SRST | RESET_CF9_FULL_RST);
	CHECK_EQ(r.resets, 0);
	/* Soft and hard resets both call the callback. */
	wrcf9(&r, RESET_CF9_RCPU);
	CHECK_EQ(r.resets, 1);
	wrcf9(&r, RESET_CF9_SRST | RESET_CF9_RCPU);
	CHECK_EQ(r.resets, 2);
	CHECK_EQ(rdcf9(&r), RESET_CF9_SRST | RESET_CF9_RCPU);
	reset_ports_reset(r.rp);
	CHECK_EQ(rdcf9(&r), 0);
	/* Port 0x92 is independent. */
	CHECK_EQ(rd92(&r), RESET_PORT92_A20);
	reset_ports_destroy(r.rp);
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r);
	unsigned expect = 0;
	for (unsigned v = 0; v < 256; v++) {
		uint8_t old = rd92(&r);
		wr92(&r, (uint8_t)v);
		if ((v & 1) && !(old & 1))
			expect++;
		CHECK_EQ(rd92(&r), v);
		wrcf9(&r, (uint8_t)v);
		if (v & RESET_CF9_RCPU)
			expect++;
		CHECK_EQ(rdcf9(&r), v & RESET_CF9_MASK);
		/* Offsets a bus would never send. */
		reset_port92_bus_ops.write(r.rp, 1 + v, 0xff, 1);
		reset_cf9_bus_ops.write(r.rp, 1 + v, 0xff, 1);
		CHECK_EQ(reset_port92_bus_ops.read(r.rp, 1 + v, 1), 0xff);
		CHECK_EQ(reset_cf9_bus_ops.read(r.rp, 1 + v, 1), 0xff);
	}
	CHECK_EQ(r.resets, expect);
	reset_ports_destroy(r.rp);

	/* No callback: requests are dropped. */
	struct reset_ports *rp = reset_ports_create(NULL, NULL);
	CHECK(rp != NULL);
	reset_port92_bus_ops.write(rp, 0, 1, 1);
	reset_cf9_bus_ops.write(rp, 0, 6, 1);
	reset_ports_destroy(rp);
	reset_ports_destroy(NULL);
}

/* A20 off, the password-lock bit and SRST set: a fresh pair loaded from the
 * snapshot reads the same, and the next fast-reset edge resets as before. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	wr92(&a, 0x08);
	wrcf9(&a, RESET_CF9_SRST);
	struct statebuf sb;
	snap_save(reset_ports_device(a.rp), &sb);
	char why[256];
	CHECK_EQ(snap_load(reset_ports_device(b.rp), &sb, why, sizeof(why)), 0);
	CHECK_EQ(rd92(&b), 0x08);
	CHECK(!reset_a20_enabled(b.rp));
	CHECK_EQ(rdcf9(&b), RESET_CF9_SRST);
	CHECK_EQ(b.resets, 0);
	wr92(&b, 0x09);
	CHECK_EQ(b.resets, 1);
	wr92(&b, 0x0b); /* no new edge */
	CHECK_EQ(b.resets, 1);
	/* Bit 0 saved set: no edge on the next write of it either. */
	sb_free(&sb);
	snap_save(reset_ports_device(b.rp), &sb);
	CHECK_EQ(snap_load(reset_ports_device(a.rp), &sb, why, sizeof(why)), 0);
	wr92(&a, 0x03);
	CHECK_EQ(a.resets, 0);
	sb_free(&sb);
	reset_ports_destroy(a.rp);
	reset_ports_destroy(b.rp);
}

/* Reserved bits of 0xcf9 are refused and leave the ports reset; records of
 * random fields either load or are refused, and the ports run a sweep of
 * accesses without tripping ASan or UBSan. */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	wr92(&a, 0x41);
	wrcf9(&a, RESET_CF9_FULL_RST);
	struct statebuf sb;
	snap_save(reset_ports_device(a.rp), &sb);
	static const uint64_t bad_cf9[] = { 0x01, 0x10, 0xf0, 0xff };
	for (size_t i = 0; i < ARRAY_SIZE(bad_cf9); i++) {
		snap_refused(reset_ports_device(b.rp), &sb, "cf9", bad_cf9[i]);
		CHECK_EQ(rdcf9(&b), 0);
		CHECK_EQ(rd92(&b) & RESET_PORT92_FAST_RESET, 0);
	}
	uint64_t rng = 0x6a09e667f3bcc909ULL;
	unsigned loaded = 0;
	char why[256];
	for (unsigned round = 0; round < 300; round++) {
		struct statebuf junk;
		sb_init(&junk);
		sb_put(&junk, sb.data, sb.len);
		snap_scramble(reset_ports_device(b.rp), &junk, &rng);
		int r = snap_load(reset_ports_device(b.rp), &junk, why, sizeof(why));
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0) {
			loaded++;
			CHECK_EQ(rdcf9(&b) & ~RESET_CF9_MASK, 0);
			for (unsigned k = 0; k < 20; k++) {
				uint64_t x = snap_rand(&rng);
				if (x & 1)
					wr92(&b, (uint8_t)(x >> 8));
				else
					wrcf9(&b, (uint8_t)(x >> 8));
				(void)rd92(&b);
				(void)rdcf9(&b);
			}
		} else {
			CHECK_EQ(rdcf9(&b), 0);
		}
		sb_free(&junk);
	}
	if (loaded <= 10)
		printf("# only %u of 300 records loaded\n", loaded);
	CHECK(loaded > 10);
	sb_free(&sb);
	reset_ports_destroy(a.rp);
	reset_ports_destroy(b.rp);
}

CHECK_MAIN(TEST_CASE(test_power_on), TEST_CASE(test_port92), TEST_CASE(test_cf9),
	   TEST_CASE(test_garbage), TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
