/* SPDX-License-Identifier: MIT */
/*
 * Virtqueues, split (virtio 1.2 §2.7) and packed (§2.8, VIRTIO_F_RING_PACKED,
 * virtqueue_packed.c): the device side. The driver's rings
 * live in guest RAM and are hostile input: every index is taken modulo the
 * queue size, every descriptor chain is bounded (a loop or a chain longer
 * than the queue ends it), every buffer must lie in guest RAM (writable RAM
 * for device-writable ones), and a ring the device cannot follow marks the
 * queue broken: the transport then sets DEVICE_NEEDS_RESET and the device
 * stops touching it. Indirect descriptors (VIRTIO_F_INDIRECT_DESC) and
 * event suppression by index (VIRTIO_F_EVENT_IDX) are supported.
 *
 * Locking: the owner serialises calls (the machine lock); the buffers an
 * element names may be read and written by an I/O worker until the element
 * is pushed back.
 */
#ifndef X86V_HW_VIRTIO_VIRTQUEUE_H
#define X86V_HW_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/guest_ram.h"

#define VIRTQ_MAX_SIZE 1024 /* the largest queue a device offers */
#define VIRTQ_MAX_SEGS 256 /* buffers in one element, each direction */

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size; /* 1..VIRTQ_MAX_SIZE; a power of two for a split ring */
	bool enabled;
	/* Guest-physical addresses: split, the descriptor table, the available
	 * and the used ring; packed, the descriptor ring, the driver's and the
	 * device's event suppression structures. */
	uint64_t desc, avail, used;
	/* Device state. Packed rings: last_avail and used_idx are ring
	 * positions with the wrap counter in bit 15 (virtqueue_packed.c). */
	uint16_t last_avail; /* the next avail ring entry the device takes */
	uint16_t used_idx; /* the used ring index the device writes next */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool packed; /* VIRTIO_F_RING_PACKED negotiated */
	bool broken; /* the driver broke the ring: no more access */
	uint16_t fill_first, fill_at; /* packed: the batch virtq_fill writes */
	const struct guest_ram *ram;
};

/* One request: the device-readable buffers first, then the writable ones. */
struct virtq_elem {
	uint16_t head; /* the chain's first descriptor (packed: its buffer id): what the used ring reports */
	uint16_t ndesc; /* packed: the ring descriptors it took */
	uint16_t ring_pos; /* packed: last_avail before it was taken */
	unsigned nout, nin;
	struct iovec out[VIRTQ_MAX_SEGS]; /* device-readable */
	struct iovec in[VIRTQ_MAX_SEGS]; /* device-writable */
	uint64_t in_gpa[VIRTQ_MAX_SEGS]; /* where each writable buffer is (for code-page coherence) */
};

/* Back to the state after a device reset (the driver's addresses too). */
void virtq_reset(struct virtq *q, const struct guest_ram *ram);

/* Whether the rings the driver set up lie in guest RAM (checked when it enables the queue). */
bool virtq_rings_valid(const struct virtq *q);
/* The driver enabled the queue (its rings valid): the device's side starts. */
void virtq_start(struct virtq *q);
/* Whether the device's indexes are ones it could have reached (a snapshot's):
 * no more taken than the queue holds; packed, positions inside the ring. */
bool virtq_indexes_valid(const struct virtq *q);

/* Takes the next available chain: 1 with *e filled, 0 when none is
 * available, -1 when the ring is broken (q->broken set). */
int virtq_pop(struct virtq *q, struct virtq_elem *e);

/* Returns a chain: used entry (head, bytes written into its writable
 * buffers), tells the guest-RAM write hook about those bytes, then
 * publishes the new used index. */
void virtq_push(struct virtq *q, const struct virtq_elem *e, uint32_t written);

/* The same in two steps, for requests that take several chains (a
 * received frame spread over merged buffers): virtq_fill writes the used
 * entry n places after the published index (n = 0, 1, ... in order),
 * virtq_flush then publishes
 * count entries at once, so the driver never sees part of them. */
void virtq_fill(struct virtq *q, const struct virtq_elem *e, uint32_t written, unsigned n);
void virtq_flush(struct virtq *q, unsigned count);

/* Gives back the last count chains popped and not pushed, first the
 * earliest of them: the next pops take them again (a frame that did not fit
 * waits for more buffers). */
void virtq_unpop(struct virtq *q, const struct virtq_elem *first, unsigned count);

/* After pushes: whether the driver wants an interrupt now (its
 * NO_INTERRUPT flag, or with EVENT_IDX its used_event index). */
bool virtq_needs_interrupt(struct virtq *q);

/* The total length of an element's readable, and of its writable, buffers. */
size_t virtq_out_len(const struct virtq_elem *e);
size_t virtq_in_len(const struct virtq_elem *e);

/* Copies up to len bytes from the element's readable buffers starting at
 * offset; returns the bytes copied. */
size_t virtq_copy_from(const struct virtq_elem *e, size_t offset, void *buf, size_t len);
/* Copies into its writable buffers; returns the bytes copied. */
size_t virtq_copy_to(const struct virtq_elem *e, size_t offset, const void *buf, size_t len);

#endif
