/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, device side (virtio 1.2 §2.7). x86 hosts only: the
 * rings' little-endian fields are read as they are, and x86's ordering
 * needs only the compiler barriers the atomics below give (plus one full
 * fence before reading the driver's event index). A packed ring's own side
 * is virtqueue_packed.c; what both need is here.
 */
#include <linux/virtio_ring.h>
#include <string.h>

#include "hw/virtio/virtqueue_internal.h"

void virtq_reset(struct virtq *q, const struct guest_ram *ram)
{
	*q = (struct virtq){ .size = VIRTQ_MAX_SIZE, .ram = ram };
}

static uint64_t desc_bytes(const struct virtq *q)
{
	return 16ULL * q->size;
}

static uint64_t avail_bytes(const struct virtq *q)
{
	return 6ULL + 2ULL * q->size; /* flags, idx, ring[], used_event */
}

static uint64_t used_bytes(const struct virtq *q)
{
	return 6ULL + 8ULL * q->size; /* flags, idx, ring[], avail_event */
}

bool virtq_rings_valid(const struct virtq *q)
{
	if (q->packed)
		return virtq_packed_rings_valid(q);
	return q->size && !(q->size & (q->size - 1)) && q->size <= VIRTQ_MAX_SIZE && !(q->desc & 15) &&
	       !(q->avail & 1) && !(q->used & 3) && ram_ptr(q->ram, q->desc, desc_bytes(q)) &&
	       ram_ptr(q->ram, q->avail, avail_bytes(q)) && ram_ptr_rw(q->ram, q->used, used_bytes(q));
}

void virtq_start(struct virtq *q)
{
	if (q->packed)
		virtq_packed_start(q);
}

bool virtq_indexes_valid(const struct virtq *q)
{
	if (q->packed)
		return virtq_packed_indexes_valid(q);
	return (uint16_t)(q->last_avail - q->used_idx) <= q->size;
}

int virtq_break(struct virtq *q)
{
	q->broken = true;
	return -1;
}

static volatile uint16_t *avail_field(const struct virtq *q, unsigned index)
{
	return (volatile uint16_t *)ram_ptr(q->ram, q->avail + 2ULL * index, 2);
}

bool virtq_add_buffer(struct virtq *q, struct virtq_elem *e, uint64_t addr, uint32_t len, bool writable)
{
	if (len == 0)
		return true;
	if (writable) {
		void *p = ram_ptr_rw(q->ram, addr, len);
		if (!p || e->nin == VIRTQ_MAX_SEGS)
			return false;
		e->in_gpa[e->nin] = addr;
		e->in[e->nin++] = (struct iovec){ p, len };
		return true;
	}
	void *p = ram_ptr(q->ram, addr, len);
	if (!p || e->nin || e->nout == VIRTQ_MAX_SEGS)
		return false;
	e->out[e->nout++] = (struct iovec){ p, len };
	return true;
}

static bool add_buffer(struct virtq *q, struct virtq_elem *e, const struct vring_desc *d)
{
	return virtq_add_buffer(q, e, d->addr, d->len, d->flags & VRING_DESC_F_WRITE);
}

/* Walks the descriptors of an indirect table (no nesting, bounded by its length). */
static bool walk_indirect(struct virtq *q, struct virtq_elem *e, const struct vring_desc *table_desc)
{
	if (table_desc->len == 0 || table_desc->len % 16 || (table_desc->flags & VRING_DESC_F_NEXT))
		return false;
	unsigned n = table_desc->len / 16;
	const struct vring_desc *table = ram_ptr(q->ram, table_desc->addr, table_desc->len);
	if (!table)
		return false;
	unsigned i = 0;
	for (unsigned seen = 0; seen < n; seen++) {
		struct vring_desc d;
		memcpy(&d, &table[i], sizeof(d)); /* one snapshot: the driver may scribble on it */
		if ((d.flags & VRING_DESC_F_INDIRECT) || !add_buffer(q, e, &d))
			return false;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		if (d.next >= n)
			return false;
		i = d.next;
	}
	return false; /* a loop */
}

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
	if (q->broken || !q->enabled)
		return q->broken ? -1 : 0;
	if (q->packed)
		return virtq_packed_pop(q, e);
	if (q->event_idx) {
		/* avail_event: kick again once the driver adds past what is taken
		 * here. Published before the index is read, so that a buffer added
		 * meanwhile is either seen below or kicked. */
		uint8_t *used = ram_ptr_rw(q->ram, q->used, used_bytes(q));
		__atomic_store_n((uint16_t *)(used + 4 + 8 * q->size), q->last_avail, __ATOMIC_RELAXED);
		ram_note_write(q->ram, q->used + 4 + 8ULL * q->size, 2); /* a write not from a vCPU */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	uint16_t avail_idx = __atomic_load_n(avail_field(q, 1), __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return virtq_break(q); /* the driver claims more than the ring holds */
	uint16_t head = *avail_field(q, 2 + q->last_avail % q->size);
	if (head >= q->size)
		return virtq_break(q);
	q->last_avail++;
	e->head = head;
	e->nout = e->nin = 0;
	const struct vring_desc *table = ram_ptr(q->ram, q->desc, desc_bytes(q));
	unsigned i = head;
	for (unsigned seen = 0; seen < q->size; seen++) {
		struct vring_desc d;
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* The whole request is in the table; nothing may follow. */
			if (seen || (d.flags & VRING_DESC_F_WRITE) || !walk_indirect(q, e, &d))
				return virtq_break(q);
			return 1;
		}
		if (!add_buffer(q, e, &d))
			return virtq_break(q);
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		if (d.next >= q->size)
			return virtq_break(q);
		i = d.next;
	}
	return virtq_break(q); /* a loop */
}

void virtq_fill(struct virtq *q, const struct virtq_elem *e, uint32_t written, unsigned n)
{
	if (q->broken)
		return;
	size_t left = written;
	for (unsigned i = 0; i < e->nin && left; i++) {
		size_t len = e->in[i].iov_len < left ? e->in[i].iov_len : left;
		ram_note_write(q->ram, e->in_gpa[i], len);
		left -= len;
	}
	if (q->packed) {
		virtq_packed_fill(q, e, written, n);
		return;
	}
	uint8_t *used = ram_ptr_rw(q->ram, q->used, used_bytes(q));
	struct vring_used_elem ue = { .id = e->head, .len = written };
	memcpy(used + 4 + 8 * ((uint16_t)(q->used_idx + n) % q->size), &ue, sizeof(ue));
}

void virtq_flush(struct virtq *q, unsigned count)
{
	if (q->broken)
		return;
	if (q->packed) {
		virtq_packed_flush(q, count);
		return;
	}
	uint8_t *used = ram_ptr_rw(q->ram, q->used, used_bytes(q));
	q->used_idx = (uint16_t)(q->used_idx + count);
	__atomic_store_n((uint16_t *)(used + 2), q->used_idx, __ATOMIC_RELEASE);
	/* The used ring's entries and index, as any write not from a vCPU
	 * (decoded code on those pages goes). */
	ram_note_write(q->ram, q->used, used_bytes(q));
}

void virtq_push(struct virtq *q, const struct virtq_elem *e, uint32_t written)
{
	virtq_fill(q, e, written, 0);
	virtq_flush(q, 1);
}

void virtq_unpop(struct virtq *q, const struct virtq_elem *first, unsigned count)
{
	if (q->packed && count)
		virtq_packed_unpop(q, first);
	else if (!q->packed)
		q->last_avail = (uint16_t)(q->last_avail - count);
}

bool virtq_needs_interrupt(struct virtq *q)
{
	if (q->broken || !q->enabled)
		return false;
	if (q->packed)
		return virtq_packed_needs_interrupt(q);
	/* The used index is published before the driver's wishes are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(*avail_field(q, 0) & VRING_AVAIL_F_NO_INTERRUPT);
	uint16_t event = *avail_field(q, 2 + q->size); /* used_event */
	uint16_t old = q->signalled_used, now = q->used_idx;
	bool valid = q->signalled_valid;
	q->signalled_used = now;
	q->signalled_valid = true;
	/* vring_need_event: whether event lies in [old, now) */
	return !valid || (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

static size_t iov_total(const struct iovec *v, unsigned n)
{
	size_t t = 0;
	for (unsigned i = 0; i < n; i++)
		t += v[i].iov_len;
	return t;
}

size_t virtq_out_len(const struct virtq_elem *e)
{
	return iov_total(e->out, e->nout);
}

size_t virtq_in_len(const struct virtq_elem *e)
{
	return iov_total(e->in, e->nin);
}

size_t virtq_copy_from(const struct virtq_elem *e, size_t offset, void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < e->nout && done < len; i++) {
		if (offset >= e->out[i].iov_len) {
			offset -= e->out[i].iov_len;
			continue;
		}
		size_t n = e->out[i].iov_len - offset;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)buf + done, (const uint8_t *)e->out[i].iov_base + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq_copy_to(const struct virtq_elem *e, size_t offset, const void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < e->nin && done < len; i++) {
		if (offset >= e->in[i].iov_len) {
			offset -= e->in[i].iov_len;
			continue;
		}
		size_t n = e->in[i].iov_len - offset;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)e->in[i].iov_base + offset, (const uint8_t *)buf + done, n);
		done += n;
		offset = 0;
	}
	return done;
}
