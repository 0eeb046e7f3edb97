/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport, modern interface only (virtio 1.2 §4.1): a PCI
 * function 1AF4:1040+ID, revision 1, whose vendor capabilities point into
 * one 64-bit memory BAR holding the common configuration, the ISR byte,
 * the device configuration, the notification area (4 bytes per queue) and
 * the MSI-X table and pending bits (one vector per queue plus one for
 * configuration changes). Without MSI-X the device raises INTx and the
 * ISR byte says why; reading it clears both.
 *
 * A device (virtio_blk.c, ...) describes itself with struct virtio_pci_info
 * and gets its queues' kicks through ops->notify; it takes requests with
 * virtq_pop, returns them with virtq_push and then calls
 * virtio_pci_queue_done, which interrupts the driver if it asked for that.
 * VERSION_1, INDIRECT_DESC and EVENT_IDX are the transport's features.
 *
 * Kicks: with an engine that can turn MMIO writes into eventfd signals
 * (KVM_IOEVENTFD), each queue's notification address is bound to an
 * eventfd while the BAR decodes, and the event loop delivers the kick: the
 * vCPU never leaves the guest for it. Other engines, and writes of another
 * width, come through the BAR as usual.
 *
 * Interrupts: with a host that binds eventfds to MSI messages (KVM_IRQFD,
 * --irqchip kernel), each MSI-X vector has an eventfd, bound to the vector's
 * message while MSI-X is on, the vector and the function are unmasked and
 * a queue or the configuration uses it; the binding follows every change
 * of the message, and is taken back when any of that stops (a masked
 * vector's interrupt then waits in its pending bit, and goes out through the
 * eventfd when unmasked). Firing a bound vector is one write to its eventfd.
 * Vectors without a binding are sent through the PCI bus (pci_msi_send).
 *
 * Snapshots: each device (virtio_blk.c, ...) is a device object of its own,
 * named after its kind and slot ("virtio-blk@03.0"), whose state starts
 * with the transport's (struct virtio_pci_state, VIRTIO_PCI_FIELDS). The
 * live state is spread over the PCI function, the MSI-X table and the
 * queues, which the data path uses as they are: virtio_pci_save gathers it,
 * virtio_pci_load checks all of it against what the transport can reach and
 * puts it back. The device must be quiescent when saved (no request
 * between virtq_pop and virtq_push, unless it keeps that itself).
 *
 * Locking: every call with the machine lock held.
 */
#ifndef X86V_HW_VIRTIO_VIRTIO_PCI_H
#define X86V_HW_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event_loop.h"
#include "hw/device.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtqueue.h"
#include "mem/guest_ram.h"

#define VIRTIO_PCI_MAX_QUEUES 8
#define VIRTIO_PCI_BAR 4

struct virtio_dev_ops {
	/* The driver made buffers available on queue q (it wrote the notify register). */
	void (*notify)(void *opaque, unsigned q);
	/* The device was reset (the driver wrote 0 to status, or the machine reset):
	 * in-flight requests must finish or be dropped before this returns. */
	void (*reset)(void *opaque);
	/* A driver write into the device configuration (offset, size 1/2/4); may be NULL. */
	void (*config_write)(void *opaque, unsigned offset, uint32_t value, unsigned size);
};

struct virtio_pci_info {
	uint16_t device_id; /* VIRTIO_ID_* */
	uint32_t class_code; /* PCI class code */
	uint64_t features; /* the device's own feature bits */
	unsigned num_queues; /* 1..VIRTIO_PCI_MAX_QUEUES */
	uint16_t queue_size; /* largest queue, a power of two <= VIRTQ_MAX_SIZE (a packed one: any size up to it) */
	const void *config; /* the device configuration the driver reads */
	unsigned config_size; /* <= 256 */
	const struct virtio_dev_ops *ops;
	void *opaque;
};

/* What the machine offers for kicks and interrupts without an exit, and the
 * ring layouts (may be absent: NULL). */
struct virtio_kick_host {
	bool ring_packed; /* offer packed virtqueues (VIRTIO_F_RING_PACKED) */
	/* Also where a restored device is kicked once it runs again (without a
	 * loop it waits for the driver's next kick). */
	struct event_loop *loop;
	/* Binds (assign) or unbinds a guest write of len bytes at addr to fd; 0 or -errno. */
	int (*ioeventfd)(void *opaque, uint64_t addr, unsigned len, int fd, bool assign);
	void *opaque;
	/* Binds eventfd fd to an MSI-X message (assign): a write to fd is then
	 * that interrupt, delivered without the machine; called again for a bound
	 * fd it changes the message; !assign unbinds. 0 or -errno (-EAGAIN: not
	 * yet, try again once the machine runs; otherwise the device sends its
	 * messages through the PCI bus). */
	int (*irqfd)(void *opaque, int fd, uint64_t addr, uint32_t data, bool assign);
};

struct virtio_pci;

/* Adds the function at devfn. 0, or -errno (-EEXIST: devfn taken). */
int virtio_pci_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram,
		      const struct virtio_kick_host *kicks, const struct virtio_pci_info *info,
		      struct virtio_pci **out) MUST_CHECK;
/* Removes it from the bus (after a reset of the device). NULL is ignored. */
void virtio_pci_destroy(struct virtio_pci *vp);
/* Machine reset: the device and its MSI-X state back to power-on. */
void virtio_pci_reset(struct virtio_pci *vp);

struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned q);
/* The features the driver accepted (valid once it set FEATURES_OK). */
uint64_t virtio_pci_features(const struct virtio_pci *vp);
/* The driver has set DRIVER_OK and no reset happened since. */
bool virtio_pci_running(const struct virtio_pci *vp);
/* After pushing used buffers on q: the interrupt, if the driver wants one.
 * A queue that broke meanwhile sets DEVICE_NEEDS_RESET and signals a
 * configuration change instead. */
void virtio_pci_queue_done(struct virtio_pci *vp, unsigned q);
/* The device configuration changed: bumps config_generation and interrupts. */
void virtio_pci_config_changed(struct virtio_pci *vp);

/* ---- snapshots ---- */

/* The transport's part of a device's snapshot state. */
struct virtio_pci_state {
	uint8_t pci_config[PCI_CONFIG_SPACE_SIZE]; /* with MSI-X enable and function mask */
	uint8_t status, config_generation, isr;
	uint64_t driver_features; /* with FEATURES_OK: a subset of the offer */
	uint32_t dfselect, gfselect;
	uint16_t queue_select, config_vector;
	/* Per queue; the slots past the device's queues stay zero (vectors: none). */
	uint16_t queue_vector[VIRTIO_PCI_MAX_QUEUES];
	uint16_t queue_size[VIRTIO_PCI_MAX_QUEUES];
	bool queue_enabled[VIRTIO_PCI_MAX_QUEUES];
	uint64_t queue_desc[VIRTIO_PCI_MAX_QUEUES], queue_avail[VIRTIO_PCI_MAX_QUEUES],
		queue_used[VIRTIO_PCI_MAX_QUEUES];
	uint16_t last_avail[VIRTIO_PCI_MAX_QUEUES], used_idx[VIRTIO_PCI_MAX_QUEUES],
		signalled_used[VIRTIO_PCI_MAX_QUEUES];
	bool signalled_valid[VIRTIO_PCI_MAX_QUEUES], event_idx[VIRTIO_PCI_MAX_QUEUES],
		queue_broken[VIRTIO_PCI_MAX_QUEUES];
	uint32_t msix_table[MSIX_MAX_VECTORS][4];
	uint64_t msix_pending;
};

/* Field table entries for a struct virtio_pci_state member m of a device's state type. */
#define VIRTIO_PCI_FIELD(type, m, f) { #f, offsetof(type, m.f), sizeof(((type *)0)->m.f), 1, false }
#define VIRTIO_PCI_BOOL(type, m, f) { #f, offsetof(type, m.f), sizeof(((type *)0)->m.f), 1, true }
#define VIRTIO_PCI_FIELDS(type, m) \
	VIRTIO_PCI_FIELD(type, m, pci_config), VIRTIO_PCI_FIELD(type, m, status), \
	VIRTIO_PCI_FIELD(type, m, config_generation), VIRTIO_PCI_FIELD(type, m, isr), \
	VIRTIO_PCI_FIELD(type, m, driver_features), VIRTIO_PCI_FIELD(type, m, dfselect), \
	VIRTIO_PCI_FIELD(type, m, gfselect), VIRTIO_PCI_FIELD(type, m, queue_select), \
	VIRTIO_PCI_FIELD(type, m, config_vector), VIRTIO_PCI_FIELD(type, m, queue_vector), \
	VIRTIO_PCI_FIELD(type, m, queue_size), VIRTIO_PCI_BOOL(type, m, queue_enabled), \
	VIRTIO_PCI_FIELD(type, m, queue_desc), VIRTIO_PCI_FIELD(type, m, queue_avail), \
	VIRTIO_PCI_FIELD(type, m, queue_used), VIRTIO_PCI_FIELD(type, m, last_avail), \
	VIRTIO_PCI_FIELD(type, m, used_idx), VIRTIO_PCI_FIELD(type, m, signalled_used), \
	VIRTIO_PCI_BOOL(type, m, signalled_valid), VIRTIO_PCI_BOOL(type, m, event_idx), \
	VIRTIO_PCI_BOOL(type, m, queue_broken), VIRTIO_PCI_FIELD(type, m, msix_table), \
	VIRTIO_PCI_FIELD(type, m, msix_pending)

/* Names dev "<cls->type>@<slot>.<function>" (the transport's messages say it too) and points it at state. */
void virtio_pci_device_init(struct virtio_pci *vp, struct device *dev, const struct device_class *cls,
			    void *state);
/* Gathers the transport's state (the device quiescent). */
void virtio_pci_save(const struct virtio_pci *vp, struct virtio_pci_state *s);
/*
 * The device's post_load, transport part, over a device just reset: checks
 * everything s holds (the configuration space is this function's, a status
 * the transport can be in, accepted features from the offer, queue sizes and ring
 * addresses as the driver could set them, vectors within the MSI-X table,
 * the INTx level matching the ISR) and puts it back, mapping the BAR and
 * binding the kick eventfds again. Drives no interrupt; once the machine
 * runs again (the loop's clock), the vectors' eventfds are bound to their
 * messages (the engine exists by then) and a running device gets one kick
 * on every enabled queue, so that work a driver kicked for before the
 * snapshot resumes. 0, or -EINVAL / -ENOMEM with why filled (device_load then resets
 * the device).
 */
int virtio_pci_load(struct virtio_pci *vp, const struct virtio_pci_state *s, char *why, size_t why_len) MUST_CHECK;
/* The chains a saved queue had taken and not returned (broken queues aside, what a device held). */
static inline unsigned virtio_pci_state_in_flight(const struct virtio_pci_state *s, unsigned q)
{
	return s->queue_broken[q] ? 0 : (uint16_t)(s->last_avail[q] - s->used_idx[q]);
}

#endif
