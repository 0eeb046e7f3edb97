/* SPDX-License-Identifier: MIT */
/*
 * The whole PC board as the fuzz targets build it (fuzz_snapshot.c,
 * fuzz_board.c): every device object of a real machine (interrupt
 * controllers, timers, COM1, RTC, i8042, fw_cfg, ACPI PM, PCI with PIIX3,
 * HPET, virtio-blk on a small image, virtio-rng, virtio-console and
 * virtio-net on user-mode networking with restrict=on) over a guest RAM,
 * the two buses and a paused virtual clock, with stub callbacks for the
 * machine around it; then accesses as a vCPU makes them, a driver's set-up
 * of the virtio functions, a busy state to start from, and a table of the
 * devices' register regions for inputs to aim at. One board per process.
 */
#ifndef X86V_TESTS_FUZZ_PC_H
#define X86V_TESTS_FUZZ_PC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/chardev.h"
#include "core/event_loop.h"
#include "hw/block/block.h"
#include "hw/pc/board.h"
#include "hw/pci/pci.h"
#include "mem/bus.h"
#include "mem/guest_ram.h"

#define PC_RING_GPA 0x10000ULL /* each virtio queue's rings: 0x3000 apart */
#define PC_BUF_GPA 0x60000ULL /* buffers: 2 KiB slots */
#define PC_NVIRTIO 4 /* rng, blk, console, net */
#define PC_MAX_CPUS 2

struct fuzz_pc {
	struct guest_ram ram;
	struct bus pio, mmio;
	struct vclock clock;
	pthread_mutex_t lock;
	struct event_loop loop;
	struct chardev *serial;
	struct block_backend *disk; /* the board's; kept to drain it */
	struct net_backend *net; /* the board's network card's, for frames to the guest */
	struct board *board;
	unsigned ncpus;
	int intr[PC_MAX_CPUS]; /* each CPU's INTR line */
	unsigned cur_cpu; /* whose local APIC answers (env.current_cpu) */
	bool init_sipi[PC_MAX_CPUS]; /* an INIT or start-up IPI waits */
	bool reset_requested;
	unsigned acks, nmis, resets, exits, poweroffs;
};

extern struct fuzz_pc pc;

/* The virtio functions as the board places them, and their queues. */
extern const unsigned pc_virtio_devfn[PC_NVIRTIO];
extern const unsigned pc_virtio_nq[PC_NVIRTIO];

/* Builds the board (ncpus 1 or 2, ram bytes) with the virtual clock at 1 s,
 * and assigns PCI resources as firmware would; who prefixes the one-line
 * error before an abort. Returns with the lock not held. */
void pc_create(const char *who, uint64_t ram, unsigned ncpus);

/* Accesses as a vCPU makes them (lock held throughout what follows). */
uint64_t pc_in(uint16_t port, unsigned size);
void pc_out(uint16_t port, unsigned size, uint64_t v);
uint64_t pc_rd(uint64_t addr, unsigned size);
void pc_wr(uint64_t addr, unsigned size, uint64_t v);
uint32_t pc_cfg_read(unsigned devfn, unsigned off, unsigned size);
void pc_cfg_write(unsigned devfn, unsigned off, unsigned size, uint32_t v);
/* Where virtio function d's BAR 4 is now (its configuration space says). */
uint64_t pc_virtio_bar(unsigned d);
void pc_ioapic_write(unsigned index, uint32_t v);
void pc_ram_put(uint64_t gpa, const void *p, size_t len);
/* Takes up to max interrupts CPU cpu is offered. */
void pc_intr_acks(unsigned cpu, unsigned max);
/* The virtual clock moves on by ns; the timers that expire fire. */
void pc_advance(int64_t ns);

/* A driver's set-up of virtio function d: MSI-X (msix) or INTx, every queue
 * 16 entries with its rings at PC_RING_GPA. */
void pc_virtio_setup(unsigned d, bool msix);
/* Requests on every queue (round 0 or 1), then the kicks. */
void pc_virtio_requests(unsigned round);
/* Every device programmed and running: PICs, PIT, COM1, RTC (a fixed date),
 * i8042, ACPI, fw_cfg, local APIC, IOAPIC, HPET, the virtio functions with
 * requests in flight; then time passes and some interrupts are taken. */
void pc_drive_board(void);

/* The devices' register regions: PIC, ELCR, PIT, port 0x61, POST, COM1, RTC,
 * i8042, port 0x92, fw_cfg and its DMA, ACPI PM, PCI's address and data,
 * IOAPIC, local APIC, HPET, then the virtio functions' BARs. */
#define PC_NREGIONS 23
/* An access to region ri (modulo PC_NREGIONS) at off (modulo its size),
 * 1 << log2 bytes or the next width the region takes; a reset a device
 * asked for happens after it. */
void pc_poke(unsigned ri, uint64_t off, unsigned log2, bool write, uint64_t v);
/* Every register of every device read (and the ones that pop or acknowledge, popped). */
void pc_read_everything(void);
/* A machine reset a device asked for, as between instructions. */
void pc_after_access(void);

#endif
