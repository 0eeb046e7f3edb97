/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues against well-formed and hostile rings (loops, heads and
 * indices out of range, buffers outside RAM, nested or chained indirect
 * tables, writable-before-readable, random bytes), the event index, and the
 * raw-file disk backend with its worker (reads, writes, flush, discard,
 * write-zeroes, the image lock).
 */
#include <fcntl.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/event_loop.h"
#include "hw/block/block.h"
#include "hw/virtio/virtqueue.h"

#define RAM_SIZE (4 * MiB)
#define DESC 0x10000
#define AVAIL 0x20000
#define USED 0x30000
#define BUF 0x100000
#define QSIZE 8

struct rig {
	struct guest_ram ram;
	struct virtq q;
	struct virtq_elem e;
	uint64_t noted; /* bytes the write hook heard about */
};

static void noted(void *opaque, gpa_t gpa, uint64_t len)
{
	(void)gpa;
	((struct rig *)opaque)->noted += len;
}

static struct rig *rig_init(void)
{
	struct rig *r = calloc(1, sizeof(*r));
	CHECK(ram_init(&r->ram, RAM_SIZE) == 0);
	r->ram.written = noted;
	r->ram.written_opaque = r;
	virtq_reset(&r->q, &r->ram);
	r->q.size = QSIZE;
	r->q.desc = DESC;
	r->q.avail = AVAIL;
	r->q.used = USED;
	r->q.enabled = virtq_rings_valid(&r->q);
	CHECK(r->q.enabled);
	return r;
}

static void rig_fini(struct rig *r)
{
	ram_destroy(&r->ram);
	free(r);
}

static void set_desc(struct rig *r, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };
	CHECK(ram_write(&r->ram, table + 16ULL * i, &d, sizeof(d)) == 0);
}

/* Makes head available as the driver's next entry. */
static void offer(struct rig *r, uint16_t head)
{
	uint16_t idx;
	CHECK(ram_read(&r->ram, AVAIL + 2, &idx, 2) == 0);
	CHECK(ram_write(&r->ram, AVAIL + 4 + 2 * (idx % QSIZE), &head, 2) == 0);
	idx++;
	CHECK(ram_write(&r->ram, AVAIL + 2, &idx, 2) == 0);
}

static uint16_t rd16(struct rig *r, uint64_t gpa)
{
	uint16_t v = 0;
	CHECK(ram_read(&r->ram, gpa, &v, 2) == 0);
	return v;
}

static void test_chain_and_used_ring(void)
{
	struct rig *r = rig_init();
	set_desc(r, DESC, 0, BUF, 16, VRING_DESC_F_NEXT, 3);
	set_desc(r, DESC, 3, BUF + 0x1000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
	set_desc(r, DESC, 5, BUF + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	CHECK(ram_write(&r->ram, BUF, "header-bytes-16!", 16) == 0);
	CHECK_EQ(virtq_pop(&r->q, &r->e), 0); /* nothing offered yet */
	offer(r, 0);
	CHECK_EQ(virtq_pop(&r->q, &r->e), 1);
	CHECK_EQ(r->e.head, 0);
	CHECK_EQ(r->e.nout, 1);
	CHECK_EQ(r->e.nin, 2);
	CHECK_EQ(r->e.in[0].iov_len, 512);
	char hdr[17] = { 0 };
	CHECK_EQ(virtq_copy_from(&r->e, 0, hdr, 16), 16);
	CHECK_STR(hdr, "header-bytes-16!");
	CHECK_EQ(virtq_copy_to(&r->e, 510, "xyz", 3), 3); /* across the two writable buffers */
	uint8_t b[3];
	CHECK(ram_read(&r->ram, BUF + 0x1000 + 510, b, 2) == 0 && ram_read(&r->ram, BUF + 0x2000, b + 2, 1) == 0);
	CHECK(!memcmp(b, "xyz", 3));
	CHECK_EQ(virtq_pop(&r->q, &r->e), 0);
	r->noted = 0;
	virtq_push(&r->q, &r->e, 513);
	CHECK_EQ(r->noted, 513);
	CHECK_EQ(rd16(r, USED + 2), 1);
	uint32_t ue[2];
	CHECK(ram_read(&r->ram, USED + 4, ue, 8) == 0);
	CHECK_EQ(ue[0], 0);
	CHECK_EQ(ue[1], 513);
	CHECK(virtq_needs_interrupt(&r->q));
	uint16_t no_intr = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK(ram_write(&r->ram, AVAIL, &no_intr, 2) == 0);
	CHECK(!virtq_needs_interrupt(&r->q));
	rig_fini(r);
}

static void test_indirect(void)
{
	struct rig *r = rig_init();
	uint64_t table = BUF + 0x10000;
	set_desc(r, table, 0, BUF, 16, VRING_DESC_F_NEXT, 2);
	set_desc(r, table, 2, BUF + 0x1000, 100, VRING_DESC_F_WRITE, 0);
	set_desc(r, DESC, 1, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(r, 1);
	CHECK_EQ(virtq_pop(&r->q, &r->e), 1);
	CHECK_EQ(r->e.head, 1);
	CHECK_EQ(r->e.nout, 1);
	CHECK_EQ(r->e.nin, 1);
	CHECK(!r->q.broken);
	rig_fini(r);
}

/* One hostile ring per case: each must break the queue, never hang or crash. */
static void test_hostile_rings(void)
{
	uint64_t table = BUF + 0x10000;
	for (unsigned c = 0; c < 11; c++) {
		struct rig *r = rig_init();
		uint16_t head = 0;
		switch (c) {
		case 0: /* a loop */
			set_desc(r, DESC, 0, BUF, 8, VRING_DESC_F_NEXT, 1);
			set_desc(r, DESC, 1, BUF, 8, VRING_DESC_F_NEXT, 0);
			break;
		case 1: /* next beyond the table */
			set_desc(r, DESC, 0, BUF, 8, VRING_DESC_F_NEXT, QSIZE);
			break;
		case 2: /* a head beyond the table */
			head = QSIZE + 3;
			break;
		case 3: /* a buffer past the end of RAM */
			set_desc(r, DESC, 0, RAM_SIZE - 4, 8, 0, 0);
			break;
		case 4: /* a readable buffer after a writable one */
			set_desc(r, DESC, 0, BUF, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
			set_desc(r, DESC, 1, BUF, 8, 0, 0);
			break;
		case 5: /* nested indirect */
			set_desc(r, table, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
			set_desc(r, DESC, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
			break;
		case 6: /* indirect with NEXT */
			set_desc(r, table, 0, BUF, 8, 0, 0);
			set_desc(r, DESC, 0, table, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
			break;
		case 7: /* an indirect table whose length is not whole descriptors */
			set_desc(r, DESC, 0, table, 20, VRING_DESC_F_INDIRECT, 0);
			break;
		case 8: /* a loop inside an indirect table */
			set_desc(r, table, 0, BUF, 8, VRING_DESC_F_NEXT, 1);
			set_desc(r, table, 1, BUF, 8, VRING_DESC_F_NEXT, 0);
			set_desc(r, DESC, 0, table, 32, VRING_DESC_F_INDIRECT, 0);
			break;
		case 9: /* an indirect table past the end of RAM */
			set_desc(r, DESC, 0, RAM_SIZE - 16, 64, VRING_DESC_F_INDIRECT, 0);
			break;
		case 10: { /* more entries claimed than the ring holds */
			uint16_t idx = QSIZE + 1;
			CHECK(ram_write(&r->ram, AVAIL + 2, &idx, 2) == 0);
			break;
		}
		}
		if (c != 10)
			offer(r, head);
		CHECK_EQ(virtq_pop(&r->q, &r->e), -1);
		CHECK(r->q.broken);
		CHECK_EQ(virtq_pop(&r->q, &r->e), -1); /* and stays so */
		virtq_push(&r->q, &r->e, 0); /* ignored on a broken queue */
		CHECK_EQ(rd16(r, USED + 2), 0);
		rig_fini(r);
	}
}

static void test_rings_valid(void)
{
	struct rig *r = rig_init();
	r->q.size = 6; /* not a power of two */
	CHECK(!virtq_rings_valid(&r->q));
	r->q.size = QSIZE;
	r->q.used = RAM_SIZE - 8; /* the used ring past RAM */
	CHECK(!virtq_rings_valid(&r->q));
	r->q.used = USED + 2; /* misaligned */
	CHECK(!virtq_rings_valid(&r->q));
	rig_fini(r);
}

static void test_event_idx(void)
{
	struct rig *r = rig_init();
	r->q.event_idx = true;
	set_desc(r, DESC, 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 3; i++)
		offer(r, 0);
	uint16_t used_event = 1; /* interrupt once the used index passes 1 */
	CHECK(ram_write(&r->ram, AVAIL + 4 + 2 * QSIZE, &used_event, 2) == 0);
	CHECK_EQ(virtq_pop(&r->q, &r->e), 1);
	CHECK_EQ(rd16(r, USED + 4 + 8 * QSIZE), 0); /* avail_event: kick me at entry 0... */
	virtq_push(&r->q, &r->e, 8);
	CHECK(virtq_needs_interrupt(&r->q)); /* the first check always signals */
	CHECK_EQ(virtq_pop(&r->q, &r->e), 1);
	virtq_push(&r->q, &r->e, 8); /* used index 1 -> 2: passes used_event 1 */
	CHECK(virtq_needs_interrupt(&r->q));
	CHECK_EQ(virtq_pop(&r->q, &r->e), 1);
	virtq_push(&r->q, &r->e, 8); /* 2 -> 3: not wanted */
	CHECK(!virtq_needs_interrupt(&r->q));
	CHECK_EQ(virtq_pop(&r->q, &r->e), 0);
	CHECK_EQ(rd16(r, USED + 4 + 8 * QSIZE), 3); /* ...now at entry 3 */
	rig_fini(r);
}

/* Random descriptor tables and indices: pops always end, nothing crashes. */
static void test_garbage(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (unsigned round = 0; round < 300; round++) {
		struct rig *r = rig_init();
		uint8_t junk[16 * QSIZE + 4 + 2 * QSIZE + 2];
		for (size_t i = 0; i < sizeof(junk); i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			junk[i] = (uint8_t)seed;
			if (i % 16 < 8 && i < 16 * QSIZE && (seed >> 40 & 3)) /* mostly plausible addresses */
				junk[i] = i % 16 == 2 ? (uint8_t)(seed >> 8 & 0x1f) : i % 16 > 3 ? 0 : junk[i];
		}
		CHECK(ram_write(&r->ram, DESC, junk, 16 * QSIZE) == 0);
		CHECK(ram_write(&r->ram, AVAIL, junk + 16 * QSIZE, 4 + 2 * QSIZE + 2) == 0);
		for (unsigned i = 0; i < 2 * QSIZE && virtq_pop(&r->q, &r->e) == 1; i++)
			virtq_push(&r->q, &r->e, (uint32_t)seed);
		rig_fini(r);
	}
}

/* ---- the disk backend ---- */

struct disk_rig {
	struct vclock clock;
	pthread_mutex_t lock;
	struct event_loop loop;
	unsigned done;
	int last_result;
};

static void disk_done(void *opaque, struct block_request *req)
{
	struct disk_rig *d = opaque;
	d->done++;
	d->last_result = req->result;
}

static void test_block_file(void)
{
	char path[] = "/tmp/x86v-test-disk-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 1 << 20) == 0);
	close(fd);
	struct disk_rig d = { 0 };
	vclock_init(&d.clock);
	pthread_mutex_init(&d.lock, NULL);
	CHECK(evloop_init(&d.loop, &d.clock, &d.lock) == 0);
	struct block_options o = { .path = path };
	struct block_backend *b = NULL, *b2 = NULL;
	char why[256];
	CHECK(block_open(&o, &b, why, sizeof(why)) == 0);
	CHECK_EQ(block_size(b), 1 << 20);
	/* A second writer is refused; so is a reader while a writer holds it. */
	CHECK(block_open(&o, &b2, why, sizeof(why)) < 0);
	CHECK(strstr(why, "in use") != NULL);
	o.readonly = true;
	CHECK(block_open(&o, &b2, why, sizeof(why)) < 0);
	CHECK(block_start(b, &d.loop, disk_done, &d) == 0);

	static uint8_t out[8192], in[8192];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);
	struct iovec wv[2] = { { out, 4096 }, { out + 4096, 4096 } };
	struct block_request w = { .op = BLOCK_WRITE, .offset = 4096, .len = 8192, .iov = wv, .niov = 2 };
	block_submit(b, &w);
	struct block_request f = { .op = BLOCK_FLUSH };
	block_submit(b, &f);
	block_drain(b);
	CHECK_EQ(d.done, 2);
	CHECK_EQ(d.last_result, 0);
	struct iovec rv = { in, 8192 };
	struct block_request rd = { .op = BLOCK_READ, .offset = 4096, .len = 8192, .iov = &rv, .niov = 1 };
	block_submit(b, &rd);
	block_drain(b);
	CHECK_EQ(rd.result, 0);
	CHECK(!memcmp(in, out, sizeof(in)));
	struct block_request z = { .op = BLOCK_WRITE_ZEROES, .offset = 4096, .len = 4096 };
	struct block_request dc = { .op = BLOCK_DISCARD, .offset = 8192, .len = 4096 };
	block_submit(b, &z);
	block_submit(b, &dc);
	block_drain(b); /* requests in flight run in any order (several workers): the read after */
	block_submit(b, &rd);
	block_drain(b);
	CHECK_EQ(z.result, 0);
	CHECK_EQ(dc.result, 0);
	static const uint8_t zeros[4096];
	CHECK(!memcmp(in, zeros, 4096));
	CHECK_EQ(d.done, 6);
	block_close(b);
	/* Closed: a read-only open now works, and sees the data. */
	CHECK(block_open(&o, &b2, why, sizeof(why)) == 0);
	CHECK(block_readonly(b2));
	block_close(b2);
	evloop_destroy(&d.loop);
	vclock_destroy(&d.clock);
	unlink(path);
}

static void test_block_bad_images(void)
{
	char why[256];
	struct block_backend *b = NULL;
	struct block_options o = { .path = "/nonexistent/x86v.img" };
	CHECK(block_open(&o, &b, why, sizeof(why)) < 0);
	CHECK(strstr(why, "/nonexistent/x86v.img") != NULL);
	o.path = "/tmp";
	CHECK(block_open(&o, &b, why, sizeof(why)) < 0); /* a directory */
	char path[] = "/tmp/x86v-test-disk-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "short", 5) == 5);
	close(fd);
	o.path = path;
	CHECK(block_open(&o, &b, why, sizeof(why)) < 0); /* less than a sector */
	CHECK(strstr(why, "smaller than one") != NULL);
	unlink(path);
}

CHECK_MAIN(TEST_CASE(test_chain_and_used_ring), TEST_CASE(test_indirect), TEST_CASE(test_hostile_rings),
	   TEST_CASE(test_rings_valid), TEST_CASE(test_event_idx), TEST_CASE(test_garbage),
	   TEST_CASE(test_block_file), TEST_CASE(test_block_bad_images))
