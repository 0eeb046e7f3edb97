/* SPDX-License-Identifier: MIT */
/*
 * The PC board: which devices exist, at which ports and addresses, and which
 * interrupt line each drives. Wiring only; device logic lives in the devices.
 * The board sees the machine through board_env, never the engine.
 */
#ifndef X86V_HW_PC_BOARD_H
#define X86V_HW_PC_BOARD_H

#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"
#include "core/event_loop.h"
#include "core/vclock.h"
#include "hw/irq.h"
#include "mem/bus.h"
#include "mem/guest_ram.h"

struct chardev;
struct block_backend;
struct statebuf;
struct state_reader;
struct net_backend;

/* A network card: a virtio-net PCI function on a backend the caller opened. */
struct board_nic {
	struct net_backend *backend; /* set to NULL as the board takes it */
	uint8_t mac[6];
};

#define BOARD_MAX_CPUS 64

struct board_env {
	unsigned ncpus; /* 1..BOARD_MAX_CPUS (0 means 1); CPU i has APIC ID i, CPU 0 is the BSP */
	struct bus *pio;
	struct bus *mmio;
	struct vclock *clock;
	struct event_loop *loop;
	struct chardev *serial; /* COM1's backend; NULL drops output */
	const struct guest_ram *ram; /* for fw_cfg's items and DMA */
	/* The interrupt controllers' INTR output to vCPU cpu. */
	void (*set_cpu_intr)(void *opaque, unsigned cpu, int level);
	/* An NMI for a vCPU (the local APIC accepted one: ICR, LINT1, IOAPIC). */
	void (*raise_nmi)(void *opaque, unsigned cpu);
	/* An INIT or start-up IPI waits for vCPU cpu: it takes them with
	 * board_take_init_sipi. */
	void (*init_sipi)(void *opaque, unsigned cpu);
	/* The vCPU whose access is being handled (its local APIC page answers);
	 * NULL: always 0. */
	unsigned (*current_cpu)(void *opaque);
	/* true (--irqchip kernel): the engine emulates the 8259 pair, 8254, IOAPIC and
	 * local APIC, at their usual ports and addresses. The board builds none of
	 * them and drives each ISA IRQ n (PCI INTx after PIIX3 routing included) as
	 * GSI n through set_gsi; set_cpu_intr is never called. */
	bool kernel_irqchip;
	void (*set_gsi)(void *opaque, unsigned gsi, int level);
	/* With kernel_irqchip: a PCI device's MSI-X message for the engine's local APICs. */
	void (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
	/* With kernel_irqchip: binds eventfd fd to an MSI-X message (assign), so
	 * that a write to fd is that interrupt, delivered by the engine; called
	 * again it changes the message, !assign unbinds. 0 or -errno (the device
	 * then sends through send_msi). May be NULL. */
	int (*msi_irqfd)(void *opaque, int fd, uint64_t addr, uint32_t data, bool assign);
	/* Binds a guest MMIO write (len bytes at addr) to eventfd fd, so that the
	 * engine signals it without an exit (virtio kicks); -errno when the engine
	 * cannot (then the write comes through the bus). May be NULL. */
	int (*ioeventfd)(void *opaque, uint64_t addr, unsigned len, int fd, bool assign);
	/* Disks, opened by the caller: each becomes a virtio-blk PCI function (the
	 * board owns them from board_create on, also when it fails). */
	struct block_backend **disks; /* entries set to NULL as the board takes them */
	unsigned ndisks; /* at most BOARD_MAX_DISKS */
	struct board_nic *nics; /* the same for network cards */
	unsigned nnics; /* at most BOARD_MAX_NICS */
	bool rng; /* a virtio-rng PCI function */
	/* A virtio-console on serial, which then takes the terminal's input
	 * (COM1 keeps writing to it too, for messages before hvc0 exists). */
	bool virtio_console;
	bool virtio_packed; /* the virtio functions offer packed virtqueues */
	/* The guest asked to end the run with this status (debug-exit). */
	void (*exit)(void *opaque, int status);
	/* The guest powered the machine off (ACPI S5). */
	void (*poweroff)(void *opaque);
	/* The guest asked for a system reset (keyboard controller, port 0x92, 0xCF9).
	 * Called inside a device write: only request it. */
	void (*reset)(void *opaque);
	void *opaque;
};

#define BOARD_MAX_DISKS 8
#define BOARD_MAX_NICS 4

struct board;

int board_create(const struct board_env *env, struct board **out, char *why, size_t why_len) MUST_CHECK;
void board_reset(struct board *b);
/* For kernels booted without firmware: installs the ACPI tables in RAM (RSDP
 * address in *rsdp) and assigns PCI resources and interrupt routing as
 * firmware would. 0 or -errno. */
int board_prepare_direct_boot(struct board *b, uint64_t *rsdp) MUST_CHECK;
/* INTA for vCPU cpu: the vector now in service, or -1 (lock held; always -1
 * with kernel_irqchip). */
int board_intr_ack(struct board *b, unsigned cpu);
/* INIT and start-up IPIs for vCPU cpu (lock held), one at a time, INIT
 * first: BOARD_CPU_INIT (its local APIC is back in its INIT state; the CPU
 * side resets the CPU), BOARD_CPU_SIPI with the start-up vector in *vector,
 * or 0 when none waits. */
enum { BOARD_CPU_INIT = 1, BOARD_CPU_SIPI = 2 };
int board_take_init_sipi(struct board *b, unsigned cpu, uint8_t *vector);
/* MSRs the platform owns (local APIC); -EINVAL for the rest (lock held). */
int board_msr_read(struct board *b, unsigned cpu, uint32_t index, uint64_t *value);
int board_msr_write(struct board *b, unsigned cpu, uint32_t index, uint64_t value);
void board_destroy(struct board *b);

/* The PC's ACPI description for ncpus processors, which boot/acpi.c encodes:
 * LAPIC 0xFEE00000, IOAPIC 0xFEC00000 with ID 0 and GSI base 0, overrides
 * IRQ0->GSI2 (edge, conforming) and IRQ 5/9/10/11 level active-high (QEMU's pc
 * machine does the same, matching the PIIX3 PIRQ routing and the SCI), SCI 9,
 * the ACPI PM blocks, S5 SLP_TYP 0, reset register 0xCF9 <- 0x06, century
 * index 0x32, the PCI window, no HPET (board_create adds its own). */
struct acpi_config;
void board_acpi_description(struct acpi_config *cfg, unsigned ncpus);

/* Snapshots (lock held, vCPUs stopped): every device's record. 0 or -errno. */
int board_save(struct board *b, struct statebuf *out) MUST_CHECK;
/* Loads the records board_save wrote over a board built from the same
 * options; interrupt lines are left alone meanwhile, then the CPU's INTR is
 * recomputed. 0, or -EINVAL / -ENOTSUP with why filled, every device reset. */
int board_load(struct board *b, struct state_reader *in, char *why, size_t why_len) MUST_CHECK;
/* Ctrl+Alt+Del on the keyboard (lock held). 0, or -EAGAIN / -ENOSPC when the
 * keyboard takes no keys now. */
int board_ctrl_alt_del(struct board *b) MUST_CHECK;
/* After a restore: the RTC's wall clock moves on by the time that passed on the host. */
void board_advance_wall_clock(struct board *b, int64_t seconds);

#endif
