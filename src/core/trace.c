/* SPDX-License-Identifier: MIT */
/*
 * The trace writer. x86v format, one line per instruction:
 *   CS:RIP  BYTES  DISASSEMBLY  [; reg=new ...]  [; fault #vector]
 * QEMU format: what `qemu-system-x86_64 -singlestep -d exec,cpu,nochain`
 * prints before each instruction ("Trace 0: ... [cs_base/pc/...]" and the
 * register block of x86_cpu_dump_state), close enough for scripts/trace-diff,
 * which compares the values, not the spacing.
 *
 * Every vCPU's instructions (or --trace-cpu's alone) go to the one file, a
 * whole record at a time under the writer's lock; with several vCPUs an
 * x86v-format line starts with the vCPU's index ("1| "), and a QEMU-format
 * record names it as QEMU does ("Trace 1:").
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/trace.h"
#include "cpu/x86_disasm.h"
#include "cpu/x86_translate.h"

/* One vCPU's hook context. */
struct trace_cpu {
	struct trace *t;
	unsigned index;
};

struct trace {
	FILE *f;
	bool own_file;
	struct debug_opts opts;
	const struct guest_ram *ram;
	bool several; /* more than one vCPU: records name theirs */
	pthread_mutex_t lock; /* around each record */
	uint64_t lines; /* records written (atomic: want() reads it without the lock) */
	struct trace_cpu cpus[ENGINE_MAX_VCPUS];
};

int trace_parse_range(const char *text, uint64_t *start, uint64_t *end)
{
	char *e1, *e2;
	if (!text[0] || text[0] == '-')
		return -EINVAL;
	errno = 0;
	uint64_t a = strtoull(text, &e1, 16);
	if (errno || e1 == text || *e1 != '-' || e1[1] == '-' || !e1[1])
		return -EINVAL;
	uint64_t b = strtoull(e1 + 1, &e2, 16);
	if (errno || *e2 || b < a)
		return -EINVAL;
	*start = a;
	*end = b;
	return 0;
}

int trace_open(const struct debug_opts *opts, const struct guest_ram *ram, unsigned ncpus, struct trace **out,
	       char *why, size_t why_len)
{
	struct trace *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	if (!strcmp(opts->trace, "-")) {
		t->f = stdout;
	} else {
		t->f = fopen(opts->trace, "w");
		if (!t->f) {
			int e = errno;
			snprintf(why, why_len, "--trace %s: %s", opts->trace, strerror(e));
			free(t);
			return -e;
		}
		t->own_file = true;
	}
	t->opts = *opts;
	t->ram = ram;
	t->several = ncpus > 1;
	pthread_mutex_init(&t->lock, NULL);
	for (unsigned i = 0; i < ENGINE_MAX_VCPUS; i++)
		t->cpus[i] = (struct trace_cpu){ t, i };
	*out = t;
	return 0;
}

void trace_close(struct trace *t)
{
	if (!t)
		return;
	if (t->own_file)
		fclose(t->f);
	else
		fflush(t->f);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static unsigned state_cpl(const struct x86_cpu_state *s)
{
	if (!(s->cr0 & CR0_PE))
		return 0;
	if (s->rflags & RFLAGS_VM)
		return 3;
	return (s->seg[X86_CS].attr & SEG_ATTR_DPL) >> SEG_ATTR_DPL_SHIFT;
}

static bool trace_want(void *opaque, const struct x86_cpu_state *s)
{
	struct trace *t = ((struct trace_cpu *)opaque)->t;
	const struct debug_opts *o = &t->opts;
	if (o->trace_count && __atomic_load_n(&t->lines, __ATOMIC_RELAXED) >= o->trace_count)
		return false;
	if (o->trace_has_range) {
		uint64_t lin = x86_seg_linear(s, X86_CS, s->rip);
		if (lin < o->trace_start || lin > o->trace_end)
			return false;
	}
	if (o->trace_cpl >= 0 && state_cpl(s) != (unsigned)o->trace_cpl)
		return false;
	if (o->trace_mode && strcmp(o->trace_mode, x86_state_mode(s)))
		return false;
	return true;
}

/* ---- x86v format ---- */

static void put_changed(FILE *f, bool *first, const char *name, uint64_t v)
{
	fprintf(f, "%s%s=%" PRIx64, *first ? " ; " : " ", name, v);
	*first = false;
}

static void write_x86v(struct trace *t, unsigned cpu, const struct x86_cpu_state *b, const struct x86_cpu_state *a,
		       int fault)
{
	static const char *const gpr[] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
	static const char *const sreg[] = { "es", "cs", "ss", "ds", "fs", "gs" };
	uint8_t bytes[15];
	char text[128], hex[31];
	unsigned cs = x86_code_size(b);
	size_t n = x86_read_linear(b, t->ram, x86_seg_linear(b, X86_CS, b->rip), bytes, sizeof(bytes));
	int len = n ? x86_disasm(bytes, n, cs, b->rip, text, sizeof(text)) : -EFAULT;
	if (!n)
		snprintf(text, sizeof(text), "(not mapped)");
	unsigned shown = len > 0 ? (unsigned)len : (n ? 1 : 0);
	for (unsigned i = 0; i < shown; i++)
		snprintf(hex + 2 * i, sizeof(hex) - 2 * i, "%02x", bytes[i]);
	hex[2 * shown] = '\0';
	FILE *f = t->f;
	if (t->several)
		fprintf(f, "%u| ", cpu);
	if (cs == 8)
		fprintf(f, "%04x:%016" PRIx64 " %-20s %s", b->seg[X86_CS].selector, b->rip, hex, text);
	else
		fprintf(f, "%04x:%08" PRIx64 " %-20s %s", b->seg[X86_CS].selector, b->rip, hex, text);
	bool first = true;
	for (int i = 0; i < X86_NR_GPRS; i++)
		if (a->gpr[i] != b->gpr[i])
			put_changed(f, &first, gpr[i], a->gpr[i]);
	if (a->rflags != b->rflags)
		put_changed(f, &first, "rflags", a->rflags);
	for (int i = 0; i < X86_NR_SREGS; i++)
		if (a->seg[i].selector != b->seg[i].selector || a->seg[i].base != b->seg[i].base)
			put_changed(f, &first, sreg[i], a->seg[i].selector);
	if (a->cr0 != b->cr0)
		put_changed(f, &first, "cr0", a->cr0);
	if (a->cr2 != b->cr2)
		put_changed(f, &first, "cr2", a->cr2);
	if (a->cr3 != b->cr3)
		put_changed(f, &first, "cr3", a->cr3);
	if (a->cr4 != b->cr4)
		put_changed(f, &first, "cr4", a->cr4);
	if (a->efer != b->efer)
		put_changed(f, &first, "efer", a->efer);
	if (a->gdtr.base != b->gdtr.base || a->gdtr.limit != b->gdtr.limit)
		put_changed(f, &first, "gdtr", a->gdtr.base);
	if (a->idtr.base != b->idtr.base || a->idtr.limit != b->idtr.limit)
		put_changed(f, &first, "idtr", a->idtr.base);
	if (fault >= 0)
		fprintf(f, " ; fault #%d", fault);
	fputc('\n', f);
}

/* ---- QEMU format ---- */

static void qemu_seg(FILE *f, const char *name, const struct x86_segment *g, bool lm)
{
	/* QEMU prints the descriptor's second dword bits 8..23 as "flags". */
	uint32_t flags = (g->attr & 0xf0ffu) << 8;
	if (lm)
		fprintf(f, "%s%04x %016" PRIx64 " %08x %08x\n", name, g->selector, g->base, g->limit, flags);
	else
		fprintf(f, "%s%04x %08" PRIx32 " %08x %08x\n", name, g->selector, (uint32_t)g->base, g->limit, flags);
}

static void write_qemu(struct trace *t, unsigned cpu, const struct x86_cpu_state *s)
{
	static const char *const g64[] = { "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP",
					   "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15" };
	static const char *const g32[] = { "EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP" };
	static const int order[] = { X86_RAX, X86_RBX, X86_RCX, X86_RDX, X86_RSI, X86_RDI, X86_RBP, X86_RSP,
				     X86_R8,  X86_R9,  X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15 };
	static const char *const sreg[] = { "ES =", "CS =", "SS =", "DS =", "FS =", "GS =" };
	FILE *f = t->f;
	bool lm = s->efer & EFER_LMA;
	uint64_t f64 = s->rflags;
	fprintf(f, "Trace %u: 0x0 [%016" PRIx64 "/%016" PRIx64 "/00000000/00000000] \n", cpu, s->seg[X86_CS].base,
		x86_seg_linear(s, X86_CS, s->rip));
	for (int i = 0; i < (lm ? 16 : 8); i++) {
		if (lm)
			fprintf(f, "%s=%016" PRIx64 "%s", g64[i], s->gpr[order[i]], i % 4 == 3 ? "\n" : " ");
		else
			fprintf(f, "%s=%08" PRIx32 "%s", g32[i], (uint32_t)s->gpr[order[i]], i % 4 == 3 ? "\n" : " ");
	}
	fprintf(f, lm ? "RIP=%016" PRIx64 " RFL=%08" PRIx64 : "EIP=%08" PRIx64 " EFL=%08" PRIx64,
		lm ? s->rip : (s->rip & 0xffffffff), f64);
	fprintf(f, " [%c%c%c%c%c%c%c] CPL=%u II=%d A20=1 SMM=0 HLT=%d\n", (f64 & RFLAGS_DF) ? 'D' : '-',
		(f64 & RFLAGS_OF) ? 'O' : '-', (f64 & RFLAGS_SF) ? 'S' : '-', (f64 & RFLAGS_ZF) ? 'Z' : '-',
		(f64 & RFLAGS_AF) ? 'A' : '-', (f64 & RFLAGS_PF) ? 'P' : '-', (f64 & RFLAGS_CF) ? 'C' : '-',
		state_cpl(s), s->events.interrupt_shadow, s->events.halted);
	for (int i = 0; i < X86_NR_SREGS; i++)
		qemu_seg(f, sreg[i], &s->seg[i], lm);
	qemu_seg(f, "LDT=", &s->ldtr, lm);
	qemu_seg(f, "TR =", &s->tr, lm);
	if (lm) {
		fprintf(f, "GDT=     %016" PRIx64 " %08x\n", s->gdtr.base, s->gdtr.limit);
		fprintf(f, "IDT=     %016" PRIx64 " %08x\n", s->idtr.base, s->idtr.limit);
		fprintf(f, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64 "\n", s->cr0,
			s->cr2, s->cr3, s->cr4);
	} else {
		fprintf(f, "GDT=     %08" PRIx32 " %08x\n", (uint32_t)s->gdtr.base, s->gdtr.limit);
		fprintf(f, "IDT=     %08" PRIx32 " %08x\n", (uint32_t)s->idtr.base, s->idtr.limit);
		fprintf(f, "CR0=%08" PRIx64 " CR2=%08" PRIx64 " CR3=%08" PRIx64 " CR4=%08" PRIx64 "\n", s->cr0,
			s->cr2 & 0xffffffff, s->cr3 & 0xffffffff, s->cr4);
	}
	fprintf(f, "DR0=%016" PRIx64 " DR1=%016" PRIx64 " DR2=%016" PRIx64 " DR3=%016" PRIx64 " \n", s->dr[0],
		s->dr[1], s->dr[2], s->dr[3]);
	fprintf(f, "DR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", s->dr6, s->dr7);
	fprintf(f, "EFER=%016" PRIx64 "\n", s->efer);
}

static void trace_insn(void *opaque, const struct x86_cpu_state *before, const struct x86_cpu_state *after,
		       int fault)
{
	const struct trace_cpu *c = opaque;
	struct trace *t = c->t;
	pthread_mutex_lock(&t->lock);
	/* Another vCPU may have written the last allowed record since want(). */
	bool over = t->opts.trace_count && t->lines >= t->opts.trace_count;
	if (!over) {
		__atomic_store_n(&t->lines, t->lines + 1, __ATOMIC_RELAXED);
		if (t->opts.trace_format == TRACE_FORMAT_QEMU)
			write_qemu(t, c->index, before);
		else
			write_x86v(t, c->index, before, after, fault);
		if (t->opts.trace_count && t->lines >= t->opts.trace_count)
			fflush(t->f);
	}
	pthread_mutex_unlock(&t->lock);
}

bool trace_hook(struct trace *t, unsigned cpu, struct engine_trace *hook)
{
	if (t->opts.trace_cpu >= 0 && (unsigned)t->opts.trace_cpu != cpu)
		return false;
	hook->want = trace_want;
	hook->insn = trace_insn;
	hook->opaque = &t->cpus[cpu];
	return true;
}
