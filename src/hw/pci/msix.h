/* SPDX-License-Identifier: MIT */
/*
 * MSI-X (PCI Local Bus Specification 3.0 §6.8.2): the capability in a
 * device's configuration space, the vector table and the pending-bit array
 * that live in one of its memory BARs. A vector fires as one pci_msi_send
 * of its entry's address and data; while the vector or the whole function
 * is masked it is only marked pending, and sent when unmasked.
 *
 * The device embeds a struct msix, places the capability with msix_init,
 * forwards its BAR accesses in the table and PBA ranges to
 * msix_table_read/write and msix_pba_read, and calls msix_config_written
 * from its config_write hook. In snapshots the device keeps the table and the
 * pending bits (msix_save / msix_load) beside its configuration space, which
 * holds the enable and function-mask bits. Locking: the machine lock, as for
 * PCI.
 *
 * A device may send its vectors' messages its own way (msix_set_ops: an
 * eventfd the engine turns into the interrupt); masking and the pending bits
 * stay here, and it is told of every change to a vector's message or mask
 * before what the change unmasked is sent.
 */
#ifndef X86V_HW_PCI_MSIX_H
#define X86V_HW_PCI_MSIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "hw/pci/pci.h"

#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CAP_SIZE 12
#define MSIX_MAX_VECTORS 64
#define MSIX_ENTRY_SIZE 16

struct msix_ops {
	/* Sends vector's message (addr, data), unmasked and enabled: true when
	 * the device did, false to have it sent with pci_msi_send. */
	bool (*send)(void *opaque, unsigned vector, uint64_t addr, uint32_t data);
	/* A table or configuration write may have changed a vector's message, its
	 * mask, the function mask or MSI-X enable; called before anything the
	 * write unmasked is sent (not called by msix_reset or msix_load). */
	void (*changed)(void *opaque);
};

struct msix {
	struct pci_device *dev;
	unsigned cap; /* configuration-space offset of the capability */
	unsigned nvec;
	uint32_t table[MSIX_MAX_VECTORS][4]; /* address low, address high, data, vector control */
	uint64_t pending; /* the PBA: one bit per vector */
	const struct msix_ops *ops; /* NULL: pci_msi_send */
	void *ops_opaque;
};

/*
 * Writes the capability at config offset cap (next: the following
 * capability's offset, or 0): nvec vectors (1..MSIX_MAX_VECTORS), table at
 * table_off and PBA at pba_off (8-byte aligned) in BAR bar.
 */
void msix_init(struct msix *m, struct pci_device *dev, unsigned cap, unsigned next, unsigned nvec, unsigned bar,
	       uint32_t table_off, uint32_t pba_off);
/* Every vector masked, nothing pending, the capability disabled. */
void msix_reset(struct msix *m);
/* The driver turned MSI-X on (interrupts then go only through it, never INTx). */
bool msix_enabled(const struct msix *m);
/* Fires vector (ignored when it is out of range or MSI-X is off). */
void msix_notify(struct msix *m, unsigned vector);
/* The device's own way of sending (after msix_init; ops outlives m). */
void msix_set_ops(struct msix *m, const struct msix_ops *ops, void *opaque);
/* Whether vector (< nvec) would be sent now: MSI-X on, neither the vector
 * nor the function masked. */
bool msix_vector_live(const struct msix *m, unsigned vector);
/* Vector's message as the table holds it. */
void msix_message(const struct msix *m, unsigned vector, uint64_t *addr, uint32_t *data);

/* Table accesses: offset from the table's start, size 4 or 8, aligned. */
uint64_t msix_table_read(struct msix *m, uint64_t offset, unsigned size);
void msix_table_write(struct msix *m, uint64_t offset, uint64_t value, unsigned size);
/* PBA reads (writes are ignored): offset from the PBA's start. */
uint64_t msix_pba_read(const struct msix *m, uint64_t offset, unsigned size);
/* After a configuration write: sends what an unmasking released. */
void msix_config_written(struct msix *m);

/* Snapshots: the vector table (entries past nvec stay zero) and the PBA. */
void msix_save(const struct msix *m, uint32_t table[MSIX_MAX_VECTORS][4], uint64_t *pending);
/*
 * Puts them back once the configuration space is (the control register
 * decides what may be pending). Refused with -EINVAL and why filled, m
 * unchanged: an entry or a pending bit past nvec, reserved vector-control
 * bits, a pending vector that is neither masked nor disabled (it would have
 * been sent). Sends nothing.
 */
int msix_load(struct msix *m, const uint32_t table[MSIX_MAX_VECTORS][4], uint64_t pending, char *why,
	      size_t why_len) MUST_CHECK;

#endif
