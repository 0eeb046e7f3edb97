/* SPDX-License-Identifier: MIT */
/*
 * What the split ring (virtqueue.c) and the packed ring (virtqueue_packed.c)
 * share, and the packed ring's side of virtqueue.h's functions.
 */
#ifndef X86V_HW_VIRTIO_VIRTQUEUE_INTERNAL_H
#define X86V_HW_VIRTIO_VIRTQUEUE_INTERNAL_H

#include "hw/virtio/virtqueue.h"

/* Marks the queue broken; -1, for virtq_pop to return. */
int virtq_break(struct virtq *q);
/* Adds one descriptor's buffer to e (readable ones must all come first);
 * false when it is not in guest RAM (writable RAM for a writable one) or e
 * is full. A zero length adds nothing. */
bool virtq_add_buffer(struct virtq *q, struct virtq_elem *e, uint64_t addr, uint32_t len, bool writable);

bool virtq_packed_rings_valid(const struct virtq *q);
bool virtq_packed_indexes_valid(const struct virtq *q);
void virtq_packed_start(struct virtq *q);
int virtq_packed_pop(struct virtq *q, struct virtq_elem *e);
void virtq_packed_fill(struct virtq *q, const struct virtq_elem *e, uint32_t written, unsigned n);
void virtq_packed_flush(struct virtq *q, unsigned count);
void virtq_packed_unpop(struct virtq *q, const struct virtq_elem *first);
bool virtq_packed_needs_interrupt(struct virtq *q);

#endif
