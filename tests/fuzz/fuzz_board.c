/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a guest's port and MMIO accesses against the whole PC board
 * (fuzz_pc.c: every device of a real machine, two CPUs' local APICs). The
 * board is built once and saved in three states: as firmware leaves it
 * (PCI resources assigned, the RTC at a fixed date), after a machine reset,
 * and busy (every device programmed, timers running, interrupts pending
 * and in service, virtio requests in flight). Each input starts from one of
 * them (board_load, as --restore does) and is a sequence of 8-byte
 * operations: reads and writes of 1, 2, 4 and 8 bytes aimed at the devices'
 * register regions (PIC, ELCR, PIT, port 0x61, POST, COM1, RTC, i8042, port
 * 0x92, fw_cfg and its DMA, ACPI PM, PCI configuration through 0xcf8/0xcfc,
 * IOAPIC, local APIC, HPET, the virtio functions' BARs), anywhere in the
 * port space or near the MMIO ranges, PCI configuration writes, the
 * virtual clock moving on (timers fire), interrupt acknowledgements and
 * end-of-interrupts for either CPU, the local APIC's MSRs, INIT and
 * start-up IPIs taken, a driver's set-up of a virtio function, requests
 * and kicks, disk completions, frames for the guest, scribbles on the
 * rings, Ctrl+Alt+Del, machine resets, and a save and load of the whole
 * board in the middle (whatever state the accesses made must save and load
 * again). Afterwards time passes and the interrupts are taken.
 *
 * Nothing may crash, hang, leak or touch memory outside guest RAM (ASan
 * and UBSan watch in make check). Between inputs the board is reset
 * (board_reset) and guest RAM put back (a copy-on-write mapping of the
 * busy state's RAM, mapped afresh): nothing is rebuilt.
 *
 * The first input byte: the state to start from (modulo 3: busy, firmware,
 * reset) and, in bit 2, which CPU's local APIC answers first; then the
 * operations: [selector, kind (low 4 bits) | size (bits 4-5) | flags
 * (bits 6-7), offset (16 bits), value (32 bits)].
 *
 * Also a libFuzzer target (LLVMFuzzerTestOneInput, with -DFUZZ_NO_MAIN);
 * make check runs test_fuzz_board, a fixed-seed stream of random inputs
 * (main below); test_fuzz_board FILE... replays saved inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/statebuf.h"
#include "hw/char/debug_exit.h"
#include "hw/net/net_driver.h"
#include "hw/timer/acpi_pm.h"
#include "hw/timer/hpet.h"
#include "fuzz_pc.h"
#include "fuzz_rand.h"

#define RAM (2 * MiB)
#define INPUT_MAX (64 * 1024)

enum { START_BUSY, START_FIRMWARE, START_RESET, NSTARTS };

static struct {
	int ram_fd; /* guest RAM as the busy state has it: RAM is a private (copy-on-write) mapping of it */
	uint8_t *save[NSTARTS];
	size_t save_len[NSTARTS];
	int64_t t[NSTARTS];
	unsigned inputs, ops, ipis, frames, mid_saves, keys;
} f;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_board: %s%s%s\n", what, why ? ": " : "", why ? why : "");
	abort();
}

/* The whole board's state into a malloc'd buffer (lock held). */
static uint8_t *save_board(size_t *len)
{
	struct statebuf sb;
	sb_init(&sb);
	if (board_save(pc.board, &sb) < 0 || sb.failed)
		die("a state of the board does not save", NULL);
	uint8_t *p = malloc(sb.len ? sb.len : 1);
	if (!p)
		abort();
	memcpy(p, sb.data, sb.len);
	*len = sb.len;
	sb_free(&sb);
	return p;
}

static void load_board(const uint8_t *p, size_t len, int64_t now, const char *what)
{
	struct state_reader in;
	char why[256] = "";
	sr_init(&in, p, len);
	vclock_set_now(&pc.clock, now);
	memset(pc.intr, 0, sizeof(pc.intr));
	if (board_load(pc.board, &in, why, sizeof(why)) < 0)
		die(what, why);
}

static void keep(unsigned start)
{
	f.t[start] = vclock_now(&pc.clock);
	f.save[start] = save_board(&f.save_len[start]);
}

/* Guest RAM back as it was: a fresh private mapping of the kept copy over it, in
 * place (what the last input wrote goes; a page costs only once touched again).
 * A snapshot restore maps RAM the same way (ram.remapped). */
static void restore_ram(void)
{
	if (mmap(pc.ram.host, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, f.ram_fd, 0) != pc.ram.host)
		die("cannot map guest RAM", NULL);
	pc.ram.remapped = true;
}

static void setup(void)
{
	pc_create("fuzz_board", RAM, 2);
	pthread_mutex_lock(&pc.lock);
	/* The RTC at a fixed date, not the host's: inputs must replay. */
	static const uint8_t rtc[][2] = { { 0x0b, 0x82 }, { 0x00, 0x30 }, { 0x02, 0x15 }, { 0x04, 0x09 },
					  { 0x07, 0x01 }, { 0x08, 0x03 }, { 0x09, 0x25 }, { 0x32, 0x20 },
					  { 0x0b, 0x02 } };
	for (size_t i = 0; i < ARRAY_SIZE(rtc); i++) {
		pc_out(0x70, 1, rtc[i][0]);
		pc_out(0x71, 1, rtc[i][1]);
	}
	keep(START_FIRMWARE);
	board_reset(pc.board);
	keep(START_RESET);
	load_board(f.save[START_FIRMWARE], f.save_len[START_FIRMWARE], f.t[START_FIRMWARE],
		   "the board's own save does not load");
	pc_drive_board();
	keep(START_BUSY);
	f.ram_fd = memfd_create("x86v-fuzz-board-ram", MFD_CLOEXEC);
	if (f.ram_fd < 0 || write(f.ram_fd, pc.ram.host, RAM) != RAM)
		die("cannot keep guest RAM", NULL);
	restore_ram();
	board_reset(pc.board);
	pthread_mutex_unlock(&pc.lock);
}

/* ---- the operations ---- */

/* Near the MMIO ranges: the chips, the virtio BARs where they are now, the PCI window, past RAM. */
static uint64_t mmio_base(unsigned sel)
{
	static const uint64_t bases[] = { 0xfec00000, 0xfee00000, HPET_BASE, 0xfebff000, 0xc0000000, 0xe0000000,
					  RAM - 0x100, 0xfffff000, 0xfec01000, 0xfee01000 };
	unsigned n = ARRAY_SIZE(bases) + PC_NVIRTIO;
	sel %= n;
	return sel < ARRAY_SIZE(bases) ? bases[sel] : pc_virtio_bar(sel - (unsigned)ARRAY_SIZE(bases));
}

/* PCI functions: the host bridge, PIIX3's, the virtio ones, an absent one, any. */
static unsigned devfn_of(unsigned sel)
{
	static const unsigned fns[] = { PCI_DEVFN(0, 0), PCI_DEVFN(1, 0), PCI_DEVFN(1, 1), PCI_DEVFN(1, 3),
					PCI_DEVFN(2, 0), PCI_DEVFN(3, 0), PCI_DEVFN(11, 0), PCI_DEVFN(12, 0),
					PCI_DEVFN(4, 0) };
	return sel < 0xe0 ? fns[sel % ARRAY_SIZE(fns)] : sel;
}

static void frame_for_guest(const uint8_t *data, size_t size, uint32_t v)
{
	static uint8_t frame[1614];
	size_t len = 14 + v % 1600, have = size < len ? size : len;
	memset(frame + have, 0, len - have);
	memcpy(frame, data, have);
	(void)net_deliver(pc.net, frame, len);
	f.frames++;
}

/* One operation; data/size: the rest of the input (frames take their bytes from it). */
static void op(const uint8_t *o, const uint8_t *rest, size_t rest_len)
{
	unsigned sel = o[0], kind = o[1] & 15, log2 = o[1] >> 4 & 3, cpu = sel & 1;
	bool hi = o[1] & 0x40;
	uint16_t off;
	uint32_t v32;
	memcpy(&off, o + 2, 2);
	memcpy(&v32, o + 4, 4);
	/* An 8-byte write's upper half: the same bits, or none. */
	uint64_t v = hi ? (uint64_t)v32 << 32 | v32 : v32;
	f.ops++;
	switch (kind) {
	case 0: case 1: case 2:
		pc_poke(sel, off, log2, true, v);
		break;
	case 3: case 4:
		pc_poke(sel, off, log2, false, 0);
		break;
	case 5: { /* any port, or near one of those no region lists */
		static const uint16_t ports[] = { DEBUG_EXIT_PORT, 0xcf9, 0x4d0, 0x2f8, 0x3f8, 0x511, 0x514, ACPI_PM_BASE,
						  0x61, 0x92, 0x64, 0x70, 0xcfc, 0x80 };
		uint16_t port = sel < 0x80 ? off : (uint16_t)(ports[sel % ARRAY_SIZE(ports)] + (off & 7));
		unsigned bytes = 1u << (log2 % 3);
		if (o[1] & 0x80)
			(void)pc_in(port, bytes);
		else
			pc_out(port, bytes, v);
		pc_after_access();
		break;
	}
	case 6: { /* near an MMIO range */
		uint64_t a = mmio_base(sel) + (off & ~((1u << log2) - 1));
		if (o[1] & 0x80)
			(void)pc_rd(a, 1u << log2);
		else
			pc_wr(a, 1u << log2, v);
		pc_after_access();
		break;
	}
	case 7: /* time passes */
		pc_advance(v32 % (sel & 2 ? 100000000 : 100000));
		pc_intr_acks(cpu, 4);
		break;
	case 8: /* INTA cycles, then end-of-interrupts */
		pc.cur_cpu = cpu;
		pc_intr_acks(cpu, 1 + (sel >> 1) % 8);
		if (sel & 0x10)
			pc_wr(0xfee000b0, 4, 0);
		if (sel & 0x20)
			pc_out(0x20, 1, 0x20);
		if (sel & 0x40)
			pc_out(0xa0, 1, 0x20);
		break;
	case 9: { /* the local APIC's MSRs: APIC base, x2APIC registers */
		uint32_t index = sel & 2 ? 0x1b : 0x800 + off % 0x40;
		if (o[1] & 0x80) {
			uint64_t val;
			(void)board_msr_read(pc.board, cpu, index, &val);
		} else {
			(void)board_msr_write(pc.board, cpu, index, v);
		}
		pc_after_access();
		break;
	}
	case 10: /* PCI configuration: a write, or a read */
		if (o[1] & 0x80)
			(void)pc_cfg_read(devfn_of(sel), off & 0xff, 1u << (log2 % 3));
		else
			pc_cfg_write(devfn_of(sel), off & 0xff, 1u << (log2 % 3), v32);
		pc_after_access();
		break;
	case 11: { /* from this CPU's local APIC: an IPI (the delivery mode from sel), or the INIT and start-up IPIs it has */
		pc.cur_cpu = cpu;
		if (o[1] & 0x80) {
			uint8_t vector;
			for (unsigned i = 0; i < 4 && board_take_init_sipi(pc.board, cpu, &vector) > 0; i++)
				f.ipis++;
			pc.init_sipi[cpu] = false;
		} else {
			pc_wr(0xfee00310, 4, (uint32_t)off << 16 & 0xff000000u);
			pc_wr(0xfee00300, 4, (v32 & ~0x700u) | (sel >> 1 & 7) << 8);
			pc_after_access();
		}
		break;
	}
	case 12: /* a virtio driver's doings */
		switch (sel >> 1 & 7) {
		case 0: case 1: pc_virtio_setup(sel >> 4 & 3, sel & 1); break;
		case 2: pc_virtio_requests(sel & 1); break;
		case 3: pc_wr(pc_virtio_bar(sel >> 4 & 3) + 0x3000 + 4 * (v32 & 1), 2, v32 & 1); break; /* a kick */
		case 4: block_drain(pc.disk); break;
		case 5: frame_for_guest(rest, rest_len, v32); break;
		default: pc_read_everything(); break;
		}
		pc_after_access();
		break;
	case 13: /* a scribble on the rings and buffers */
		pc_ram_put((PC_RING_GPA + (uint64_t)off * 8) % (RAM - 4), &v32, 4);
		break;
	case 14:
		if (sel & 1)
			f.keys += board_ctrl_alt_del(pc.board) == 0;
		else
			board_advance_wall_clock(pc.board, v32 % 100000);
		break;
	default:
		if (sel & 1) { /* a machine reset */
			board_reset(pc.board);
		} else { /* a snapshot now: what the accesses made saves and loads back */
			size_t len;
			uint8_t *p = save_board(&len);
			load_board(p, len, vclock_now(&pc.clock), "a state the accesses made saves but does not load");
			free(p);
			f.mid_saves++;
		}
		break;
	}
}

int fuzz_board_one(const uint8_t *data, size_t size);
int fuzz_board_one(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	unsigned start = data[0] % NSTARTS;
	pthread_mutex_lock(&pc.lock);
	load_board(f.save[start], f.save_len[start], f.t[start], "the board's own save does not load");
	pc.cur_cpu = data[0] >> 2 & 1;
	memset(pc.init_sipi, 0, sizeof(pc.init_sipi));
	pc.reset_requested = false;
	f.inputs++;
	data++;
	size--;
	for (; size >= 8; data += 8, size -= 8)
		op(data, data + 8, size - 8);
	/* Time passes; the interrupts are taken and ended; the disk finishes. */
	block_drain(pc.disk);
	static const int64_t steps[] = { 1000, 100000, 2000000, 20000000 };
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		pc_advance(steps[i]);
		for (unsigned c = 0; c < 2; c++) {
			pc.cur_cpu = c;
			pc_intr_acks(c, 8);
			pc_wr(0xfee000b0, 4, 0);
		}
		pc_out(0x20, 1, 0x20);
		pc_out(0xa0, 1, 0x20);
	}
	block_drain(pc.disk);
	pc_after_access();
	board_reset(pc.board);
	block_drain(pc.disk);
	restore_ram();
	pthread_mutex_unlock(&pc.lock);
	return 0;
}

#ifndef FUZZ_NO_MAIN
/* make check: a fixed-seed stream of random inputs (argv[1]: how many; argv[2]: another seed). */
int main(int argc, char **argv)
{
	static uint8_t buf[INPUT_MAX];
	if (argc > 1 && access(argv[1], R_OK) == 0) { /* test_fuzz_board FILE...: saved inputs */
		for (int i = 1; i < argc; i++) {
			FILE *fp = fopen(argv[i], "rb");
			size_t n = fp ? fread(buf, 1, sizeof(buf), fp) : 0;
			if (fp)
				fclose(fp);
			fuzz_board_one(buf, n);
			printf("ok - %s\n", argv[i]);
		}
		return 0;
	}
	int n = argc > 1 ? atoi(argv[1]) : 8000;
	uint64_t s = fuzz_seed(0xbb67ae8584caa73bULL, 0x9e3779b97f4a7c15ULL, argc, argv);
	for (int i = 0; i < n; i++) {
		size_t len = 1 + 8 * (1 + (size_t)(i * 7 % 64));
		for (size_t k = 0; k < len; k++) {
			fuzz_next(&s);
			buf[k] = (uint8_t)s;
		}
		/* Values a device takes often enough: small ones, single bits, all ones. */
		for (size_t k = 1; k + 8 <= len; k += 8) {
			uint32_t v;
			switch (fuzz_next(&s) >> 40 & 7) {
			case 0: case 1: v = (uint32_t)(s >> 20) & 0xff; break;
			case 2: v = 1u << (s >> 20 & 31); break;
			case 3: v = 0xffffffffu; break;
			default: continue;
			}
			memcpy(buf + k + 4, &v, 4);
		}
		fuzz_board_one(buf, len);
	}
	printf("ok - fuzz_board (%d random inputs, no crash; %u operations, %u interrupts taken, %u NMIs, %u resets "
	       "asked for, %u INIT/SIPIs, %u frames, %u snapshots midway, %u debug exits, %u power-offs)\n",
	       n, f.ops, pc.acks, pc.nmis, pc.resets, f.ipis, f.frames, f.mid_saves, pc.exits, pc.poweroffs);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_board_one(data, size);
}
#endif
