/* SPDX-License-Identifier: MIT */
/*
 * The PC board the fuzz targets share (fuzz_pc.h): built once, driven
 * through its ports and MMIO as a vCPU would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/intc/i8259.h"
#include "hw/net/net.h"
#include "hw/timer/acpi_pm.h"
#include "fuzz_pc.h"

#define DISK_SIZE (64 * 1024)

struct fuzz_pc pc;

const unsigned pc_virtio_devfn[PC_NVIRTIO] = { PCI_DEVFN(2, 0), PCI_DEVFN(3, 0), PCI_DEVFN(11, 0), PCI_DEVFN(12, 0) };
const unsigned pc_virtio_nq[PC_NVIRTIO] = { 1, 1, 2, 2 }; /* rng, blk, console (port 0), net */

/* ---- the board's environment: stubs ---- */

static void env_set_cpu_intr(void *opaque, unsigned cpu, int level)
{
	(void)opaque;
	if (cpu < PC_MAX_CPUS)
		pc.intr[cpu] = level;
}

static void env_raise_nmi(void *opaque, unsigned cpu)
{
	(void)opaque;
	(void)cpu;
	pc.nmis++;
}

static void env_init_sipi(void *opaque, unsigned cpu)
{
	(void)opaque;
	if (cpu < PC_MAX_CPUS)
		pc.init_sipi[cpu] = true;
}

static unsigned env_current_cpu(void *opaque)
{
	(void)opaque;
	return pc.cur_cpu;
}

static void env_exit(void *opaque, int status)
{
	(void)opaque;
	(void)status;
	pc.exits++;
}

static void env_poweroff(void *opaque)
{
	(void)opaque;
	pc.poweroffs++;
}

static void env_reset(void *opaque)
{
	(void)opaque;
	pc.reset_requested = true; /* inside a device write: the caller resets the board after it */
}

void pc_create(const char *who, uint64_t ram, unsigned ncpus)
{
	char path[] = "/tmp/x86v-fuzz-pc-XXXXXX", why[256];
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0)
		abort();
	close(fd);
	struct block_options o = { .path = path };
	struct net_options no = { .kind = NET_USER, .restrict_guest = true, .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	struct board_nic nic = { .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	pc.ncpus = ncpus;
	vclock_init(&pc.clock);
	vclock_pause(&pc.clock);
	pthread_mutex_init(&pc.lock, NULL);
	bus_init(&pc.pio, "pio");
	bus_init(&pc.mmio, "mmio");
	if (ncpus < 1 || ncpus > PC_MAX_CPUS || ram_init(&pc.ram, ram) < 0 ||
	    evloop_init(&pc.loop, &pc.clock, &pc.lock) < 0 || block_open(&o, &pc.disk, why, sizeof(why)) < 0 ||
	    chardev_open("none", &pc.serial, why, sizeof(why)) < 0 || net_open(&no, &nic.backend, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", who, why);
		abort();
	}
	unlink(path);
	pc.net = nic.backend;
	struct block_backend *disks[1] = { pc.disk };
	struct board_env env = {
		.ncpus = ncpus,
		.pio = &pc.pio,
		.mmio = &pc.mmio,
		.clock = &pc.clock,
		.loop = &pc.loop,
		.serial = pc.serial,
		.ram = &pc.ram,
		.set_cpu_intr = env_set_cpu_intr,
		.raise_nmi = env_raise_nmi,
		/* One CPU: the board's defaults (CPU 0 answers; no IPIs to take). */
		.init_sipi = ncpus > 1 ? env_init_sipi : NULL,
		.current_cpu = ncpus > 1 ? env_current_cpu : NULL,
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
	pthread_mutex_lock(&pc.lock);
	vclock_set_now(&pc.clock, 1000000000);
	if (board_create(&env, &pc.board, why, sizeof(why)) < 0 || board_prepare_direct_boot(pc.board, &rsdp) < 0) {
		fprintf(stderr, "%s: %s\n", who, why);
		abort();
	}
	pthread_mutex_unlock(&pc.lock);
}

/* ---- accesses as a vCPU makes them ---- */

uint64_t pc_in(uint16_t port, unsigned size)
{
	uint64_t v = 0;
	bus_read(&pc.pio, port, size, &v);
	return v;
}

void pc_out(uint16_t port, unsigned size, uint64_t v)
{
	bus_write(&pc.pio, port, size, v);
}

uint64_t pc_rd(uint64_t addr, unsigned size)
{
	uint64_t v = 0;
	bus_read(&pc.mmio, addr, size, &v);
	return v;
}

void pc_wr(uint64_t addr, unsigned size, uint64_t v)
{
	bus_write(&pc.mmio, addr, size, v);
}

static void cfg_addr(unsigned devfn, unsigned off)
{
	pc_out(PCI_CONFIG_ADDRESS_PORT, 4, PCI_CONFIG_ENABLE | devfn << 8 | (off & 0xfc));
}

uint32_t pc_cfg_read(unsigned devfn, unsigned off, unsigned size)
{
	cfg_addr(devfn, off);
	return (uint32_t)pc_in((uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), size);
}

void pc_cfg_write(unsigned devfn, unsigned off, unsigned size, uint32_t v)
{
	cfg_addr(devfn, off);
	pc_out((uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), size, v);
}

uint64_t pc_virtio_bar(unsigned d)
{
	uint64_t lo = pc_cfg_read(pc_virtio_devfn[d], PCI_BASE_ADDRESS_0 + 16, 4);
	uint64_t hi = pc_cfg_read(pc_virtio_devfn[d], PCI_BASE_ADDRESS_0 + 20, 4);
	return (hi << 32 | lo) & ~0xfULL;
}

void pc_ioapic_write(unsigned index, uint32_t v)
{
	pc_wr(0xfec00000, 4, index);
	pc_wr(0xfec00010, 4, v);
}

void pc_ram_put(uint64_t gpa, const void *p, size_t len)
{
	if (ram_write(&pc.ram, gpa, p, len) < 0)
		abort();
}

void pc_intr_acks(unsigned cpu, unsigned max)
{
	for (unsigned i = 0; i < max && pc.intr[cpu]; i++) {
		(void)board_intr_ack(pc.board, cpu);
		pc.acks++;
	}
}

void pc_advance(int64_t ns)
{
	int64_t now = vclock_now(&pc.clock) + ns;
	vclock_set_now(&pc.clock, now);
	vclock_run_expired(&pc.clock, now);
}

/* ---- driving the board into a busy state ---- */

static void put_desc(uint64_t ring, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	pc_ram_put(ring + 16 * i, d, 16);
}

/* The avail ring of the queue at ring offers heads[0..n). */
static void put_avail(uint64_t ring, const uint16_t *heads, unsigned n)
{
	uint16_t a[2 + 16] = { 0, (uint16_t)n };
	memcpy(a + 2, heads, n * sizeof(*heads));
	pc_ram_put(ring + 0x1000, a, sizeof(a));
}

void pc_virtio_setup(unsigned d, bool msix)
{
	unsigned devfn = pc_virtio_devfn[d];
	uint64_t bar = pc_virtio_bar(d);
	if (msix)
		pc_cfg_write(devfn, 0x42, 2, 0x8000);
	pc_wr(bar + 0x14, 1, 0);
	pc_wr(bar + 0x14, 1, 1 | 2);
	pc_wr(bar + 0x00, 4, 0);
	pc_wr(bar + 0x08, 4, 0);
	pc_wr(bar + 0x0c, 4, (uint32_t)pc_rd(bar + 0x04, 4));
	pc_wr(bar + 0x00, 4, 1);
	pc_wr(bar + 0x08, 4, 1);
	pc_wr(bar + 0x0c, 4, (uint32_t)pc_rd(bar + 0x04, 4));
	pc_wr(bar + 0x14, 1, 1 | 2 | 8);
	if (msix)
		pc_wr(bar + 0x10, 2, 0);
	for (unsigned q = 0; q < pc_virtio_nq[d]; q++) {
		uint64_t ring = PC_RING_GPA + (d * 2 + q) * 0x3000ULL;
		pc_wr(bar + 0x16, 2, q);
		pc_wr(bar + 0x18, 2, 16);
		pc_wr(bar + 0x1a, 2, msix ? q + 1 : 0xffff);
		pc_wr(bar + 0x20, 8, ring);
		pc_wr(bar + 0x28, 8, ring + 0x1000);
		pc_wr(bar + 0x30, 8, ring + 0x2000);
		pc_wr(bar + 0x1c, 2, 1);
	}
	pc_wr(bar + 0x14, 1, 1 | 2 | 4 | 8);
	for (unsigned v = 0; msix && v <= pc_virtio_nq[d]; v++) {
		uint64_t e = bar + 0x4000 + 16 * v;
		pc_wr(e, 4, 0xfee00000);
		pc_wr(e + 4, 4, 0);
		pc_wr(e + 8, 4, 0x50 + 4 * d + v);
		pc_wr(e + 12, 4, 0);
	}
}

static uint64_t buf(unsigned slot)
{
	return PC_BUF_GPA + slot * 2048ULL;
}

void pc_virtio_requests(unsigned round)
{
	/* rng: two 64-byte buffers to fill. */
	uint64_t r = PC_RING_GPA;
	put_desc(r, 0, buf(0), 64, 2, 0);
	put_desc(r, 1, buf(1), 64, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 1 }, 1 + round);
	/* blk: a read of sector 1 (header, data, status) and a flush. */
	r = PC_RING_GPA + 2 * 0x3000;
	uint32_t hdr[4] = { 0, 0, 1, 0 }, flush[4] = { 4, 0, 0, 0 };
	pc_ram_put(buf(2), hdr, sizeof(hdr));
	pc_ram_put(buf(4), flush, sizeof(flush));
	put_desc(r, 0, buf(2), 16, 1, 1);
	put_desc(r, 1, buf(3), 512, 1 | 2, 2);
	put_desc(r, 2, buf(2) + 16, 1, 2, 0);
	put_desc(r, 3, buf(4), 16, 1, 4);
	put_desc(r, 4, buf(4) + 16, 1, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 3 }, 1 + round);
	/* console: two receive buffers (held: no input comes), one message out. */
	r = PC_RING_GPA + 4 * 0x3000;
	put_desc(r, 0, buf(5), 256, 2, 0);
	put_desc(r, 1, buf(6), 256, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 1 }, 2);
	r = PC_RING_GPA + 5 * 0x3000;
	pc_ram_put(buf(7), "snapshot\n", 9);
	put_desc(r, 0, buf(7), 9, 0, 0);
	put_avail(r, (const uint16_t[]){ 0, 0 }, 1 + round);
	/* net: two receive buffers; an ARP request for the gateway goes out. */
	r = PC_RING_GPA + 6 * 0x3000;
	put_desc(r, 0, buf(8), 1526, 2, 0);
	put_desc(r, 1, buf(9), 1526, 2, 0);
	put_avail(r, (const uint16_t[]){ 0, 1 }, 2);
	r = PC_RING_GPA + 7 * 0x3000;
	static const uint8_t arp[12 + 42] = {
		[12] = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06, /* ethernet */
		0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15, /* ARP: sender */
		0, 0, 0, 0, 0, 0, 10, 0, 2, 2 /* target */
	};
	pc_ram_put(buf(10), arp, sizeof(arp));
	put_desc(r, 0, buf(10), sizeof(arp), 0, 0);
	put_avail(r, (const uint16_t[]){ 0, 0 }, 1 + round);
	for (unsigned d = 0; d < PC_NVIRTIO; d++)
		for (unsigned q = 0; q < pc_virtio_nq[d]; q++)
			pc_wr(pc_virtio_bar(d) + 0x3000 + 4 * q, 2, q);
	block_drain(pc.disk);
}

void pc_drive_board(void)
{
	/* PICs: vectors 0x20/0x28, IRQ 0, 1, 2, 4 and 8 unmasked, IRQ 9-11 level-triggered. */
	static const uint8_t pic[][2] = {
		{ 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x28 },
		{ 0xa1, 0x02 }, { 0xa1, 0x01 }, { 0x21, 0xe8 }, { 0xa1, 0xf0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pic); i++)
		pc_out(pic[i][0], 1, pic[i][1]);
	pc_out(PIC_ELCR_BASE + 1, 1, 0x0e);
	/* PIT: channel 0 rate generator, channel 1 one byte, channel 2 square wave gated on; a latch half read. */
	static const uint8_t pit[][2] = {
		{ 0x43, 0x34 }, { 0x40, 0x00 }, { 0x40, 0x10 }, { 0x43, 0x54 }, { 0x41, 0x12 },
		{ 0x43, 0xb6 }, { 0x42, 0x33 }, { 0x42, 0x05 }, { 0x61, 0x03 }, { 0x43, 0x00 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pit); i++)
		pc_out(pit[i][0], 1, pit[i][1]);
	(void)pc_in(0x40, 1);
	/* COM1: 115200 8N1, FIFOs, every interrupt, loopback with bytes in the receive FIFO. */
	static const uint8_t uart[][2] = {
		{ 3, 0x80 }, { 0, 0x01 }, { 1, 0x00 }, { 3, 0x03 }, { 2, 0xc7 }, { 4, 0x1b }, { 1, 0x0f }, { 7, 0x5a },
		{ 0, 'a' }, { 0, 'b' }, { 0, 'c' }, { 0, 'd' },
	};
	for (size_t i = 0; i < ARRAY_SIZE(uart); i++)
		pc_out((uint16_t)(0x3f8 + uart[i][0]), 1, uart[i][1]);
	(void)pc_in(0x3f8, 1);
	/* RTC: a fixed date (not the host's: inputs must replay), 1024 Hz periodic interrupts and update
	 * interrupts, a CMOS byte, an index left selected. */
	static const uint8_t rtc[][2] = {
		{ 0x0b, 0x82 }, { 0x00, 0x56 }, { 0x02, 0x34 }, { 0x04, 0x12 }, { 0x06, 0x03 }, { 0x07, 0x15 },
		{ 0x08, 0x06 }, { 0x09, 0x25 }, { 0x32, 0x20 }, { 0x0a, 0x26 }, { 0x0b, 0x52 }, { 0x40, 0xab },
	};
	for (size_t i = 0; i < ARRAY_SIZE(rtc); i++) {
		pc_out(0x70, 1, rtc[i][0]);
		pc_out(0x71, 1, rtc[i][1]);
	}
	pc_out(0x70, 1, 0x0c);
	/* i8042: command byte with both interrupts; a byte in the output buffer; the mouse enabled; keyboard ID. */
	pc_out(0x64, 1, 0x60);
	pc_out(0x60, 1, 0x47);
	pc_out(0x64, 1, 0xd2);
	pc_out(0x60, 1, 0x1c);
	pc_out(0x64, 1, 0xd4);
	pc_out(0x60, 1, 0xf4);
	pc_out(0x60, 1, 0xf2);
	/* ACPI: SCI enabled, the PM timer's and the power button's events. */
	pc_out(ACPI_PM_BASE + 2, 2, 0x0101);
	pc_out(ACPI_PM_BASE + 4, 2, 1);
	/* fw_cfg: the signature, partly read; POST code; A20. */
	pc_out(0x510, 2, 0);
	(void)pc_in(0x511, 1);
	(void)pc_in(0x511, 1);
	pc_out(0x80, 1, 0x55);
	pc_out(0x92, 1, 0x02);
	/* Local APIC: enabled, TPR, a periodic timer, LINT0 ExtINT, LINT1 NMI. */
	pc_wr(0xfee000f0, 4, 0x1ff);
	pc_wr(0xfee00080, 4, 0x10);
	pc_wr(0xfee003e0, 4, 0x0b);
	pc_wr(0xfee00320, 4, 0x20030);
	pc_wr(0xfee00380, 4, 200000);
	pc_wr(0xfee00350, 4, 0x700);
	pc_wr(0xfee00360, 4, 0x400);
	/* IOAPIC: the ISA interrupts edge-triggered, PCI's level-triggered (active low). */
	static const unsigned pins[] = { 1, 2, 4, 8, 9, 10, 11 };
	for (size_t i = 0; i < ARRAY_SIZE(pins); i++) {
		bool level = pins[i] >= 9;
		pc_ioapic_write(0x10 + 2 * pins[i], (0x30 + pins[i]) | (level ? 0xa000u : 0));
		pc_ioapic_write(0x11 + 2 * pins[i], 0);
	}
	/* HPET: on, timer 0 periodic, timer 1 one-shot. */
	pc_wr(0xfed00010, 8, 1);
	pc_wr(0xfed00100, 8, 0x4c);
	pc_wr(0xfed00108, 8, 100000);
	pc_wr(0xfed00120, 8, 0x04 | 9 << 9);
	pc_wr(0xfed00128, 8, 5000000);
	/* virtio: blk and net with MSI-X, rng and console with INTx. */
	for (unsigned d = 0; d < PC_NVIRTIO; d++)
		pc_virtio_setup(d, d == 1 || d == 3);
	pc_virtio_requests(0);
	/* Time passes; some interrupts are taken, some of those finished. */
	pc_advance(3000000);
	pc_intr_acks(0, 6);
	pc_wr(0xfee000b0, 4, 0);
	pc_out(0x20, 1, 0x20);
}

/* ---- the registers, for inputs to aim at ---- */

struct region {
	bool mmio;
	uint64_t base, size;
	uint8_t sizes; /* access sizes allowed: bit 0 = 1 byte, 1 = 2, 2 = 4, 3 = 8 */
};

static const struct region regions[PC_NREGIONS] = {
	{ false, 0x20, 2, 1 }, { false, 0xa0, 2, 1 }, { false, PIC_ELCR_BASE, 2, 1 }, { false, 0x40, 4, 1 },
	{ false, 0x61, 1, 1 }, { false, 0x80, 1, 1 }, { false, 0x3f8, 8, 1 }, { false, 0x70, 2, 1 },
	{ false, 0x60, 1, 1 }, { false, 0x64, 1, 1 }, { false, 0x92, 1, 1 }, { false, 0x510, 2, 3 },
	{ false, 0x514, 8, 0xf }, { false, ACPI_PM_BASE, 12, 7 }, { false, 0xcf8, 4, 7 }, { false, 0xcfc, 4, 7 },
	{ true, 0xfec00000, 0x20, 4 }, { true, 0xfee00000, 0x1000, 4 }, { true, 0xfed00000, 0x400, 0xc },
	/* The virtio functions' BARs: base 0 means "where BAR 4 is now". */
	{ true, 0, 0x6000, 0xf }, { true, 0, 0x6000, 0xf }, { true, 0, 0x6000, 0xf }, { true, 0, 0x6000, 0xf },
};
#define FIRST_VIRTIO_REGION (PC_NREGIONS - PC_NVIRTIO)

void pc_after_access(void)
{
	if (pc.reset_requested) { /* as the machine does: a reset between instructions */
		pc.reset_requested = false;
		pc.resets++;
		board_reset(pc.board);
	}
}

void pc_poke(unsigned ri, uint64_t off, unsigned log2, bool write, uint64_t v)
{
	ri %= PC_NREGIONS;
	const struct region *r = &regions[ri];
	uint64_t base = ri >= FIRST_VIRTIO_REGION ? pc_virtio_bar(ri - FIRST_VIRTIO_REGION) : r->base;
	while (!(r->sizes >> log2 & 1))
		log2 = (log2 + 1) % 4;
	unsigned bytes = 1u << log2;
	uint64_t addr = base + (off % r->size & ~(uint64_t)(bytes - 1));
	if (r->mmio) {
		if (write)
			pc_wr(addr, bytes, v);
		else
			(void)pc_rd(addr, bytes);
	} else {
		if (write)
			pc_out((uint16_t)addr, bytes, v);
		else
			(void)pc_in((uint16_t)addr, bytes);
	}
	pc_after_access();
}

void pc_read_everything(void)
{
	for (unsigned p = 0; p < 2; p++) { /* PICs: IRR, ISR, IMR, then a poll */
		uint16_t base = p ? 0xa0 : 0x20;
		pc_out(base, 1, 0x0a);
		(void)pc_in(base, 1);
		pc_out(base, 1, 0x0b);
		(void)pc_in(base, 1);
		(void)pc_in(base + 1, 1);
		pc_out(base, 1, 0x0c);
		(void)pc_in(base, 1);
	}
	(void)pc_in(PIC_ELCR_BASE, 1);
	(void)pc_in(PIC_ELCR_BASE + 1, 1);
	for (unsigned c = 0; c < 3; c++) /* PIT: whatever is latched, then a read-back of all */
		(void)pc_in((uint16_t)(0x40 + c), 1);
	pc_out(0x43, 1, 0xce);
	for (unsigned c = 0; c < 3; c++)
		for (unsigned i = 0; i < 3; i++)
			(void)pc_in((uint16_t)(0x40 + c), 1);
	(void)pc_in(0x61, 1);
	for (unsigned i = 0; i < 8; i++) /* COM1 */
		(void)pc_in((uint16_t)(0x3f8 + i), 1);
	(void)pc_in(0x71, 1); /* the RTC's selected register, then all of them */
	for (unsigned i = 0; i < 128; i += 1) {
		pc_out(0x70, 1, i);
		(void)pc_in(0x71, 1);
	}
	for (unsigned i = 0; i < 4; i++) { /* i8042 */
		(void)pc_in(0x64, 1);
		(void)pc_in(0x60, 1);
	}
	for (unsigned i = 0; i < 8; i++) /* fw_cfg: the selected item, from the loaded offset */
		(void)pc_in(0x511, 1);
	for (unsigned i = 0; i < 12; i += 2)
		(void)pc_in((uint16_t)(ACPI_PM_BASE + i), 2);
	(void)pc_in(ACPI_PM_BASE + 8, 4);
	(void)pc_in(0x80, 1);
	(void)pc_in(0x92, 1);
	(void)pc_in(PCI_CONFIG_DATA_PORT, 4); /* through the loaded address register */
	static const unsigned devfns[] = { PCI_DEVFN(0, 0), PCI_DEVFN(1, 0), PCI_DEVFN(2, 0), PCI_DEVFN(3, 0),
					   PCI_DEVFN(11, 0), PCI_DEVFN(12, 0) };
	for (size_t d = 0; d < ARRAY_SIZE(devfns); d++)
		for (unsigned off = 0; off < 256; off += 4)
			(void)pc_cfg_read(devfns[d], off, 4);
	for (unsigned i = 0; i < 0x40; i++) { /* IOAPIC */
		pc_wr(0xfec00000, 4, i);
		(void)pc_rd(0xfec00010, 4);
	}
	for (unsigned off = 0; off < 0x400; off += 0x10) /* local APIC */
		(void)pc_rd(0xfee00000 + off, 4);
	for (unsigned off = 0; off < 0x400; off += 8) /* HPET */
		(void)pc_rd(0xfed00000 + off, 8);
	for (unsigned d = 0; d < PC_NVIRTIO; d++) {
		uint64_t bar = pc_virtio_bar(d);
		for (unsigned off = 0; off < 0x38; off += 4)
			(void)pc_rd(bar + off, 4);
		for (unsigned q = 0; q < pc_virtio_nq[d] + 1; q++) {
			pc_wr(bar + 0x16, 2, q);
			for (unsigned off = 0x18; off < 0x38; off += 2)
				(void)pc_rd(bar + off, 2);
		}
		(void)pc_rd(bar + 0x1000, 1);
		for (unsigned off = 0; off < 0x40; off += 4)
			(void)pc_rd(bar + 0x2000 + off, 4);
		for (unsigned off = 0; off < 0x40; off += 4)
			(void)pc_rd(bar + 0x4000 + off, 4);
		(void)pc_rd(bar + 0x5000, 8);
	}
}
