/* SPDX-License-Identifier: MIT */
/*
 * The lockstep checker (--jit-check N): the first N translated block runs
 * are each run twice from the same state, as translated code and then by the
 * interpreter, and the two results must be the same: every field of the
 * architectural state, the instruction count, the bytes of every page
 * either run wrote, and the fault (vector, error code, state) if one
 * faulted. The interpreter's result is kept.
 *
 * Memory is rolled back between the runs with page images: write tags are
 * dropped before the first run, so every page gets one (tlb_fill) or is
 * written through soft_phys_write only after soft_jit_check_page has saved
 * it. A run with effects outside the CPU and RAM (port or MMIO access, a
 * host MSR, the TSC, a write to a page holding decoded code) cannot be
 * repeated: its block is counted as skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/soft/jit/jit.h"

#define CHECK_PAGES 64
#define CHECK_TLB_FILLS 64

struct check_page {
	uint8_t *host;
	uint8_t pre[4096], post[4096]; /* before both runs; after the translated one */
};

struct check_result {
	struct x86_cpu_state s;
	uint64_t insn_count, insn_rip;
	bool halted, shutdown;
	int delivering_vector;
	uint32_t db_pending;
	bool faulted;
	int vector;
	uint32_t error;
};

/* A TLB entry as it was before the translated run filled it. */
struct check_tlb_fill {
	unsigned view, index;
	struct soft_tlb_entry e;
	struct soft_tlb_phys phys;
};

struct jit_check {
	uint64_t left, checked, skipped;
	int phase; /* 0: not checking; 1: translated run; 2: interpreter run */
	bool too_many_pages;
	unsigned npages;
	struct check_page pages[CHECK_PAGES];
	struct check_tlb_fill tlb_fills[CHECK_TLB_FILLS];
	unsigned ntlb_fills;
	bool tlb_lost; /* the translated run flushed, or filled more than tlb_fills holds */
	struct check_result before, first, second;
	void *outer[5]; /* the loop's unwind buffer */
};

int soft_jit_check_init(struct soft_cpu *cpu, uint64_t blocks)
{
	if (!blocks)
		return 0;
	struct jit_check *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->left = blocks;
	cpu->jit_check = c;
	return 0;
}

void soft_jit_check_destroy(struct soft_cpu *cpu)
{
	free(cpu->jit_check);
	cpu->jit_check = NULL;
}

bool soft_jit_checking(const struct soft_cpu *cpu)
{
	return cpu->jit_check && cpu->jit_check->left;
}

void soft_jit_check_page(struct soft_cpu *cpu, void *host_page)
{
	struct jit_check *c = cpu->jit_check;
	if (!c->phase)
		return;
	for (unsigned i = 0; i < c->npages; i++)
		if (c->pages[i].host == host_page)
			return;
	if (c->npages == CHECK_PAGES) {
		c->too_many_pages = true;
		cpu->check_unrepeatable = true;
		return;
	}
	struct check_page *p = &c->pages[c->npages++];
	p->host = host_page;
	memcpy(p->pre, host_page, 4096);
	/* first written by the interpreter: the translated run left it as it was */
	if (c->phase == 2)
		memcpy(p->post, host_page, 4096);
}

void soft_jit_check_tlb_fill(struct soft_cpu *cpu, unsigned view, unsigned index)
{
	struct jit_check *c = cpu->jit_check;
	if (c->phase != 1)
		return;
	if (c->ntlb_fills == CHECK_TLB_FILLS) {
		c->tlb_lost = true;
		return;
	}
	c->tlb_fills[c->ntlb_fills++] =
		(struct check_tlb_fill){ view, index, cpu->tlb[view][index], cpu->tlb_phys[view][index] };
}

void soft_jit_check_tlb_flush(struct soft_cpu *cpu)
{
	if (cpu->jit_check->phase == 1)
		cpu->jit_check->tlb_lost = true;
}

/* Puts back the entries the translated run filled, latest first (a fill of
 * an entry not listed had appended it to its view's list). */
static void tlb_put_back(struct soft_cpu *cpu, struct jit_check *c)
{
	for (unsigned k = c->ntlb_fills; k-- > 0;) {
		const struct check_tlb_fill *f = &c->tlb_fills[k];
		if (!f->phys.listed && cpu->tlb_phys[f->view][f->index].listed)
			cpu->tlb_listed[f->view]--;
		cpu->tlb[f->view][f->index] = f->e;
		cpu->tlb_phys[f->view][f->index] = f->phys;
	}
}

static void capture(const struct soft_cpu *cpu, struct check_result *r, bool faulted)
{
	r->s = cpu->s;
	r->insn_count = cpu->insn_count;
	r->insn_rip = cpu->insn_rip;
	r->halted = cpu->halted;
	r->shutdown = cpu->shutdown;
	r->delivering_vector = cpu->delivering_vector;
	r->db_pending = cpu->db_pending;
	r->faulted = faulted;
	r->vector = faulted ? cpu->raised_vector : -1;
	r->error = faulted ? cpu->raised_error : 0;
}

static void restore(struct soft_cpu *cpu, const struct check_result *r)
{
	cpu->s = r->s;
	cpu->insn_count = r->insn_count;
	cpu->insn_rip = r->insn_rip;
	cpu->halted = r->halted;
	cpu->shutdown = r->shutdown;
	cpu->delivering_vector = r->delivering_vector;
	cpu->db_pending = r->db_pending;
	/* what the first run's mode changes derived from the state */
	soft_cpu_mode_changed(cpu);
	soft_dr_changed(cpu);
}

static void drop_write_tags(struct soft_cpu *cpu)
{
	for (unsigned v = 0; v < SOFT_TLB_VIEWS; v++) /* only listed entries can hold one (soft_cpu.h) */
		for (unsigned k = 0; k < cpu->tlb_listed[v]; k++)
			soft_tlb_set_write_tag(&cpu->tlb[v][cpu->tlb_list[v][k]], SOFT_TLB_INVALID);
}

static bool same_seg(const struct x86_segment *a, const struct x86_segment *b)
{
	return a->selector == b->selector && a->base == b->base && a->limit == b->limit && a->attr == b->attr;
}

/* The part of the state beyond GPRs, RIP and RFLAGS that differs, or NULL.
 * Field by field: structure padding is not state. */
static const char *other_state_differs(const struct x86_cpu_state *a, const struct x86_cpu_state *b)
{
	for (unsigned i = 0; i < X86_NR_SREGS; i++)
		if (!same_seg(&a->seg[i], &b->seg[i]))
			return "a segment register";
	if (!same_seg(&a->ldtr, &b->ldtr) || !same_seg(&a->tr, &b->tr) || a->gdtr.base != b->gdtr.base ||
	    a->gdtr.limit != b->gdtr.limit || a->idtr.base != b->idtr.base || a->idtr.limit != b->idtr.limit)
		return "LDTR, TR, GDTR or IDTR";
	if (a->cr0 != b->cr0 || a->cr2 != b->cr2 || a->cr3 != b->cr3 || a->cr4 != b->cr4 || a->cr8 != b->cr8 ||
	    a->efer != b->efer || a->apic_base != b->apic_base)
		return "a control register or EFER";
	if (memcmp(a->dr, b->dr, sizeof(a->dr)) || a->dr6 != b->dr6 || a->dr7 != b->dr7)
		return "a debug register";
	if (memcmp(&a->msr, &b->msr, sizeof(a->msr)))
		return "an MSR";
	const struct x86_fpu_state *f = &a->fpu, *g = &b->fpu;
	if (f->fcw != g->fcw || f->fsw != g->fsw || f->ftw != g->ftw || f->fop != g->fop || f->fip != g->fip ||
	    f->fdp != g->fdp || f->mxcsr != g->mxcsr || f->xcr0 != g->xcr0 || f->pkru != g->pkru ||
	    memcmp(f->xmm, g->xmm, sizeof(f->xmm)))
		return "x87/SSE control or an XMM register";
	for (unsigned i = 0; i < 8; i++)
		if (memcmp(f->st[i], g->st[i], 10))
			return "an x87 register";
	const struct x86_events *e = &a->events, *h = &b->events;
	if (e->interrupt_shadow != h->interrupt_shadow || e->nmi_pending != h->nmi_pending ||
	    e->nmi_masked != h->nmi_masked || e->halted != h->halted)
		return "pending events";
	return NULL;
}

/* The first difference between the two results, or NULL. */
static const char *difference(struct jit_check *c, char *buf, size_t len)
{
	const struct check_result *a = &c->first, *b = &c->second;
	if (a->faulted != b->faulted || a->vector != b->vector || a->error != b->error) {
		snprintf(buf, len, "translated: %s %d (error %#x), interpreter: %s %d (error %#x)",
			 a->faulted ? "fault" : "no fault", a->vector, a->error, b->faulted ? "fault" : "no fault",
			 b->vector, b->error);
		return buf;
	}
	for (unsigned i = 0; i < 16; i++)
		if (a->s.gpr[i] != b->s.gpr[i]) {
			snprintf(buf, len, "r%u: translated %#llx, interpreter %#llx", i,
				 (unsigned long long)a->s.gpr[i], (unsigned long long)b->s.gpr[i]);
			return buf;
		}
	if (a->s.rip != b->s.rip || a->s.rflags != b->s.rflags) {
		snprintf(buf, len, "rip/rflags: translated %#llx/%#llx, interpreter %#llx/%#llx",
			 (unsigned long long)a->s.rip, (unsigned long long)a->s.rflags, (unsigned long long)b->s.rip,
			 (unsigned long long)b->s.rflags);
		return buf;
	}
	if (a->halted != b->halted || a->shutdown != b->shutdown) {
		snprintf(buf, len, "halted/shutdown: translated %d/%d, interpreter %d/%d", a->halted, a->shutdown,
			 b->halted, b->shutdown);
		return buf;
	}
	if (a->insn_count != b->insn_count) {
		snprintf(buf, len, "instruction count: translated %llu, interpreter %llu",
			 (unsigned long long)a->insn_count, (unsigned long long)b->insn_count);
		return buf;
	}
	const char *what = other_state_differs(&a->s, &b->s);
	if (what) {
		snprintf(buf, len, "%s", what);
		return buf;
	}
	for (unsigned i = 0; i < c->npages; i++) {
		const struct check_page *p = &c->pages[i];
		if (!memcmp(p->post, p->host, 4096))
			continue;
		for (unsigned k = 0; k < 4096; k++)
			if (p->post[k] != p->host[k]) {
				snprintf(buf, len, "memory at host %p: translated %02x, interpreter %02x",
					 (void *)(p->host + k), p->post[k], p->host[k]);
				return buf;
			}
	}
	return NULL;
}

/* Whether cpu->seg_flat says something the segments no longer do (a
 * segment write that missed soft_seg_flat_update): recomputed, compared. */
static bool seg_flat_stale(struct soft_cpu *cpu)
{
	uint8_t was[2] = { cpu->seg_flat[0], cpu->seg_flat[1] };
	soft_seg_flat_update(cpu);
	return was[0] != cpu->seg_flat[0] || was[1] != cpu->seg_flat[1];
}

/* Runs one phase under its own unwind buffer: true when it faulted. */
static bool run_phase(struct soft_cpu *cpu, struct soft_block *b, const void *code)
{
	struct jit_check *c = cpu->jit_check;
	if (__builtin_setjmp(cpu->unwind)) {
		soft_atomic_abort(cpu);
		soft_jit_fault_fixup(cpu);
		return true;
	}
	cpu->interrupt_shadow = false;
	cpu->end_block = false;
	if (c->phase == 1) {
		((jit_block_fn *)code)(cpu);
		cpu->jit_fault_uncount = 0;
	} else {
		/* As many instructions as the translated run got through: it may
		 * end a block early (after CLAC, STAC, POPF) where the interpreter
		 * goes on, and both are right. A fault stops both where it is. */
		uint64_t ran = c->first.insn_count - c->before.insn_count;
		unsigned n = c->first.faulted || ran > b->count || ran == 0 ? b->count : (unsigned)ran;
		soft_run_block(cpu, b->insns, n);
	}
	return false;
}

void soft_jit_check_block(struct soft_cpu *cpu, struct soft_block *b, const void *code)
{
	struct jit_check *c = cpu->jit_check;
	c->left--;
	/* With other vCPUs, both runs are made while they stand still: their
	 * stores would otherwise land between the runs, and putting pages back
	 * would undo them. */
	bool excl = soft_engine_multi(cpu->eng) && !cpu->excl_held;
	if (excl)
		soft_exclusive_begin(cpu);
	memcpy(c->outer, cpu->unwind, sizeof(c->outer));
	c->npages = 0;
	c->too_many_pages = false;
	c->ntlb_fills = 0;
	c->tlb_lost = false;
	cpu->check_unrepeatable = false;
	capture(cpu, &c->before, false);
	drop_write_tags(cpu);
	/* An instruction limit already reached makes translated loops and
	 * links leave at once: each run is exactly one pass through the block. */
	uint64_t limit = cpu->insn_limit;
	cpu->insn_limit = 0;
	c->phase = 1;
	bool stale = seg_flat_stale(cpu);
	uint64_t walks = cpu->walks;
	bool faulted = run_phase(cpu, b, code);
	stale |= seg_flat_stale(cpu);
	capture(cpu, &c->first, faulted);
	if (cpu->check_unrepeatable) {
		c->skipped++;
	} else {
		for (unsigned i = 0; i < c->npages; i++) {
			memcpy(c->pages[i].post, c->pages[i].host, 4096);
			memcpy(c->pages[i].host, c->pages[i].pre, 4096);
		}
		restore(cpu, &c->before);
		uint64_t interp_insns = cpu->interp_insns;
		/* The second run starts from the TLB the first started from, with
		 * the entries the first filled put back as they were: each walks
		 * where the other did (and sets the same accessed bits in the
		 * restored tables), and an entry the guest left stale (tables
		 * rewritten, no INVLPG) serves both. Where the first run flushed
		 * or filled too much for that, the second walks everything anew. */
		if (!c->tlb_lost)
			tlb_put_back(cpu, c);
		else if (cpu->walks != walks)
			soft_tlb_flush_all(cpu, true);
		c->phase = 2;
		faulted = run_phase(cpu, b, code);
		cpu->interp_insns = interp_insns; /* counted as translated, like the run it stands for */
		capture(cpu, &c->second, faulted);
		char buf[200];
		const char *why = stale ? "the flat-segment bits are stale" : difference(c, buf, sizeof(buf));
		if (why && !cpu->jit_check_failed[0])
			snprintf(cpu->jit_check_failed, sizeof(cpu->jit_check_failed),
				 "--jit-check: block at %#llx (gpa %#llx) differs: %s",
				 (unsigned long long)c->before.s.rip, (unsigned long long)b->gpa, why);
		c->checked++;
	}
	c->phase = 0;
	cpu->insn_limit = limit;
	memcpy(cpu->unwind, c->outer, sizeof(c->outer));
	if (excl)
		soft_exclusive_end(cpu);
	if (faulted)
		__builtin_longjmp(cpu->unwind, 1); /* the loop delivers it */
}

void soft_jit_check_stats(const struct soft_cpu *cpu, char *buf, size_t len)
{
	const struct jit_check *c = cpu->jit_check;
	if (!c) {
		buf[0] = 0;
		return;
	}
	snprintf(buf, len, "; lockstep check: %llu blocks compared, %llu with outside effects not repeated",
		 (unsigned long long)c->checked, (unsigned long long)c->skipped);
}
