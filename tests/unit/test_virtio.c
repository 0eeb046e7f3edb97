/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues against well-formed and hostile rings (loops, heads and
 * indices out of range, buffers outside RAM, nested or chained indirect
 * tables, writable-before-readable, random bytes), the event index, and the
 * raw-file disk backend with its worker (reads, writes, flush, discard,
 * write-zeroes, the image lock), and snapshots of virtio-blk, -rng and
 * -console on a PCI bus: saved busy, loaded into a fresh machine, going on;
 * hostile and random records refused or survived.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/chardev.h"
#include "core/event_loop.h"
#include "core/statebuf.h"
#include "hw/block/block.h"
#include "hw/device.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_console.h"
#include "hw/virtio/virtio_rng.h"
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
	CHECK_EQ(r->noted, 513 + 6 + 8 * QSIZE); /* the bytes written, then the used ring */
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

/* ---- snapshots of the virtio devices over PCI ---- */

#define M_RAM (4 * MiB)
#define M_BAR 0xc0000000ULL /* device d's BAR at M_BAR + d * 0x10000 */
#define M_QSIZE 16
#define M_RING(d, q) (0x40000ULL + ((d) * 2 + (q)) * 0x3000) /* desc; avail +0x1000; used +0x2000 */
#define BLK_BUF(slot) (0x100000ULL + (slot) * 0x2000ULL) /* header; data +0x100; status +0x1000 */
#define BLK_SLOTS 5 /* three descriptors each */
#define RNG_BUF 0x180000ULL
#define CON_TX_BUF 0x200000ULL
#define CON_TX_LEN (512 * 1024) /* more than the transmit ring and a pipe hold */
#define MSI_ADDR(d) (0xfee00000ULL | (uint64_t)(d) << 12)
#define MSI_DATA(d, v) (0x40u + (d) * 8 + (v))

enum { M_BLK, M_RNG, M_CON, M_NDEV };

/* A reader of a pipe on a thread of its own, until end of file. */
struct pipe_reader {
	int fd;
	uint8_t *buf;
	size_t len, cap;
	pthread_t thread;
};

static void *pipe_reader_main(void *arg)
{
	struct pipe_reader *r = arg;
	for (;;) {
		if (r->len == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 65536;
			r->buf = realloc(r->buf, r->cap);
		}
		ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n <= 0)
			return NULL;
		r->len += (size_t)n;
	}
}

static void pipe_reader_start(struct pipe_reader *r, int fd)
{
	*r = (struct pipe_reader){ .fd = fd };
	CHECK(pthread_create(&r->thread, NULL, pipe_reader_main, r) == 0);
}

static void pipe_reader_join(struct pipe_reader *r)
{
	pthread_join(r->thread, NULL);
	close(r->fd);
}

/* A machine: RAM, a PCI bus whose MSIs are counted, and virtio-blk (03.0),
 * virtio-rng (04.0) and virtio-console (05.0) on a disk image, a pipe and
 * an event loop. The lock is held except while the loop runs. */
struct machine {
	struct guest_ram ram;
	struct bus mmio;
	struct pci_bus *pci;
	struct vclock clock;
	pthread_mutex_t lock;
	struct event_loop loop;
	struct vtimer deadline;
	struct virtio_kick_host kicks;
	struct block_backend *disk;
	struct chardev *chr;
	int out[2]; /* the console's output pipe */
	struct virtio_blk *blk;
	struct virtio_rng *rng;
	struct virtio_console *con;
	unsigned msis[M_NDEV]; /* by the device the message names */
	uint32_t msi_data[M_NDEV]; /* the last one's */
};

static void m_on_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;
	unsigned d = (addr >> 12) & 0xff;
	if ((addr & ~0xff000ULL) == MSI_ADDR(0) && d < M_NDEV) {
		m->msis[d]++;
		m->msi_data[d] = data;
	}
}

static void m_on_deadline(void *opaque)
{
	evloop_stop(opaque);
}

static struct machine *machine_init(const char *disk_path)
{
	struct machine *m = calloc(1, sizeof(*m));
	char why[256];
	vclock_init(&m->clock);
	pthread_mutex_init(&m->lock, NULL);
	CHECK(ram_init(&m->ram, M_RAM) == 0);
	CHECK(evloop_init(&m->loop, &m->clock, &m->lock) == 0);
	vtimer_init(&m->deadline, &m->clock, m_on_deadline, &m->loop);
	bus_init(&m->mmio, "mmio");
	m->pci = pci_bus_create();
	pci_bus_set_address_spaces(m->pci, NULL, &m->mmio);
	pci_bus_set_msi_handler(m->pci, m_on_msi, m);
	m->kicks = (struct virtio_kick_host){ .loop = &m->loop }; /* no ioeventfd: kicks come through the BAR */
	struct block_options o = { .path = disk_path };
	CHECK(block_open(&o, &m->disk, why, sizeof(why)) == 0);
	CHECK(pipe(m->out) == 0);
	CHECK(chardev_open_fds(-1, m->out[1], false, &m->chr, why, sizeof(why)) == 0);
	CHECK(virtio_blk_create(m->pci, PCI_DEVFN(3, 0), &m->ram, &m->loop, &m->kicks, m->disk, "snap", &m->blk) == 0);
	CHECK(virtio_rng_create(m->pci, PCI_DEVFN(4, 0), &m->ram, &m->kicks, &m->rng) == 0);
	CHECK(virtio_console_create(m->pci, PCI_DEVFN(5, 0), &m->ram, &m->kicks, m->chr, &m->con) == 0);
	chardev_set_frontend(m->chr, virtio_console_receive, m->con);
	chardev_set_tx_space(m->chr, virtio_console_tx_space, m->con);
	CHECK(chardev_attach(m->chr, &m->loop) == 0);
	pthread_mutex_lock(&m->lock);
	return m;
}

/* Tears m down; the console's output pipe ends once everything written reached it. */
static void machine_fini(struct machine *m)
{
	pthread_mutex_unlock(&m->lock);
	virtio_console_destroy(m->con);
	virtio_rng_destroy(m->rng);
	virtio_blk_destroy(m->blk);
	chardev_close(m->chr);
	close(m->out[1]);
	pci_bus_destroy(m->pci);
	bus_destroy(&m->mmio);
	evloop_destroy(&m->loop);
	vclock_destroy(&m->clock);
	ram_destroy(&m->ram);
	free(m);
}

/* Runs the event loop for ms of virtual time (timers, disk completions, the console's ring). */
static void machine_run_ms(struct machine *m, int64_t ms)
{
	m->loop.stop = false;
	CHECK(vtimer_arm(&m->deadline, vclock_now(&m->clock) + ms * 1000000) == 0);
	pthread_mutex_unlock(&m->lock);
	evloop_run(&m->loop);
	pthread_mutex_lock(&m->lock);
	vtimer_cancel(&m->deadline);
}

static void m_wr(struct machine *m, unsigned d, uint64_t off, unsigned size, uint64_t v)
{
	bus_write(&m->mmio, M_BAR + d * 0x10000 + off, size, v);
}

static uint64_t m_rd(struct machine *m, unsigned d, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	bus_read(&m->mmio, M_BAR + d * 0x10000 + off, size, &v);
	return v;
}

static void m_put(struct machine *m, uint64_t gpa, const void *p, size_t n)
{
	CHECK(ram_write(&m->ram, gpa, p, n) == 0);
}

static uint16_t m_get16(struct machine *m, uint64_t gpa)
{
	uint16_t v = 0;
	CHECK(ram_read(&m->ram, gpa, &v, 2) == 0);
	return v;
}

static uint16_t used_idx(struct machine *m, unsigned d, unsigned q)
{
	return m_get16(m, M_RING(d, q) + 0x2000 + 2);
}

static void m_desc(struct machine *m, unsigned d, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		   uint16_t next)
{
	struct vring_desc desc = { .addr = addr, .len = len, .flags = flags, .next = next };
	m_put(m, M_RING(d, q) + 16 * i, &desc, sizeof(desc));
}

/* Makes head the driver's next available entry (the index lives in guest RAM). */
static void m_offer(struct machine *m, unsigned d, unsigned q, uint16_t head)
{
	uint64_t avail = M_RING(d, q) + 0x1000;
	uint16_t idx = m_get16(m, avail + 2);
	m_put(m, avail + 4 + 2 * (idx % M_QSIZE), &head, 2);
	idx++;
	m_put(m, avail + 2, &idx, 2);
}

static void m_kick(struct machine *m, unsigned d, unsigned q)
{
	m_wr(m, d, 0x3000 + 4 * q, 2, q);
}

/* A driver's set-up of device d: MSI-X (configuration vector 0, queue q
 * vector q + 1), the offered features of want and VERSION_1, nq queues. */
static void m_driver_init(struct machine *m, unsigned d, unsigned nq, uint64_t want)
{
	unsigned devfn = PCI_DEVFN(3 + d, 0);
	uint64_t bar = M_BAR + d * 0x10000;
	pci_config_write(m->pci, devfn, PCI_BASE_ADDRESS_0 + 16, (uint32_t)bar | PCI_BAR_MEM64, 4);
	pci_config_write(m->pci, devfn, PCI_BASE_ADDRESS_0 + 20, 0, 4);
	pci_config_write(m->pci, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	pci_config_write(m->pci, devfn, 0x42, 0x8000, 2); /* MSI-X on */
	for (unsigned v = 0; v <= nq; v++) {
		m_wr(m, d, 0x4000 + 16 * v, 8, MSI_ADDR(d));
		m_wr(m, d, 0x4000 + 16 * v + 8, 4, MSI_DATA(d, v));
		m_wr(m, d, 0x4000 + 16 * v + 12, 4, 0); /* unmasked */
	}
	m_wr(m, d, 0x14, 1, 0);
	m_wr(m, d, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	uint64_t offered = 0;
	for (unsigned sel = 0; sel < 2; sel++) {
		m_wr(m, d, 0x00, 4, sel);
		offered |= m_rd(m, d, 0x04, 4) << (32 * sel);
	}
	uint64_t accept = offered & (want | 1ULL << VIRTIO_F_VERSION_1);
	for (unsigned sel = 0; sel < 2; sel++) {
		m_wr(m, d, 0x08, 4, sel);
		m_wr(m, d, 0x0c, 4, (uint32_t)(accept >> (32 * sel)));
	}
	m_wr(m, d, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(m_rd(m, d, 0x14, 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	m_wr(m, d, 0x10, 2, 0);
	for (unsigned q = 0; q < nq; q++) {
		m_wr(m, d, 0x16, 2, q);
		m_wr(m, d, 0x18, 2, M_QSIZE);
		m_wr(m, d, 0x1a, 2, q + 1);
		m_wr(m, d, 0x20, 8, M_RING(d, q));
		m_wr(m, d, 0x28, 8, M_RING(d, q) + 0x1000);
		m_wr(m, d, 0x30, 8, M_RING(d, q) + 0x2000);
		m_wr(m, d, 0x1c, 2, 1);
	}
	m_wr(m, d, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
				  VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(m_rd(m, d, 0x14, 1), 0x0f);
}

static uint8_t pattern(uint64_t sector, size_t i)
{
	return (uint8_t)(sector * 31 + i * 7 + 1);
}

/* A request in slot (descriptors 3 * slot ..): type, sector, nsec sectors of
 * data (written with pattern() for VIRTIO_BLK_T_OUT), a status byte. */
static void blk_submit(struct machine *m, unsigned slot, uint32_t type, uint64_t sector, unsigned nsec)
{
	uint64_t buf = BLK_BUF(slot);
	struct virtio_blk_outhdr hdr = { .type = type, .sector = sector };
	uint8_t data[1024], status = 0xee;
	CHECK(nsec * 512 <= sizeof(data));
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = type == VIRTIO_BLK_T_OUT ? pattern(sector + i / 512, i % 512) : 0;
	m_put(m, buf, &hdr, sizeof(hdr));
	m_put(m, buf + 0x100, data, sizeof(data));
	m_put(m, buf + 0x1000, &status, 1);
	uint16_t d0 = (uint16_t)(3 * slot);
	m_desc(m, M_BLK, 0, d0, buf, sizeof(hdr), VRING_DESC_F_NEXT, d0 + 1);
	m_desc(m, M_BLK, 0, d0 + 1, buf + 0x100, nsec * 512,
	       VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0), d0 + 2);
	m_desc(m, M_BLK, 0, d0 + 2, buf + 0x1000, 1, VRING_DESC_F_WRITE, 0);
	m_offer(m, M_BLK, 0, d0);
}

/* Whether the read in slot brought pattern() for its sectors back, with status OK. */
static bool blk_read_ok(struct machine *m, unsigned slot, uint64_t sector, unsigned nsec)
{
	uint8_t data[1024], status = 0xee;
	CHECK(ram_read(&m->ram, BLK_BUF(slot) + 0x100, data, nsec * 512) == 0);
	CHECK(ram_read(&m->ram, BLK_BUF(slot) + 0x1000, &status, 1) == 0);
	bool ok = status == VIRTIO_BLK_S_OK;
	for (size_t i = 0; i < nsec * 512u; i++)
		ok &= data[i] == pattern(sector + i / 512, i % 512);
	return ok;
}

/* Runs the loop until device d's queue q used index reaches want (5 s at most). */
static void wait_used(struct machine *m, unsigned d, unsigned q, uint16_t want)
{
	for (int i = 0; i < 500 && used_idx(m, d, q) != want; i++)
		machine_run_ms(m, 10);
	CHECK_EQ(used_idx(m, d, q), want);
}

/* The driver wants an interrupt once the used index passes idx (EVENT_IDX's used_event). */
static void set_used_event(struct machine *m, unsigned d, unsigned q, uint16_t idx)
{
	m_put(m, M_RING(d, q) + 0x1000 + 4 + 2 * M_QSIZE, &idx, 2);
}

/* One field of a record: where its bytes start in the statebuf, how many. */
struct rec_field {
	size_t at, size;
	char name[256];
};

/* The fields of the device record starting at off in sb (into f, up to max); their count. */
static unsigned parse_record(const struct statebuf *sb, size_t off, struct rec_field *f, unsigned max, size_t *end)
{
	struct state_reader sr;
	char name[256];
	sr_init(&sr, sb->data + off, sb->len - off);
	sr_get_name(&sr, name);
	sr_get_name(&sr, name);
	(void)sr_get_u32(&sr);
	uint32_t n = sr_get_u32(&sr);
	CHECK(n <= max);
	for (uint32_t i = 0; i < n && i < max; i++) {
		sr_get_name(&sr, f[i].name);
		f[i].size = sr_get_u32(&sr);
		f[i].at = sb->len - sr.left;
		(void)sr_sub(&sr, f[i].size);
	}
	CHECK(sr_ok(&sr));
	*end = sb->len - sr.left;
	return n < max ? n : max;
}

static struct rec_field *find_rec_field(struct rec_field *f, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(f[i].name, name))
			return &f[i];
	CHECK(!"field missing");
	return &f[0];
}

static int load_one(struct device *dev, const struct statebuf *sb, size_t off, size_t len, char *why, size_t why_len)
{
	struct state_reader sr;
	sr_init(&sr, sb->data + off, len);
	int r = device_load(dev, &sr, why, why_len);
	if (r == 0)
		CHECK_EQ(sr.left, 0);
	return r;
}

static char *make_disk(char *path)
{
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 1 << 20) == 0);
	close(fd);
	return path;
}

/*
 * Each device in the middle of its work: the disk with two writes done and
 * two more still in flight when the snapshot is taken (pre_save waits for
 * them), the rng with buffers filled, the console with a request larger than
 * its transmit ring and the pipe behind it half written. Saved, guest RAM
 * copied, the machine torn down; a fresh machine on the same image loads it
 * all and goes on: reads see every write, used indexes continue, the
 * interrupt the drained requests called for comes once the machine runs,
 * interrupts keep their MSI-X messages and the event index its shadow
 * state, the console writes the rest of its request exactly once.
 */
static void test_snapshot(void)
{
	char path[] = "/tmp/x86v-test-disk-XXXXXX";
	struct machine *a = machine_init(make_disk(path));
	m_driver_init(a, M_BLK, 1, 1ULL << VIRTIO_RING_F_EVENT_IDX);
	m_driver_init(a, M_RNG, 1, 0);
	m_driver_init(a, M_CON, 2, 0);

	set_used_event(a, M_BLK, 0, 0);
	blk_submit(a, 0, VIRTIO_BLK_T_OUT, 0, 2);
	blk_submit(a, 1, VIRTIO_BLK_T_OUT, 2, 2);
	m_kick(a, M_BLK, 0);
	wait_used(a, M_BLK, 0, 2);
	CHECK_EQ(a->msis[M_BLK], 1); /* the first completion; used_event 0 then passed */
	CHECK_EQ(a->msi_data[M_BLK], MSI_DATA(M_BLK, 1));
	set_used_event(a, M_BLK, 0, 3); /* an interrupt once the index passes 3 */
	blk_submit(a, 2, VIRTIO_BLK_T_OUT, 4, 2);
	blk_submit(a, 3, VIRTIO_BLK_T_OUT, 6, 1);
	m_kick(a, M_BLK, 0); /* in flight now */

	for (unsigned i = 0; i < 2; i++) {
		m_desc(a, M_RNG, 0, i, RNG_BUF + 0x100 * i, 64, VRING_DESC_F_WRITE, 0);
		m_offer(a, M_RNG, 0, (uint16_t)i);
	}
	m_kick(a, M_RNG, 0);
	CHECK_EQ(used_idx(a, M_RNG, 0), 2);

	uint8_t *tx = malloc(CON_TX_LEN);
	for (size_t i = 0; i < CON_TX_LEN; i++)
		tx[i] = (uint8_t)(i % 251);
	m_put(a, CON_TX_BUF, tx, CON_TX_LEN);
	m_desc(a, M_CON, 1, 0, CON_TX_BUF, CON_TX_LEN, 0, 0);
	m_offer(a, M_CON, 1, 0);
	m_kick(a, M_CON, 1); /* fills the ring and stops: nobody reads the pipe yet */
	CHECK_EQ(used_idx(a, M_CON, 1), 0);

	struct statebuf sb;
	size_t rec[5], end;
	sb_init(&sb);
	struct device *devs_a[] = { pci_bus_device(a->pci), virtio_blk_device(a->blk), virtio_rng_device(a->rng),
				    virtio_console_device(a->con) };
	for (unsigned i = 0; i < 4; i++) {
		rec[i] = sb.len;
		CHECK_EQ(device_save(devs_a[i], &sb), 0);
	}
	rec[4] = sb.len;
	CHECK_STR(devs_a[1]->name, "virtio-blk@03.0");
	CHECK_STR(devs_a[3]->name, "virtio-console@05.0");
	CHECK_EQ(used_idx(a, M_BLK, 0), 4); /* pre_save waited for the two in flight */
	CHECK_EQ(a->msis[M_BLK], 2); /* and this machine got their interrupt */
	struct rec_field f[64];
	unsigned nf = parse_record(&sb, rec[3], f, 64, &end);
	CHECK_EQ(end, rec[4]);
	CHECK_EQ(sb.data[find_rec_field(f, nf, "tx_busy")->at], 1);
	uint64_t tx_off;
	memcpy(&tx_off, sb.data + find_rec_field(f, nf, "tx_off")->at, 8);
	CHECK(tx_off > 0 && tx_off < CON_TX_LEN);
	uint8_t *ram_copy = malloc(M_RAM);
	memcpy(ram_copy, a->ram.host, M_RAM);
	/* What the first machine's console got out: exactly tx_off bytes. */
	struct pipe_reader out_a, out_b;
	pipe_reader_start(&out_a, a->out[0]);
	machine_fini(a);
	pipe_reader_join(&out_a);
	CHECK_EQ(out_a.len, tx_off);

	struct machine *b = machine_init(path);
	pipe_reader_start(&out_b, b->out[0]);
	memcpy(b->ram.host, ram_copy, M_RAM);
	struct device *devs_b[] = { pci_bus_device(b->pci), virtio_blk_device(b->blk), virtio_rng_device(b->rng),
				    virtio_console_device(b->con) };
	char why[256] = "";
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(load_one(devs_b[i], &sb, rec[i], rec[i + 1] - rec[i], why, sizeof(why)), 0);
	CHECK_STR(why, "");
	for (unsigned d = 0; d < M_NDEV; d++)
		CHECK_EQ(b->msis[d], 0); /* loading sends nothing */
	CHECK_EQ(m_rd(b, M_BLK, 0x14, 1), 0x0f);
	CHECK_EQ(m_rd(b, M_BLK, 0x1a, 2), 1); /* queue 0 (selected) keeps vector 1 */

	/* Once it runs, the disk sends the interrupt the requests drained while
	 * saving called for (used_event 3 lies in [2, 4)): the controllers were
	 * saved before it. */
	machine_run_ms(b, 1);
	CHECK_EQ(b->msis[M_BLK], 1);
	CHECK_EQ(b->msi_data[M_BLK], MSI_DATA(M_BLK, 1));
	/* The index goes on from 4; used_event 3 is behind it: no interrupt... */
	blk_submit(b, 4, VIRTIO_BLK_T_IN, 0, 2);
	m_kick(b, M_BLK, 0);
	wait_used(b, M_BLK, 0, 5);
	CHECK(blk_read_ok(b, 4, 0, 2));
	CHECK_EQ(b->msis[M_BLK], 1);
	/* ...and once the driver asks, it does, with the saved message. */
	set_used_event(b, M_BLK, 0, 5);
	blk_submit(b, 0, VIRTIO_BLK_T_IN, 4, 2);
	m_kick(b, M_BLK, 0);
	wait_used(b, M_BLK, 0, 6);
	CHECK(blk_read_ok(b, 0, 4, 2));
	CHECK_EQ(b->msis[M_BLK], 2);
	CHECK_EQ(b->msi_data[M_BLK], MSI_DATA(M_BLK, 1));
	set_used_event(b, M_BLK, 0, 6);
	blk_submit(b, 1, VIRTIO_BLK_T_IN, 6, 1);
	m_kick(b, M_BLK, 0);
	wait_used(b, M_BLK, 0, 7);
	CHECK(blk_read_ok(b, 1, 6, 1));
	struct vring_used_elem ue;
	CHECK(ram_read(&b->ram, M_RING(M_BLK, 0) + 0x2000 + 4 + 8 * (6 % M_QSIZE), &ue, sizeof(ue)) == 0);
	CHECK_EQ(ue.id, 3);
	CHECK_EQ(ue.len, 513);

	/* The rng: index 2 -> 3, its own vector. */
	m_desc(b, M_RNG, 0, 2, RNG_BUF + 0x200, 64, VRING_DESC_F_WRITE, 0);
	m_offer(b, M_RNG, 0, 2);
	CHECK_EQ(b->msis[M_RNG], 0); /* the kick after the load found nothing to return */
	m_kick(b, M_RNG, 0);
	CHECK_EQ(used_idx(b, M_RNG, 0), 3);
	CHECK_EQ(b->msis[M_RNG], 1);
	CHECK_EQ(b->msi_data[M_RNG], MSI_DATA(M_RNG, 1));

	/* The console: the kick after the load writes the rest of the request. */
	wait_used(b, M_CON, 1, 1);
	CHECK_EQ(b->msis[M_CON], 1);
	CHECK_EQ(b->msi_data[M_CON], MSI_DATA(M_CON, 2));
	machine_fini(b);
	pipe_reader_join(&out_b);
	CHECK_EQ(out_a.len + out_b.len, CON_TX_LEN);
	CHECK(out_a.len <= CON_TX_LEN && !memcmp(out_a.buf, tx, out_a.len));
	CHECK(out_b.len == CON_TX_LEN - out_a.len && !memcmp(out_b.buf, tx + out_a.len, out_b.len));
	free(out_a.buf);
	free(out_b.buf);
	free(tx);
	free(ram_copy);
	sb_free(&sb);
	unlink(path);
}

/* Loads rec into dev expecting a refusal that leaves dev reset (its BAR unmapped). */
static void expect_refused(struct machine *m, struct device *dev, unsigned d, const struct statebuf *sb, size_t off,
			   size_t len, const char *reason)
{
	char why[256] = "";
	CHECK_EQ(load_one(dev, sb, off, len, why, sizeof(why)), -EINVAL);
	if (!strstr(why, reason))
		printf("# refused for another reason: %s\n", why);
	CHECK(strstr(why, reason) != NULL);
	CHECK_EQ(pci_config_read(m->pci, PCI_DEVFN(3 + d, 0), PCI_COMMAND, 2), 0);
	CHECK_EQ(pci_config_read(m->pci, PCI_DEVFN(3 + d, 0), PCI_BASE_ADDRESS_0 + 16, 4), PCI_BAR_MEM64);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Records a hostile snapshot could hold: each refused with -EINVAL and the
 * device left reset (then the good record still loads). Then a few hundred
 * records with random bytes in random fields, each followed by kicks,
 * register and MSI-X accesses and the resume kick: whatever loads must run
 * without touching anything outside guest RAM.
 */
static void test_snapshot_hostile(void)
{
	char path[] = "/tmp/x86v-test-disk-XXXXXX";
	struct machine *m = machine_init(make_disk(path));
	m_driver_init(m, M_BLK, 1, 1ULL << VIRTIO_RING_F_EVENT_IDX);
	m_driver_init(m, M_CON, 2, 0);
	blk_submit(m, 0, VIRTIO_BLK_T_OUT, 0, 2);
	m_kick(m, M_BLK, 0);
	wait_used(m, M_BLK, 0, 1);
	struct device *blk = virtio_blk_device(m->blk), *con = virtio_console_device(m->con);
	struct statebuf good;
	sb_init(&good);
	CHECK_EQ(device_save(blk, &good), 0);
	size_t con_off = good.len, end;
	CHECK_EQ(device_save(con, &good), 0);
	struct rec_field f[64], fc[64];
	unsigned nf = parse_record(&good, 0, f, 64, &end);
	CHECK_EQ(end, con_off);
	unsigned nfc = parse_record(&good, con_off, fc, 64, &end);
	CHECK_EQ(end, good.len);

	static const struct {
		const char *field;
		unsigned at; /* byte in the field */
		uint64_t value;
		unsigned size;
		const char *reason;
	} cases[] = {
		{ "queue_size", 0, 3, 2, "a queue size the driver cannot set" },
		{ "queue_size", 0, 512, 2, "a queue size the driver cannot set" },
		{ "queue_size", 0, 0, 2, "a queue size the driver cannot set" },
		{ "queue_desc", 0, M_RAM - 16, 8, "rings outside guest RAM" },
		{ "queue_used", 0, 0x40000002ULL, 8, "rings outside guest RAM" },
		{ "queue_vector", 0, 7, 2, "a queue vector past the MSI-X table" },
		{ "config_vector", 0, 2, 2, "a configuration vector past the MSI-X table" },
		{ "driver_features", 0, 1ULL << 40 | 1ULL << VIRTIO_F_VERSION_1, 8, "features the device does not offer" },
		{ "driver_features", 0, 0, 8, "FEATURES_OK without VERSION_1" },
		{ "pci_config", PCI_DEVICE_ID, 0x1041, 2, "another function's" },
		{ "status", 0, 0x2f, 1, "reserved status bits" },
		{ "isr", 0, 1, 1, "an INTx level that is not the ISR's" },
		{ "queue_size", 2 * 5, 16, 2, "a queue the device does not have" },
		{ "msix_table", 16 * 5, 1, 4, "a vector past the table" },
		{ "msix_table", 12, 2, 4, "reserved vector control bits" },
		{ "last_avail", 0, 7, 2, "requests in flight" },
		{ "capacity", 0, 7, 8, "the disk has 2048 sectors" },
	};
	struct statebuf bad;
	sb_init(&bad);
	sb_put(&bad, good.data, good.len);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		memcpy(bad.data, good.data, good.len);
		struct rec_field *rf = find_rec_field(f, nf, cases[c].field);
		CHECK(cases[c].at + cases[c].size <= rf->size);
		memcpy(bad.data + rf->at + cases[c].at, &cases[c].value, cases[c].size);
		expect_refused(m, blk, M_BLK, &bad, 0, con_off, cases[c].reason);
	}
	/* The console: a chain held with none taken. */
	memcpy(bad.data, good.data, good.len);
	bad.data[find_rec_field(fc, nfc, "tx_busy")->at] = 1;
	expect_refused(m, con, M_CON, &bad, con_off, good.len - con_off, "requests in flight");
	char why[256];
	CHECK_EQ(load_one(blk, &good, 0, con_off, why, sizeof(why)), 0);
	CHECK_EQ(m_rd(m, M_BLK, 0x14, 1), 0x0f);
	blk_submit(m, 1, VIRTIO_BLK_T_IN, 0, 2);
	m_kick(m, M_BLK, 0);
	wait_used(m, M_BLK, 0, 2);
	CHECK(blk_read_ok(m, 1, 0, 2));

	/* Random bytes in random fields. */
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		bool is_con = round & 1;
		struct rec_field *fl = is_con ? fc : f;
		unsigned n = is_con ? nfc : nf;
		size_t off = is_con ? con_off : 0, len = is_con ? good.len - con_off : con_off;
		memcpy(bad.data, good.data, good.len);
		for (unsigned k = 1 + xorshift(&seed) % 3; k > 0; k--) {
			struct rec_field *rf = &fl[xorshift(&seed) % n];
			/* Mostly the fields that change as a device runs: more records load. */
			while (rf->size > 64 && xorshift(&seed) % 4)
				rf = &fl[xorshift(&seed) % n];
			unsigned bytes = 1 + xorshift(&seed) % 4;
			for (unsigned i = 0; i < bytes; i++) {
				uint64_t r = xorshift(&seed);
				/* Small values and flipped bits as often as anything. */
				uint8_t v = r & 1 ? (uint8_t)(r >> 8) : r & 2 ? (uint8_t)(r >> 8 & 3) : (uint8_t)(1u << (r >> 8 & 7));
				size_t at = rf->size <= 8 ? i % rf->size : xorshift(&seed) % rf->size;
				/* Per-queue arrays (8 entries): the queues the devices have, mostly. */
				if (rf->size <= 64 && rf->size % 8 == 0 && (r >> 16) % 4)
					at = (r >> 20) % 2 * (rf->size / 8) + (r >> 24) % (rf->size / 8);
				if (rf->size == 1 || (rf->size == 8 && (r >> 40 & 1)))
					v &= 1; /* bools (and bool arrays), often */
				bad.data[rf->at + at] ^= v;
			}
		}
		unsigned d = is_con ? M_CON : M_BLK;
		struct device *dev = is_con ? con : blk;
		if (load_one(dev, &bad, off, len, why, sizeof(why)) == 0) {
			loaded++;
			vclock_run_expired(&m->clock, vclock_now(&m->clock)); /* the resume kick */
		}
		for (unsigned k = 0; k < 8; k++) {
			uint64_t r = xorshift(&seed);
			unsigned size = 1u << (r >> 8 & 3);
			switch (r & 7) {
			case 0: m_kick(m, d, (r >> 4) & 1); break;
			case 1: (void)m_rd(m, d, 0x1000, 1); break; /* ISR */
			case 2: m_wr(m, d, (r >> 16) % 0x40 & ~(uint64_t)(size - 1), size, r >> 32); break;
			case 3: (void)m_rd(m, d, (r >> 16) % 0x40 & ~(uint64_t)(size - 1), size); break;
			case 4: m_wr(m, d, 0x4000 + ((r >> 16) % 0x40 & ~3ULL), 4, r >> 32); break;
			case 5: (void)m_rd(m, d, 0x5000, 8); break;
			case 6: pci_config_write(m->pci, PCI_DEVFN(3 + d, 0), 0x40, (uint32_t)(r >> 32), 4); break;
			default: virtio_console_tx_space(m->con); break;
			}
		}
		block_drain(m->disk);
	}
	printf("# %u of 400 random records loaded\n", loaded);
	CHECK(loaded > 20); /* enough rounds got past the checks to run */
	sb_free(&bad);
	sb_free(&good);
	machine_fini(m);
	unlink(path);
}

CHECK_MAIN(TEST_CASE(test_chain_and_used_ring), TEST_CASE(test_indirect), TEST_CASE(test_hostile_rings),
	   TEST_CASE(test_rings_valid), TEST_CASE(test_event_idx), TEST_CASE(test_garbage),
	   TEST_CASE(test_block_file), TEST_CASE(test_block_bad_images), TEST_CASE(test_snapshot),
	   TEST_CASE(test_snapshot_hostile))
