/* SPDX-License-Identifier: MIT */
/*
 * An I/O APIC (Intel 82093AA datasheet, with the version 0x20 EOI register of
 * later chipset IOAPICs): 24 input pins, each routed by a 64-bit redirection
 * table entry to an interrupt message. Messages leave through one deliver
 * callback to the board's interrupt router, which finds the target LAPICs.
 *
 * Pin levels are the wire: ioapic_set_irq(pin, 1) drives the pin high. An
 * entry programmed active-low (polarity bit) treats a low wire as asserted,
 * so a device whose interrupt is active-low (PCI INTx) must be wired with an
 * inverter in the board — or, as QEMU does, the firmware tables declare those
 * interrupts active-high and the device drives 1 when asserting.
 *
 * Locking: every function here is called with the machine lock held. The
 * deliver callback may be called from ioapic_set_irq, ioapic_eoi and MMIO
 * writes; the IOAPIC's state is consistent when it runs.
 */
#ifndef X86V_HW_INTC_IOAPIC_H
#define X86V_HW_INTC_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mem/bus.h"

struct device;
struct ioapic;

#define IOAPIC_DEFAULT_BASE 0xfec00000ULL
#define IOAPIC_REGION_SIZE 0x1000
#define IOAPIC_NUM_PINS 24
#define IOAPIC_VERSION 0x00170020 /* max redirection entry 23, version 0x20 */

/* MMIO offsets. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOIR 0x40 /* version 0x20: write a vector to end a level interrupt */

/* Indirect registers (datasheet §3.2). */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* entry n: low dword 0x10 + 2n, high dword 0x11 + 2n */
#define IOAPIC_ID_MASK 0x0f000000u

/* Redirection table entry (datasheet §3.2.4). */
#define IOAPIC_REDIR_VECTOR 0xffu
#define IOAPIC_REDIR_DM_SHIFT 8
#define IOAPIC_REDIR_DM_MASK (7u << 8)
#define IOAPIC_REDIR_DEST_LOGICAL (1u << 11)
#define IOAPIC_REDIR_DELIVS (1u << 12) /* delivery status, read-only */
#define IOAPIC_REDIR_INTPOL_LOW (1u << 13) /* input active low */
#define IOAPIC_REDIR_REMOTE_IRR (1u << 14) /* read-only */
#define IOAPIC_REDIR_LEVEL (1u << 15) /* trigger mode */
#define IOAPIC_REDIR_MASKED (1u << 16)
#define IOAPIC_REDIR_DEST_SHIFT 56

#define IOAPIC_DM_FIXED 0u
#define IOAPIC_DM_LOWEST 1u
#define IOAPIC_DM_SMI 2u
#define IOAPIC_DM_NMI 4u
#define IOAPIC_DM_INIT 5u
#define IOAPIC_DM_EXTINT 7u

/*
 * An interrupt message: dest is the 8-bit destination field (0xff is a
 * broadcast), logical the destination mode, delivery_mode the entry's
 * (same encoding as the LAPIC's APIC_DM_*), level the trigger mode (always
 * false for SMI/NMI/INIT/ExtINT, which are edge by definition).
 */
typedef void ioapic_deliver_fn(void *opaque, uint32_t dest, bool logical, unsigned delivery_mode,
			       uint8_t vector, bool level);

struct ioapic_config {
	uint8_t id; /* IOAPIC ID after reset (bits 27:24 of the ID register), 0-15 */
	ioapic_deliver_fn *deliver; /* NULL: messages are dropped */
	void *opaque;
};

/* Creates an IOAPIC in its reset state. Returns NULL only when out of memory. */
struct ioapic *ioapic_create(const struct ioapic_config *cfg) MUST_CHECK;
/* Reset: every entry masked (0x10000), IOREGSEL 0, ID from the config. Pin levels are kept. */
void ioapic_reset(struct ioapic *io);
/* NULL is ignored. */
void ioapic_destroy(struct ioapic *io);
/* The IOAPIC as a device object (reset, snapshots), named "ioapic". Loading
 * a snapshot sends no message: Remote IRR and the pin levels come back as
 * they were. */
struct device *ioapic_device(struct ioapic *io);

/*
 * MMIO region of IOAPIC_REGION_SIZE bytes; opaque is the struct ioapic.
 * IOREGSEL, IOWIN and EOIR take 1-, 2- and 4-byte accesses at their offsets
 * (as KVM does; the datasheet asks for dwords), except that IOWIN ignores
 * writes narrower than a dword; anything else reads 0 and ignores writes.
 * The bus splits 8-byte accesses.
 */
extern const struct bus_ops ioapic_bus_ops;

/* Drives input pin (0-23) to level (0 or 1, the wire level). */
void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);
/* ioapic_set_irq as an irq_set_fn (hw/irq.h); opaque is the struct ioapic, line the pin. */
void ioapic_irq_line_set(void *opaque, unsigned line, int level);
/*
 * End of interrupt for vector (a LAPIC's EOI broadcast, or the EOI register):
 * clears Remote IRR of the level-triggered entries with this vector and
 * delivers again those whose pin is still asserted.
 */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif
