/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: arbitrary instruction bytes in every CPU mode on the soft
 * engine. The guest may do anything (fault, triple-fault, halt, write to its
 * own code, poke ports); x86v must never crash, hang or read outside guest
 * memory. The first input byte picks the mode and tier; the rest is code
 * placed at the entry point (and the register seed), with the same bytes also
 * filling the GDT and the IDT so descriptor loads and event delivery see
 * garbage too. HLT fills the rest of the code page, and every real-mode
 * interrupt vector points at HLT: code that runs off its end or takes an
 * interrupt in real mode stops there rather than spending the instruction
 * budget on the zeros of empty RAM (ADD [BX+SI],AL, over and over).
 *
 * Built two ways: as a libFuzzer target (clang -fsanitize=fuzzer, see
 * docs/testing.md) and, in make check, linked with fuzz_driver.c, which feeds
 * a bounded number of pseudo-random inputs.
 *
 * Fast: one engine and vCPU per tier live across inputs. Each input gets
 * zeroed RAM (the memfd's pages punched out, so only what the last input
 * touched costs anything), the engine is told that every page changed (as
 * for DMA: decoded and translated code goes), and set_state starts the CPU
 * afresh (TLB flushed, halt and shutdown cleared).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/trace.h"
#include "cpu/x86_state.h"
#include "engine/engine.h"
#include "engine/soft/soft_engine.h"
#include "fuzz_soft.h"

#define FUZZ_RAM (8 * MiB)
#define CODE_GPA 0x100000ULL
#define TABLES_GPA 0x1000ULL /* GDT at 0x1000, IDT at 0x2000 */
#define REAL_HLT_GPA 0x400ULL /* up to TABLES_GPA: where the real-mode vectors point */
#define HLT 0xf4
#define PML4_GPA 0x10000ULL
#define FUZZ_INSNS 1000
#define FUZZ_STRING_BATCH 16

static void fuzz_pio(void *opaque, uint16_t port, void *data, unsigned size, bool is_write)
{
	(void)opaque;
	(void)port;
	if (!is_write)
		memset(data, 0xff, size);
}

static void fuzz_mmio(void *opaque, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	(void)opaque;
	(void)gpa;
	if (!is_write)
		memset(data, 0xff, size);
}

static int fuzz_intr_ack(void *opaque, unsigned cpu)
{
	(void)opaque;
	(void)cpu;
	return -1;
}

static struct x86_segment seg(uint16_t sel, uint32_t attr)
{
	return (struct x86_segment){ .selector = sel, .base = 0, .limit = 0xffffffff, .attr = attr };
}

/* Identity map of the first GiB with 2 MiB pages for long mode. */
static void build_page_tables(struct guest_ram *ram)
{
	uint64_t pml4e = (PML4_GPA + 0x1000) | 7, pdpte = (PML4_GPA + 0x2000) | 7;
	if (ram_write(ram, PML4_GPA, &pml4e, 8) < 0 || ram_write(ram, PML4_GPA + 0x1000, &pdpte, 8) < 0)
		abort();
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t pde = (i << 21) | 0x87;
		if (ram_write(ram, PML4_GPA + 0x2000 + i * 8, &pde, 8) < 0)
			abort();
	}
}

static void initial_state(struct x86_cpu_state *s, unsigned mode, const uint8_t *seed, size_t seed_len)
{
	uint32_t code = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_CODE | SEG_TYPE_CODE_R | SEG_TYPE_ACCESSED;
	uint32_t data = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED;
	x86_state_reset(s);
	for (int i = 0; i < X86_NR_GPRS; i++) {
		uint64_t v = 0;
		memcpy(&v, seed + (i * 8) % (seed_len > 8 ? seed_len - 8 : 1), seed_len >= 8 ? 8 : seed_len);
		s->gpr[i] = v;
	}
	s->gpr[X86_RSP] = 0x80000;
	s->gdtr = (struct x86_dtable){ TABLES_GPA, 0xfff };
	s->idtr = (struct x86_dtable){ TABLES_GPA + 0x1000, 0xfff };
	switch (mode) {
	case 0: /* real mode */
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = (struct x86_segment){ 0, 0, 0xffff, i == X86_CS ? code : data };
		s->seg[X86_CS].selector = (uint16_t)(CODE_GPA >> 4);
		s->seg[X86_CS].base = CODE_GPA;
		s->rip = 0;
		s->idtr = (struct x86_dtable){ 0, 0x3ff };
		break;
	case 1: /* 16-bit protected mode */
	case 2: /* 32-bit protected mode */
		s->cr0 = CR0_PE | CR0_ET;
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = seg(0x10, data | SEG_ATTR_DB | SEG_ATTR_G);
		s->seg[X86_CS] = seg(0x08, code | (mode == 2 ? SEG_ATTR_DB : 0) | SEG_ATTR_G);
		s->rip = CODE_GPA;
		if (mode == 1) { /* IP wraps at 64 KiB: the code segment starts at the code */
			s->seg[X86_CS].base = CODE_GPA;
			s->rip = 0;
		}
		break;
	case 3: /* virtual-8086 mode */
		s->cr0 = CR0_PE | CR0_ET;
		s->rflags |= RFLAGS_VM | (3ULL << 12);
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = (struct x86_segment){ 0, 0, 0xffff, data | (3u << SEG_ATTR_DPL_SHIFT) };
		s->seg[X86_CS] = (struct x86_segment){ (uint16_t)(CODE_GPA >> 4), CODE_GPA, 0xffff,
						       code | (3u << SEG_ATTR_DPL_SHIFT) };
		s->rip = 0;
		break;
	default: /* 64-bit mode, paging on */
		s->cr0 = CR0_PE | CR0_ET | CR0_PG;
		s->cr4 = CR4_PAE;
		s->cr3 = PML4_GPA;
		s->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = seg(0x10, data | SEG_ATTR_DB | SEG_ATTR_G);
		s->seg[X86_CS] = seg(0x08, code | SEG_ATTR_L | SEG_ATTR_G);
		s->rip = CODE_GPA;
		s->idtr.limit = 0xfff;
		break;
	}
}

/* One machine per tier: [0] translated, each block also run by the
 * interpreter from the same state (the lockstep checker: a difference is a
 * bug); [1] the interpreter alone. Each has its own RAM, as the engine hooks
 * its RAM's write notifications. */
static struct tier {
	struct guest_ram ram;
	struct engine *eng;
	struct vcpu *vcpu;
} tiers[2];

static struct tier *tier(bool interp_only)
{
	struct tier *t = &tiers[interp_only];
	if (t->vcpu)
		return t;
	char why[256];
	if (ram_init(&t->ram, FUZZ_RAM) < 0)
		abort();
	struct engine_host host = { .ram = &t->ram, .pio = fuzz_pio, .mmio = fuzz_mmio, .intr_ack = fuzz_intr_ack };
	host.soft.interp_only = interp_only;
	host.soft.jit_threshold = 1;
	host.soft.jit_cache_size = 1u << 20;
	host.soft.jit_check = UINT64_MAX / 2; /* every translated block, for good */
	if (soft_engine_ops.create(&host, &t->eng, why, sizeof(why)) < 0 ||
	    soft_engine_ops.vcpu_create(t->eng, 0, &t->vcpu, why, sizeof(why)) < 0)
		abort();
	/* The instruction limit bounds an input's work only if a REP string
	 * instruction counts once per few elements (a huge rCX is one mov away). */
	soft_vcpu_set_string_batch(t->vcpu, FUZZ_STRING_BATCH);
	/* X86V_FUZZ_TRACE=FILE (- for stdout): every instruction, in --trace's
	 * format, to see what a saved input does (hooks make it interpreted). */
	const char *trace_file = getenv("X86V_FUZZ_TRACE");
	if (trace_file) {
		struct debug_opts opts = { .trace = trace_file, .trace_cpl = -1, .trace_cpu = -1 };
		static struct trace *tr;
		struct engine_trace hook;
		if ((!tr && trace_open(&opts, &t->ram, 1, &tr, why, sizeof(why)) < 0) || !trace_hook(tr, 0, &hook) ||
		    soft_engine_ops.set_trace(t->vcpu, &hook) < 0)
			abort();
	}
	return t;
}

int fuzz_soft_one(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* Half the inputs on the interpreter alone, half translated. */
	struct tier *t = tier((data[0] / FUZZ_MODES) & 1);
	struct guest_ram *ram = &t->ram;
	/* Zeroed RAM: punching the memfd's pages out costs only what was touched. */
	if (fallocate(ram->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, FUZZ_RAM) < 0)
		memset(ram->host, 0, FUZZ_RAM);
	ram_note_write(ram, 0, FUZZ_RAM); /* every page changed: the engine drops its code */
	build_page_tables(ram);
	unsigned mode = data[0] % FUZZ_MODES;
	data++;
	size--;
	size_t code_len = size < 4096 ? size : 4096;
	uint8_t page[4096];
	memcpy(page, data, code_len);
	memset(page + code_len, HLT, sizeof(page) - code_len);
	if (ram_write(ram, CODE_GPA, page, sizeof(page)) < 0 || ram_write(ram, TABLES_GPA, data, code_len) < 0 ||
	    ram_write(ram, TABLES_GPA + 0x1000, data, code_len) < 0)
		abort();
	if (mode == 0) {
		uint32_t ivt[256];
		for (unsigned i = 0; i < 256; i++)
			ivt[i] = REAL_HLT_GPA; /* 0000:0400 */
		memset(page, HLT, TABLES_GPA - REAL_HLT_GPA);
		if (ram_write(ram, 0, ivt, sizeof(ivt)) < 0 || ram_write(ram, REAL_HLT_GPA, page, TABLES_GPA - REAL_HLT_GPA) < 0)
			abort();
	}
	struct vcpu *vcpu = t->vcpu;
	struct x86_cpu_state s;
	initial_state(&s, mode, data, size);
	if (soft_engine_ops.set_state(vcpu, &s) < 0)
		abort();
	soft_vcpu_set_insn_limit(vcpu, FUZZ_INSNS);
	/* A halted vCPU would wait for the machine; here one exit of any kind ends the input. */
	struct vcpu_exit ex;
	(void)soft_engine_ops.run(vcpu, &ex);
	if (ex.reason == VCPU_EXIT_INTERNAL_ERROR && strstr(ex.detail, "--jit-check")) {
		fprintf(stderr, "fuzz_soft: %s\n", ex.detail);
		FILE *f = fopen(getenv("X86V_FUZZ_SAVE") ? getenv("X86V_FUZZ_SAVE") : "/dev/null", "wb");
		fwrite(data - 1, 1, size + 1, f);
		fclose(f);
		abort();
	}
	(void)soft_engine_ops.get_state(vcpu, &s);
	return 0;
}

/* libFuzzer runs this target with -entropic=0 unless told otherwise: entropic
 * scheduling spends more time weighing its features (every instruction form
 * and operand pattern makes some) than running inputs, a third of the runs
 * per second and less coverage after ten minutes. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (int i = 1; i < *argc; i++)
		if (!strncmp((*argv)[i], "-entropic=", 10))
			return 0;
	char **args = calloc((size_t)*argc + 2, sizeof(*args));
	if (!args)
		return 0;
	memcpy(args, *argv, (size_t)*argc * sizeof(*args));
	args[(*argc)++] = "-entropic=0";
	*argv = args; /* lives as long as the process */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_soft_one(data, size);
}
