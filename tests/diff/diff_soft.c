/* SPDX-License-Identifier: MIT */
/*
 * Runs a differential case on the whole soft engine, through the engine
 * interface only (soft_engine_ops), as the VMM does: guest RAM holds the
 * window, set_state loads registers for the mode, run() goes until the HLT
 * after the instruction, get_state reads the result back.
 *
 * One engine per mode lives for the whole run. Code is written with
 * ram_write, whose hook tells the engine to drop blocks it decoded from the
 * previous case's bytes — the same path a loader's writes take.
 *
 * No IDT is set up (limit 0), so any exception ends in a triple fault
 * (VCPU_EXIT_SHUTDOWN): that, or running into the instruction limit, is
 * reported as a fault, which the oracles report for theirs.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/x86_state.h"
#include "engine/engine.h"
#include "engine/soft/soft_engine.h"
#include "mem/guest_ram.h"
#include "diff.h"

#define DIFF_RAM (8 * MiB)
#define PML4_GPA 0x100000ull
/* REP counts are below 8: more than this many instructions is a runaway. */
#define DIFF_INSN_LIMIT 200
/* A fresh engine every this many cases. Rewriting the same code page makes
 * the block cache keep every stale block on the page's hash chain until its
 * arena fills, so lookups slow down linearly with the rewrites (reported as
 * an engine performance bug); a new engine starts with an empty cache. */
#define DIFF_ENGINE_CASES 256

struct diff_soft {
	enum diff_mode mode;
	bool translator;
	struct guest_ram ram;
	struct engine *eng;
	struct vcpu *vcpu;
	unsigned runs;
};

static void nop_pio(void *opaque, uint16_t port, void *data, unsigned size, bool is_write)
{
	(void)opaque, (void)port;
	if (!is_write)
		memset(data, 0xff, size);
}

static void nop_mmio(void *opaque, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	(void)opaque, (void)gpa;
	if (!is_write)
		memset(data, 0xff, size);
}

static int no_intr(void *opaque, unsigned cpu)
{
	(void)opaque, (void)cpu;
	return -1;
}

/* Long mode needs paging: identity-map the first GiB with 2 MiB pages. */
static int build_page_tables(struct guest_ram *ram)
{
	uint64_t pml4e = (PML4_GPA + 0x1000) | 7, pdpte = (PML4_GPA + 0x2000) | 7;
	if (ram_write(ram, PML4_GPA, &pml4e, 8) < 0 || ram_write(ram, PML4_GPA + 0x1000, &pdpte, 8) < 0)
		return -1;
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t pde = (i << 21) | 0x87;
		if (ram_write(ram, PML4_GPA + 0x2000 + i * 8, &pde, 8) < 0)
			return -1;
	}
	return 0;
}

static int start_engine(struct diff_soft *d)
{
	struct engine_host host = { .ram = &d->ram, .pio = nop_pio, .mmio = nop_mmio, .intr_ack = no_intr };
	host.soft.interp_only = !d->translator;
	host.soft.jit_threshold = 1;
	host.soft.jit_cache_size = 4 * MiB;
	char why[256];
	if (soft_engine_ops.create(&host, &d->eng, why, sizeof(why)) < 0)
		return -1;
	if (soft_engine_ops.vcpu_create(d->eng, 0, &d->vcpu, why, sizeof(why)) < 0) {
		soft_engine_ops.destroy(d->eng);
		return -1;
	}
	return 0;
}

static void stop_engine(struct diff_soft *d)
{
	soft_engine_ops.vcpu_destroy(d->vcpu);
	soft_engine_ops.destroy(d->eng);
}

struct diff_soft *diff_soft_new(enum diff_mode m, bool translator)
{
	struct diff_soft *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->mode = m;
	d->translator = translator;
	if (ram_init(&d->ram, DIFF_RAM) < 0) {
		free(d);
		return NULL;
	}
	if (build_page_tables(&d->ram) < 0 || start_engine(d) < 0) {
		ram_destroy(&d->ram);
		free(d);
		return NULL;
	}
	return d;
}

void diff_soft_free(struct diff_soft *d)
{
	if (!d)
		return;
	stop_engine(d);
	ram_destroy(&d->ram);
	free(d);
}

static void mode_state(struct x86_cpu_state *s, enum diff_mode m)
{
	uint32_t code = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_CODE | SEG_TYPE_CODE_R | SEG_TYPE_ACCESSED;
	uint32_t data = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED;
	x86_state_reset(s);
	s->idtr = (struct x86_dtable){ 0, 0 }; /* every exception escalates to shutdown */
	switch (m) {
	case DIFF_REAL16: {
		uint64_t base = diff_base(m);
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = (struct x86_segment){ (uint16_t)(base >> 4), base, 0xffff, i == X86_CS ? code : data };
		break;
	}
	case DIFF_PROT32:
		s->cr0 = CR0_PE | CR0_ET;
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = (struct x86_segment){ 0x10, 0, 0xffffffff, data | SEG_ATTR_DB | SEG_ATTR_G };
		s->seg[X86_CS] = (struct x86_segment){ 0x08, 0, 0xffffffff, code | SEG_ATTR_DB | SEG_ATTR_G };
		break;
	default:
		s->cr0 = CR0_PE | CR0_ET | CR0_PG;
		s->cr4 = CR4_PAE | CR4_OSFXSR;
		s->cr3 = PML4_GPA;
		s->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = (struct x86_segment){ 0x10, 0, 0xffffffff, data | SEG_ATTR_DB | SEG_ATTR_G };
		s->seg[X86_CS] = (struct x86_segment){ 0x08, 0, 0xffffffff, code | SEG_ATTR_L | SEG_ATTR_G };
		break;
	}
}

int diff_soft_run(struct diff_soft *d, const struct diff_case *c, struct diff_state *out)
{
	uint64_t base = diff_base(d->mode);
	if (++d->runs % DIFF_ENGINE_CASES == 0) {
		stop_engine(d);
		if (start_engine(d) < 0)
			return -1;
	}
	uint8_t page[DIFF_MEM_OFF];
	memset(page, 0xf4, sizeof(page));
	memcpy(page + DIFF_INSN_OFF, c->code, c->code_len);
	if (ram_write(&d->ram, base, page, sizeof(page)) < 0 ||
	    ram_write(&d->ram, base + DIFF_MEM_OFF, c->in.mem, DIFF_MEM_LEN) < 0)
		return -1;

	struct x86_cpu_state s;
	mode_state(&s, d->mode);
	memcpy(s.gpr, c->in.gpr, sizeof(s.gpr));
	s.rip = c->in.rip;
	s.rflags = c->in.rflags;
	if (soft_engine_ops.set_state(d->vcpu, &s) < 0)
		return -1;
	soft_vcpu_set_insn_limit(d->vcpu, DIFF_INSN_LIMIT);
	struct vcpu_exit ex;
	if (soft_engine_ops.run(d->vcpu, &ex) < 0 || soft_engine_ops.get_state(d->vcpu, &s) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->fault = ex.reason != VCPU_EXIT_HALT;
	memcpy(out->gpr, s.gpr, sizeof(out->gpr));
	out->rip = s.rip;
	out->rflags = s.rflags;
	if (ram_read(&d->ram, base + DIFF_MEM_OFF, out->mem, DIFF_MEM_LEN) < 0)
		return -1;
	return 0;
}
