/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the snapshot loader on hostile state. One PC board (every
 * device object of a real machine: interrupt controllers, timers, COM1, RTC,
 * i8042, fw_cfg, ACPI PM, PCI with PIIX3, virtio-blk on a small image,
 * virtio-rng, virtio-console and virtio-net on user-mode networking with
 * restrict=on) is built once and driven through its ports and MMIO into a
 * busy state (timers running, interrupts pending and in service, FIFOs
 * half full, virtio queues with requests done and buffers posted); its
 * device records (a snapshot's DEVS section) are saved twice, some time
 * apart, and once more after a machine reset. Each input mutates one of
 * those valid sections and loads it with board_load, the path --restore
 * takes: the input's first byte picks the base (and one input in eight
 * mutates the vCPU's record, loaded the way snapshot_restore loads CPU0),
 * the next byte how many mutations follow, then the mutations: bit flips,
 * bytes of a field overwritten with the input's or with boundary values,
 * fields taken from the other saves, field sizes changed, fields dropped
 * (what an older x86v's record lacks), records cut, their lengths changed,
 * records duplicated, removed, swapped, the device count changed, bytes
 * of the whole section changed, the virtual time it loads at and the time
 * it sat on disk changed. The load must either succeed or refuse with a
 * one-line reason; a state it accepts must then be safe to run: every
 * register of every device is read, the input's remaining bytes are
 * register writes and reads, clock advances and interrupt acknowledgements,
 * the virtual clock moves on (timers fire, virtio queues resume) and the
 * interrupts are taken; what it has become must then save, and that save
 * load again. Nothing may crash, hang or touch memory it does not own (ASan
 * and UBSan watch in make check); the board is reset and guest RAM put back
 * after each input, so no machine is built per input.
 *
 * Also a libFuzzer target (LLVMFuzzerTestOneInput, with -DFUZZ_NO_MAIN);
 * make check runs test_fuzz_snapshot, a fixed-seed stream of random inputs.
 * FUZZ_SNAPSHOT_WHY=1 prints why each refused section was refused (to see
 * which checks the mutations reach).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/event_loop.h"
#include "core/snapshot.h"
#include "core/statebuf.h"
#include "cpu/x86_state.h"
#include "hw/block/block.h"
#include "hw/net/net.h"
#include "hw/intc/i8259.h"
#include "hw/pc/board.h"
#include "hw/pci/pci.h"
#include "hw/timer/acpi_pm.h"
#include "fuzz_rand.h"

#define RAM (4 * MiB)
#define DISK_SIZE (64 * 1024)
#define RING_GPA 0x10000ULL /* each queue's rings: 0x3000 apart */
#define BUF_GPA 0x60000ULL /* buffers: 2 KiB slots */
#define NVIRTIO 4
#define NTEMPLATES 3
#define MAX_RECS 64
#define MAX_FIELDS 2048
#define MAX_BLOB_EDITS 16

/* The virtio functions as the board places them (board.c), and their queues. */
static const unsigned virtio_devfn[NVIRTIO] = { PCI_DEVFN(2, 0), PCI_DEVFN(3, 0), PCI_DEVFN(11, 0), PCI_DEVFN(12, 0) };
static const unsigned virtio_nq[NVIRTIO] = { 1, 1, 2, 2 }; /* rng, blk, console (port 0), net */

/* A record of a valid section: where it lies and where its fields do. */
struct tfield {
	size_t name_off, size_off, data_off, size; /* within the record */
};

struct trec {
	size_t off, len; /* of the record's bytes within the section */
	size_t version_off, nfields_off, fields_off;
	unsigned first, nfields; /* into the field table */
};

/* A valid section (DEVS, or a CPU0 record) and its layout; the templates of
 * one kind share the layout, only their values differ. */
struct layout {
	uint8_t *blob[NTEMPLATES];
	size_t len;
	struct trec recs[MAX_RECS];
	unsigned nrecs;
	struct tfield fields[MAX_FIELDS];
	unsigned nfields;
	size_t count_len; /* 4 for DEVS (device count, then u32 length + record each), 0 for CPU0 */
};

/* A record being mutated: a copy of a template record, fields dropped and a cut applied when serialized. */
struct wrec {
	unsigned t; /* the template record it copies */
	uint8_t *data; /* recs[t].len bytes */
	uint64_t dropped; /* fields left out (the first 64) */
	size_t cut; /* serialize at most this many bytes */
	bool len_set;
	uint32_t len_field;
};

static struct {
	struct guest_ram ram;
	uint8_t *ram_copy;
	struct bus pio, mmio;
	struct vclock clock;
	pthread_mutex_t lock;
	struct event_loop loop;
	struct chardev *serial;
	struct block_backend *disk; /* the board's; kept to drain it */
	struct board *board;
	int64_t t[NTEMPLATES]; /* virtual time of each DEVS template */
	struct layout devs, cpu;
	struct wrec w[MAX_RECS + 1]; /* the last: a spare for swaps */
	unsigned nw;
	uint8_t *out; /* the serialized section */
	size_t out_cap;
	int intr;
	bool reset_requested;
	unsigned loaded, refused, cpu_loaded, cpu_refused, acks, nmis, resets;
	FILE *null;
} m;

/* ---- the board's environment: stubs ---- */

static void env_set_cpu_intr(void *opaque, unsigned cpu, int level)
{
	(void)opaque;
	(void)cpu;
	m.intr = level;
}

static void env_raise_nmi(void *opaque, unsigned cpu)
{
	(void)opaque;
	(void)cpu;
	m.nmis++;
}

static void env_exit(void *opaque, int status)
{
	(void)opaque;
	(void)status;
}

static void env_poweroff(void *opaque)
{
	(void)opaque;
}

static void env_reset(void *opaque)
{
	(void)opaque;
	m.reset_requested = true; /* inside a device write: the caller resets the board after it */
}

/* ---- accesses as a vCPU makes them ---- */

static uint64_t pin(uint16_t port, unsigned size)
{
	uint64_t v = 0;
	bus_read(&m.pio, port, size, &v);
	return v;
}

static void pout(uint16_t port, unsigned size, uint64_t v)
{
	bus_write(&m.pio, port, size, v);
}

static uint64_t mrd(uint64_t addr, unsigned size)
{
	uint64_t v = 0;
	bus_read(&m.mmio, addr, size, &v);
	return v;
}

static void mwr(uint64_t addr, unsigned size, uint64_t v)
{
	bus_write(&m.mmio, addr, size, v);
}

static void cfg_addr(unsigned devfn, unsigned off)
{
	pout(PCI_CONFIG_ADDRESS_PORT, 4, PCI_CONFIG_ENABLE | devfn << 8 | (off & 0xfc));
}

static uint32_t cfg_read(unsigned devfn, unsigned off, unsigned size)
{
	cfg_addr(devfn, off);
	return (uint32_t)pin((uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), size);
}

static void cfg_write(unsigned devfn, unsigned off, unsigned size, uint32_t v)
{
	cfg_addr(devfn, off);
	pout((uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), size, v);
}

/* Where virtio function d's BAR 4 is now (the loaded configuration space says). */
static uint64_t virtio_bar(unsigned d)
{
	uint64_t lo = cfg_read(virtio_devfn[d], PCI_BASE_ADDRESS_0 + 16, 4);
	uint64_t hi = cfg_read(virtio_devfn[d], PCI_BASE_ADDRESS_0 + 20, 4);
	return (hi << 32 | lo) & ~0xfULL;
}

static void ioapic_write(unsigned index, uint32_t v)
{
	mwr(0xfec00000, 4, index);
	mwr(0xfec00010, 4, v);
}

static void ram_put(uint64_t gpa, const void *p, size_t len)
{
	if (ram_write(&m.ram, gpa, p, len) < 0)
		abort();
}

static void intr_acks(unsigned max)
{
	for (unsigned i = 0; i < max && m.intr; i++) {
		(void)board_intr_ack(m.board, 0);
		m.acks++;
	}
}

static void advance(int64_t ns)
{
	int64_t now = vclock_now(&m.clock) + ns;
	vclock_set_now(&m.clock, now);
	vclock_run_expired(&m.clock, now);
}

/* ---- driving the board into a busy state ---- */

static void put_desc(uint64_t ring, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	ram_put(ring + 16 * i, d, 16);
}

/* The avail ring of the queue at ring offers heads[0..n). */
static void put_avail(uint64_t ring, const uint16_t *heads, unsigned n)
{
	uint16_t a[2 + 16] = { 0, (uint16_t)n };
	memcpy(a + 2, heads, n * sizeof(*heads));
	ram_put(ring + 0x1000, a, sizeof(a));
}

/* A driver's set-up of virtio function d: MSI-X (msix) or INTx, every queue 16 entries. */
static void virtio_setup(unsigned d, bool msix)
{
	unsigned devfn = virtio_devfn[d];
	uint64_t bar = virtio_bar(d);
	if (msix)
		cfg_write(devfn, 0x42, 2, 0x8000);
	mwr(bar + 0x14, 1, 0);
	mwr(bar + 0x14, 1, 1 | 2);
	mwr(bar + 0x00, 4, 0);
	mwr(bar + 0x08, 4, 0);
	mwr(bar + 0x0c, 4, (uint32_t)mrd(bar + 0x04, 4));
	mwr(bar + 0x00, 4, 1);
	mwr(bar + 0x08, 4, 1);
	mwr(bar + 0x0c, 4, (uint32_t)mrd(bar + 0x04, 4));
	mwr(bar + 0x14, 1, 1 | 2 | 8);
	if (msix)
		mwr(bar + 0x10, 2, 0);
	for (unsigned q = 0; q < virtio_nq[d]; q++) {
		uint64_t ring = RING_GPA + (d * 2 + q) * 0x3000ULL;
		mwr(bar + 0x16, 2, q);
		mwr(bar + 0x18, 2, 16);
		mwr(bar + 0x1a, 2, msix ? q + 1 : 0xffff);
		mwr(bar + 0x20, 8, ring);
		mwr(bar + 0x28, 8, ring + 0x1000);
		mwr(bar + 0x30, 8, ring + 0x2000);
		mwr(bar + 0x1c, 2, 1);
	}
	mwr(bar + 0x14, 1, 1 | 2 | 4 | 8);
	for (unsigned v = 0; msix && v <= virtio_nq[d]; v++) {
		uint64_t e = bar + 0x4000 + 16 * v;
		mwr(e, 4, 0xfee00000);
		mwr(e + 4, 4, 0);
		mwr(e + 8, 4, 0x50 + 4 * d + v);
		mwr(e + 12, 4, 0);
	}
}

static uint64_t buf(unsigned slot)
{
	return BUF_GPA + slot * 2048ULL;
}

/* Requests on every queue, then the kicks. */
static void virtio_requests(unsigned round)
{
	/* rng: two 64-byte buffers to fill. */
	uint64_t r = RING_GPA;
	put_desc(r, 0, buf(0), 64, 2, 0);
	put_desc(r, 1, buf(1), 64, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 1 }, 1 + round);
	/* blk: a read of sector 1 (header, data, status) and a flush. */
	r = RING_GPA + 2 * 0x3000;
	uint32_t hdr[4] = { 0, 0, 1, 0 }, flush[4] = { 4, 0, 0, 0 };
	ram_put(buf(2), hdr, sizeof(hdr));
	ram_put(buf(4), flush, sizeof(flush));
	put_desc(r, 0, buf(2), 16, 1, 1);
	put_desc(r, 1, buf(3), 512, 1 | 2, 2);
	put_desc(r, 2, buf(2) + 16, 1, 2, 0);
	put_desc(r, 3, buf(4), 16, 1, 4);
	put_desc(r, 4, buf(4) + 16, 1, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 3 }, 1 + round);
	/* console: two receive buffers (held: no input comes), one message out. */
	r = RING_GPA + 4 * 0x3000;
	put_desc(r, 0, buf(5), 256, 2, 0);
	put_desc(r, 1, buf(6), 256, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 1 }, 2);
	r = RING_GPA + 5 * 0x3000;
	ram_put(buf(7), "snapshot\n", 9);
	put_desc(r, 0, buf(7), 9, 0, 0);
	put_avail(r, (const uint16_t[]){ 0, 0 }, 1 + round);
	/* net: two receive buffers; an ARP request for the gateway goes out. */
	r = RING_GPA + 6 * 0x3000;
	put_desc(r, 0, buf(8), 1526, 2, 0);
	put_desc(r, 1, buf(9), 1526, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 1 }, 2);
	r = RING_GPA + 7 * 0x3000;
	static const uint8_t arp[12 + 42] = {
		[12] = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06, /* ethernet */
		0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15, /* ARP: sender */
		0, 0, 0, 0, 0, 0, 10, 0, 2, 2 /* target */
	};
	ram_put(buf(10), arp, sizeof(arp));
	put_desc(r, 0, buf(10), sizeof(arp), 0, 0);
	put_avail(r, (const uint16_t[]){ 0, 0 }, 1 + round);
	for (unsigned d = 0; d < NVIRTIO; d++)
		for (unsigned q = 0; q < virtio_nq[d]; q++)
			mwr(virtio_bar(d) + 0x3000 + 4 * q, 2, q);
	block_drain(m.disk);
}

static void drive_board(void)
{
	/* PICs: vectors 0x20/0x28, IRQ 0, 1, 2, 4 and 8 unmasked, IRQ 9-11 level-triggered. */
	static const uint8_t pic[][2] = {
		{ 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x28 },
		{ 0xa1, 0x02 }, { 0xa1, 0x01 }, { 0x21, 0xe8 }, { 0xa1, 0xf0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pic); i++)
		pout(pic[i][0], 1, pic[i][1]);
	pout(PIC_ELCR_BASE + 1, 1, 0x0e);
	/* PIT: channel 0 rate generator, channel 1 one byte, channel 2 square wave gated on; a latch half read. */
	static const uint8_t pit[][2] = {
		{ 0x43, 0x34 }, { 0x40, 0x00 }, { 0x40, 0x10 }, { 0x43, 0x54 }, { 0x41, 0x12 },
		{ 0x43, 0xb6 }, { 0x42, 0x33 }, { 0x42, 0x05 }, { 0x61, 0x03 }, { 0x43, 0x00 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pit); i++)
		pout(pit[i][0], 1, pit[i][1]);
	(void)pin(0x40, 1);
	/* COM1: 115200 8N1, FIFOs, every interrupt, loopback with bytes in the receive FIFO. */
	static const uint8_t uart[][2] = {
		{ 3, 0x80 }, { 0, 0x01 }, { 1, 0x00 }, { 3, 0x03 }, { 2, 0xc7 }, { 4, 0x1b }, { 1, 0x0f }, { 7, 0x5a },
		{ 0, 'a' }, { 0, 'b' }, { 0, 'c' }, { 0, 'd' },
	};
	for (size_t i = 0; i < ARRAY_SIZE(uart); i++)
		pout((uint16_t)(0x3f8 + uart[i][0]), 1, uart[i][1]);
	(void)pin(0x3f8, 1);
	/* RTC: a fixed date (not the host's: inputs must replay), 1024 Hz periodic interrupts and update
	 * interrupts, a CMOS byte, an index left selected. */
	static const uint8_t rtc[][2] = {
		{ 0x0b, 0x82 }, { 0x00, 0x56 }, { 0x02, 0x34 }, { 0x04, 0x12 }, { 0x06, 0x03 }, { 0x07, 0x15 },
		{ 0x08, 0x06 }, { 0x09, 0x25 }, { 0x32, 0x20 }, { 0x0a, 0x26 }, { 0x0b, 0x52 }, { 0x40, 0xab },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rtc); i++) {
		pout(0x70, 1, rtc[i][0]);
		pout(0x71, 1, rtc[i][1]);
	}
	pout(0x70, 1, 0x0c);
	/* i8042: command byte with both interrupts; a byte in the output buffer; the mouse enabled; keyboard ID. */
	pout(0x64, 1, 0x60);
	pout(0x60, 1, 0x47);
	pout(0x64, 1, 0xd2);
	pout(0x60, 1, 0x1c);
	pout(0x64, 1, 0xd4);
	pout(0x60, 1, 0xf4);
	pout(0x60, 1, 0xf2);
	/* ACPI: SCI enabled, the PM timer's and the power button's events. */
	pout(ACPI_PM_BASE + 2, 2, 0x0101);
	pout(ACPI_PM_BASE + 4, 2, 1);
	/* fw_cfg: the signature, partly read; POST code; A20. */
	pout(0x510, 2, 0);
	(void)pin(0x511, 1);
	(void)pin(0x511, 1);
	pout(0x80, 1, 0x55);
	pout(0x92, 1, 0x02);
	/* Local APIC: enabled, TPR, a periodic timer, LINT0 ExtINT, LINT1 NMI. */
	mwr(0xfee000f0, 4, 0x1ff);
	mwr(0xfee00080, 4, 0x10);
	mwr(0xfee003e0, 4, 0x0b);
	mwr(0xfee00320, 4, 0x20030);
	mwr(0xfee00380, 4, 200000);
	mwr(0xfee00350, 4, 0x700);
	mwr(0xfee00360, 4, 0x400);
	/* IOAPIC: the ISA interrupts edge-triggered, PCI's level-triggered (active low). */
	static const unsigned pins[] = { 1, 2, 4, 8, 9, 10, 11 };
	for (size_t i = 0; i < ARRAY_SIZE(pins); i++) {
		bool level = pins[i] >= 9;
		ioapic_write(0x10 + 2 * pins[i], (0x30 + pins[i]) | (level ? 0xa000u : 0));
		ioapic_write(0x11 + 2 * pins[i], 0);
	}
	/* HPET: on, timer 0 periodic, timer 1 one-shot. */
	mwr(0xfed00010, 8, 1);
	mwr(0xfed00100, 8, 0x4c);
	mwr(0xfed00108, 8, 100000);
	mwr(0xfed00120, 8, 0x04 | 9 << 9);
	mwr(0xfed00128, 8, 5000000);
	/* virtio: blk and net with MSI-X, rng and console with INTx. */
	for (unsigned d = 0; d < NVIRTIO; d++)
		virtio_setup(d, d == 1 || d == 3);
	virtio_requests(0);
	/* Time passes; some interrupts are taken, some of those finished. */
	advance(3000000);
	intr_acks(6);
	mwr(0xfee000b0, 4, 0);
	pout(0x20, 1, 0x20);
}

/* ---- the valid sections and their layout ---- */

static size_t name_end(const uint8_t *rec, size_t at, size_t len)
{
	if (at >= len || at + 1 + rec[at] > len)
		abort();
	return at + 1 + rec[at];
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Fields of the record at off (len bytes) into the layout. */
static void parse_record(struct layout *l, size_t off, size_t len)
{
	const uint8_t *rec = l->blob[0] + off;
	if (l->nrecs == MAX_RECS)
		abort();
	struct trec *t = &l->recs[l->nrecs++];
	*t = (struct trec){ .off = off, .len = len, .first = l->nfields };
	size_t at = name_end(rec, name_end(rec, 0, len), len);
	t->version_off = at;
	t->nfields_off = at + 4;
	t->fields_off = at + 8;
	uint32_t n = get32(rec + at + 4);
	at += 8;
	for (uint32_t i = 0; i < n; i++) {
		if (l->nfields == MAX_FIELDS)
			abort();
		struct tfield *f = &l->fields[l->nfields++];
		f->name_off = at;
		f->size_off = name_end(rec, at, len);
		f->data_off = f->size_off + 4;
		f->size = get32(rec + f->size_off);
		at = f->data_off + f->size;
		if (at > len)
			abort();
	}
	if (at != len)
		abort();
	t->nfields = n;
}

static void take_template(struct layout *l, unsigned i, const struct statebuf *sb)
{
	if (sb->failed)
		abort();
	if (i == 0) {
		l->len = sb->len;
	} else if (sb->len != l->len) {
		fprintf(stderr, "fuzz_snapshot: two saves of the board differ in layout\n");
		abort();
	}
	l->blob[i] = malloc(sb->len);
	if (!l->blob[i])
		abort();
	memcpy(l->blob[i], sb->data, sb->len);
}

static void parse_layout(struct layout *l, size_t count_len)
{
	l->count_len = count_len;
	if (!count_len) {
		parse_record(l, 0, l->len);
		return;
	}
	uint32_t n = get32(l->blob[0]);
	size_t at = 4;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = get32(l->blob[0] + at);
		parse_record(l, at + 4, len);
		at += 4 + len;
	}
	if (at != l->len)
		abort();
}

static void save_devs(unsigned i)
{
	struct statebuf sb;
	sb_init(&sb);
	m.t[i] = vclock_now(&m.clock);
	if (board_save(m.board, &sb) < 0)
		abort();
	take_template(&m.devs, i, &sb);
	sb_free(&sb);
}

/* Zeroes a segment's or table's padding (struct assignments leave it undefined: inputs must replay). */
static void clean_seg(struct x86_segment *seg)
{
	struct x86_segment z;
	memset(&z, 0, sizeof(z));
	z.selector = seg->selector, z.base = seg->base, z.limit = seg->limit, z.attr = seg->attr;
	memcpy(seg, &z, sizeof(z));
}

static void clean_dtable(struct x86_dtable *t)
{
	struct x86_dtable z;
	memset(&z, 0, sizeof(z));
	z.base = t->base, z.limit = t->limit;
	memcpy(t, &z, sizeof(z));
}

static void save_cpu(unsigned i, struct x86_cpu_state *s)
{
	for (unsigned k = 0; k < X86_NR_SREGS; k++)
		clean_seg(&s->seg[k]);
	clean_seg(&s->ldtr);
	clean_seg(&s->tr);
	clean_dtable(&s->gdtr);
	clean_dtable(&s->idtr);
	struct statebuf sb;
	sb_init(&sb);
	if (snapshot_save_cpu_record(s, &sb) < 0)
		abort();
	take_template(&m.cpu, i, &sb);
	sb_free(&sb);
}

static void setup(void)
{
	char path[] = "/tmp/x86v-fuzz-snapshot-XXXXXX", why[256];
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0)
		abort();
	close(fd);
	struct block_options o = { .path = path };
	struct net_options no = { .kind = NET_USER, .restrict_guest = true, .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	struct board_nic nic = { .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	vclock_init(&m.clock);
	vclock_pause(&m.clock);
	pthread_mutex_init(&m.lock, NULL);
	bus_init(&m.pio, "pio");
	bus_init(&m.mmio, "mmio");
	m.null = fopen("/dev/null", "w");
	if (!m.null || ram_init(&m.ram, RAM) < 0 || evloop_init(&m.loop, &m.clock, &m.lock) < 0 ||
	    block_open(&o, &m.disk, why, sizeof(why)) < 0 || chardev_open("none", &m.serial, why, sizeof(why)) < 0 ||
	    net_open(&no, &nic.backend, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz_snapshot: %s\n", why);
		abort();
	}
	unlink(path);
	struct block_backend *disks[1] = { m.disk };
	struct board_env env = {
		.pio = &m.pio,
		.mmio = &m.mmio,
		.clock = &m.clock,
		.loop = &m.loop,
		.serial = m.serial,
		.ram = &m.ram,
		.set_cpu_intr = env_set_cpu_intr,
		.raise_nmi = env_raise_nmi,
		.exit = env_exit,
		.poweroff = env_poweroff,
		.reset = env_reset,
		.disks = disks,
		.ndisks = 1,
		.nics = &nic,
		.nnics = 1,
		.rng = true,
		.virtio_console = true,
	};
	uint64_t rsdp;
	pthread_mutex_lock(&m.lock);
	vclock_set_now(&m.clock, 1000000000);
	if (board_create(&env, &m.board, why, sizeof(why)) < 0 || board_prepare_direct_boot(m.board, &rsdp) < 0) {
		fprintf(stderr, "fuzz_snapshot: %s\n", why);
		abort();
	}
	drive_board();
	save_devs(0);
	/* Later: more requests and time, the LAPIC timer one-shot, HPET legacy replacement. */
	virtio_requests(1);
	mwr(0xfee00320, 4, 0x31);
	mwr(0xfee00380, 4, 30000);
	mwr(0xfed00010, 8, 3);
	pout(0x3f8, 1, 'e');
	advance(7000000);
	intr_acks(3);
	save_devs(1);
	m.ram_copy = malloc(RAM);
	if (!m.ram_copy)
		abort();
	memcpy(m.ram_copy, m.ram.host, RAM);
	board_reset(m.board);
	save_devs(2);
	m.t[2] = m.t[1];
	parse_layout(&m.devs, 4);
	/* Each save as it is must load (or the mutations start from a refusal). */
	for (unsigned i = 0; i < NTEMPLATES; i++) {
		struct state_reader in;
		sr_init(&in, m.devs.blob[i], m.devs.len);
		vclock_set_now(&m.clock, m.t[i]);
		if (board_load(m.board, &in, why, sizeof(why)) < 0) {
			fprintf(stderr, "fuzz_snapshot: the board's own save %u does not load: %s\n", i, why);
			abort();
		}
		board_reset(m.board);
	}
	pthread_mutex_unlock(&m.lock);

	struct x86_cpu_state s;
	x86_state_reset(&s);
	save_cpu(0, &s);
	x86_state_flat32(&s);
	s.gpr[0] = 0x1234, s.rip = 0x100000, s.cr3 = 0x1000, s.events.interrupt_shadow = true;
	s.events.injected = X86_EVENT_EXCEPTION, s.events.injected_vector = 14;
	s.events.injected_has_error = true, s.events.injected_error = 2;
	save_cpu(1, &s);
	s.cr0 |= 0x80000000u, s.cr4 |= 0x20, s.efer = 0x500, s.events.halted = true, s.events.injected = 0;
	save_cpu(2, &s);
	parse_layout(&m.cpu, 0);

	size_t rec_max = 0;
	for (unsigned i = 0; i < m.devs.nrecs; i++)
		rec_max = m.devs.recs[i].len > rec_max ? m.devs.recs[i].len : rec_max;
	rec_max = m.cpu.recs[0].len > rec_max ? m.cpu.recs[0].len : rec_max;
	for (unsigned i = 0; i < MAX_RECS + 1; i++)
		if (!(m.w[i].data = malloc(rec_max)))
			abort();
	m.out_cap = MAX_RECS * (rec_max + 4) + 4;
	if (!(m.out = malloc(m.out_cap)))
		abort();
}

/* ---- mutations ---- */

static uint8_t take(const uint8_t **data, size_t *size)
{
	if (!*size)
		return 0;
	(*size)--;
	return *(*data)++;
}

static uint16_t take16(const uint8_t **data, size_t *size)
{
	uint16_t lo = take(data, size);
	return (uint16_t)(lo | take(data, size) << 8);
}

static const uint64_t interesting[] = {
	0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 1023, 1024, 4095, 4096, 0x7fff, 0x8000,
	0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
	0x8000000000000000, 0xffffffffffffffff, 0xfee00000, 0xfec00000, 0x3ff0000, RAM - 1, RAM, 1000000000,
};

/* Record slot dst becomes a copy of slot src (each slot keeps its buffer). */
static void copy_slot(const struct layout *l, unsigned dst, unsigned src)
{
	uint8_t *d = m.w[dst].data;
	m.w[dst] = m.w[src];
	m.w[dst].data = d;
	memcpy(d, m.w[src].data, l->recs[m.w[src].t].len);
}

/* Writes v's low width bytes at p..p+width clipped to [0, len). */
static void put_clipped(uint8_t *rec, size_t len, size_t at, unsigned width, uint64_t v)
{
	for (unsigned k = 0; k < width && at + k < len; k++)
		rec[at + k] = (uint8_t)(v >> 8 * k);
}

static uint64_t get_clipped(const uint8_t *rec, size_t len, size_t at, unsigned width)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < width && at + k < len; k++)
		v |= (uint64_t)rec[at + k] << 8 * k;
	return v;
}

struct blob_edit {
	uint16_t pos;
	uint8_t value;
};

/* What the mutations decided beyond the records. */
struct plan {
	struct blob_edit edits[MAX_BLOB_EDITS]; /* bytes of the serialized section */
	unsigned nedits;
	size_t cut; /* the section cut here */
	bool count_set;
	uint32_t count; /* the device count, instead of the records' */
	int64_t now; /* the virtual time the state loads at (the INFO section's) */
	int64_t wall; /* seconds the snapshot sat on disk (what the host's clock says) */
};

enum {
	OP_FLIP, OP_FIELD_BYTES, OP_FIELD_INT, OP_FIELD_ADD, OP_FIELD_SPLICE, OP_FIELD_SIZE, OP_DROP_FIELD,
	OP_REC_CUT, OP_REC_LEN, OP_REC_DUP, OP_REC_DEL, OP_REC_SWAP, OP_COUNT, OP_BLOB_BYTE, OP_REC_SPLICE,
	OP_HEADER, OP_CLOCK
};

static void mutate(struct layout *l, const uint8_t **data, size_t *size, struct plan *p)
{
	/* Mostly a field's value changed (what gets past the format checks to post_load). */
	static const uint8_t ops[33] = {
		OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_BYTES, OP_FIELD_BYTES,
		OP_FIELD_BYTES, OP_FIELD_BYTES, OP_FIELD_ADD, OP_FIELD_ADD, OP_FIELD_ADD, OP_FIELD_ADD,
		OP_FIELD_SPLICE, OP_FIELD_SPLICE, OP_FIELD_SPLICE, OP_FIELD_SPLICE, OP_REC_SPLICE, OP_REC_SPLICE,
		OP_DROP_FIELD, OP_DROP_FIELD, OP_FLIP, OP_FLIP, OP_FIELD_SIZE, OP_REC_CUT, OP_REC_LEN, OP_REC_DUP,
		OP_REC_DEL, OP_REC_SWAP, OP_COUNT, OP_BLOB_BYTE, OP_HEADER, OP_CLOCK,
	};
	unsigned op = ops[take(data, size) % 33];
	if (!m.nw && op != OP_COUNT && op != OP_BLOB_BYTE && op != OP_CLOCK)
		return;
	struct wrec *w = &m.w[m.nw ? take(data, size) % m.nw : 0];
	const struct trec *t = &l->recs[w->t];
	size_t len = t->len;
	const struct tfield *f = t->nfields ? &l->fields[t->first + take(data, size) % t->nfields] : NULL;
	unsigned k = f ? (unsigned)(f - &l->fields[t->first]) : 0;
	switch (op) {
	case OP_FLIP: {
		uint16_t pos = take16(data, size);
		w->data[pos % len] ^= (uint8_t)(1u << (take(data, size) & 7));
		break;
	}
	case OP_FIELD_BYTES: /* up to 8 of the input's bytes over the field, at an offset in it */
		if (f && f->size) {
			size_t at = f->data_off + take16(data, size) % f->size;
			unsigned n = 1 + take(data, size) % 8;
			for (unsigned i = 0; i < n && at + i < f->data_off + f->size; i++)
				w->data[at + i] = take(data, size);
		}
		break;
	case OP_FIELD_INT: /* a boundary value, 1/2/4/8 bytes wide, at an offset in the field */
	case OP_FIELD_ADD: /* or a small delta added there */
		if (f && f->size) {
			unsigned width = 1u << (take(data, size) & 3);
			size_t at = f->data_off + (take16(data, size) % f->size & ~(size_t)(width - 1));
			uint8_t b = take(data, size);
			uint64_t v = op == OP_FIELD_INT ? interesting[b % ARRAY_SIZE(interesting)]
							: get_clipped(w->data, f->data_off + f->size, at, width) +
								  (uint64_t)(int64_t)(int8_t)b;
			put_clipped(w->data, f->data_off + f->size, at, width, v);
		}
		break;
	case OP_FIELD_SPLICE: /* the field as another save has it */
		if (f) {
			const uint8_t *src = l->blob[take(data, size) % NTEMPLATES] + t->off;
			memcpy(w->data + f->data_off, src + f->data_off, f->size);
		}
		break;
	case OP_FIELD_SIZE:
		if (f) {
			uint8_t b = take(data, size);
			uint32_t v = b & 1 ? (uint32_t)interesting[(b >> 1) % ARRAY_SIZE(interesting)]
					   : (uint32_t)f->size + (uint32_t)(int32_t)(int8_t)(b >> 1 | (b & 0x80));
			put32(w->data + f->size_off, v);
		}
		break;
	case OP_DROP_FIELD:
		if (f && k < 64)
			w->dropped |= 1ULL << k;
		break;
	case OP_REC_CUT:
		w->cut = take16(data, size) % (len + 1);
		break;
	case OP_REC_LEN: {
		uint8_t b = take(data, size);
		w->len_set = true;
		w->len_field = b & 1 ? (uint32_t)interesting[(b >> 1) % ARRAY_SIZE(interesting)]
				     : (uint32_t)len + (uint32_t)(int32_t)((int8_t)b >> 1);
		break;
	}
	case OP_REC_DUP:
		if (m.nw < MAX_RECS) {
			unsigned at = take(data, size) % (m.nw + 1), src = (unsigned)(w - m.w);
			for (unsigned i = m.nw; i > at; i--)
				copy_slot(l, i, i - 1);
			copy_slot(l, at, src >= at ? src + 1 : src);
			m.nw++;
		}
		break;
	case OP_REC_DEL:
		for (unsigned i = (unsigned)(w - m.w); i + 1 < m.nw; i++)
			copy_slot(l, i, i + 1);
		m.nw--;
		break;
	case OP_REC_SWAP: {
		unsigned a = (unsigned)(w - m.w), b = take(data, size) % m.nw;
		copy_slot(l, MAX_RECS, a);
		copy_slot(l, a, b);
		copy_slot(l, b, MAX_RECS);
		break;
	}
	case OP_COUNT: {
		uint8_t b = take(data, size);
		p->count_set = true;
		p->count = b & 1 ? (uint32_t)interesting[(b >> 1) % ARRAY_SIZE(interesting)]
			       : (uint32_t)l->nrecs + (uint32_t)(int32_t)((int8_t)b >> 1);
		break;
	}
	case OP_BLOB_BYTE: {
		uint16_t pos = take16(data, size);
		uint8_t v = take(data, size);
		if (v == 0 && pos & 1)
			p->cut = pos >> 1;
		else if (p->nedits < MAX_BLOB_EDITS)
			p->edits[p->nedits++] = (struct blob_edit){ pos, v };
		break;
	}
	case OP_CLOCK: { /* the state loads at another time (snapshot_restore allows up to INT64_MAX / 2) */
		uint8_t b = take(data, size), shift = take(data, size) % 63;
		int64_t v = b & 1 ? (int64_t)(interesting[(b >> 2) % ARRAY_SIZE(interesting)] >> 1)
				  : p->now + ((b & 2) ? -1 : 1) * (int64_t)(UINT64_C(1) << shift >> 1);
		if (b & 1 && b & 2) /* or the host's clock moved by that many seconds */
			p->wall = v / 1000000000;
		else
			p->now = v < 0 ? 0 : v > INT64_MAX / 2 ? INT64_MAX / 2 : v;
		break;
	}
	case OP_REC_SPLICE: /* the record as another save has it */
		memcpy(w->data, l->blob[take(data, size) % NTEMPLATES] + t->off, len);
		break;
	default: { /* the record's header: its version or field count */
		uint8_t b = take(data, size);
		size_t at = b & 1 ? t->nfields_off : t->version_off;
		uint32_t v = b & 2 ? (uint32_t)interesting[(b >> 2) % ARRAY_SIZE(interesting)]
				   : get32(w->data + at) + (uint32_t)(int32_t)((int8_t)b >> 2);
		put32(w->data + at, v);
		break;
	}
	}
}

/* The working records as a section: the device count, then each record's
 * length and bytes (a CPU0 section: the records back to back). */
static size_t serialize(const struct layout *l, const struct plan *p)
{
	size_t n = 0;
	if (l->count_len) {
		put32(m.out, p->count_set ? p->count : m.nw);
		n = 4;
	}
	for (unsigned i = 0; i < m.nw; i++) {
		const struct wrec *w = &m.w[i];
		const struct trec *t = &l->recs[w->t];
		size_t at = n + (l->count_len ? 4 : 0), start = at;
		memcpy(m.out + at, w->data, t->fields_off);
		at += t->fields_off;
		unsigned dropped = 0;
		for (unsigned k = 0; k < t->nfields; k++) {
			const struct tfield *f = &l->fields[t->first + k];
			size_t end = k + 1 < t->nfields ? l->fields[t->first + k + 1].name_off : t->len;
			if (k < 64 && w->dropped >> k & 1) {
				dropped++;
				continue;
			}
			memcpy(m.out + at, w->data + f->name_off, end - f->name_off);
			at += end - f->name_off;
		}
		if (dropped)
			put32(m.out + start + t->nfields_off, get32(w->data + t->nfields_off) - dropped);
		size_t rlen = at - start;
		if (rlen > w->cut)
			rlen = w->cut;
		if (l->count_len)
			put32(m.out + n, w->len_set ? w->len_field : (uint32_t)rlen);
		n = start + rlen;
	}
	return n;
}

/* ---- after a load: use what was accepted ---- */

struct region {
	bool mmio;
	uint64_t base, size;
	uint8_t sizes; /* access sizes allowed: bit 0 = 1 byte, 1 = 2, 2 = 4, 3 = 8 */
};

static const struct region regions[] = {
	{ false, 0x20, 2, 1 }, { false, 0xa0, 2, 1 }, { false, PIC_ELCR_BASE, 2, 1 }, { false, 0x40, 4, 1 },
	{ false, 0x61, 1, 1 }, { false, 0x80, 1, 1 }, { false, 0x3f8, 8, 1 }, { false, 0x70, 2, 1 },
	{ false, 0x60, 1, 1 }, { false, 0x64, 1, 1 }, { false, 0x92, 1, 1 }, { false, 0x510, 2, 3 },
	{ false, 0x514, 8, 0xf }, { false, ACPI_PM_BASE, 12, 7 }, { false, 0xcf8, 4, 7 }, { false, 0xcfc, 4, 7 },
	{ true, 0xfec00000, 0x20, 4 }, { true, 0xfee00000, 0x1000, 4 }, { true, 0xfed00000, 0x400, 0xc },
	/* The virtio functions' BARs: base 0 means "where BAR 4 is now". */
	{ true, 0, 0x6000, 0xf }, { true, 0, 0x6000, 0xf }, { true, 0, 0x6000, 0xf }, { true, 0, 0x6000, 0xf },
};
#define FIRST_VIRTIO_REGION (ARRAY_SIZE(regions) - NVIRTIO)

static void after_access(void)
{
	if (m.reset_requested) { /* as the machine does: a reset between instructions */
		m.reset_requested = false;
		m.resets++;
		board_reset(m.board);
	}
}

/* An access to region ri at off, 1 << log2 bytes or the next width the region takes. */
static void poke(unsigned ri, uint64_t off, unsigned log2, bool write, uint64_t v)
{
	ri %= ARRAY_SIZE(regions);
	const struct region *r = &regions[ri];
	uint64_t base = ri >= FIRST_VIRTIO_REGION ? virtio_bar(ri - FIRST_VIRTIO_REGION) : r->base;
	while (!(r->sizes >> log2 & 1))
		log2 = (log2 + 1) % 4;
	unsigned bytes = 1u << log2;
	uint64_t addr = base + (off % r->size & ~(uint64_t)(bytes - 1));
	if (r->mmio) {
		if (write)
			mwr(addr, bytes, v);
		else
			(void)mrd(addr, bytes);
	} else {
		if (write)
			pout((uint16_t)addr, bytes, v);
		else
			(void)pin((uint16_t)addr, bytes);
	}
	after_access();
}

/* Every register of every device read (and the ones that pop or acknowledge, popped). */
static void read_everything(void)
{
	for (unsigned p = 0; p < 2; p++) { /* PICs: IRR, ISR, IMR, then a poll */
		uint16_t base = p ? 0xa0 : 0x20;
		pout(base, 1, 0x0a);
		(void)pin(base, 1);
		pout(base, 1, 0x0b);
		(void)pin(base, 1);
		(void)pin(base + 1, 1);
		pout(base, 1, 0x0c);
		(void)pin(base, 1);
	}
	(void)pin(PIC_ELCR_BASE, 1);
	(void)pin(PIC_ELCR_BASE + 1, 1);
	for (unsigned c = 0; c < 3; c++) /* PIT: whatever is latched, then a read-back of all */
		(void)pin((uint16_t)(0x40 + c), 1);
	pout(0x43, 1, 0xce);
	for (unsigned c = 0; c < 3; c++)
		for (unsigned i = 0; i < 3; i++)
			(void)pin((uint16_t)(0x40 + c), 1);
	(void)pin(0x61, 1);
	for (unsigned i = 0; i < 8; i++) /* COM1 */
		(void)pin((uint16_t)(0x3f8 + i), 1);
	(void)pin(0x71, 1); /* the RTC's selected register, then all of them */
	for (unsigned i = 0; i < 128; i += 1) {
		pout(0x70, 1, i);
		(void)pin(0x71, 1);
	}
	for (unsigned i = 0; i < 4; i++) { /* i8042 */
		(void)pin(0x64, 1);
		(void)pin(0x60, 1);
	}
	for (unsigned i = 0; i < 8; i++) /* fw_cfg: the selected item, from the loaded offset */
		(void)pin(0x511, 1);
	for (unsigned i = 0; i < 12; i += 2)
		(void)pin((uint16_t)(ACPI_PM_BASE + i), 2);
	(void)pin(ACPI_PM_BASE + 8, 4);
	(void)pin(0x80, 1);
	(void)pin(0x92, 1);
	(void)pin(PCI_CONFIG_DATA_PORT, 4); /* through the loaded address register */
	static const unsigned devfns[] = { PCI_DEVFN(0, 0), PCI_DEVFN(1, 0), PCI_DEVFN(2, 0), PCI_DEVFN(3, 0),
					   PCI_DEVFN(11, 0), PCI_DEVFN(12, 0) };
	for (size_t d = 0; d < ARRAY_SIZE(devfns); d++)
		for (unsigned off = 0; off < 256; off += 4)
			(void)cfg_read(devfns[d], off, 4);
	for (unsigned i = 0; i < 0x40; i++) { /* IOAPIC */
		mwr(0xfec00000, 4, i);
		(void)mrd(0xfec00010, 4);
	}
	for (unsigned off = 0; off < 0x400; off += 0x10) /* local APIC */
		(void)mrd(0xfee00000 + off, 4);
	for (unsigned off = 0; off < 0x400; off += 8) /* HPET */
		(void)mrd(0xfed00000 + off, 8);
	for (unsigned d = 0; d < NVIRTIO; d++) {
		uint64_t bar = virtio_bar(d);
		for (unsigned off = 0; off < 0x38; off += 4)
			(void)mrd(bar + off, 4);
		for (unsigned q = 0; q < virtio_nq[d] + 1; q++) {
			mwr(bar + 0x16, 2, q);
			for (unsigned off = 0x18; off < 0x38; off += 2)
				(void)mrd(bar + off, 2);
		}
		(void)mrd(bar + 0x1000, 1);
		for (unsigned off = 0; off < 0x40; off += 4)
			(void)mrd(bar + 0x2000 + off, 4);
		for (unsigned off = 0; off < 0x40; off += 4)
			(void)mrd(bar + 0x4000 + off, 4);
		(void)mrd(bar + 0x5000, 8);
	}
}

/* What the machine would do next: run, kick, take interrupts, end them. */
static void sweep(const uint8_t *data, size_t size)
{
	vclock_run_expired(&m.clock, vclock_now(&m.clock)); /* restored queues resume */
	intr_acks(4);
	read_everything();
	after_access();
	for (unsigned d = 0; d < NVIRTIO; d++) {
		for (unsigned q = 0; q < virtio_nq[d]; q++) {
			mwr(virtio_bar(d) + 0x3000 + 4 * q, 2, q);
			after_access();
		}
	}
	block_drain(m.disk);
	/* The input's accesses: 8 bytes each. */
	for (; size >= 8; data += 8, size -= 8) {
		uint16_t off;
		uint32_t v;
		memcpy(&off, data + 2, 2);
		memcpy(&v, data + 4, 4);
		switch (data[1] % 8) {
		case 0: case 1: case 2: poke(data[0], off, data[1] >> 3 & 3, true, v); break;
		case 3: case 4: poke(data[0], off, data[1] >> 3 & 3, false, v); break;
		case 5: advance(v % (data[0] & 1 ? 100000000 : 100000)); intr_acks(4); break;
		case 6: intr_acks(1 + data[0] % 8); break;
		default:
			if (data[0] & 1) {
				uint64_t val;
				(void)board_msr_read(m.board, 0, off % 2 ? 0x1b : 0x800 + off % 0x40, &val);
			} else {
				(void)board_msr_write(m.board, 0, off % 2 ? 0x1b : 0x800 + off % 0x40, v);
			}
			break;
		}
	}
	block_drain(m.disk);
	/* End what is in service; time moves on. */
	for (unsigned i = 0; i < 4; i++) {
		mwr(0xfee000b0, 4, 0);
		pout(0x20, 1, 0x20);
		pout(0xa0, 1, 0x20);
	}
	static const int64_t steps[] = { 1000, 100000, 2000000, 20000000 };
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		advance(steps[i]);
		intr_acks(8);
		mwr(0xfee000b0, 4, 0);
		pout(0x20, 1, 0x20);
	}
	block_drain(m.disk);
	after_access();
}

/* Whatever a loaded state has become by running must save, and that save load: a snapshot
 * taken now would otherwise be refused (a check too strict), or post_load let in a state the
 * device cannot live with (a check missing). */
static void resave(void)
{
	struct statebuf sb;
	struct state_reader in;
	char why[256] = "";
	sb_init(&sb);
	if (board_save(m.board, &sb) < 0) {
		fprintf(stderr, "fuzz_snapshot: a loaded state that has run does not save\n");
		abort();
	}
	sr_init(&in, sb.data, sb.len);
	if (board_load(m.board, &in, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz_snapshot: a loaded state that has run saves, but the save does not load: %s\n", why);
		abort();
	}
	sb_free(&sb);
	vclock_run_expired(&m.clock, vclock_now(&m.clock));
	intr_acks(4);
	read_everything();
	after_access();
}

/* ---- one input ---- */

int fuzz_snapshot_one(const uint8_t *data, size_t size);
int fuzz_snapshot_one(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 2)
		return 0;
	bool cpu = data[0] % 8 == 7;
	unsigned base = data[0] >> 3 & 1; /* a busy save; the reset save is only spliced from */
	unsigned nops = 1 + data[1] % 16;
	data += 2;
	size -= 2;
	struct layout *l = cpu ? &m.cpu : &m.devs;
	m.nw = l->nrecs;
	for (unsigned i = 0; i < m.nw; i++) {
		m.w[i] = (struct wrec){ .t = i, .data = m.w[i].data, .cut = SIZE_MAX };
		memcpy(m.w[i].data, l->blob[base] + l->recs[i].off, l->recs[i].len);
	}
	struct plan p = { .cut = SIZE_MAX, .now = m.t[base], .wall = 3 };
	for (unsigned i = 0; i < nops && size; i++)
		mutate(l, &data, &size, &p);
	size_t n = serialize(l, &p);
	for (unsigned i = 0; i < p.nedits; i++)
		if (n)
			m.out[p.edits[i].pos % n] = p.edits[i].value;
	if (p.cut < n)
		n = p.cut;
	/* An exact-size copy, so that ASan sees a read past the section's end. */
	uint8_t *section = malloc(n ? n : 1);
	if (!section)
		abort();
	memcpy(section, m.out, n);
	struct state_reader in;
	sr_init(&in, section, n);
	char why[256] = "";
	if (cpu) {
		struct x86_cpu_state s;
		memset(&s, 0xa5, sizeof(s));
		if (snapshot_load_cpu_record(&in, &s, why, sizeof(why)) == 0) {
			m.cpu_loaded++;
			(void)x86_state_mode(&s);
			x86_state_dump(&s, m.null);
		} else {
			m.cpu_refused++;
			if (!why[0] || strchr(why, '\n')) {
				fprintf(stderr, "fuzz_snapshot: cpu0 refused without a one-line reason: \"%s\"\n", why);
				abort();
			}
		}
		free(section);
		return 0;
	}
	pthread_mutex_lock(&m.lock);
	vclock_set_now(&m.clock, p.now); /* as snapshot_restore: the clock first */
	m.intr = 0;
	int r = board_load(m.board, &in, why, sizeof(why));
	free(section);
	if (r == 0) {
		m.loaded++;
		if (p.wall > 0) /* as snapshot_restore: the time the snapshot sat on disk */
			board_advance_wall_clock(m.board, p.wall);
		sweep(data, size);
		/* Devices keep times up to 2^62 ns, and snapshot_restore lets the clock start
		 * just below that: running a little from there already goes past. */
		if (p.now <= INT64_C(1) << 61)
			resave();
	} else {
		m.refused++;
		static int verbose = -1;
		if (verbose < 0)
			verbose = getenv("FUZZ_SNAPSHOT_WHY") != NULL;
		if (verbose)
			fprintf(stderr, "%s\n", why);
		if (!why[0] || strchr(why, '\n')) {
			fprintf(stderr, "fuzz_snapshot: refused without a one-line reason: \"%s\"\n", why);
			abort();
		}
		/* A refused load leaves every device reset: that must run as well. */
		advance(2000000);
		intr_acks(4);
	}
	/* What survives a machine reset (the RTC's time and CMOS) as the next input expects it: a valid save. */
	sr_init(&in, m.devs.blob[0], m.devs.len);
	vclock_set_now(&m.clock, m.t[0]);
	if (board_load(m.board, &in, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz_snapshot: the board's own save no longer loads: %s\n", why);
		abort();
	}
	board_reset(m.board);
	block_drain(m.disk);
	m.reset_requested = false;
	if (r == 0)
		memcpy(m.ram.host, m.ram_copy, RAM);
	pthread_mutex_unlock(&m.lock);
	return 0;
}

#ifndef FUZZ_NO_MAIN
/* make check: a fixed-seed stream of random inputs (argv[1]: how many; argv[2]: another seed). */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5000;
	uint64_t s = fuzz_seed(0x9e3779b97f4a7c15ULL, 0x2545f4914f6cdd1dULL, argc, argv);
	static uint8_t buf[512];
	for (int i = 0; i < n; i++) {
		/* Few mutations most of the time (a load that gets far), many now and then. */
		size_t len = 2 + (size_t)(i * 37 % (sizeof(buf) - 2));
		for (size_t k = 0; k < len; k++) {
			fuzz_next(&s);
			buf[k] = (uint8_t)s;
		}
		if (s >> 40 & 3)
			buf[1] &= 3;
		fuzz_snapshot_one(buf, len);
	}
	printf("ok - fuzz_snapshot (%d random inputs, no crash; %u device sections loaded, %u refused; "
	       "%u CPU records loaded, %u refused; %u interrupts taken, %u NMIs, %u resets)\n",
	       n, m.loaded, m.refused, m.cpu_loaded, m.cpu_refused, m.acks, m.nmis, m.resets);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_snapshot_one(data, size);
}
#endif
