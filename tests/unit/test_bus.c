/* SPDX-License-Identifier: MIT */
/*
 * Port/MMIO dispatch: lookup, overlap refusal, size splitting and widening,
 * boundary straddling, unmapped accesses.
 */
#include <errno.h>

#include "check.h"
#include "mem/bus.h"

/* A device that records its last access and answers reads with a pattern. */
struct fake_dev {
	uint64_t last_off, last_value;
	unsigned last_size, reads, writes;
	uint8_t regs[16];
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
	struct fake_dev *d = opaque;
	d->last_off = off;
	d->last_size = size;
	d->reads++;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d->regs[(off + i) % 16] << (i * 8);
	return v;
}

static void fake_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct fake_dev *d = opaque;
	d->last_off = off;
	d->last_size = size;
	d->last_value = value;
	d->writes++;
	for (unsigned i = 0; i < size; i++)
		d->regs[(off + i) % 16] = (uint8_t)(value >> (i * 8));
}

static const struct bus_ops any_size = { fake_read, fake_write, 1, 8 };
static const struct bus_ops only_byte = { fake_read, fake_write, 1, 1 };
static const struct bus_ops only_dword = { fake_read, fake_write, 4, 4 };

static void test_add_find_remove(void)
{
	struct bus b;
	struct fake_dev d1 = { 0 }, d2 = { 0 };
	bus_init(&b, "test");
	CHECK_EQ(bus_add(&b, 0x3f8, 8, &any_size, &d1, "com1"), 0);
	CHECK_EQ(bus_add(&b, 0x2f8, 8, &any_size, &d2, "com2"), 0);
	CHECK_EQ(bus_add(&b, 0x3fc, 8, &any_size, &d2, "overlap"), -EEXIST);
	CHECK_EQ(bus_add(&b, 0x3f0, 9, &any_size, &d2, "overlap-left"), -EEXIST);
	CHECK_EQ(bus_add(&b, 0x3f0, 8, &any_size, &d2, "adjacent"), 0);
	CHECK_EQ(bus_add(&b, 0, 0, &any_size, &d2, "empty"), -EINVAL);
	CHECK_EQ(bus_add(&b, ~0ULL, 2, &any_size, &d2, "wraps"), -EINVAL);
	CHECK(bus_find(&b, 0x3f8) && bus_find(&b, 0x3f8)->opaque == &d1);
	CHECK(bus_find(&b, 0x3ff) && bus_find(&b, 0x3ff)->opaque == &d1);
	CHECK(bus_find(&b, 0x3f7) && bus_find(&b, 0x3f7)->opaque == &d2);
	CHECK(bus_find(&b, 0x400) == NULL);
	CHECK(bus_find(&b, 0x2f7) == NULL);
	CHECK_EQ(bus_remove(&b, 0x3f8), 0);
	CHECK_EQ(bus_remove(&b, 0x3f8), -ENOENT);
	CHECK(bus_find(&b, 0x3f8) == NULL);
	CHECK_EQ(b.count, 2);
	bus_destroy(&b);
}

static void test_many_regions_sorted(void)
{
	struct bus b;
	struct fake_dev d = { 0 };
	bus_init(&b, "test");
	/* Insert in scrambled order; lookup must find each. */
	for (unsigned i = 0; i < 1000; i++) {
		unsigned k = (i * 617) % 1000;
		CHECK_EQ(bus_add(&b, 0x10000 + k * 0x100, 0x10, &any_size, &d, "r"), 0);
	}
	for (unsigned k = 0; k < 1000; k++) {
		const struct bus_region *r = bus_find(&b, 0x10000 + k * 0x100 + 0xf);
		CHECK(r && r->base == 0x10000 + k * 0x100);
		CHECK(bus_find(&b, 0x10000 + k * 0x100 + 0x10) == NULL);
	}
	bus_destroy(&b);
}

static void test_offsets_and_values(void)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint64_t v;
	bus_init(&b, "test");
	CHECK_EQ(bus_add(&b, 0x1000, 16, &any_size, &d, "dev"), 0);
	CHECK(bus_write(&b, 0x1004, 4, 0xdeadbeef));
	CHECK_EQ(d.last_off, 4);
	CHECK_EQ(d.last_size, 4);
	CHECK_EQ(d.last_value, 0xdeadbeef);
	CHECK(bus_read(&b, 0x1004, 2, &v));
	CHECK_EQ(v, 0xbeef);
	CHECK(bus_read(&b, 0x1000, 8, &v));
	CHECK_EQ(v, 0xdeadbeef00000000ULL);
	bus_destroy(&b);
}

static void test_split_wide_access(void)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint64_t v;
	bus_init(&b, "test");
	CHECK_EQ(bus_add(&b, 0x3f8, 8, &only_byte, &d, "uart"), 0);
	CHECK(bus_write(&b, 0x3f8, 4, 0x44332211));
	CHECK_EQ(d.writes, 4);
	CHECK_EQ(d.last_size, 1);
	CHECK_EQ(d.last_off, 3);
	CHECK_EQ(d.regs[0], 0x11);
	CHECK_EQ(d.regs[3], 0x44);
	d.reads = 0;
	CHECK(bus_read(&b, 0x3f8, 2, &v));
	CHECK_EQ(v, 0x2211);
	CHECK_EQ(d.reads, 2);
	bus_destroy(&b);
}

static void test_widen_narrow_access(void)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint64_t v;
	bus_init(&b, "test");
	CHECK_EQ(bus_add(&b, 0xfee00000, 16, &only_dword, &d, "apic-like"), 0);
	d.regs[4] = 0x11; d.regs[5] = 0x22; d.regs[6] = 0x33; d.regs[7] = 0x44;
	CHECK(bus_read(&b, 0xfee00006, 1, &v));
	CHECK_EQ(v, 0x33);
	CHECK_EQ(d.last_size, 4);
	CHECK_EQ(d.last_off, 4);
	CHECK(bus_read(&b, 0xfee00005, 2, &v));
	CHECK_EQ(v, 0x3322);
	/* A narrow write reaches the device as an aligned dword with the byte in place. */
	CHECK(bus_write(&b, 0xfee00009, 1, 0xab));
	CHECK_EQ(d.last_size, 4);
	CHECK_EQ(d.last_off, 8);
	CHECK_EQ(d.last_value, 0xab00);
	bus_destroy(&b);
}

static void test_unmapped_and_straddle(void)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint64_t v;
	bus_init(&b, "test");
	CHECK(!bus_read(&b, 0x1234, 4, &v));
	CHECK_EQ(v, 0xffffffff);
	CHECK(!bus_write(&b, 0x1234, 4, 1));
	CHECK_EQ(bus_add(&b, 0x60, 1, &only_byte, &d, "kbd"), 0);
	d.regs[0] = 0x5a;
	/* A word read at 0x60 gets the device byte and 0xff for the unclaimed 0x61. */
	CHECK(bus_read(&b, 0x60, 2, &v));
	CHECK_EQ(v, 0xff5a);
	CHECK(bus_read(&b, 0x5f, 2, &v));
	CHECK_EQ(v, 0x5aff);
	/* Bad sizes are refused, never passed to a device. */
	d.reads = 0;
	CHECK(!bus_read(&b, 0x60, 0, &v));
	CHECK(!bus_read(&b, 0x60, 9, &v));
	CHECK_EQ(d.reads, 0);
	/* An odd size (3) goes byte by byte. */
	CHECK(bus_read(&b, 0x60, 3, &v));
	CHECK_EQ(v, 0xffff5a);
	bus_destroy(&b);
}

static void test_region_at_top_of_space(void)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint64_t v;
	bus_init(&b, "test");
	CHECK_EQ(bus_add(&b, ~0ULL - 15, 16, &any_size, &d, "top"), 0);
	CHECK(bus_write(&b, ~0ULL - 7, 8, 0x0102030405060708ULL));
	CHECK(bus_read(&b, ~0ULL - 7, 8, &v));
	CHECK_EQ(v, 0x0102030405060708ULL);
	/* Crossing the end of the address space does not wrap into address 0. */
	CHECK(bus_read(&b, ~0ULL, 2, &v));
	bus_destroy(&b);
}

CHECK_MAIN(TEST_CASE(test_add_find_remove), TEST_CASE(test_many_regions_sorted),
	   TEST_CASE(test_offsets_and_values), TEST_CASE(test_split_wide_access),
	   TEST_CASE(test_widen_narrow_access), TEST_CASE(test_unmapped_and_straddle),
	   TEST_CASE(test_region_at_top_of_space))
