/* SPDX-License-Identifier: MIT */
/*
 * Memory for the software CPU: guest-physical accesses (RAM or MMIO, with
 * code-page tracking), linear accesses through the soft TLB, segmented
 * accesses with the protected-mode checks (SDM Vol. 3A §5.3), and the stack.
 *
 * The soft TLB is this engine's shadow page table: a hit is one compare and
 * one add. Only RAM is ever cached. A write tag is given only to pages that
 * are writable for that privilege view, already dirty, and hold no decoded
 * code, so every write that must set a D bit or invalidate code takes the
 * slow path.
 *
 * Several vCPUs: each has its own TLB, but code-page tracking is shared
 * (soft_decode.c), so a vCPU that marks a page as code takes away the write
 * tags every other vCPU holds for it. Race-free with a fill that is giving
 * one out: the filler stores its entry, fences, and drops its write tag
 * again if the page is marked by then; the marker stores the mark, fences,
 * and only then looks at the other vCPUs' entries (one of the two sees the
 * other's store).
 */
#include <string.h>

#include "engine/soft/jit/jit.h"
#include "engine/soft/soft_engine.h"

/* ---- physical ---- */

static bool host_sized(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

uint64_t soft_phys_read(struct soft_cpu *cpu, uint64_t gpa, unsigned size)
{
	const uint8_t *p = ram_ptr(cpu->host->ram, gpa, size);
	uint64_t v = 0;
	if (p) {
		if (host_sized(size))
			return soft_host_load(p, size);
		memcpy(&v, p, size);
		return v;
	}
	cpu->check_unrepeatable = true;
	soft_host_mmio(cpu, gpa, &v, size, false);
	return v;
}

void soft_phys_write(struct soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t value)
{
	uint8_t *p = ram_ptr_rw(cpu->host->ram, gpa, size);
	if (p) {
		struct engine *eng = cpu->eng;
		if (__builtin_expect(cpu->jit_check != NULL, 0)) {
			uint8_t *page = p - (gpa & 0xfff);
			soft_jit_check_page(cpu, page);
			if ((gpa & 0xfff) + size > 4096)
				soft_jit_check_page(cpu, page + 4096);
		}
		if (host_sized(size))
			soft_host_store(p, size, value);
		else
			memcpy(p, &value, size);
		/* The store first, then the look at the marks (soft_decode.c); a
		 * fence between them once another vCPU may be marking. */
		if (soft_engine_multi(eng))
			soft_barrier();
		if (soft_is_code_page(eng, gpa) || soft_is_code_page(eng, gpa + size - 1))
			soft_code_written(eng, cpu, gpa, size);
		return;
	}
	/* ROM or MMIO; a write to ROM reaches no device and is dropped. */
	cpu->check_unrepeatable = true;
	soft_host_mmio(cpu, gpa, &value, size, true);
}

/* ---- TLB ---- */

static void tlb_invalidate(struct soft_cpu *cpu, unsigned v, unsigned i)
{
	struct soft_tlb_entry *e = &cpu->tlb[v][i];
	e->tag_read = e->tag_exec = SOFT_TLB_INVALID;
	soft_tlb_set_write_tag(e, SOFT_TLB_INVALID);
	cpu->tlb_phys[v][i].global = false;
}

void soft_tlb_flush_all(struct soft_cpu *cpu, bool include_global)
{
	if (__builtin_expect(cpu->jit_check != NULL, 0))
		soft_jit_check_tlb_flush(cpu);
	soft_chain_epoch_bump(cpu, include_global); /* chains followed translations that may be gone */
	for (unsigned v = 0; v < SOFT_TLB_VIEWS; v++) {
		if (include_global && !cpu->tlb_swept) { /* every entry: a new vCPU's are zeros */
			for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
				tlb_invalidate(cpu, v, i);
				cpu->tlb_phys[v][i].listed = false;
			}
			cpu->tlb_listed[v] = 0;
			continue;
		}
		if (include_global) { /* the listed entries are the only valid ones */
			for (unsigned k = 0; k < cpu->tlb_listed[v]; k++) {
				unsigned i = cpu->tlb_list[v][k];
				tlb_invalidate(cpu, v, i);
				cpu->tlb_phys[v][i].listed = false;
			}
			cpu->tlb_listed[v] = 0;
			continue;
		}
		/* Only entries filled since can be valid; global ones stay (and listed). */
		unsigned kept = 0;
		for (unsigned k = 0; k < cpu->tlb_listed[v]; k++) {
			unsigned i = cpu->tlb_list[v][k];
			if (cpu->tlb_phys[v][i].global) {
				cpu->tlb_list[v][kept++] = (uint16_t)i;
				continue;
			}
			tlb_invalidate(cpu, v, i);
			cpu->tlb_phys[v][i].listed = false;
		}
		cpu->tlb_listed[v] = kept;
	}
	cpu->tlb_swept |= include_global;
}

void soft_tlb_flush_page(struct soft_cpu *cpu, uint64_t lin)
{
	if (__builtin_expect(cpu->jit_check != NULL, 0))
		soft_jit_check_tlb_flush(cpu);
	soft_chain_epoch_bump(cpu, true);
	/* Entries cache 4 KiB pieces; a large page's other pieces may sit in other
	 * slots, so a flush of a large-page address would need them all. */
	if (cpu->tlb_has_large) {
		soft_tlb_flush_all(cpu, true);
		cpu->tlb_has_large = false;
		return;
	}
	unsigned i = (lin >> 12) & (SOFT_TLB_SIZE - 1);
	for (unsigned v = 0; v < SOFT_TLB_VIEWS; v++)
		tlb_invalidate(cpu, v, i);
}

/* A page became a code page: drop write tags that point at it (only listed
 * entries can hold one). */
void soft_tlb_drop_writes_to(struct soft_cpu *cpu, uint64_t gpa_page)
{
	for (unsigned v = 0; v < SOFT_TLB_VIEWS; v++)
		for (unsigned k = 0; k < cpu->tlb_listed[v]; k++) {
			unsigned i = cpu->tlb_list[v][k];
			if (cpu->tlb_phys[v][i].gpa == gpa_page)
				soft_tlb_set_write_tag(&cpu->tlb[v][i], SOFT_TLB_INVALID);
		}
}

bool soft_tlb_drop_writes_others(struct soft_cpu *self, uint64_t gpa_page)
{
	struct engine *eng = self->eng;
	bool dropped = false;
	pthread_rwlock_rdlock(&eng->cpus_lock);
	for (unsigned n = 0; n < ENGINE_MAX_VCPUS; n++) {
		struct soft_cpu *c = eng->cpus[n];
		if (!c || c == self)
			continue;
		for (unsigned v = 0; v < SOFT_TLB_VIEWS; v++) {
			for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
				if (__atomic_load_n(&c->tlb_phys[v][i].gpa, __ATOMIC_RELAXED) != gpa_page)
					continue;
				/* Only the tag seen: an entry refilled meanwhile is its
				 * filler's to check (it fences, then looks at the mark). */
				uint64_t tag = soft_tlb_write_tag(&c->tlb[v][i]);
				if (tag != SOFT_TLB_INVALID &&
				    __atomic_compare_exchange_n(&c->tlb[v][i].tag_write, &tag, SOFT_TLB_INVALID, false,
								__ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
					dropped = true;
			}
		}
	}
	pthread_rwlock_unlock(&eng->cpus_lock);
	return dropped;
}

static __attribute__((noreturn)) void raise_pf(struct soft_cpu *cpu, uint64_t lin, int code)
{
	cpu->s.cr2 = lin;
	soft_raise(cpu, X86_EXC_PF, (uint32_t)code & 0xffff, true);
}

/*
 * Slow path: walk, fault, and fill the entry when the page is RAM.
 * Returns the guest-physical address of lin.
 */
static uint64_t tlb_fill(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool user)
{
	struct soft_walk w;
	int code = soft_walk(cpu, lin, acc, user, &w);
	if (code)
		raise_pf(cpu, lin, code & 0xffff);
	uint64_t page = lin & SOFT_PAGE_MASK, gpa_page = w.gpa & SOFT_PAGE_MASK;
	uint8_t *host = ram_ptr(cpu->host->ram, gpa_page, 4096);
	unsigned view = soft_tlb_view(cpu, user), index = (lin >> 12) & (SOFT_TLB_SIZE - 1);
	struct soft_tlb_entry *e = &cpu->tlb[view][index];
	if (__builtin_expect(cpu->jit_check != NULL, 0))
		soft_jit_check_tlb_fill(cpu, view, index);
	if (!host) {
		/* MMIO: never cached; make sure no stale tag survives for this slot. */
		if ((e->tag_read & SOFT_PAGE_MASK) == page) {
			e->tag_read = e->tag_exec = SOFT_TLB_INVALID;
			soft_tlb_set_write_tag(e, SOFT_TLB_INVALID);
		}
		return w.gpa;
	}
	struct engine *eng = cpu->eng;
	bool rw = ram_ptr_rw(cpu->host->ram, gpa_page, 4096) != NULL;
	if (w.page_size > 4096)
		cpu->tlb_has_large = true;
	e->tag_read = w.readable ? page : SOFT_TLB_INVALID;
	e->tag_exec = w.executable ? page : SOFT_TLB_INVALID;
	uint64_t tag_write = (w.writable && w.dirty && rw && !soft_is_code_page(eng, gpa_page)) ? page
											   : SOFT_TLB_INVALID;
	if (__builtin_expect(cpu->jit_check != NULL, 0) && tag_write != SOFT_TLB_INVALID)
		soft_jit_check_page(cpu, host);
	/* SMAP: the supervisor view without AC keeps a user page for fetches only. */
	if (view == 0 && cpu->smap_ac && w.user)
		e->tag_read = tag_write = SOFT_TLB_INVALID;
	e->addend = (uintptr_t)host - (uintptr_t)page;
	soft_tlb_set_write_tag(e, tag_write);
	struct soft_tlb_phys *phys = &cpu->tlb_phys[view][index];
	if (!phys->listed)
		cpu->tlb_list[view][cpu->tlb_listed[view]++] = (uint16_t)index;
	__atomic_store_n(&phys->gpa, gpa_page, __ATOMIC_RELAXED);
	phys->global = w.global;
	phys->listed = true;
	/* The filler's half of the code-page handshake (top of the file). */
	if (tag_write != SOFT_TLB_INVALID && soft_engine_multi(eng)) {
		soft_barrier();
		if (soft_is_code_page(eng, gpa_page))
			soft_tlb_set_write_tag(e, SOFT_TLB_INVALID);
	}
	return w.gpa;
}

void soft_tlb_fill_exec(struct soft_cpu *cpu, uint64_t lin, bool user)
{
	(void)tlb_fill(cpu, lin, SOFT_ACC_EXEC, user);
}

/* Host pointer for a same-page access, or NULL after the slow path handled nothing (MMIO). */
static inline void *tlb_lookup(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool user)
{
	struct soft_tlb_entry *e = &cpu->tlb[soft_tlb_view(cpu, user)][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
	uint64_t page = lin & SOFT_PAGE_MASK;
	uint64_t tag = acc == SOFT_ACC_READ ? e->tag_read : acc == SOFT_ACC_WRITE ? soft_tlb_write_tag(e) : e->tag_exec;
	if (tag == page)
		return (void *)(uintptr_t)(lin + e->addend);
	return NULL;
}


static uint64_t lin_read_page(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool user)
{
	void *p = tlb_lookup(cpu, lin, SOFT_ACC_READ, user);
	if (p)
		return soft_host_load(p, size);
	uint64_t gpa = tlb_fill(cpu, lin, SOFT_ACC_READ, user);
	return soft_phys_read(cpu, gpa, size);
}

static void lin_write_page(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t value, bool user)
{
	void *p = tlb_lookup(cpu, lin, SOFT_ACC_WRITE, user);
	if (p) {
		soft_host_store(p, size, value);
		return;
	}
	uint64_t gpa = tlb_fill(cpu, lin, SOFT_ACC_WRITE, user);
	soft_phys_write(cpu, gpa, size, value);
}

/* Linear addresses wrap at 4 GiB outside long mode. */
static inline uint64_t lin_wrap(const struct soft_cpu *cpu, uint64_t lin)
{
	return cpu->long_mode ? lin : (lin & 0xffffffffULL);
}

void *soft_lin_write_ptr(struct soft_cpu *cpu, uint64_t lin, unsigned len, bool user, uint64_t *gpa)
{
	lin = lin_wrap(cpu, lin);
	unsigned view = soft_tlb_view(cpu, user), index = (lin >> 12) & (SOFT_TLB_SIZE - 1);
	struct soft_tlb_entry *e = &cpu->tlb[view][index];
	if (soft_tlb_write_tag(e) == (lin & SOFT_PAGE_MASK)) {
		*gpa = cpu->tlb_phys[view][index].gpa | (lin & 0xfff);
		return (void *)(uintptr_t)(lin + e->addend);
	}
	*gpa = tlb_fill(cpu, lin, SOFT_ACC_WRITE, user);
	return ram_ptr_rw(cpu->host->ram, *gpa, len);
}

uint64_t soft_lin_read(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool user)
{
	lin = lin_wrap(cpu, lin);
	if ((lin & 0xfff) + size <= 4096)
		return lin_read_page(cpu, lin, size, user);
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= lin_read_page(cpu, lin_wrap(cpu, lin + i), 1, user) << (i * 8);
	return v;
}

void soft_lin_probe_write(struct soft_cpu *cpu, uint64_t lin, unsigned len, bool user)
{
	if (len == 0)
		return;
	lin = lin_wrap(cpu, lin);
	uint64_t last = lin_wrap(cpu, lin + len - 1);
	for (uint64_t page = lin & SOFT_PAGE_MASK;; page = lin_wrap(cpu, page + 4096)) {
		if (!tlb_lookup(cpu, page, SOFT_ACC_WRITE, user)) {
			struct soft_walk w;
			int code = soft_walk(cpu, page < lin ? lin : page, SOFT_ACC_WRITE, user, &w);
			if (code)
				raise_pf(cpu, page < lin ? lin : page, code & 0xffff);
		}
		if (page == (last & SOFT_PAGE_MASK))
			break;
	}
}

void soft_lin_write(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t value, bool user)
{
	lin = lin_wrap(cpu, lin);
	if ((lin & 0xfff) + size <= 4096) {
		lin_write_page(cpu, lin, size, value, user);
		return;
	}
	/* Both pages must be writable before any byte is written. */
	soft_lin_probe_write(cpu, lin, size, user);
	for (unsigned i = 0; i < size; i++)
		lin_write_page(cpu, lin_wrap(cpu, lin + i), 1, value >> (i * 8), user);
}

void soft_lin_read_bytes(struct soft_cpu *cpu, uint64_t lin, void *buf, unsigned len, bool user)
{
	uint8_t *b = buf;
	for (unsigned i = 0; i < len; i++)
		b[i] = (uint8_t)soft_lin_read(cpu, lin + i, 1, user);
}

void soft_lin_write_bytes(struct soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len, bool user)
{
	const uint8_t *b = buf;
	soft_lin_probe_write(cpu, lin, len, user);
	for (unsigned i = 0; i < len; i++)
		soft_lin_write(cpu, lin + i, 1, b[i], user);
}

/* ---- segments ---- */


static __attribute__((noreturn)) void seg_fault(struct soft_cpu *cpu, int sreg)
{
	if (sreg == X86_SS)
		soft_raise_ss(cpu, 0);
	soft_raise_gp(cpu, 0);
}

/* The type checks of a protected-mode access (not the limit). */
static bool seg_allows(const struct soft_cpu *cpu, const struct x86_segment *g, enum soft_access acc)
{
	if (!(cpu->s.cr0 & CR0_PE) || (cpu->s.rflags & RFLAGS_VM))
		return true;
	if (g->attr & SEG_ATTR_UNUSABLE)
		return false;
	if (!(g->attr & SEG_ATTR_S))
		return true;
	uint32_t type = g->attr & SEG_ATTR_TYPE;
	bool code = type & SEG_TYPE_CODE;
	if (acc == SOFT_ACC_WRITE)
		return !code && (type & SEG_TYPE_DATA_RW);
	if (acc == SOFT_ACC_READ)
		return !code || (type & SEG_TYPE_CODE_R);
	return true;
}

static bool seg_expands_down(const struct soft_cpu *cpu, const struct x86_segment *g)
{
	return (cpu->s.cr0 & CR0_PE) && (g->attr & SEG_ATTR_S) && !(g->attr & SEG_TYPE_CODE) && (g->attr & 0x4);
}

/* A segment is flat for an access kind when that access needs no check
 * beyond "the last byte is below 4 GiB": it allows the access, expands up
 * to a 4 GiB limit, and has base 0 (FS and GS may have any base: their
 * users add it). Outside 64-bit mode the fast paths then treat the offset
 * (plus the FS/GS base) as the linear address, and anything at or past
 * 4 GiB misses the TLB. */
void soft_seg_flat_update(struct soft_cpu *cpu)
{
	uint8_t read = 0, write = 0;
	for (int r = 0; r < X86_NR_SREGS; r++) {
		const struct x86_segment *g = &cpu->s.seg[r];
		if (g->limit != 0xffffffffu || seg_expands_down(cpu, g) || (g->base && r != X86_FS && r != X86_GS))
			continue;
		read |= (uint8_t)(seg_allows(cpu, g, SOFT_ACC_READ) << r);
		write |= (uint8_t)(seg_allows(cpu, g, SOFT_ACC_WRITE) << r);
	}
	if (cpu->s.seg[X86_SS].attr & SEG_ATTR_DB) {
		read |= (uint8_t)((read >> X86_SS & 1) << SOFT_FLAT_SS32);
		write |= (uint8_t)((write >> X86_SS & 1) << SOFT_FLAT_SS32);
	}
	cpu->seg_flat[0] = read;
	cpu->seg_flat[1] = write;
}

uint64_t soft_seg_linear(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned len, enum soft_access acc)
{
	const struct x86_segment *g = &cpu->s.seg[sreg];
	if (soft_in_64bit_mode(cpu)) {
		uint64_t lin = offset + ((sreg == X86_FS || sreg == X86_GS) ? g->base : 0);
		if (!soft_is_canonical(lin) || !soft_is_canonical(lin + len - 1))
			seg_fault(cpu, sreg);
		return lin;
	}
	if (!seg_allows(cpu, g, acc))
		seg_fault(cpu, sreg);
	/* Limits apply in every non-64-bit mode, real mode included (offsets past
	 * 0xFFFF fault there unless firmware left a bigger limit: unreal mode). */
	uint64_t last = offset + len - 1;
	if (seg_expands_down(cpu, g)) {
		uint64_t upper = (g->attr & SEG_ATTR_DB) ? 0xffffffffULL : 0xffffULL;
		if (offset <= g->limit || last > upper)
			seg_fault(cpu, sreg);
	} else if (last > g->limit || last < offset) {
		seg_fault(cpu, sreg);
	}
	return (g->base + offset) & 0xffffffffULL;
}

static inline bool user_access(const struct soft_cpu *cpu)
{
	return cpu->cpl == 3;
}

uint64_t soft_seg_read(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	void *p = soft_fast_ptr(cpu, sreg, offset, size, SOFT_ACC_READ);
	if (p)
		return soft_host_load(p, size);
	uint64_t lin = soft_seg_linear(cpu, sreg, offset, size, SOFT_ACC_READ);
	uint64_t v;
	if (__builtin_expect(cpu->lk.active, 0) && soft_atomic_read(cpu, lin, size, &v))
		return v;
	v = soft_lin_read(cpu, lin, size, user_access(cpu));
	if (cpu->watch_active)
		soft_debug_watch(cpu, lin, size, false);
	return v;
}

uint64_t soft_seg_read_rmw(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	void *p = soft_fast_ptr(cpu, sreg, offset, size, SOFT_ACC_WRITE);
	if (p)
		return soft_host_load(p, size);
	uint64_t lin = soft_seg_linear(cpu, sreg, offset, size, SOFT_ACC_WRITE);
	soft_lin_probe_write(cpu, lin, size, user_access(cpu));
	return soft_seg_read(cpu, sreg, offset, size);
}

void soft_seg_write(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size, uint64_t value)
{
	void *p = soft_fast_ptr(cpu, sreg, offset, size, SOFT_ACC_WRITE);
	if (p) {
		soft_host_store(p, size, value);
		return;
	}
	uint64_t lin = soft_seg_linear(cpu, sreg, offset, size, SOFT_ACC_WRITE);
	if (__builtin_expect(cpu->lk.active, 0) && soft_atomic_write(cpu, lin, size, value))
		return;
	soft_lin_write(cpu, lin, size, value, user_access(cpu));
	if (cpu->watch_active)
		soft_debug_watch(cpu, lin, size, true);
}

/* ---- stack ---- */

unsigned soft_stack_size(const struct soft_cpu *cpu)
{
	if (soft_in_64bit_mode(cpu))
		return 8;
	return (cpu->s.seg[X86_SS].attr & SEG_ATTR_DB) ? 4 : 2;
}

void soft_push(struct soft_cpu *cpu, unsigned size, uint64_t value)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t mask = soft_size_mask(ss);
	uint64_t sp = (cpu->s.gpr[X86_RSP] - size) & mask;
	soft_mem_write(cpu, X86_SS, sp, size, value);
	cpu->s.gpr[X86_RSP] = (cpu->s.gpr[X86_RSP] & ~mask) | sp;
}

uint64_t soft_pop(struct soft_cpu *cpu, unsigned size)
{
	unsigned ss = soft_stack_size(cpu);
	uint64_t mask = soft_size_mask(ss);
	uint64_t sp = cpu->s.gpr[X86_RSP] & mask;
	uint64_t v = soft_mem_read(cpu, X86_SS, sp, size);
	cpu->s.gpr[X86_RSP] = (cpu->s.gpr[X86_RSP] & ~mask) | ((sp + size) & mask);
	return v;
}
