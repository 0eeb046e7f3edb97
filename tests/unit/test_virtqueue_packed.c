/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueues (virtio 1.2 §2.8, hw/virtio/virtqueue_packed.c) against a
 * driver that follows Linux's virtio_ring.c: chains, buffer ids, wrap
 * counters over many laps of a ring whose size is not a power of two,
 * completions out of order, a batch handed back at once, chains given back,
 * indirect tables, the driver's event suppression (enable, disable, an event
 * offset), and hostile rings (chains without an end, buffers outside RAM,
 * nested or chained indirect tables, a readable buffer after a writable one,
 * a chain whose later descriptor was never made available, random bytes).
 */
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hw/virtio/virtqueue.h"

#define RAM_SIZE (4 * MiB)
#define RING 0x10000
#define DRIVER_EV 0x20000
#define DEVICE_EV 0x30000
#define BUF 0x100000
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

struct drv {
	struct guest_ram ram;
	struct virtq q;
	struct virtq_elem e[4];
	unsigned size;
	unsigned avail_pos, used_pos;
	bool avail_wrap, used_wrap;
	unsigned chain_len[64]; /* by buffer id */
};

static struct drv *drv_init(unsigned size)
{
	struct drv *d = calloc(1, sizeof(*d));
	CHECK(ram_init(&d->ram, RAM_SIZE) == 0);
	virtq_reset(&d->q, &d->ram);
	d->q.packed = true;
	d->q.size = (uint16_t)size;
	d->q.desc = RING;
	d->q.avail = DRIVER_EV;
	d->q.used = DEVICE_EV;
	uint32_t junk = 0xffffffff; /* the device must set its own structure */
	CHECK(ram_write(&d->ram, DEVICE_EV, &junk, 4) == 0);
	d->q.enabled = virtq_rings_valid(&d->q);
	CHECK(d->q.enabled);
	virtq_start(&d->q);
	d->size = size;
	d->avail_wrap = d->used_wrap = true;
	return d;
}

static void drv_fini(struct drv *d)
{
	ram_destroy(&d->ram);
	free(d);
}

static void put_desc(struct drv *d, unsigned i, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	struct vring_packed_desc x = { .addr = addr, .len = len, .id = id, .flags = flags };
	CHECK(ram_write(&d->ram, RING + 16ULL * i, &x, sizeof(x)) == 0);
}

static struct vring_packed_desc get_desc(struct drv *d, unsigned i)
{
	struct vring_packed_desc x;
	CHECK(ram_read(&d->ram, RING + 16ULL * i, &x, sizeof(x)) == 0);
	return x;
}

/* Makes a chain of n buffers available as Linux does: every descriptor's
 * AVAIL/USED bits for the lap it lands in, the first one's flags last. The
 * buffers: BUF + id * 0x10000 + k * 0x1000, writable from index nout on. */
static void add_chain(struct drv *d, uint16_t id, unsigned n, unsigned nout, uint32_t len)
{
	unsigned first = d->avail_pos;
	uint16_t first_flags = 0;
	for (unsigned k = 0; k < n; k++) {
		uint16_t f = (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) | (k >= nout ? VRING_DESC_F_WRITE : 0) |
					(d->avail_wrap ? F_AVAIL : F_USED));
		if (k == 0) {
			first_flags = f;
			put_desc(d, d->avail_pos, BUF + id * 0x10000ULL + k * 0x1000ULL, len, id, 0);
			struct vring_packed_desc x = get_desc(d, d->avail_pos);
			x.flags = (uint16_t)(d->avail_wrap ? F_USED : F_AVAIL); /* not yet available */
			CHECK(ram_write(&d->ram, RING + 16ULL * d->avail_pos, &x, sizeof(x)) == 0);
		} else {
			put_desc(d, d->avail_pos, BUF + id * 0x10000ULL + k * 0x1000ULL, len, id, f);
		}
		if (++d->avail_pos == d->size) {
			d->avail_pos = 0;
			d->avail_wrap = !d->avail_wrap;
		}
	}
	struct vring_packed_desc x = get_desc(d, first);
	x.flags = first_flags;
	CHECK(ram_write(&d->ram, RING + 16ULL * first, &x, sizeof(x)) == 0);
	d->chain_len[id] = n;
}

/* The next used buffer: its id, or -1 when there is none yet. */
static int get_used(struct drv *d, uint32_t *len)
{
	struct vring_packed_desc x = get_desc(d, d->used_pos);
	bool avail = x.flags & F_AVAIL, used = x.flags & F_USED;
	if (avail != used || used != d->used_wrap)
		return -1;
	*len = x.len;
	d->used_pos += d->chain_len[x.id];
	if (d->used_pos >= d->size) {
		d->used_pos -= d->size;
		d->used_wrap = !d->used_wrap;
	}
	return x.id;
}

static void set_driver_event(struct drv *d, uint16_t off_wrap, uint16_t flags)
{
	struct vring_packed_desc_event ev = { .off_wrap = off_wrap, .flags = flags };
	CHECK(ram_write(&d->ram, DRIVER_EV, &ev, sizeof(ev)) == 0);
}

static void test_chain(void)
{
	struct drv *d = drv_init(8);
	struct vring_packed_desc_event dev;
	CHECK(ram_read(&d->ram, DEVICE_EV, &dev, sizeof(dev)) == 0);
	CHECK_EQ(dev.flags, VRING_PACKED_EVENT_FLAG_ENABLE); /* kicks wanted */
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 0);
	add_chain(d, 7, 3, 1, 512);
	CHECK(ram_write(&d->ram, BUF + 7 * 0x10000, "header", 6) == 0);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	CHECK_EQ(d->e[0].head, 7);
	CHECK_EQ(d->e[0].ndesc, 3);
	CHECK_EQ(d->e[0].nout, 1);
	CHECK_EQ(d->e[0].nin, 2);
	char hdr[7] = { 0 };
	CHECK_EQ(virtq_copy_from(&d->e[0], 0, hdr, 6), 6);
	CHECK_STR(hdr, "header");
	CHECK_EQ(virtq_pop(&d->q, &d->e[1]), 0);
	uint32_t len = 0;
	CHECK_EQ(get_used(d, &len), -1);
	virtq_push(&d->q, &d->e[0], 513);
	CHECK_EQ(get_used(d, &len), 7);
	CHECK_EQ(len, 513);
	CHECK(virtq_needs_interrupt(&d->q));
	drv_fini(d);
}

/* Many laps of a 5-descriptor ring, chains of 1 to 3, two in flight
 * completed in reverse order: every id comes back once, with its length. */
static void test_laps_out_of_order(void)
{
	struct drv *d = drv_init(5);
	uint16_t next_id = 0;
	for (unsigned round = 0; round < 40; round++) {
		unsigned n1 = 1 + round % 3, n2 = 1 + (round + 1) % 2;
		uint16_t a = next_id++ % 32, b = next_id++ % 32;
		add_chain(d, a, n1, n1, 64);
		add_chain(d, b, n2, 0, 64);
		CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
		CHECK_EQ(virtq_pop(&d->q, &d->e[1]), 1);
		CHECK_EQ(virtq_pop(&d->q, &d->e[2]), 0);
		CHECK_EQ(d->e[0].head, a);
		CHECK_EQ(d->e[1].head, b);
		CHECK_EQ(d->e[1].nin, n2);
		virtq_push(&d->q, &d->e[1], 100 + round);
		virtq_push(&d->q, &d->e[0], 200 + round);
		uint32_t len;
		CHECK_EQ(get_used(d, &len), b);
		CHECK_EQ(len, 100 + round);
		CHECK_EQ(get_used(d, &len), a);
		CHECK_EQ(len, 200 + round);
		CHECK_EQ(get_used(d, &len), -1);
	}
	CHECK(!d->q.broken);
	drv_fini(d);
}

/* Merged receive buffers: three filled, the driver sees none of them until
 * the flush hands back all three at once; a frame that does not fit gives
 * its chains back and the next pops take the same ones. */
static void test_batch_and_unpop(void)
{
	struct drv *d = drv_init(8);
	for (uint16_t id = 0; id < 4; id++)
		add_chain(d, id, 1, 0, 1500);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(virtq_pop(&d->q, &d->e[i]), 1);
	virtq_unpop(&d->q, &d->e[0], 3);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(virtq_pop(&d->q, &d->e[i]), 1);
		CHECK_EQ(d->e[i].head, i);
	}
	for (unsigned i = 0; i < 3; i++)
		virtq_fill(&d->q, &d->e[i], 1500, i);
	uint32_t len;
	CHECK_EQ(get_used(d, &len), -1); /* nothing visible before the flush */
	virtq_flush(&d->q, 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(get_used(d, &len), i);
	CHECK_EQ(get_used(d, &len), -1);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	CHECK_EQ(d->e[0].head, 3);
	drv_fini(d);
}

static void test_indirect(void)
{
	struct drv *d = drv_init(4);
	uint64_t table = BUF + 0x80000;
	struct vring_packed_desc t[3] = {
		{ .addr = BUF, .len = 16, .flags = 0 },
		{ .addr = BUF + 0x1000, .len = 4096, .flags = VRING_DESC_F_WRITE },
		{ .addr = BUF + 0x2000, .len = 1, .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT }, /* NEXT: ignored */
	};
	CHECK(ram_write(&d->ram, table, t, sizeof(t)) == 0);
	put_desc(d, 0, table, sizeof(t), 9, VRING_DESC_F_INDIRECT | F_AVAIL);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	CHECK_EQ(d->e[0].head, 9);
	CHECK_EQ(d->e[0].ndesc, 1);
	CHECK_EQ(d->e[0].nout, 1);
	CHECK_EQ(d->e[0].nin, 2);
	CHECK_EQ(virtq_in_len(&d->e[0]), 4097);
	drv_fini(d);
}

static void test_event_suppression(void)
{
	struct drv *d = drv_init(8);
	d->q.event_idx = true;
	uint32_t len;
	set_driver_event(d, 0, VRING_PACKED_EVENT_FLAG_DISABLE);
	add_chain(d, 1, 1, 1, 8);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	virtq_push(&d->q, &d->e[0], 0);
	CHECK(!virtq_needs_interrupt(&d->q));
	CHECK_EQ(get_used(d, &len), 1);
	set_driver_event(d, 0, VRING_PACKED_EVENT_FLAG_ENABLE);
	add_chain(d, 2, 1, 1, 8);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	virtq_push(&d->q, &d->e[0], 0);
	CHECK(virtq_needs_interrupt(&d->q));
	CHECK_EQ(get_used(d, &len), 2);
	/* An event at position 4 of this lap (wrap 1): the used position goes
	 * 2 -> 3 (no interrupt), then 3 -> 5 (passes 4: one). */
	set_driver_event(d, (uint16_t)(4 | 1u << 15), VRING_PACKED_EVENT_FLAG_DESC);
	add_chain(d, 3, 1, 1, 8);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	virtq_push(&d->q, &d->e[0], 0);
	CHECK(!virtq_needs_interrupt(&d->q));
	add_chain(d, 4, 2, 2, 8);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	virtq_push(&d->q, &d->e[0], 0);
	CHECK(virtq_needs_interrupt(&d->q));
	/* Without EVENT_IDX negotiated, the offset means nothing: every time. */
	d->q.event_idx = false;
	add_chain(d, 5, 1, 1, 8);
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), 1);
	virtq_push(&d->q, &d->e[0], 0);
	CHECK(virtq_needs_interrupt(&d->q));
	drv_fini(d);
}

static void test_rings_valid(void)
{
	struct guest_ram ram;
	CHECK(ram_init(&ram, RAM_SIZE) == 0);
	struct virtq q;
	virtq_reset(&q, &ram);
	q.packed = true;
	q.size = 5; /* not a power of two: fine for a packed ring */
	q.desc = RING;
	q.avail = DRIVER_EV;
	q.used = DEVICE_EV;
	CHECK(virtq_rings_valid(&q));
	q.desc = RING + 8;
	CHECK(!virtq_rings_valid(&q));
	q.desc = RAM_SIZE - 32; /* the ring runs past RAM */
	CHECK(!virtq_rings_valid(&q));
	q.desc = RING;
	q.used = DEVICE_EV + 2;
	CHECK(!virtq_rings_valid(&q));
	q.used = RAM_SIZE;
	CHECK(!virtq_rings_valid(&q));
	q.used = DEVICE_EV;
	q.size = 0;
	CHECK(!virtq_rings_valid(&q));
	q.size = VIRTQ_MAX_SIZE + 1;
	CHECK(!virtq_rings_valid(&q));
	ram_destroy(&ram);
}

/* Each hostile ring breaks the queue on the pop that meets it. */
static void expect_broken(struct drv *d, const char *what)
{
	int r = virtq_pop(&d->q, &d->e[0]);
	if (r != -1 || !d->q.broken) {
		printf("# a hostile ring was followed: %s (pop gave %d)\n", what, r);
		check_failures++;
	}
	CHECK_EQ(virtq_pop(&d->q, &d->e[0]), -1);
	drv_fini(d);
}

static void test_hostile(void)
{
	/* Every descriptor available and chained: no end in the ring. */
	struct drv *d = drv_init(4);
	for (unsigned i = 0; i < 4; i++)
		put_desc(d, i, BUF, 8, 0, VRING_DESC_F_NEXT | F_AVAIL);
	expect_broken(d, "a chain around the whole ring");

	d = drv_init(4);
	put_desc(d, 0, RAM_SIZE - 4, 8, 0, F_AVAIL);
	expect_broken(d, "a buffer past the end of RAM");

	d = drv_init(4);
	put_desc(d, 0, BUF, 8, 0, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE | F_AVAIL);
	put_desc(d, 1, BUF, 8, 0, F_AVAIL);
	expect_broken(d, "a readable buffer after a writable one");

	d = drv_init(4);
	put_desc(d, 0, BUF, 8, 0, VRING_DESC_F_NEXT | F_AVAIL);
	put_desc(d, 1, BUF, 8, 0, F_USED); /* the previous lap's: never made available */
	expect_broken(d, "a chain whose next descriptor is not available");

	d = drv_init(4);
	put_desc(d, 0, BUF + 0x80000, 32, 0, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT | F_AVAIL);
	expect_broken(d, "an indirect descriptor with NEXT");

	d = drv_init(4);
	struct vring_packed_desc nested = { .addr = BUF, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	CHECK(ram_write(&d->ram, BUF + 0x80000, &nested, sizeof(nested)) == 0);
	put_desc(d, 0, BUF + 0x80000, 16, 0, VRING_DESC_F_INDIRECT | F_AVAIL);
	expect_broken(d, "a nested indirect table");

	d = drv_init(4);
	put_desc(d, 0, BUF + 0x80000, 24, 0, VRING_DESC_F_INDIRECT | F_AVAIL);
	expect_broken(d, "an indirect table whose length is not a multiple of 16");

	d = drv_init(4);
	put_desc(d, 0, BUF, 8, 0, VRING_DESC_F_NEXT | F_AVAIL);
	put_desc(d, 1, BUF + 0x80000, 16, 0, VRING_DESC_F_INDIRECT | F_AVAIL);
	expect_broken(d, "an indirect descriptor inside a chain");
}

/* Random rings: the device pops and pushes whatever they hold; only guest
 * RAM is touched (ASan), and it never takes more than the ring holds. */
static void test_garbage(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (unsigned round = 0; round < 2000; round++) {
		struct drv *d = drv_init(1 + round % 16);
		for (unsigned i = 0; i < d->size; i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			uint16_t flags = (uint16_t)(seed >> 48) & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE |
								    VRING_DESC_F_INDIRECT | F_AVAIL | F_USED);
			uint64_t addr = seed & 1 ? BUF : (seed >> 20) & (2 * RAM_SIZE - 1);
			put_desc(d, i, addr, (uint32_t)(seed >> 8) & 0x3ff, (uint16_t)(seed >> 32), flags);
		}
		unsigned taken = 0;
		int r;
		while (taken < 64 && (r = virtq_pop(&d->q, &d->e[0])) == 1) {
			CHECK(d->e[0].ndesc >= 1 && d->e[0].ndesc <= d->size);
			virtq_push(&d->q, &d->e[0], (uint32_t)virtq_in_len(&d->e[0]));
			virtq_needs_interrupt(&d->q);
			taken++;
		}
		drv_fini(d);
	}
}

CHECK_MAIN(TEST_CASE(test_chain), TEST_CASE(test_laps_out_of_order), TEST_CASE(test_batch_and_unpop),
	   TEST_CASE(test_indirect), TEST_CASE(test_event_suppression), TEST_CASE(test_rings_valid),
	   TEST_CASE(test_hostile), TEST_CASE(test_garbage))
