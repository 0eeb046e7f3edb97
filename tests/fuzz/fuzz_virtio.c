/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: hostile virtio drivers. Four devices on a PCI bus — virtio-
 * blk on a small image, virtio-rng, virtio-console and virtio-net on
 * user-mode networking with restrict=on (nothing leaves the process) — are
 * set up by a
 * driver that follows the rules or skips steps (the input decides), on split
 * or packed virtqueues (the input decides; the devices offer both), their
 * rings and buffers are the input's bytes, and the rest of the input is a
 * sequence of register accesses, kicks, ring scribbles, disk completions
 * and frames arriving for the guest. The VMM must not crash, hang or touch host memory outside
 * guest RAM (ASan and UBSan watch in make check).
 *
 * Also a libFuzzer target (LLVMFuzzerTestOneInput); make check runs
 * test_fuzz_virtio, a fixed-seed stream of random inputs (main below).
 */
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/chardev.h"
#include "core/event_loop.h"
#include "hw/block/block.h"
#include "hw/net/net_driver.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_console.h"
#include "hw/virtio/virtio_net.h"
#include "hw/virtio/virtio_rng.h"
#include "fuzz_rand.h"

#define RAM (2 * MiB)
#define RING_GPA 0x10000ULL /* each queue's rings: 0x3000 apart */
#define BUF_GPA 0x40000ULL /* buffers: 256-byte slots */
#define BUF_SLOTS 256
#define BAR_BASE 0xc0000000ULL
#define BAR_STRIDE 0x10000ULL
#define NDEV 4
#define DISK_SIZE (64 * 1024)

static struct {
	struct guest_ram ram;
	struct bus mmio;
	struct pci_bus *pci;
	struct vclock clock;
	pthread_mutex_t lock;
	struct event_loop loop;
	struct chardev *con_chr;
	struct block_backend *disk;
	struct virtio_blk *blk;
	struct virtio_rng *rng;
	struct virtio_console *con;
	struct net_backend *nb;
	struct virtio_net *net;
	unsigned msis;
	bool packed[NDEV]; /* the driver took packed virtqueues */
} m;

static void count_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	m.msis++;
}

static void setup(void)
{
	char path[] = "/tmp/x86v-fuzz-disk-XXXXXX", why[256];
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0)
		abort();
	close(fd);
	struct block_options o = { .path = path };
	struct net_options no = { .kind = NET_USER, .restrict_guest = true, .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	vclock_init(&m.clock);
	pthread_mutex_init(&m.lock, NULL);
	if (ram_init(&m.ram, RAM) < 0 || evloop_init(&m.loop, &m.clock, &m.lock) < 0 ||
	    block_open(&o, &m.disk, why, sizeof(why)) < 0 || chardev_open("none", &m.con_chr, why, sizeof(why)) < 0 ||
	    net_open(&no, &m.nb, why, sizeof(why)) < 0)
		abort();
	unlink(path);
	bus_init(&m.mmio, "mmio");
	m.pci = pci_bus_create();
	pci_bus_set_address_spaces(m.pci, NULL, &m.mmio);
	pci_bus_set_msi_handler(m.pci, count_msi, NULL);
	static const struct virtio_kick_host offer = { .ring_packed = true };
	if (virtio_blk_create(m.pci, PCI_DEVFN(3, 0), &m.ram, &m.loop, &offer, m.disk, "fuzz", &m.blk) < 0 ||
	    virtio_rng_create(m.pci, PCI_DEVFN(4, 0), &m.ram, &offer, &m.rng) < 0 ||
	    virtio_console_create(m.pci, PCI_DEVFN(5, 0), &m.ram, &offer, m.con_chr, &m.con) < 0 ||
	    virtio_net_create(m.pci, PCI_DEVFN(6, 0), &m.ram, &m.loop, &offer, m.nb, no.mac, &m.net) < 0)
		abort();
	chardev_set_frontend(m.con_chr, virtio_console_receive, m.con);
}

static void bar_write(unsigned dev, uint64_t off, unsigned size, uint64_t v)
{
	bus_write(&m.mmio, BAR_BASE + dev * BAR_STRIDE + off, size, v);
}

static uint64_t bar_read(unsigned dev, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	bus_read(&m.mmio, BAR_BASE + dev * BAR_STRIDE + off, size, &v);
	return v;
}

static uint8_t take(const uint8_t **data, size_t *size)
{
	if (!*size)
		return 0;
	(*size)--;
	return *(*data)++;
}

/* Rings that are mostly plausible: chains of three descriptors (a readable
 * header, writable data, a writable status byte) into the buffer slots,
 * heads at their starts, a small available index; now and then the input
 * flips flags (indirect tables too), lengths, links, heads, or points a
 * buffer past RAM. A packed ring gets the same chains in its layout (id,
 * then flags made available in the first lap, with the same damage), and
 * the split ring's available ring becomes its driver event structure. */
static void fill_rings(uint64_t base, bool packed, const uint8_t **data, size_t *size)
{
	static const uint16_t chain_flags[3] = { 1, 1 | 2, 2 }; /* NEXT; NEXT|WRITE; WRITE */
	for (unsigned i = 0; i < 16; i++) {
		uint8_t b0 = take(data, size), b1 = take(data, size), b2 = take(data, size), b3 = take(data, size);
		uint64_t addr = (b3 & 0xe0) == 0xe0 ? RAM - 16 + (b0 & 31) : BUF_GPA + (uint64_t)b0 * 256;
		/* Each kind of damage about one time in eight. */
		uint32_t len = (b3 & 0xe0) == 0xc0 ? 0xffffffffu
			       : (b1 & 0xe0) == 0xe0 || i % 3 == 1 ? (uint32_t)b1 * 4 + (b3 & 3)
			       : i % 3 == 0 ? 16 : 1;
		uint16_t flags = (b2 >> 3 & 7) == 7 ? (b2 & 7) : chain_flags[i % 3];
		uint16_t next = (b2 >> 6) == 3 && (b3 & 1) ? (b3 >> 1) & 31 : i + 1;
		uint8_t d[16];
		memcpy(d, &addr, 8);
		memcpy(d + 8, &len, 4);
		if (packed) {
			uint16_t id = (uint16_t)(next - 1), pflags = (uint16_t)(flags | (b0 & 1 ? 1u << 7 : 1u << 15));
			memcpy(d + 12, &id, 2);
			memcpy(d + 14, &pflags, 2);
		} else {
			memcpy(d + 12, &flags, 2);
			memcpy(d + 14, &next, 2);
		}
		if (ram_write(&m.ram, base + 16 * i, d, 16) < 0)
			abort();
	}
	uint16_t avail[2 + 16 + 1] = { 0, (uint16_t)(take(data, size) % 20) };
	for (unsigned k = 0; k < 17; k++) {
		uint8_t b = take(data, size);
		avail[2 + k] = (b & 0xc0) == 0xc0 ? b % 18 : 3 * (b % 5);
	}
	if (ram_write(&m.ram, base + 0x1000, avail, sizeof(avail)) < 0)
		abort();
}

/* A driver's set-up of device dev: MSI-X or INTx (bit 0 of flags), split or
 * packed virtqueues (bit 4), and half the time one mistake: features without
 * VERSION_1, a queue size that is not a power of two, a used ring (device
 * event structure) past RAM, or no DRIVER_OK. */
static void driver_init(unsigned dev, uint8_t flags)
{
	unsigned mistake = (flags >> 1) % 8; /* 4..7: one of the mistakes */
	unsigned devfn = PCI_DEVFN(3 + dev, 0);
	uint64_t bar = BAR_BASE + dev * BAR_STRIDE;
	pci_config_write(m.pci, devfn, PCI_BASE_ADDRESS_0 + 16, (uint32_t)bar | PCI_BAR_MEM64, 4);
	pci_config_write(m.pci, devfn, PCI_BASE_ADDRESS_0 + 20, 0, 4);
	pci_config_write(m.pci, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	if (flags & 1) /* MSI-X on */
		pci_config_write(m.pci, devfn, 0x42, 0x8000, 2);
	bar_write(dev, 0x14, 1, 0); /* reset */
	bar_write(dev, 0x14, 1, 1 | 2);
	bar_write(dev, 0x0c, 4, (uint32_t)bar_read(dev, 0x04, 4)); /* accept the offer (select 0) */
	bar_write(dev, 0x08, 4, 1);
	bar_write(dev, 0x00, 4, 1);
	m.packed[dev] = flags & 0x10;
	uint32_t high = (uint32_t)bar_read(dev, 0x04, 4) & ~(m.packed[dev] ? 0 : 1u << (VIRTIO_F_RING_PACKED - 32));
	bar_write(dev, 0x0c, 4, mistake == 4 ? 0 : high); /* VERSION_1 (and RING_PACKED), or not */
	bar_write(dev, 0x14, 1, 1 | 2 | 8);
	unsigned nq = (unsigned)bar_read(dev, 0x12, 2);
	for (unsigned q = 0; q < nq && q < 2; q++) {
		uint64_t base = RING_GPA + (dev * 2 + q) * 0x3000;
		bar_write(dev, 0x16, 2, q);
		bar_write(dev, 0x18, 2, mistake == 5 ? 6 : 16);
		bar_write(dev, 0x1a, 2, q + 1);
		bar_write(dev, 0x20, 8, base);
		bar_write(dev, 0x28, 8, base + 0x1000);
		bar_write(dev, 0x30, 8, mistake == 6 ? RAM - 8 : base + 0x2000);
		bar_write(dev, 0x1c, 2, 1);
	}
	if (mistake != 7)
		bar_write(dev, 0x14, 1, 1 | 2 | 4 | 8);
	if (flags & 1) /* unmask every vector */
		for (unsigned v = 0; v < 3; v++)
			bar_write(dev, 0x4000 + 16 * v + 12, 4, 0);
}

int fuzz_virtio_one(const uint8_t *data, size_t size);
int fuzz_virtio_one(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size < NDEV)
		return 0;
	pci_bus_reset(m.pci);
	virtio_blk_reset(m.blk);
	virtio_rng_reset(m.rng);
	virtio_console_reset(m.con);
	virtio_net_reset(m.net);
	memset(m.ram.host, 0, RAM);
	for (unsigned d = 0; d < NDEV; d++)
		driver_init(d, data[d]);
	data += NDEV;
	size -= NDEV;
	for (unsigned q = 0; q < 2 * NDEV; q++)
		fill_rings(RING_GPA + q * 0x3000, m.packed[q / 2], &data, &size);
	/* Buffers: request headers with small types and sectors, then noise. */
	for (unsigned slot = 0; slot < BUF_SLOTS; slot++) {
		uint32_t hdr[4] = { take(&data, &size) % 16, 0, take(&data, &size) % 160, 0 };
		if (ram_write(&m.ram, BUF_GPA + slot * 256ULL, hdr, sizeof(hdr)) < 0)
			abort();
	}
	/* The driver kicks every queue once, then the input takes over. */
	for (unsigned d = 0; d < NDEV; d++)
		for (unsigned q = 0; q < 2; q++)
			bar_write(d, 0x3000 + 4 * q, 2, q);
	block_drain(m.disk);
	for (; size >= 8; data += 8, size -= 8) {
		unsigned dev = data[0] % NDEV, kind = data[1] % 8;
		uint16_t off;
		uint32_t v;
		memcpy(&off, data + 2, 2);
		memcpy(&v, data + 4, 4);
		unsigned sz = 1u << (data[1] >> 3 & 3);
		switch (kind) {
		case 0: bar_write(dev, off % 0x6000, sz, v); break;
		case 1: (void)bar_read(dev, off % 0x6000, sz); break;
		case 2: bar_write(dev, 0x3000 + 4 * (v & 1), 2, v & 1); break; /* kick */
		case 3: pci_config_write(m.pci, PCI_DEVFN(3 + dev, 0), off & 0xfc, v, 4); break;
		case 4: block_drain(m.disk); break; /* the disk's completions, now */
		case 5: /* scribble on the rings */
			if (ram_write(&m.ram, RING_GPA + off % (0x3000 * 2 * NDEV), &v, 4) < 0)
				abort();
			break;
		case 6: /* terminal input; a frame for the guest */
			if (dev == 3) { /* the input's next bytes, zeroes past its end */
				static uint8_t frame[1614];
				size_t len = 14 + v % 1600, have = size < len ? size : len;
				memset(frame + have, 0, len - have);
				memcpy(frame, data, have);
				net_deliver(m.nb, frame, len);
			} else
				virtio_console_receive(m.con, data + 4, 4);
			break;
		default: bar_write(dev, 0x1000, 1, 0); (void)bar_read(dev, 0x1000, 1); break; /* ISR */
		}
	}
	block_drain(m.disk);
	return 0;
}

#ifndef FUZZ_NO_MAIN
/* make check: a fixed-seed stream of random inputs (argv[1]: how many; argv[2]: another seed). */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	uint64_t s = fuzz_seed(0x9e3779b97f4a7c15ULL, 0x2545f4914f6cdd1dULL, argc, argv);
	static uint8_t buf[4096];
	for (int i = 0; i < n; i++) {
		size_t len = 8 + (size_t)(i * 37 % (sizeof(buf) - 8));
		for (size_t k = 0; k < len; k++) {
			fuzz_next(&s);
			buf[k] = (uint8_t)s;
			/* Plausible descriptors now and then: small addresses and lengths, the NEXT flag. */
			if ((s >> 32 & 7) == 0 && k >= 8)
				buf[k] = (uint8_t)(s >> 40 & 0x1f);
		}
		fuzz_virtio_one(buf, len);
	}
	printf("ok - fuzz_virtio (%d random inputs, no crash; %u MSIs sent)\n", n, m.msis);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_virtio_one(data, size);
}
#endif
