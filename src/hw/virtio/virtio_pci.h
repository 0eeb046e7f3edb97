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
 * Locking: every call with the machine lock held.
 */
#ifndef X86V_HW_VIRTIO_VIRTIO_PCI_H
#define X86V_HW_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/event_loop.h"
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
	uint16_t queue_size; /* largest queue, a power of two <= VIRTQ_MAX_SIZE */
	const void *config; /* the device configuration the driver reads */
	unsigned config_size; /* <= 256 */
	const struct virtio_dev_ops *ops;
	void *opaque;
};

/* What the machine offers for kicks without an exit (may be absent: NULL). */
struct virtio_kick_host {
	struct event_loop *loop;
	/* Binds (assign) or unbinds a guest write of len bytes at addr to fd; 0 or -errno. */
	int (*ioeventfd)(void *opaque, uint64_t addr, unsigned len, int fd, bool assign);
	void *opaque;
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

#endif
