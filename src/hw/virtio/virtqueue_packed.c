/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueues (virtio 1.2 §2.8), device side: one ring of 16-byte
 * descriptors that the driver makes available and the device hands back in
 * place, each side keeping a position and a wrap counter, plus two event
 * suppression structures (the driver's, which this side reads before an
 * interrupt; the device's, which it leaves at "enable"). virtqueue.c's
 * functions come here when VIRTIO_F_RING_PACKED was negotiated.
 *
 * The device's positions travel in the split ring's fields, so that a
 * snapshot holds them unchanged: last_avail and used_idx are each a ring
 * position (below the queue size, at most 1024) with the wrap counter in bit
 * 15; signalled_used is the used position at the last interrupt. As for split
 * rings, the ring is hostile: a chain longer than the queue, a buffer outside
 * RAM, a readable buffer after a writable one, an indirect table with NEXT or
 * nested, a driver that makes a descriptor available that the device still
 * owes: each breaks the queue, and nothing outside guest RAM is touched.
 */
#include <linux/virtio_ring.h>
#include <string.h>

#include "hw/virtio/virtqueue_internal.h"

#define WRAP (1u << 15)
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

static unsigned pos(uint16_t v)
{
	return v & (WRAP - 1);
}

static bool wrap(uint16_t v)
{
	return v & WRAP;
}

/* v moved on by n descriptors (n <= size), the wrap counter flipping as it passes the end. */
static uint16_t advance(const struct virtq *q, uint16_t v, unsigned n)
{
	unsigned p = pos(v) + n;
	bool w = wrap(v);
	if (p >= q->size) {
		p -= q->size;
		w = !w;
	}
	return (uint16_t)(p | (w ? WRAP : 0));
}

static struct vring_packed_desc *ring(const struct virtq *q)
{
	return ram_ptr_rw(q->ram, q->desc, 16ULL * q->size);
}

bool virtq_packed_rings_valid(const struct virtq *q)
{
	return q->size && q->size <= VIRTQ_MAX_SIZE && !(q->desc & 15) && !(q->avail & 3) && !(q->used & 3) &&
	       ring(q) && ram_ptr(q->ram, q->avail, 4) && ram_ptr_rw(q->ram, q->used, 4);
}

bool virtq_packed_indexes_valid(const struct virtq *q)
{
	uint16_t a = q->last_avail, u = q->used_idx;
	if (pos(a) >= q->size || pos(u) >= q->size || q->signalled_used >= q->size)
		return false;
	/* Taken and not yet handed back: at most a lap behind. */
	return wrap(a) == wrap(u) ? pos(a) >= pos(u) : pos(a) <= pos(u);
}

void virtq_packed_start(struct virtq *q)
{
	q->last_avail = q->used_idx = WRAP; /* position 0, wrap counters 1 (§2.8.1) */
	q->signalled_used = 0;
	q->signalled_valid = false;
	/* The device's event suppression: every kick wanted. */
	struct vring_packed_desc_event ev = { .off_wrap = 0, .flags = VRING_PACKED_EVENT_FLAG_ENABLE };
	memcpy(ram_ptr_rw(q->ram, q->used, sizeof(ev)), &ev, sizeof(ev));
	ram_note_write(q->ram, q->used, sizeof(ev));
}

/* Adds the buffers of an indirect table: len / 16 descriptors in a row
 * (§2.8.7), none of them indirect, NEXT meaningless. */
static bool walk_indirect(struct virtq *q, struct virtq_elem *e, uint64_t addr, uint32_t len)
{
	if (len == 0 || len % 16)
		return false;
	const struct vring_packed_desc *table = ram_ptr(q->ram, addr, len);
	if (!table)
		return false;
	for (unsigned i = 0; i < len / 16; i++) {
		struct vring_packed_desc d;
		memcpy(&d, &table[i], sizeof(d)); /* one snapshot: the driver may scribble on it */
		if ((d.flags & VRING_DESC_F_INDIRECT) ||
		    !virtq_add_buffer(q, e, d.addr, d.len, d.flags & VRING_DESC_F_WRITE))
			return false;
	}
	return true;
}

int virtq_packed_pop(struct virtq *q, struct virtq_elem *e)
{
	struct vring_packed_desc *r = ring(q);
	uint16_t at = q->last_avail;
	uint16_t flags = __atomic_load_n(&r[pos(at)].flags, __ATOMIC_ACQUIRE);
	bool avail = flags & F_AVAIL, used = flags & F_USED;
	if (avail != wrap(at) || used == wrap(at))
		return 0; /* not made available in this lap */
	/* Descriptors taken and not yet handed back: a chain can only be in the rest. */
	unsigned owed = pos(at) - pos(q->used_idx) + (wrap(at) != wrap(q->used_idx) ? q->size : 0);
	e->head = 0;
	e->nout = e->nin = 0;
	e->ring_pos = at;
	unsigned n = 0;
	for (;;) {
		struct vring_packed_desc d;
		memcpy(&d, &r[pos(at)], sizeof(d));
		if (owed + n == q->size)
			return virtq_break(q); /* no end in the descriptors the driver owns, or one the device owes */
		if (n && ((d.flags & F_AVAIL) != 0) != wrap(at))
			return virtq_break(q); /* a chain's later descriptor not made available with it */
		n++;
		at = advance(q, at, 1);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* The whole request is in the table; nothing may follow. */
			if (n > 1 || (d.flags & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE)) ||
			    !walk_indirect(q, e, d.addr, d.len))
				return virtq_break(q);
			e->head = d.id;
			break;
		}
		if (!virtq_add_buffer(q, e, d.addr, d.len, d.flags & VRING_DESC_F_WRITE))
			return virtq_break(q);
		if (!(d.flags & VRING_DESC_F_NEXT)) {
			e->head = d.id; /* the buffer id is the last descriptor's (§2.8.6) */
			break;
		}
	}
	e->ndesc = (uint16_t)n;
	q->last_avail = at;
	return 1;
}

/* A used descriptor at v: id and length, the flags (which hand it back) last. */
static void put_used(struct virtq *q, uint16_t v, const struct virtq_elem *e, uint32_t written, bool flags_too)
{
	struct vring_packed_desc *d = &ring(q)[pos(v)];
	d->id = e->head;
	d->len = written;
	if (flags_too)
		__atomic_store_n(&d->flags, (uint16_t)(wrap(v) ? F_AVAIL | F_USED : 0), __ATOMIC_RELEASE);
}

void virtq_packed_fill(struct virtq *q, const struct virtq_elem *e, uint32_t written, unsigned n)
{
	if (n == 0) {
		q->fill_at = q->used_idx;
		q->fill_first = q->used_idx;
	}
	/* All but the first are handed back now; the first, at the flush,
	 * hands back the batch at once (§2.8.21). */
	put_used(q, q->fill_at, e, written, n != 0);
	q->fill_at = advance(q, q->fill_at, e->ndesc);
}

void virtq_packed_flush(struct virtq *q, unsigned count)
{
	if (!count)
		return;
	struct vring_packed_desc *d = &ring(q)[pos(q->fill_first)];
	__atomic_store_n(&d->flags, (uint16_t)(wrap(q->fill_first) ? F_AVAIL | F_USED : 0), __ATOMIC_RELEASE);
	q->used_idx = q->fill_at;
	ram_note_write(q->ram, q->desc, 16ULL * q->size); /* the descriptors handed back, not from a vCPU */
}

void virtq_packed_unpop(struct virtq *q, const struct virtq_elem *first)
{
	q->last_avail = first->ring_pos;
}

bool virtq_packed_needs_interrupt(struct virtq *q)
{
	/* The used descriptors are out before the driver's wishes are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct vring_packed_desc_event ev;
	memcpy(&ev, ram_ptr(q->ram, q->avail, sizeof(ev)), sizeof(ev));
	uint16_t old = q->signalled_used, now = (uint16_t)pos(q->used_idx);
	bool valid = q->signalled_valid;
	q->signalled_used = now;
	q->signalled_valid = true;
	if (ev.flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (ev.flags != VRING_PACKED_EVENT_FLAG_DESC || !q->event_idx)
		return true;
	/* An interrupt once the used position passes the driver's event
	 * offset, counted in the lap its wrap bit names. */
	int off = ev.off_wrap & (WRAP - 1);
	if (((ev.off_wrap & WRAP) != 0) != wrap(q->used_idx))
		off -= q->size;
	return !valid || (uint16_t)(now - (uint16_t)off - 1) < (uint16_t)(now - old);
}
