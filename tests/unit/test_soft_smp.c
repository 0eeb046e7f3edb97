/* SPDX-License-Identifier: MIT */
/*
 * The soft engine with several vCPUs, each created and run on its own host
 * thread through soft_engine_ops, as the machine drives them: guest atomics
 * (LOCK-prefixed read-modify-writes, XCHG) are atomic across vCPUs, split
 * locks included; code one vCPU rewrites is picked up by the vCPU running
 * it; a page that held code and is written as data again (the write tags
 * other vCPUs hold for it taken away) runs its new code; each vCPU sees its
 * own index in CPUID and in the host callbacks. Each case runs on the
 * interpreter alone and with the translator (threshold 1).
 *
 * The guests are 64-bit code with 4-level paging, hand-assembled (nasm
 * listings beside the bytes). Results are exact whatever the interleaving:
 * nothing here depends on timing. vCPU threads destroy their vCPU as soon as
 * it halts, while the others may still run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu/x86_state.h"
#include "engine/engine.h"
#include "mem/guest_ram.h"

#define RAM_SIZE (8 * MiB)
#define PML4 0x1000u
#define GDT 0x5000u
#define IDT 0x6000u
#define DATA 0x20000u /* counters, flags */
#define BITMAP 0x21000u
#define STACKS 0x30000u /* one page per vCPU */
#define REUSE_PAGE 0x40000u
/* Linear 0x200000 and 0x201000 map to guest-physical pages in the other
 * order, apart: an access across them is split on the host too. */
#define SPLIT_LIN 0x200ffeu
#define SPLIT_PAGE1 0x300000u
#define SPLIT_PAGE2 0x280000u
#define ITERATIONS 50000u
#define MAX_VCPUS 4

/* ---- the guests ---- */

#define XADD_AT 0x10000u
static const uint8_t xadd_code[] = { /* rcx = iterations */
	0xbb, 0x00, 0x00, 0x02, 0x00, /* mov rbx, 0x20000 */
	0xb8, 0x01, 0x00, 0x00, 0x00, /* .loop: mov eax, 1 */
	0xf0, 0x0f, 0xc1, 0x03, /* lock xadd [rbx], eax */
	0xff, 0xc9, /* dec ecx */
	0x75, 0xf3, /* jnz .loop */
	0xf4, /* hlt */
};

#define CMPXCHG_AT 0x11000u
static const uint8_t cmpxchg_code[] = { /* rcx = iterations */
	0xbb, 0x00, 0x00, 0x02, 0x00, /* mov rbx, 0x20000 */
	0x8b, 0x03, /* .outer: mov eax, [rbx] */
	0x8d, 0x50, 0x01, /* .retry: lea edx, [rax + 1] */
	0xf0, 0x0f, 0xb1, 0x13, /* lock cmpxchg [rbx], edx */
	0x75, 0xf7, /* jnz .retry */
	0xff, 0xc9, /* dec ecx */
	0x75, 0xf1, /* jnz .outer */
	0xf4, /* hlt */
};

#define SPIN_AT 0x12000u
static const uint8_t spin_code[] = { /* rcx = iterations; the lock at 0x20040 */
	0xbb, 0x40, 0x00, 0x02, 0x00, /* mov rbx, 0x20040 */
	0xbe, 0x00, 0x00, 0x02, 0x00, /* mov rsi, 0x20000 */
	0xb8, 0x01, 0x00, 0x00, 0x00, /* .acquire: mov eax, 1 */
	0x87, 0x03, /* xchg [rbx], eax */
	0x85, 0xc0, /* test eax, eax */
	0x75, 0x11, /* jnz .spin */
	0x8b, 0x16, /* mov edx, [rsi] */
	0xff, 0xc2, /* inc edx */
	0x89, 0x16, /* mov [rsi], edx */
	0xc7, 0x03, 0x00, 0x00, 0x00, 0x00, /* mov dword [rbx], 0 */
	0xff, 0xc9, /* dec ecx */
	0x75, 0xe5, /* jnz .acquire */
	0xf4, /* hlt */
	0xf3, 0x90, /* .spin: pause */
	0x83, 0x3b, 0x00, /* cmp dword [rbx], 0 */
	0x75, 0xf9, /* jne .spin */
	0xeb, 0xdb, /* jmp .acquire */
};

#define INC_AT 0x13000u
static const uint8_t inc_code[] = { /* rcx = iterations */
	0xbb, 0x00, 0x00, 0x02, 0x00, /* mov rbx, 0x20000 */
	0xf0, 0xff, 0x03, /* .loop: lock inc dword [rbx] */
	0xf0, 0x48, 0x83, 0x43, 0x08, 0x03, /* lock add qword [rbx + 8], 3 */
	0xf0, 0x66, 0x83, 0x6b, 0x10, 0x01, /* lock sub word [rbx + 16], 1 */
	0xff, 0xc9, /* dec ecx */
	0x75, 0xed, /* jnz .loop */
	0xf4, /* hlt */
};

#define CX16_AT 0x14000u
static const uint8_t cx16_code[] = { /* r9 = iterations; 16 bytes at 0x20080 */
	0xbe, 0x80, 0x00, 0x02, 0x00, /* mov rsi, 0x20080 */
	0x48, 0x8b, 0x06, /* .outer: mov rax, [rsi] */
	0x48, 0x8b, 0x56, 0x08, /* mov rdx, [rsi + 8] */
	0x48, 0x8d, 0x58, 0x01, /* .retry: lea rbx, [rax + 1] */
	0x48, 0x8d, 0x4a, 0x03, /* lea rcx, [rdx + 3] */
	0xf0, 0x48, 0x0f, 0xc7, 0x0e, /* lock cmpxchg16b [rsi] */
	0x75, 0xf1, /* jnz .retry */
	0x41, 0xff, 0xc9, /* dec r9d */
	0x75, 0xe5, /* jnz .outer */
	0xf4, /* hlt */
};

#define BTS_AT 0x15000u
static const uint8_t bts_code[] = { /* rax = first bit, r10 = step, r11 = bits */
	0xbb, 0x00, 0x10, 0x02, 0x00, /* mov rbx, 0x21000 */
	0xf0, 0x48, 0x0f, 0xab, 0x03, /* .loop: lock bts [rbx], rax */
	0x4c, 0x01, 0xd0, /* add rax, r10 */
	0x4c, 0x39, 0xd8, /* cmp rax, r11 */
	0x72, 0xf3, /* jb .loop */
	0xf4, /* hlt */
};

#define SPLIT_AT 0x16000u
static const uint8_t split_code[] = { /* rcx = iterations */
	0xbb, 0xfe, 0x0f, 0x20, 0x00, /* mov rbx, 0x200ffe: across two pages */
	0xbe, 0x3e, 0x20, 0x02, 0x00, /* mov rsi, 0x2203e: across two cache lines */
	0xb8, 0x01, 0x00, 0x00, 0x00, /* .loop: mov eax, 1 */
	0xf0, 0x0f, 0xc1, 0x03, /* lock xadd [rbx], eax */
	0xf0, 0x83, 0x06, 0x01, /* lock add dword [rsi], 1 */
	0xff, 0xc9, /* dec ecx */
	0x75, 0xef, /* jnz .loop */
	0xf4, /* hlt */
};

/* Cross-modifying code: vCPU 0 calls site in a loop until the flag at
 * 0x20000 is set, then once more; vCPU 1 waits until vCPU 0 runs (0x20004),
 * rewrites site's immediate to 2, then sets the flag. */
#define XMC0_AT 0x17000u
static const uint8_t xmc0_code[] = {
	0xbb, 0x00, 0x00, 0x02, 0x00, /* mov rbx, 0x20000 */
	0xe8, 0x36, 0x00, 0x00, 0x00, /* call site */
	0xc7, 0x43, 0x04, 0x01, 0x00, 0x00, 0x00, /* mov dword [rbx + 4], 1 */
	0xe8, 0x2a, 0x00, 0x00, 0x00, /* .loop: call site */
	0x83, 0x3b, 0x00, /* cmp dword [rbx], 0 */
	0x74, 0xf6, /* je .loop */
	0xe8, 0x20, 0x00, 0x00, 0x00, /* call site */
	0xf4, /* hlt */
};
#define XMC0_SITE 0x17040u
static const uint8_t xmc0_site[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00, /* site: mov eax, 1 */
	0xc3, /* ret */
};
#define XMC1_AT 0x18000u
static const uint8_t xmc1_code[] = {
	0xbb, 0x00, 0x00, 0x02, 0x00, /* mov rbx, 0x20000 */
	0x83, 0x7b, 0x04, 0x00, /* .wait: cmp dword [rbx + 4], 0 */
	0x74, 0xfa, /* je .wait */
	0xbf, 0x41, 0x70, 0x01, 0x00, /* mov rdi, 0x17041 */
	0xc7, 0x07, 0x02, 0x00, 0x00, 0x00, /* mov dword [rdi], 2 */
	0xc7, 0x03, 0x01, 0x00, 0x00, 0x00, /* mov dword [rbx], 1 */
	0xf4, /* hlt */
};

/* A page reused: in round r vCPU 1 writes "mov eax, r + 1; ret" at 0x40000
 * as data (three stores: the last two through a write tag it gets again)
 * and passes the turn at 0x20000; vCPU 0 calls it, adds eax to r12 and
 * passes the turn back. r15: the turn that ends the loop. */
#define REUSE0_AT 0x19000u
static const uint8_t reuse0_code[] = {
	0xbb, 0x00, 0x00, 0x02, 0x00, /* mov rbx, 0x20000 */
	0xbe, 0x00, 0x00, 0x04, 0x00, /* mov rsi, 0x40000 */
	0x45, 0x31, 0xe4, /* xor r12d, r12d */
	0x41, 0xbd, 0x01, 0x00, 0x00, 0x00, /* mov r13d, 1 */
	0x44, 0x39, 0x2b, /* .wait: cmp [rbx], r13d */
	0x75, 0xfb, /* jne .wait */
	0xff, 0xd6, /* call rsi */
	0x49, 0x01, 0xc4, /* add r12, rax */
	0x45, 0x8d, 0x75, 0x01, /* lea r14d, [r13 + 1] */
	0x44, 0x89, 0x33, /* mov [rbx], r14d */
	0x41, 0x83, 0xc5, 0x02, /* add r13d, 2 */
	0x45, 0x39, 0xfd, /* cmp r13d, r15d */
	0x72, 0xe6, /* jb .wait */
	0xf4, /* hlt */
};
#define REUSE1_AT 0x1a000u
static const uint8_t reuse1_code[] = {
	0xbb, 0x00, 0x00, 0x02, 0x00, /* mov rbx, 0x20000 */
	0xbf, 0x00, 0x00, 0x04, 0x00, /* mov rdi, 0x40000 */
	0x45, 0x31, 0xed, /* xor r13d, r13d */
	0x41, 0xbc, 0x01, 0x00, 0x00, 0x00, /* mov r12d, 1 */
	0x44, 0x39, 0x2b, /* .wait: cmp [rbx], r13d */
	0x75, 0xfb, /* jne .wait */
	0x44, 0x89, 0x67, 0x01, /* mov dword [rdi + 1], r12d */
	0xc6, 0x07, 0xb8, /* mov byte [rdi], 0xb8 */
	0xc6, 0x47, 0x05, 0xc3, /* mov byte [rdi + 5], 0xc3 */
	0x41, 0xff, 0xc4, /* inc r12d */
	0x45, 0x8d, 0x75, 0x01, /* lea r14d, [r13 + 1] */
	0x44, 0x89, 0x33, /* mov [rbx], r14d */
	0x41, 0x83, 0xc5, 0x02, /* add r13d, 2 */
	0x45, 0x39, 0xfd, /* cmp r13d, r15d */
	0x72, 0xdd, /* jb .wait */
	0xf4, /* hlt */
};
#define REUSE_ROUNDS 100u

#define IDENT_AT 0x1b000u
static const uint8_t ident_code[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
	0x0f, 0xa2, /* cpuid */
	0x89, 0xde, /* mov esi, ebx */
	0xb9, 0x1b, 0x00, 0x00, 0x00, /* mov ecx, 0x1b */
	0x0f, 0x32, /* rdmsr: the machine's (its callback) */
	0xf4, /* hlt */
};
#define IDENT_HANDLER 0x1b100u /* the interrupt handler: hlt */
#define IDENT_VECTOR 0x40

/* Where every vCPU starts, so that they all run their program at the same
 * time: it sets its byte (rax = its index) at 0x20100, waits until edx
 * (one 01h byte per vCPU) is there, and returns into its program (whose
 * address is on the stack). */
#define RENDEZVOUS_AT 0x1c000u
static const uint8_t rendezvous_code[] = {
	0x41, 0xb8, 0x00, 0x01, 0x02, 0x00, /* mov r8d, 0x20100 */
	0x41, 0xc6, 0x04, 0x00, 0x01, /* mov byte [r8 + rax], 1 */
	0x41, 0x8b, 0x38, /* .wait: mov edi, [r8] */
	0x39, 0xd7, /* cmp edi, edx */
	0x75, 0xf9, /* jne .wait */
	0xc3, /* ret */
};

/* ---- a machine of the tests' own ---- */

struct machine {
	struct guest_ram ram;
	struct engine *eng;
	int acked[MAX_VCPUS]; /* intr_ack calls per vCPU (atomic) */
};

static void stub_pio(void *opaque, uint16_t port, void *data, unsigned size, bool is_write)
{
	(void)opaque, (void)port;
	if (!is_write)
		memset(data, 0xff, size);
}

static void stub_mmio(void *opaque, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	(void)opaque, (void)gpa;
	if (!is_write)
		memset(data, 0xff, size);
}

/* The first INTA of a vCPU gets IDENT_VECTOR. */
static int stub_intr_ack(void *opaque, unsigned cpu)
{
	struct machine *m = opaque;
	if (cpu >= MAX_VCPUS)
		return -1;
	return __atomic_fetch_add(&m->acked[cpu], 1, __ATOMIC_SEQ_CST) == 0 ? IDENT_VECTOR : -1;
}

/* IA32_APIC_BASE as the machine's, telling the vCPU apart: 0xfee00000 + cpu. */
static int stub_msr_read(void *opaque, unsigned cpu, uint32_t index, uint64_t *value)
{
	(void)opaque;
	if (index != 0x1b)
		return -EINVAL;
	*value = 0xfee00000u + cpu;
	return 0;
}

static void put(struct machine *m, uint64_t gpa, const void *bytes, size_t len)
{
	CHECK_EQ(ram_write(&m->ram, gpa, bytes, len), 0);
}

static void put64(struct machine *m, uint64_t gpa, uint64_t v)
{
	put(m, gpa, &v, 8);
}

static uint64_t get(struct machine *m, uint64_t gpa, unsigned len)
{
	uint64_t v = 0;
	CHECK_EQ(ram_read(&m->ram, gpa, &v, len), 0);
	return v;
}

/* Identity-mapped 8 MiB (2 MiB pages) but for 0x200000..0x3fffff, which a
 * page table maps 4 KiB by 4 KiB, its first two pages elsewhere. A/D bits
 * are clear: the vCPUs set them as they go. */
static void build_page_tables(struct machine *m)
{
	put64(m, PML4, (PML4 + 0x1000) | 7);
	put64(m, PML4 + 0x1000, (PML4 + 0x2000) | 7);
	for (uint64_t i = 0; i < 4; i++)
		put64(m, PML4 + 0x2000 + i * 8, i == 1 ? (PML4 + 0x3000) | 7 : (i << 21) | 0x87);
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t page = i == 0 ? SPLIT_PAGE1 : i == 1 ? SPLIT_PAGE2 : 0x200000 + i * 4096;
		put64(m, PML4 + 0x3000 + i * 8, page | 7);
	}
	/* GDT: null, 64-bit code (0x08), data (0x10); IDT gate IDENT_VECTOR. */
	put64(m, GDT + 8, 0x00af9a000000ffffull);
	put64(m, GDT + 16, 0x00cf92000000ffffull);
	uint64_t lo = (IDENT_HANDLER & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
		      ((uint64_t)(IDENT_HANDLER >> 16 & 0xffff) << 48);
	put64(m, IDT + IDENT_VECTOR * 16, lo);
	put64(m, IDT + IDENT_VECTOR * 16 + 8, 0);
	uint8_t hlt = 0xf4;
	put(m, IDENT_HANDLER, &hlt, 1);
}

static bool machine_start(struct machine *m, bool translator)
{
	memset(m, 0, sizeof(*m));
	if (ram_init(&m->ram, RAM_SIZE) < 0)
		return false;
	build_page_tables(m);
	struct engine_host host = { .ram = &m->ram, .pio = stub_pio, .mmio = stub_mmio,
				    .intr_ack = stub_intr_ack, .msr_read = stub_msr_read, .opaque = m };
	host.soft.interp_only = !translator;
	host.soft.jit_threshold = 1;
	host.soft.jit_cache_size = 4 * MiB;
	char why[256];
	if (soft_engine_ops.create(&host, &m->eng, why, sizeof(why)) < 0) {
		printf("# %s\n", why);
		ram_destroy(&m->ram);
		return false;
	}
	return true;
}

static void machine_stop(struct machine *m)
{
	soft_engine_ops.destroy(m->eng);
	ram_destroy(&m->ram);
}

static void long_mode_state(struct x86_cpu_state *s, uint64_t rip, unsigned index)
{
	uint32_t code = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_CODE | SEG_TYPE_CODE_R | SEG_TYPE_ACCESSED;
	uint32_t data = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED;
	x86_state_reset(s);
	s->cr0 = CR0_PE | CR0_ET | CR0_PG | CR0_WP;
	s->cr4 = CR4_PAE | CR4_OSFXSR;
	s->cr3 = PML4;
	s->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
	for (int i = 0; i < X86_NR_SREGS; i++)
		s->seg[i] = (struct x86_segment){ 0x10, 0, 0xffffffff, data | SEG_ATTR_DB | SEG_ATTR_G };
	s->seg[X86_CS] = (struct x86_segment){ 0x08, 0, 0xffffffff, code | SEG_ATTR_L | SEG_ATTR_G };
	s->gdtr = (struct x86_dtable){ GDT, 23 };
	s->idtr = (struct x86_dtable){ IDT, 256 * 16 - 1 };
	s->rip = rip;
	s->gpr[X86_RSP] = STACKS + (index + 1) * 0x1000;
}

/* One vCPU's run, on its own thread: created there, run to HLT, state read
 * back, destroyed at once (the others may still be running). */
struct job {
	struct machine *m;
	unsigned index;
	struct x86_cpu_state in, out;
	bool intr_after; /* then INTR up, IF set, run again (to the handler's HLT) */
	enum vcpu_exit_reason reason;
	int err;
};

static void *job_thread(void *arg)
{
	struct job *j = arg;
	struct vcpu *v;
	char why[256];
	j->err = soft_engine_ops.vcpu_create(j->m->eng, j->index, &v, why, sizeof(why));
	if (j->err < 0)
		return NULL;
	struct vcpu_exit ex = { 0 };
	j->err = soft_engine_ops.set_state(v, &j->in);
	for (unsigned pass = 0; pass < (j->intr_after ? 2u : 1u) && j->err == 0; pass++) {
		if (pass == 1) {
			struct x86_cpu_state s;
			j->err = soft_engine_ops.get_state(v, &s);
			s.rflags |= RFLAGS_IF;
			if (j->err == 0)
				j->err = soft_engine_ops.set_state(v, &s);
			soft_engine_ops.set_intr(v, true);
		}
		/* No kicks come: anything but HLT is a failure. */
		if (j->err == 0)
			j->err = soft_engine_ops.run(v, &ex);
		if (ex.reason != VCPU_EXIT_HALT)
			break;
	}
	j->reason = ex.reason;
	if (j->err == 0)
		j->err = soft_engine_ops.get_state(v, &j->out);
	soft_engine_ops.vcpu_destroy(v);
	return NULL;
}

/* Runs n vCPUs from states in[] (filled by the caller), each on its thread. */
static void run_vcpus(struct machine *m, struct job *jobs, unsigned n)
{
	pthread_t th[MAX_VCPUS];
	for (unsigned i = 0; i < n; i++) {
		jobs[i].m = m;
		jobs[i].index = i;
		CHECK_EQ(pthread_create(&th[i], NULL, job_thread, &jobs[i]), 0);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(jobs[i].err, 0);
		CHECK_EQ(jobs[i].reason, VCPU_EXIT_HALT);
	}
}

static void load_programs(struct machine *m)
{
	static const struct {
		uint64_t at;
		const uint8_t *code;
		size_t len;
	} progs[] = {
		{ XADD_AT, xadd_code, sizeof(xadd_code) },	   { CMPXCHG_AT, cmpxchg_code, sizeof(cmpxchg_code) },
		{ SPIN_AT, spin_code, sizeof(spin_code) },	   { INC_AT, inc_code, sizeof(inc_code) },
		{ CX16_AT, cx16_code, sizeof(cx16_code) },	   { BTS_AT, bts_code, sizeof(bts_code) },
		{ SPLIT_AT, split_code, sizeof(split_code) },	   { XMC0_AT, xmc0_code, sizeof(xmc0_code) },
		{ XMC0_SITE, xmc0_site, sizeof(xmc0_site) },	   { XMC1_AT, xmc1_code, sizeof(xmc1_code) },
		{ REUSE0_AT, reuse0_code, sizeof(reuse0_code) }, { REUSE1_AT, reuse1_code, sizeof(reuse1_code) },
		{ IDENT_AT, ident_code, sizeof(ident_code) },	   { RENDEZVOUS_AT, rendezvous_code, sizeof(rendezvous_code) },
	};
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		put(m, progs[i].at, progs[i].code, progs[i].len);
}

/* ---- the cases ---- */

/* vCPU i runs the program at at[i] (rcx = r9 = ITERATIONS; rax, r10, r11
 * for BTS; r15 = r15[i] if given), after the rendezvous. False (checked)
 * when no machine could be made; else the caller stops it. */
static bool run_program(struct machine *m, bool translator, unsigned n, const uint64_t at[MAX_VCPUS],
			const uint64_t *r15, struct job jobs[MAX_VCPUS])
{
	bool ok = machine_start(m, translator);
	CHECK(ok);
	if (!ok)
		return false;
	load_programs(m);
	memset(jobs, 0, sizeof(*jobs) * MAX_VCPUS);
	for (unsigned i = 0; i < n; i++) {
		struct x86_cpu_state *s = &jobs[i].in;
		long_mode_state(s, RENDEZVOUS_AT, i);
		s->gpr[X86_RSP] -= 8;
		put64(m, s->gpr[X86_RSP], at[i]);
		s->gpr[X86_RDX] = 0x01010101u & (uint32_t)((1ull << (8 * n)) - 1);
		s->gpr[X86_RCX] = s->gpr[9] = ITERATIONS;
		s->gpr[X86_RAX] = i;
		s->gpr[10] = n;
		s->gpr[11] = 4096;
		s->gpr[15] = r15 ? r15[i] : 0;
	}
	run_vcpus(m, jobs, n);
	return true;
}

static void same_program(struct machine *m, bool translator, unsigned n, uint64_t at, bool *ok)
{
	uint64_t ats[MAX_VCPUS] = { at, at, at, at };
	struct job jobs[MAX_VCPUS];
	*ok = run_program(m, translator, n, ats, NULL, jobs);
}

static void counters_case(bool translator, unsigned n)
{
	struct machine m;
	bool ok;
	uint64_t total = (uint64_t)n * ITERATIONS;

	same_program(&m, translator, n, XADD_AT, &ok);
	if (ok) {
		CHECK_EQ(get(&m, DATA, 4), total);
		machine_stop(&m);
	}
	same_program(&m, translator, n, CMPXCHG_AT, &ok);
	if (ok) {
		CHECK_EQ(get(&m, DATA, 4), total);
		machine_stop(&m);
	}
	same_program(&m, translator, n, SPIN_AT, &ok);
	if (ok) {
		CHECK_EQ(get(&m, DATA, 4), total);
		CHECK_EQ(get(&m, DATA + 0x40, 4), 0); /* the lock, released */
		machine_stop(&m);
	}
	same_program(&m, translator, n, INC_AT, &ok);
	if (ok) {
		CHECK_EQ(get(&m, DATA, 4), total);
		CHECK_EQ(get(&m, DATA + 8, 8), 3 * total);
		CHECK_EQ(get(&m, DATA + 16, 2), (uint16_t)-total);
		machine_stop(&m);
	}
	same_program(&m, translator, n, CX16_AT, &ok);
	if (ok) {
		CHECK_EQ(get(&m, DATA + 0x80, 8), total);
		CHECK_EQ(get(&m, DATA + 0x88, 8), 3 * total);
		machine_stop(&m);
	}
	same_program(&m, translator, n, BTS_AT, &ok);
	if (ok) {
		for (unsigned q = 0; q < 4096 / 64; q++)
			CHECK_EQ(get(&m, BITMAP + q * 8, 8), ~0ull);
		CHECK_EQ(get(&m, BITMAP + 512, 8), 0);
		machine_stop(&m);
	}
	/* The same counter from different kinds of instruction at once. */
	uint64_t mixed[MAX_VCPUS] = { XADD_AT, INC_AT, CMPXCHG_AT, XADD_AT };
	struct job jobs[MAX_VCPUS];
	if (run_program(&m, translator, n, mixed, NULL, jobs)) {
		unsigned incs = n > 1 ? 1 : 0;
		CHECK_EQ(get(&m, DATA, 4), total);
		CHECK_EQ(get(&m, DATA + 8, 8), 3ull * incs * ITERATIONS);
		machine_stop(&m);
	}
}

static void test_atomics_2_interp(void) { counters_case(false, 2); }
static void test_atomics_4_interp(void) { counters_case(false, 4); }
static void test_atomics_2_jit(void) { counters_case(true, 2); }
static void test_atomics_4_jit(void) { counters_case(true, 4); }

/* lock xadd across two pages apart on the host, lock add across two cache lines. */
static void split_case(bool translator)
{
	struct machine m;
	bool ok;
	same_program(&m, translator, 2, SPLIT_AT, &ok);
	if (!ok)
		return;
	uint64_t v = get(&m, SPLIT_PAGE1 + 0xffe, 2) | get(&m, SPLIT_PAGE2, 2) << 16;
	CHECK_EQ(v, 2 * ITERATIONS);
	CHECK_EQ(get(&m, 0x2203e, 4), 2 * ITERATIONS);
	machine_stop(&m);
}

static void test_split_lock_interp(void) { split_case(false); }
static void test_split_lock_jit(void) { split_case(true); }

/* vCPU 0 ends with the new code's result. */
static void xmc_case(bool translator)
{
	struct machine m;
	uint64_t at[MAX_VCPUS] = { XMC0_AT, XMC1_AT };
	struct job jobs[MAX_VCPUS];
	if (!run_program(&m, translator, 2, at, NULL, jobs))
		return;
	CHECK_EQ(get(&m, XMC0_SITE + 1, 4), 2);
	CHECK_EQ(jobs[0].out.gpr[X86_RAX], 2);
	machine_stop(&m);
}

static void reuse_case(bool translator)
{
	struct machine m;
	uint64_t at[MAX_VCPUS] = { REUSE0_AT, REUSE1_AT };
	struct job jobs[MAX_VCPUS];
	uint64_t last_turn[MAX_VCPUS] = { 2 * REUSE_ROUNDS + 1, 2 * REUSE_ROUNDS };
	if (!run_program(&m, translator, 2, at, last_turn, jobs))
		return;
	/* Each round's code ran, not an earlier round's. */
	CHECK_EQ(jobs[0].out.gpr[12], REUSE_ROUNDS * (REUSE_ROUNDS + 1) / 2);
	CHECK_EQ(get(&m, DATA, 4), 2 * REUSE_ROUNDS);
	machine_stop(&m);
}

static void test_cross_modifying_interp(void)
{
	xmc_case(false);
	reuse_case(false);
}

static void test_cross_modifying_jit(void)
{
	xmc_case(true);
	reuse_case(true);
}

/* CPUID's initial APIC ID, the MSR and INTA callbacks: the vCPU's index. */
static void test_vcpu_identity(void)
{
	for (int translator = 0; translator < 2; translator++) {
		struct machine m;
		if (!machine_start(&m, translator)) {
			CHECK(false);
			return;
		}
		load_programs(&m);
		struct job jobs[MAX_VCPUS];
		memset(jobs, 0, sizeof(jobs));
		for (unsigned i = 0; i < MAX_VCPUS; i++) {
			long_mode_state(&jobs[i].in, IDENT_AT, i);
			jobs[i].intr_after = true;
		}
		run_vcpus(&m, jobs, MAX_VCPUS);
		for (unsigned i = 0; i < MAX_VCPUS; i++) {
			CHECK_EQ(jobs[i].out.gpr[X86_RSI] >> 24, i);
			CHECK_EQ(jobs[i].out.gpr[X86_RAX], 0xfee00000u + i);
			CHECK_EQ(jobs[i].out.rip, IDENT_HANDLER + 1); /* its interrupt taken */
			CHECK_EQ(m.acked[i], 1);
		}
		machine_stop(&m);
	}
}

/* The contract's limits: indices up to ENGINE_MAX_VCPUS - 1, each once. */
static void test_vcpu_indices(void)
{
	struct machine m;
	if (!machine_start(&m, false)) {
		CHECK(false);
		return;
	}
	char why[256];
	struct vcpu *a, *b, *c;
	CHECK_EQ(soft_engine_ops.vcpu_create(m.eng, ENGINE_MAX_VCPUS - 1, &a, why, sizeof(why)), 0);
	CHECK_EQ(soft_engine_ops.vcpu_create(m.eng, 0, &b, why, sizeof(why)), 0);
	CHECK(soft_engine_ops.vcpu_create(m.eng, 0, &c, why, sizeof(why)) < 0);
	CHECK(soft_engine_ops.vcpu_create(m.eng, ENGINE_MAX_VCPUS, &c, why, sizeof(why)) < 0);
	soft_engine_ops.vcpu_destroy(b);
	CHECK_EQ(soft_engine_ops.vcpu_create(m.eng, 0, &c, why, sizeof(why)), 0); /* free again */
	soft_engine_ops.vcpu_destroy(c);
	soft_engine_ops.vcpu_destroy(a);
	machine_stop(&m);
}

CHECK_MAIN(TEST_CASE(test_atomics_2_interp), TEST_CASE(test_atomics_4_interp), TEST_CASE(test_atomics_2_jit),
	   TEST_CASE(test_atomics_4_jit), TEST_CASE(test_split_lock_interp), TEST_CASE(test_split_lock_jit),
	   TEST_CASE(test_cross_modifying_interp), TEST_CASE(test_cross_modifying_jit),
	   TEST_CASE(test_vcpu_identity), TEST_CASE(test_vcpu_indices))
