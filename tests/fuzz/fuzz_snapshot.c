/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the snapshot loader on hostile state. One PC board (every
 * device object of a real machine: interrupt controllers, timers, COM1, RTC,
 * i8042, fw_cfg, ACPI PM, PCI with PIIX3, virtio-blk on a small image,
 * virtio-rng, virtio-console and virtio-net on user-mode networking with
 * restrict=on: fuzz_pc.c's) is built once and driven through its ports
 * and MMIO into a busy state (timers running, interrupts pending and in
 * service, FIFOs half full, virtio queues with requests done and buffers
 * posted); its device records (a snapshot's DEVS section) are saved twice,
 * some time apart, and once more after a machine reset. Each input mutates one of
 * those valid sections and loads it with board_load, the path --restore
 * takes: the input's first byte picks the base (and one input in eight
 * mutates the vCPU's record, loaded the way snapshot_restore loads CPU0),
 * the next byte how many mutations follow, then the mutations: bit flips,
 * bytes of a field overwritten with the input's or with boundary values,
 * fields taken from the other saves, field sizes changed, fields dropped
 * (what an older x86v's record lacks), records cut, their lengths changed,
 * records duplicated, removed, swapped, the device count changed, bytes
 * of the whole section changed, the virtual time it loads at and the time
 * it sat on disk changed. The load must either succeed or refuse with a
 * one-line reason; a state it accepts must then be safe to run: every
 * register of every device is read, the input's remaining bytes are
 * register writes and reads, clock advances and interrupt acknowledgements,
 * the virtual clock moves on (timers fire, virtio queues resume) and the
 * interrupts are taken; what it has become must then save, and that save
 * load again. Nothing may crash, hang or touch memory it does not own (ASan
 * and UBSan watch in make check); the board is reset and guest RAM put back
 * after each input, so no machine is built per input.
 *
 * Also a libFuzzer target (LLVMFuzzerTestOneInput, with -DFUZZ_NO_MAIN);
 * make check runs test_fuzz_snapshot, a fixed-seed stream of random inputs.
 * FUZZ_SNAPSHOT_WHY=1 prints why each refused section was refused (to see
 * which checks the mutations reach).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/snapshot.h"
#include "core/statebuf.h"
#include "cpu/x86_state.h"
#include "fuzz_pc.h"
#include "fuzz_rand.h"

#define RAM (4 * MiB)
#define NTEMPLATES 3
#define MAX_RECS 64
#define MAX_FIELDS 2048
#define MAX_BLOB_EDITS 16

/* A record of a valid section: where it lies and where its fields do. */
struct tfield {
	size_t name_off, size_off, data_off, size; /* within the record */
};

struct trec {
	size_t off, len; /* of the record's bytes within the section */
	size_t version_off, nfields_off, fields_off;
	unsigned first, nfields; /* into the field table */
};

/* A valid section (DEVS, or a CPU0 record) and its layout; the templates of
 * one kind share the layout, only their values differ. */
struct layout {
	uint8_t *blob[NTEMPLATES];
	size_t len;
	struct trec recs[MAX_RECS];
	unsigned nrecs;
	struct tfield fields[MAX_FIELDS];
	unsigned nfields;
	size_t count_len; /* 4 for DEVS (device count, then u32 length + record each), 0 for CPU0 */
};

/* A record being mutated: a copy of a template record, fields dropped and a cut applied when serialized. */
struct wrec {
	unsigned t; /* the template record it copies */
	uint8_t *data; /* recs[t].len bytes */
	uint64_t dropped; /* fields left out (the first 64) */
	size_t cut; /* serialize at most this many bytes */
	bool len_set;
	uint32_t len_field;
};

/* The board itself is fuzz_pc.c's (pc). */
static struct {
	uint8_t *ram_copy;
	int64_t t[NTEMPLATES]; /* virtual time of each DEVS template */
	struct layout devs, cpu;
	struct wrec w[MAX_RECS + 1]; /* the last: a spare for swaps */
	unsigned nw;
	uint8_t *out; /* the serialized section */
	size_t out_cap;
	unsigned loaded, refused, cpu_loaded, cpu_refused;
	FILE *null;
} m;

/* ---- the valid sections and their layout ---- */

static size_t name_end(const uint8_t *rec, size_t at, size_t len)
{
	if (at >= len || at + 1 + rec[at] > len)
		abort();
	return at + 1 + rec[at];
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Fields of the record at off (len bytes) into the layout. */
static void parse_record(struct layout *l, size_t off, size_t len)
{
	const uint8_t *rec = l->blob[0] + off;
	if (l->nrecs == MAX_RECS)
		abort();
	struct trec *t = &l->recs[l->nrecs++];
	*t = (struct trec){ .off = off, .len = len, .first = l->nfields };
	size_t at = name_end(rec, name_end(rec, 0, len), len);
	t->version_off = at;
	t->nfields_off = at + 4;
	t->fields_off = at + 8;
	uint32_t n = get32(rec + at + 4);
	at += 8;
	for (uint32_t i = 0; i < n; i++) {
		if (l->nfields == MAX_FIELDS)
			abort();
		struct tfield *f = &l->fields[l->nfields++];
		f->name_off = at;
		f->size_off = name_end(rec, at, len);
		f->data_off = f->size_off + 4;
		f->size = get32(rec + f->size_off);
		at = f->data_off + f->size;
		if (at > len)
			abort();
	}
	if (at != len)
		abort();
	t->nfields = n;
}

static void take_template(struct layout *l, unsigned i, const struct statebuf *sb)
{
	if (sb->failed)
		abort();
	if (i == 0) {
		l->len = sb->len;
	} else if (sb->len != l->len) {
		fprintf(stderr, "fuzz_snapshot: two saves of the board differ in layout\n");
		abort();
	}
	l->blob[i] = malloc(sb->len);
	if (!l->blob[i])
		abort();
	memcpy(l->blob[i], sb->data, sb->len);
}

static void parse_layout(struct layout *l, size_t count_len)
{
	l->count_len = count_len;
	if (!count_len) {
		parse_record(l, 0, l->len);
		return;
	}
	uint32_t n = get32(l->blob[0]);
	size_t at = 4;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = get32(l->blob[0] + at);
		parse_record(l, at + 4, len);
		at += 4 + len;
	}
	if (at != l->len)
		abort();
}

static void save_devs(unsigned i)
{
	struct statebuf sb;
	sb_init(&sb);
	m.t[i] = vclock_now(&pc.clock);
	if (board_save(pc.board, &sb) < 0)
		abort();
	take_template(&m.devs, i, &sb);
	sb_free(&sb);
}

/* Zeroes a segment's or table's padding (struct assignments leave it undefined: inputs must replay). */
static void clean_seg(struct x86_segment *seg)
{
	struct x86_segment z;
	memset(&z, 0, sizeof(z));
	z.selector = seg->selector, z.base = seg->base, z.limit = seg->limit, z.attr = seg->attr;
	memcpy(seg, &z, sizeof(z));
}

static void clean_dtable(struct x86_dtable *t)
{
	struct x86_dtable z;
	memset(&z, 0, sizeof(z));
	z.base = t->base, z.limit = t->limit;
	memcpy(t, &z, sizeof(z));
}

static void save_cpu(unsigned i, struct x86_cpu_state *s)
{
	for (unsigned k = 0; k < X86_NR_SREGS; k++)
		clean_seg(&s->seg[k]);
	clean_seg(&s->ldtr);
	clean_seg(&s->tr);
	clean_dtable(&s->gdtr);
	clean_dtable(&s->idtr);
	struct statebuf sb;
	sb_init(&sb);
	if (snapshot_save_cpu_record(s, &sb) < 0)
		abort();
	take_template(&m.cpu, i, &sb);
	sb_free(&sb);
}

static void setup(void)
{
	char why[256];
	m.null = fopen("/dev/null", "w");
	if (!m.null)
		abort();
	pc_create("fuzz_snapshot", RAM, 1);
	pthread_mutex_lock(&pc.lock);
	pc_drive_board();
	save_devs(0);
	/* Later: more requests and time, the LAPIC timer one-shot, HPET legacy replacement. */
	pc_virtio_requests(1);
	pc_wr(0xfee00320, 4, 0x31);
	pc_wr(0xfee00380, 4, 30000);
	pc_wr(0xfed00010, 8, 3);
	pc_out(0x3f8, 1, 'e');
	pc_advance(7000000);
	pc_intr_acks(0, 3);
	save_devs(1);
	m.ram_copy = malloc(RAM);
	if (!m.ram_copy)
		abort();
	memcpy(m.ram_copy, pc.ram.host, RAM);
	board_reset(pc.board);
	save_devs(2);
	m.t[2] = m.t[1];
	parse_layout(&m.devs, 4);
	/* Each save as it is must load (or the mutations start from a refusal). */
	for (unsigned i = 0; i < NTEMPLATES; i++) {
		struct state_reader in;
		sr_init(&in, m.devs.blob[i], m.devs.len);
		vclock_set_now(&pc.clock, m.t[i]);
		if (board_load(pc.board, &in, why, sizeof(why)) < 0) {
			fprintf(stderr, "fuzz_snapshot: the board's own save %u does not load: %s\n", i, why);
			abort();
		}
		board_reset(pc.board);
	}
	pthread_mutex_unlock(&pc.lock);

	struct x86_cpu_state s;
	x86_state_reset(&s);
	save_cpu(0, &s);
	x86_state_flat32(&s);
	s.gpr[0] = 0x1234, s.rip = 0x100000, s.cr3 = 0x1000, s.events.interrupt_shadow = true;
	s.events.injected = X86_EVENT_EXCEPTION, s.events.injected_vector = 14;
	s.events.injected_has_error = true, s.events.injected_error = 2;
	save_cpu(1, &s);
	s.cr0 |= 0x80000000u, s.cr4 |= 0x20, s.efer = 0x500, s.events.halted = true, s.events.injected = 0;
	save_cpu(2, &s);
	parse_layout(&m.cpu, 0);

	size_t rec_max = 0;
	for (unsigned i = 0; i < m.devs.nrecs; i++)
		rec_max = m.devs.recs[i].len > rec_max ? m.devs.recs[i].len : rec_max;
	rec_max = m.cpu.recs[0].len > rec_max ? m.cpu.recs[0].len : rec_max;
	for (unsigned i = 0; i < MAX_RECS + 1; i++)
		if (!(m.w[i].data = malloc(rec_max)))
			abort();
	m.out_cap = MAX_RECS * (rec_max + 4) + 4;
	if (!(m.out = malloc(m.out_cap)))
		abort();
}

/* ---- mutations ---- */

static uint8_t take(const uint8_t **data, size_t *size)
{
	if (!*size)
		return 0;
	(*size)--;
	return *(*data)++;
}

static uint16_t take16(const uint8_t **data, size_t *size)
{
	uint16_t lo = take(data, size);
	return (uint16_t)(lo | take(data, size) << 8);
}

static const uint64_t interesting[] = {
	0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 1023, 1024, 4095, 4096, 0x7fff, 0x8000,
	0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000, 0x7fffffffffffffff,
	0x8000000000000000, 0xffffffffffffffff, 0xfee00000, 0xfec00000, 0x3ff0000, RAM - 1, RAM, 1000000000,
};

/* Record slot dst becomes a copy of slot src (each slot keeps its buffer). */
static void copy_slot(const struct layout *l, unsigned dst, unsigned src)
{
	uint8_t *d = m.w[dst].data;
	m.w[dst] = m.w[src];
	m.w[dst].data = d;
	memcpy(d, m.w[src].data, l->recs[m.w[src].t].len);
}

/* Writes v's low width bytes at p..p+width clipped to [0, len). */
static void put_clipped(uint8_t *rec, size_t len, size_t at, unsigned width, uint64_t v)
{
	for (unsigned k = 0; k < width && at + k < len; k++)
		rec[at + k] = (uint8_t)(v >> 8 * k);
}

static uint64_t get_clipped(const uint8_t *rec, size_t len, size_t at, unsigned width)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < width && at + k < len; k++)
		v |= (uint64_t)rec[at + k] << 8 * k;
	return v;
}

struct blob_edit {
	uint16_t pos;
	uint8_t value;
};

/* What the mutations decided beyond the records. */
struct plan {
	struct blob_edit edits[MAX_BLOB_EDITS]; /* bytes of the serialized section */
	unsigned nedits;
	size_t cut; /* the section cut here */
	bool count_set;
	uint32_t count; /* the device count, instead of the records' */
	int64_t now; /* the virtual time the state loads at (the INFO section's) */
	int64_t wall; /* seconds the snapshot sat on disk (what the host's clock says) */
};

enum {
	OP_FLIP, OP_FIELD_BYTES, OP_FIELD_INT, OP_FIELD_ADD, OP_FIELD_SPLICE, OP_FIELD_SIZE, OP_DROP_FIELD,
	OP_REC_CUT, OP_REC_LEN, OP_REC_DUP, OP_REC_DEL, OP_REC_SWAP, OP_COUNT, OP_BLOB_BYTE, OP_REC_SPLICE,
	OP_HEADER, OP_CLOCK
};

static void mutate(struct layout *l, const uint8_t **data, size_t *size, struct plan *p)
{
	/* Mostly a field's value changed (what gets past the format checks to post_load). */
	static const uint8_t ops[33] = {
		OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_INT, OP_FIELD_BYTES, OP_FIELD_BYTES,
		OP_FIELD_BYTES, OP_FIELD_BYTES, OP_FIELD_ADD, OP_FIELD_ADD, OP_FIELD_ADD, OP_FIELD_ADD,
		OP_FIELD_SPLICE, OP_FIELD_SPLICE, OP_FIELD_SPLICE, OP_FIELD_SPLICE, OP_REC_SPLICE, OP_REC_SPLICE,
		OP_DROP_FIELD, OP_DROP_FIELD, OP_FLIP, OP_FLIP, OP_FIELD_SIZE, OP_REC_CUT, OP_REC_LEN, OP_REC_DUP,
		OP_REC_DEL, OP_REC_SWAP, OP_COUNT, OP_BLOB_BYTE, OP_HEADER, OP_CLOCK,
	};
	unsigned op = ops[take(data, size) % 33];
	if (!m.nw && op != OP_COUNT && op != OP_BLOB_BYTE && op != OP_CLOCK)
		return;
	struct wrec *w = &m.w[m.nw ? take(data, size) % m.nw : 0];
	const struct trec *t = &l->recs[w->t];
	size_t len = t->len;
	const struct tfield *f = t->nfields ? &l->fields[t->first + take(data, size) % t->nfields] : NULL;
	unsigned k = f ? (unsigned)(f - &l->fields[t->first]) : 0;
	switch (op) {
	case OP_FLIP: {
		uint16_t pos = take16(data, size);
		w->data[pos % len] ^= (uint8_t)(1u << (take(data, size) & 7));
		break;
	}
	case OP_FIELD_BYTES: /* up to 8 of the input's bytes over the field, at an offset in it */
		if (f && f->size) {
			size_t at = f->data_off + take16(data, size) % f->size;
			unsigned n = 1 + take(data, size) % 8;
			for (unsigned i = 0; i < n && at + i < f->data_off + f->size; i++)
				w->data[at + i] = take(data, size);
		}
		break;
	case OP_FIELD_INT: /* a boundary value, 1/2/4/8 bytes wide, at an offset in the field */
	case OP_FIELD_ADD: /* or a small delta added there */
		if (f && f->size) {
			unsigned width = 1u << (take(data, size) & 3);
			size_t at = f->data_off + (take16(data, size) % f->size & ~(size_t)(width - 1));
			uint8_t b = take(data, size);
			uint64_t v = op == OP_FIELD_INT ? interesting[b % ARRAY_SIZE(interesting)]
							: get_clipped(w->data, f->data_off + f->size, at, width) +
								  (uint64_t)(int64_t)(int8_t)b;
			put_clipped(w->data, f->data_off + f->size, at, width, v);
		}
		break;
	case OP_FIELD_SPLICE: /* the field as another save has it */
		if (f) {
			const uint8_t *src = l->blob[take(data, size) % NTEMPLATES] + t->off;
			memcpy(w->data + f->data_off, src + f->data_off, f->size);
		}
		break;
	case OP_FIELD_SIZE:
		if (f) {
			uint8_t b = take(data, size);
			uint32_t v = b & 1 ? (uint32_t)interesting[(b >> 1) % ARRAY_SIZE(interesting)]
					   : (uint32_t)f->size + (uint32_t)(int32_t)(int8_t)(b >> 1 | (b & 0x80));
			put32(w->data + f->size_off, v);
		}
		break;
	case OP_DROP_FIELD:
		if (f && k < 64)
			w->dropped |= 1ULL << k;
		break;
	case OP_REC_CUT:
		w->cut = take16(data, size) % (len + 1);
		break;
	case OP_REC_LEN: {
		uint8_t b = take(data, size);
		w->len_set = true;
		w->len_field = b & 1 ? (uint32_t)interesting[(b >> 1) % ARRAY_SIZE(interesting)]
				     : (uint32_t)len + (uint32_t)(int32_t)((int8_t)b >> 1);
		break;
	}
	case OP_REC_DUP:
		if (m.nw < MAX_RECS) {
			unsigned at = take(data, size) % (m.nw + 1), src = (unsigned)(w - m.w);
			for (unsigned i = m.nw; i > at; i--)
				copy_slot(l, i, i - 1);
			copy_slot(l, at, src >= at ? src + 1 : src);
			m.nw++;
		}
		break;
	case OP_REC_DEL:
		for (unsigned i = (unsigned)(w - m.w); i + 1 < m.nw; i++)
			copy_slot(l, i, i + 1);
		m.nw--;
		break;
	case OP_REC_SWAP: {
		unsigned a = (unsigned)(w - m.w), b = take(data, size) % m.nw;
		copy_slot(l, MAX_RECS, a);
		copy_slot(l, a, b);
		copy_slot(l, b, MAX_RECS);
		break;
	}
	case OP_COUNT: {
		uint8_t b = take(data, size);
		p->count_set = true;
		p->count = b & 1 ? (uint32_t)interesting[(b >> 1) % ARRAY_SIZE(interesting)]
			       : (uint32_t)l->nrecs + (uint32_t)(int32_t)((int8_t)b >> 1);
		break;
	}
	case OP_BLOB_BYTE: {
		uint16_t pos = take16(data, size);
		uint8_t v = take(data, size);
		if (v == 0 && pos & 1)
			p->cut = pos >> 1;
		else if (p->nedits < MAX_BLOB_EDITS)
			p->edits[p->nedits++] = (struct blob_edit){ pos, v };
		break;
	}
	case OP_CLOCK: { /* the state loads at another time (snapshot_restore allows up to INT64_MAX / 2) */
		uint8_t b = take(data, size), shift = take(data, size) % 63;
		int64_t v = b & 1 ? (int64_t)(interesting[(b >> 2) % ARRAY_SIZE(interesting)] >> 1)
				  : p->now + ((b & 2) ? -1 : 1) * (int64_t)(UINT64_C(1) << shift >> 1);
		if (b & 1 && b & 2) /* or the host's clock moved by that many seconds */
			p->wall = v / 1000000000;
		else
			p->now = v < 0 ? 0 : v > INT64_MAX / 2 ? INT64_MAX / 2 : v;
		break;
	}
	case OP_REC_SPLICE: /* the record as another save has it */
		memcpy(w->data, l->blob[take(data, size) % NTEMPLATES] + t->off, len);
		break;
	default: { /* the record's header: its version or field count */
		uint8_t b = take(data, size);
		size_t at = b & 1 ? t->nfields_off : t->version_off;
		uint32_t v = b & 2 ? (uint32_t)interesting[(b >> 2) % ARRAY_SIZE(interesting)]
				   : get32(w->data + at) + (uint32_t)(int32_t)((int8_t)b >> 2);
		put32(w->data + at, v);
		break;
	}
	}
}

/* The working records as a section: the device count, then each record's
 * length and bytes (a CPU0 section: the records back to back). */
static size_t serialize(const struct layout *l, const struct plan *p)
{
	size_t n = 0;
	if (l->count_len) {
		put32(m.out, p->count_set ? p->count : m.nw);
		n = 4;
	}
	for (unsigned i = 0; i < m.nw; i++) {
		const struct wrec *w = &m.w[i];
		const struct trec *t = &l->recs[w->t];
		size_t at = n + (l->count_len ? 4 : 0), start = at;
		memcpy(m.out + at, w->data, t->fields_off);
		at += t->fields_off;
		unsigned dropped = 0;
		for (unsigned k = 0; k < t->nfields; k++) {
			const struct tfield *f = &l->fields[t->first + k];
			size_t end = k + 1 < t->nfields ? l->fields[t->first + k + 1].name_off : t->len;
			if (k < 64 && w->dropped >> k & 1) {
				dropped++;
				continue;
			}
			memcpy(m.out + at, w->data + f->name_off, end - f->name_off);
			at += end - f->name_off;
		}
		if (dropped)
			put32(m.out + start + t->nfields_off, get32(w->data + t->nfields_off) - dropped);
		size_t rlen = at - start;
		if (rlen > w->cut)
			rlen = w->cut;
		if (l->count_len)
			put32(m.out + n, w->len_set ? w->len_field : (uint32_t)rlen);
		n = start + rlen;
	}
	return n;
}

/* ---- after a load: use what was accepted ---- */
/* What the machine would do next: run, kick, take interrupts, end them. */
static void sweep(const uint8_t *data, size_t size)
{
	vclock_run_expired(&pc.clock, vclock_now(&pc.clock)); /* restored queues resume */
	pc_intr_acks(0, 4);
	pc_read_everything();
	pc_after_access();
	for (unsigned d = 0; d < PC_NVIRTIO; d++) {
		for (unsigned q = 0; q < pc_virtio_nq[d]; q++) {
			pc_wr(pc_virtio_bar(d) + 0x3000 + 4 * q, 2, q);
			pc_after_access();
		}
	}
	block_drain(pc.disk);
	/* The input's accesses: 8 bytes each. */
	for (; size >= 8; data += 8, size -= 8) {
		uint16_t off;
		uint32_t v;
		memcpy(&off, data + 2, 2);
		memcpy(&v, data + 4, 4);
		switch (data[1] % 8) {
		case 0: case 1: case 2: pc_poke(data[0], off, data[1] >> 3 & 3, true, v); break;
		case 3: case 4: pc_poke(data[0], off, data[1] >> 3 & 3, false, v); break;
		case 5: pc_advance(v % (data[0] & 1 ? 100000000 : 100000)); pc_intr_acks(0, 4); break;
		case 6: pc_intr_acks(0, 1 + data[0] % 8); break;
		default:
			if (data[0] & 1) {
				uint64_t val;
				(void)board_msr_read(pc.board, 0, off % 2 ? 0x1b : 0x800 + off % 0x40, &val);
			} else {
				(void)board_msr_write(pc.board, 0, off % 2 ? 0x1b : 0x800 + off % 0x40, v);
			}
			break;
		}
	}
	block_drain(pc.disk);
	/* End what is in service; time moves on. */
	for (unsigned i = 0; i < 4; i++) {
		pc_wr(0xfee000b0, 4, 0);
		pc_out(0x20, 1, 0x20);
		pc_out(0xa0, 1, 0x20);
	}
	static const int64_t steps[] = { 1000, 100000, 2000000, 20000000 };
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		pc_advance(steps[i]);
		pc_intr_acks(0, 8);
		pc_wr(0xfee000b0, 4, 0);
		pc_out(0x20, 1, 0x20);
	}
	block_drain(pc.disk);
	pc_after_access();
}

/* Whatever a loaded state has become by running must save, and that save load: a snapshot
 * taken now would otherwise be refused (a check too strict), or post_load let in a state the
 * device cannot live with (a check missing). */
static void resave(void)
{
	struct statebuf sb;
	struct state_reader in;
	char why[256] = "";
	sb_init(&sb);
	if (board_save(pc.board, &sb) < 0) {
		fprintf(stderr, "fuzz_snapshot: a loaded state that has run does not save\n");
		abort();
	}
	sr_init(&in, sb.data, sb.len);
	if (board_load(pc.board, &in, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz_snapshot: a loaded state that has run saves, but the save does not load: %s\n", why);
		abort();
	}
	sb_free(&sb);
	vclock_run_expired(&pc.clock, vclock_now(&pc.clock));
	pc_intr_acks(0, 4);
	pc_read_everything();
	pc_after_access();
}

/* ---- one input ---- */

int fuzz_snapshot_one(const uint8_t *data, size_t size);
int fuzz_snapshot_one(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 2)
		return 0;
	bool cpu = data[0] % 8 == 7;
	unsigned base = data[0] >> 3 & 1; /* a busy save; the reset save is only spliced from */
	unsigned nops = 1 + data[1] % 16;
	data += 2;
	size -= 2;
	struct layout *l = cpu ? &m.cpu : &m.devs;
	m.nw = l->nrecs;
	for (unsigned i = 0; i < m.nw; i++) {
		m.w[i] = (struct wrec){ .t = i, .data = m.w[i].data, .cut = SIZE_MAX };
		memcpy(m.w[i].data, l->blob[base] + l->recs[i].off, l->recs[i].len);
	}
	struct plan p = { .cut = SIZE_MAX, .now = m.t[base], .wall = 3 };
	for (unsigned i = 0; i < nops && size; i++)
		mutate(l, &data, &size, &p);
	size_t n = serialize(l, &p);
	for (unsigned i = 0; i < p.nedits; i++)
		if (n)
			m.out[p.edits[i].pos % n] = p.edits[i].value;
	if (p.cut < n)
		n = p.cut;
	/* An exact-size copy, so that ASan sees a read past the section's end. */
	uint8_t *section = malloc(n ? n : 1);
	if (!section)
		abort();
	memcpy(section, m.out, n);
	struct state_reader in;
	sr_init(&in, section, n);
	char why[256] = "";
	if (cpu) {
		struct x86_cpu_state s;
		memset(&s, 0xa5, sizeof(s));
		if (snapshot_load_cpu_record(&in, &s, why, sizeof(why)) == 0) {
			m.cpu_loaded++;
			(void)x86_state_mode(&s);
			x86_state_dump(&s, m.null);
		} else {
			m.cpu_refused++;
			if (!why[0] || strchr(why, '\n')) {
				fprintf(stderr, "fuzz_snapshot: cpu0 refused without a one-line reason: \"%s\"\n", why);
				abort();
			}
		}
		free(section);
		return 0;
	}
	pthread_mutex_lock(&pc.lock);
	vclock_set_now(&pc.clock, p.now); /* as snapshot_restore: the clock first */
	pc.intr[0] = 0;
	int r = board_load(pc.board, &in, why, sizeof(why));
	free(section);
	if (r == 0) {
		m.loaded++;
		if (p.wall > 0) /* as snapshot_restore: the time the snapshot sat on disk */
			board_advance_wall_clock(pc.board, p.wall);
		sweep(data, size);
		/* Devices keep times up to 2^62 ns, and snapshot_restore lets the clock start
		 * just below that: running a little from there already goes past. */
		if (p.now <= INT64_C(1) << 61)
			resave();
	} else {
		m.refused++;
		static int verbose = -1;
		if (verbose < 0)
			verbose = getenv("FUZZ_SNAPSHOT_WHY") != NULL;
		if (verbose)
			fprintf(stderr, "%s\n", why);
		if (!why[0] || strchr(why, '\n')) {
			fprintf(stderr, "fuzz_snapshot: refused without a one-line reason: \"%s\"\n", why);
			abort();
		}
		/* A refused load leaves every device reset: that must run as well. */
		pc_advance(2000000);
		pc_intr_acks(0, 4);
	}
	/* What survives a machine reset (the RTC's time and CMOS) as the next input expects it: a valid save. */
	sr_init(&in, m.devs.blob[0], m.devs.len);
	vclock_set_now(&pc.clock, m.t[0]);
	if (board_load(pc.board, &in, why, sizeof(why)) < 0) {
		fprintf(stderr, "fuzz_snapshot: the board's own save no longer loads: %s\n", why);
		abort();
	}
	board_reset(pc.board);
	block_drain(pc.disk);
	pc.reset_requested = false;
	if (r == 0)
		memcpy(pc.ram.host, m.ram_copy, RAM);
	pthread_mutex_unlock(&pc.lock);
	return 0;
}

#ifndef FUZZ_NO_MAIN
/* make check: a fixed-seed stream of random inputs (argv[1]: how many; argv[2]: another seed). */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5000;
	uint64_t s = fuzz_seed(0x9e3779b97f4a7c15ULL, 0x2545f4914f6cdd1dULL, argc, argv);
	static uint8_t buf[512];
	for (int i = 0; i < n; i++) {
		/* Few mutations most of the time (a load that gets far), many now and then. */
		size_t len = 2 + (size_t)(i * 37 % (sizeof(buf) - 2));
		for (size_t k = 0; k < len; k++) {
			fuzz_next(&s);
			buf[k] = (uint8_t)s;
		}
		if (s >> 40 & 3)
			buf[1] &= 3;
		fuzz_snapshot_one(buf, len);
	}
	printf("ok - fuzz_snapshot (%d random inputs, no crash; %u device sections loaded, %u refused; "
	       "%u CPU records loaded, %u refused; %u interrupts taken, %u NMIs, %u resets)\n",
	       n, m.loaded, m.refused, m.cpu_loaded, m.cpu_refused, pc.acks, pc.nmis, pc.resets);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_snapshot_one(data, size);
}
#endif
