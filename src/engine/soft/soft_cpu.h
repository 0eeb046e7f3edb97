/* SPDX-License-Identifier: MIT */
/*
 * The software engine's vCPU: the architectural state (the engine-neutral
 * struct, used in place), values derived from it for speed, the soft TLB and
 * the exception exit. Every part of the soft engine includes this header;
 * instruction handlers (interp/) use only what is declared here and in
 * soft_insn.h.
 *
 * Exceptions: a handler that detects a fault calls soft_raise() (or one of
 * its wrappers), which never returns: it unwinds to the execution loop, which
 * delivers the exception. Handlers therefore check and read everything before
 * they write any architectural state, so a faulting instruction leaves the
 * state as it was (x86 faults are precise).
 */
#ifndef X86V_ENGINE_SOFT_CPU_H
#define X86V_ENGINE_SOFT_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/x86_state.h"
#include "engine/engine.h"

/* Exception vectors (SDM Vol. 3A §6.3.1). */
enum {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3, X86_EXC_OF = 4,
	X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7, X86_EXC_DF = 8, X86_EXC_TS = 10,
	X86_EXC_NP = 11, X86_EXC_SS = 12, X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16,
	X86_EXC_AC = 17, X86_EXC_MC = 18, X86_EXC_XM = 19,
};

/* #PF error code bits (SDM Vol. 3A §4.7). */
#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define PF_U (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I (1u << 4)
#define PF_PK (1u << 5)

/* XSAVE state components of the model (XCR0 bits) and its standard-format
 * area: the legacy region and header, and PKRU at its architectural offset. */
#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_PKRU (1ull << 9)
#define XCR0_SUPPORTED (XCR0_X87 | XCR0_SSE | XCR0_PKRU)
#define XSAVE_LEGACY_SIZE 576u
#define XSAVE_PKRU_OFFSET 2688u
#define XSAVE_PKRU_SIZE 8u
/* The area size for the components xcr0 enables (CPUID.(0DH,0).EBX). */
static inline uint32_t soft_xsave_size(uint64_t xcr0)
{
	return (xcr0 & XCR0_PKRU) ? XSAVE_PKRU_OFFSET + XSAVE_PKRU_SIZE : XSAVE_LEGACY_SIZE;
}

enum soft_access { SOFT_ACC_READ, SOFT_ACC_WRITE, SOFT_ACC_EXEC };

/* Elements a REP string instruction runs per pass before it yields to the loop. */
#define SOFT_STRING_BATCH 4096

#define SOFT_TLB_BITS 10
#define SOFT_TLB_SIZE (1u << SOFT_TLB_BITS)
#define SOFT_PAGE_MASK (~(uint64_t)0xfff)

/*
 * One soft-TLB entry: the linear page it maps, per access kind, and the
 * host-minus-linear addend so a hit is one compare and one add. A tag that
 * cannot match (SOFT_TLB_INVALID) sends that access kind to the slow path:
 * writes to pages holding decoded code, to clean pages (the dirty bit must
 * be set first) and to read-only pages never get a write tag; MMIO never
 * gets any tag. Each vCPU owns its TLB, but another vCPU that marks a page
 * as code takes its write tags away (soft_mem.c): tag_write is read and
 * written atomically (soft_tlb_write_tag), and the gpa beside it stored so.
 */
struct soft_tlb_entry {
	uint64_t tag_read, tag_write, tag_exec;
	uintptr_t addend; /* host address = linear + addend */
};
/* What the hit path never reads, beside each entry (so an entry stays 32
 * bytes and translated code indexes with a shift): the guest-physical page
 * for code-page tracking, and whether the mapping is global. */
struct soft_tlb_phys {
	uint64_t gpa; /* read by other vCPUs: stored atomically */
	bool global;
	bool listed; /* in tlb_list: filled since the last full flush */
};
#define SOFT_TLB_INVALID 1 /* page-aligned tags can never equal this */

/* The privilege views: 0 for supervisor accesses, 1 for user (CPL 3) ones,
 * 2 for supervisor accesses that SMAP lets reach user pages (EFLAGS.AC set
 * at CPL < 3). While CR4.SMAP is set, view 0 caches no user page for data. */
#define SOFT_TLB_VIEWS 3

struct engine;
struct soft_block_cache;
struct soft_jit;
struct jit_link;
struct jit_check;

struct soft_cpu {
	struct x86_cpu_state s; /* the truth; rflags is always materialised */

	/* Derived from s, refreshed by soft_cpu_mode_changed() after any change to
	 * CR0, CR4, EFER, CS or SS, or RFLAGS.VM. */
	uint8_t cpl;
	uint8_t code_size; /* default operand/address size: 2, 4 or 8 */
	bool long_mode; /* EFER.LMA */
	/* [write]: bit per segment register that is flat for reads ([0]) or
	 * writes ([1]) (soft_seg_flat_update, after any segment or mode change). */
	uint8_t seg_flat[2];
#define SOFT_FLAT_SS32 6 /* the seg_flat bit for SS flat and 32-bit (B set) */

	struct engine *eng;
	const struct engine_host *host;
	unsigned index; /* vcpu_create's: the host callbacks' cpu, the initial APIC ID */

	/* The instruction being executed: faults report insn_rip; handlers that
	 * branch write s.rip, others leave it at the next instruction. */
	uint64_t insn_rip;
	/* Set by a handler that changed something decoded blocks depend on (mode,
	 * CS, paging, code bytes): the loop stops using the current block. */
	bool end_block;

	/* Exception in flight, for double-fault classification (-1: none). */
	int delivering_vector;

	void *unwind[5]; /* __builtin_setjmp buffer for soft_raise */
	int raised_vector;
	uint32_t raised_error;
	bool raised_has_error;

	bool halted;
	bool shutdown; /* triple fault: the run ends with VCPU_EXIT_SHUTDOWN */
	bool interrupt_shadow; /* the instruction after STI / MOV SS / POP SS */
	/* Atomic, set by other threads: a kick (the machine wants the thread),
	 * the controllers' INTR output for this vCPU, and work other vCPUs ask
	 * for at the next block boundary (SOFT_WORK_*, soft_exclusive.c).
	 * Translated code tests them all with one load of the attention word. */
	union {
		uint32_t attention;
		struct {
			uint8_t kicked;
			uint8_t intr_line;
			uint8_t work;
			uint8_t attention_pad;
		};
	};
	/* Exclusive sections (soft_exclusive.c): in run() and touching guest
	 * memory (not parked, not in a host callback), atomic; counted by the
	 * exclusive section being set up (under the engine's excl_lock); holds
	 * one now. */
	bool running;
	bool has_waiter;
	bool excl_held;
	/* The locked instruction being run (soft_atomic.c). */
	struct soft_lock {
		bool active;
		uint8_t mode; /* SOFT_LOCK_* (soft_atomic.c) */
		uint8_t want; /* bytes the region must cover (CMPXCHG16B: 16), else 0 */
		uint8_t len; /* bytes of the region */
		bool written; /* the handler stored into the region */
		bool saved_watch; /* watch_active outside the instruction */
		bool excl; /* it began the exclusive section it is in */
		uint64_t lin, gpa; /* the region */
		void *host;
		union {
			uint8_t b[16];
			uint64_t q[2];
		} old, cur; /* its value as read, and with the handler's stores */
	} lk;
	uint64_t insn_count; /* instructions retired */
	uint64_t insn_limit; /* run() returns VCPU_EXIT_KICK when insn_count reaches it */
	unsigned string_batch; /* elements a REP string instruction runs before it yields; 0: SOFT_STRING_BATCH */
	uint64_t tsc_offset, tsc_last; /* soft_tsc.c */
	uint64_t tsc_reported; /* the TSC the last get_state gave, if tsc_reported_valid */
	bool tsc_reported_valid;
	uint64_t smap_ac; /* RFLAGS_AC while CR4.SMAP is set, else 0 (soft_cpu_mode_changed) */

	/* Debugging and tracing (soft_debug.c). The execution loop tests only
	 * debug_hooks; data accesses test only watch_active. */
	bool debug_hooks;
	bool debug_step; /* single-step: stop after one instruction, interrupts held off */
	bool watch_active; /* host_watch || dr_data_active: accesses call soft_debug_watch */
	bool host_watch; /* the host debugger has watchpoints */

	/* The guest's own debug features (soft_dr.c): TF, RF, DR0-DR7. The loop
	 * looks at them only in blocks that start with TF, RF or a DR7 enable set. */
	bool dr_data_active; /* DR7 enables a data breakpoint */
	bool db_tf; /* TF was set when the current instruction started */
	bool db_shadow; /* the instruction loaded SS: its debug traps wait one instruction */
	uint32_t db_hits; /* DR6.B0-B3 for data breakpoints hit by the current instruction */
	uint32_t db_pending; /* DR6 bits of traps held back by a MOV SS / POP SS */
	struct soft_debug *debug;
	/* The last taken branches (CS offsets), always on: one store on a path that
	 * has already left the block. branch_pos counts them. */
	struct engine_branch branch_ring[ENGINE_BRANCH_HISTORY];
	unsigned branch_pos;

	/* Bumped by every TLB flush, write to a code page and block-cache flush:
	 * links between decoded blocks (soft_decode.c) made in an older epoch
	 * are not followed. global_epoch: the same but for flushes that keep
	 * global pages (a CR3 write): a translated branch into code on a
	 * global page (the kernel's, the same in every address space) stays
	 * linked across context switches (jit/jit.h). */
	uint64_t chain_epoch;
	uint64_t global_epoch;

	/* The translator (jit/): its state, and counters its code keeps. */
	struct soft_jit *jit; /* NULL: interpreter only */
	uint64_t interp_insns; /* instructions the interpreter ran (the rest ran as translated code) */
	uint64_t jit_helper_calls; /* interpreter handlers called from translated code */
	uint64_t walks; /* page walks (the lockstep checker: did a run fill the TLB?) */
	/* Set before each handler call from translated code: the instructions
	 * of the block counted but not run should the handler fault. */
	uint32_t jit_fault_uncount;
	const struct jit_link *jit_link; /* the exit slot to link to the next block, if any */
	uint64_t jit_link_epoch; /* chain_epoch when that exit was taken */
	/* --jit-check (jit/check.c): the lockstep checker, whether the block
	 * being checked reached outside the CPU and RAM, and the first mismatch. */
	struct jit_check *jit_check;
	bool check_unrepeatable;
	char jit_check_failed[256];

	struct soft_tlb_entry tlb[SOFT_TLB_VIEWS][SOFT_TLB_SIZE];
	struct soft_tlb_phys tlb_phys[SOFT_TLB_VIEWS][SOFT_TLB_SIZE];
	/* The entries filled since the last flush of everything, so that a
	 * flush (every CR3 write) and a search by physical page visit those
	 * alone: every other entry is invalid once the first flush made the new
	 * vCPU's zeros so (tlb_swept). */
	uint16_t tlb_list[SOFT_TLB_VIEWS][SOFT_TLB_SIZE];
	unsigned tlb_listed[SOFT_TLB_VIEWS];
	bool tlb_swept;
	bool tlb_has_large; /* some entry caches a piece of a large page */
	struct soft_block_cache *blocks;
};

/* ---- exceptions (soft_exception.c) ---- */

/* Leaves the current instruction with exception vector (never returns). */
__attribute__((noreturn)) void soft_raise(struct soft_cpu *cpu, int vector, uint32_t error_code, bool has_error);
__attribute__((noreturn)) void soft_raise_gp(struct soft_cpu *cpu, uint32_t error_code);
__attribute__((noreturn)) void soft_raise_ud(struct soft_cpu *cpu);
__attribute__((noreturn)) void soft_raise_de(struct soft_cpu *cpu);
__attribute__((noreturn)) void soft_raise_ss(struct soft_cpu *cpu, uint32_t error_code);

/* ---- registers (inline, below) ---- */

static inline uint64_t soft_size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* GPR read. size 1 with high8 reads AH/CH/DH/BH (reg 4..7 then mean regs 0..3). */
static inline uint64_t soft_reg_read(const struct soft_cpu *cpu, unsigned reg, unsigned size)
{
	return cpu->s.gpr[reg] & soft_size_mask(size);
}

static inline uint64_t soft_reg8h_read(const struct soft_cpu *cpu, unsigned reg)
{
	return (cpu->s.gpr[reg] >> 8) & 0xff;
}

/* GPR write with x86 merge rules: 8/16-bit writes keep the other bits, 32-bit writes
 * zero the upper half, 64-bit writes replace. */
static inline void soft_reg_write(struct soft_cpu *cpu, unsigned reg, unsigned size, uint64_t v)
{
	uint64_t *r = &cpu->s.gpr[reg];
	switch (size) {
	case 1: *r = (*r & ~0xffULL) | (v & 0xff); break;
	case 2: *r = (*r & ~0xffffULL) | (v & 0xffff); break;
	case 4: *r = v & 0xffffffffULL; break;
	default: *r = v; break;
	}
}

static inline void soft_reg8h_write(struct soft_cpu *cpu, unsigned reg, uint64_t v)
{
	cpu->s.gpr[reg] = (cpu->s.gpr[reg] & ~0xff00ULL) | ((v & 0xff) << 8);
}

/* Condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc) against RFLAGS value f. */
static inline bool soft_flags_cond(uint64_t f, unsigned cc)
{
	bool r;
	switch ((cc >> 1) & 7) {
	case 0: r = f & RFLAGS_OF; break;
	case 1: r = f & RFLAGS_CF; break;
	case 2: r = f & RFLAGS_ZF; break;
	case 3: r = f & (RFLAGS_CF | RFLAGS_ZF); break;
	case 4: r = f & RFLAGS_SF; break;
	case 5: r = f & RFLAGS_PF; break;
	case 6: r = !(f & RFLAGS_SF) != !(f & RFLAGS_OF); break;
	default: r = (f & RFLAGS_ZF) || (!(f & RFLAGS_SF) != !(f & RFLAGS_OF)); break;
	}
	return (cc & 1) ? !r : r;
}

/* The flags an arithmetic instruction defines (OF SF ZF AF PF CF). */
#define SOFT_ARITH_FLAGS (RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF)

static inline void soft_set_flags(struct soft_cpu *cpu, uint64_t mask, uint64_t values)
{
	cpu->s.rflags = (cpu->s.rflags & ~mask) | (values & mask);
}

/* ---- memory (soft_mem.c) ---- */

/* Linear-address accesses through paging and the soft TLB; raise #PF.
 * user: the access is made with CPL-3 privilege (false for implicit
 * supervisor accesses such as descriptor-table reads). size: 1, 2, 4, 8;
 * an access crossing a page boundary is split. */
uint64_t soft_lin_read(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool user);
void soft_lin_write(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t value, bool user);
/* Bulk copies for descriptor tables, FXSAVE-style areas etc. */
void soft_lin_read_bytes(struct soft_cpu *cpu, uint64_t lin, void *buf, unsigned len, bool user);
void soft_lin_write_bytes(struct soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len, bool user);
/* Checks that [lin, lin + len) is writable (for instructions that must not
 * partially write, e.g. a far call's stack frame), raising #PF if not. */
void soft_lin_probe_write(struct soft_cpu *cpu, uint64_t lin, unsigned len, bool user);

/* Segmented accesses: the segment's limit, type and presence are checked
 * (#GP(0), or #SS(0) for SS), canonical form in 64-bit mode, then the access
 * goes to linear memory with the CPL's privilege. */
uint64_t soft_seg_read(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size);
/* The read of a read-modify-write: the segment is checked and the pages
 * translated for the write first, so it faults as a write (#PF with W set,
 * as on hardware) even where a read would pass. */
uint64_t soft_seg_read_rmw(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size);
void soft_seg_write(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size, uint64_t value);
/* The linear address for offset in sreg after the same checks (len bytes, access kind). */
uint64_t soft_seg_linear(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned len, enum soft_access acc);
void soft_seg_flat_update(struct soft_cpu *cpu);

/* Guest-physical accesses (page walks, descriptor A-bit updates bypass paging). RAM or MMIO. */
uint64_t soft_phys_read(struct soft_cpu *cpu, uint64_t gpa, unsigned size);
void soft_phys_write(struct soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t value);

/* TLB maintenance (soft_tlb.c). */
void soft_tlb_flush_all(struct soft_cpu *cpu, bool include_global);
void soft_tlb_flush_page(struct soft_cpu *cpu, uint64_t lin);
/* A page became a code page: writes to it must take the slow path from now on. */
void soft_tlb_drop_writes_to(struct soft_cpu *cpu, uint64_t gpa_page);
/* The same in every other vCPU's TLB, from any vCPU thread (after the page's
 * mark is stored and fenced): true when some write tag was taken away, whose
 * owner may then still be finishing a store through it. */
bool soft_tlb_drop_writes_others(struct soft_cpu *self, uint64_t gpa_page);
/* Translates [lin, lin + len) (one page) for a write with the given
 * privilege (walks; raises #PF; sets A/D): its guest-physical address in
 * *gpa and a writable host pointer, or NULL when it is no writable RAM
 * (MMIO, ROM). Writes through the pointer skip code-page tracking: the
 * caller reports them (soft_code_written). */
void *soft_lin_write_ptr(struct soft_cpu *cpu, uint64_t lin, unsigned len, bool user, uint64_t *gpa);
/* Caches the translation of an instruction fetch at lin (walks; raises #PF). */
void soft_tlb_fill_exec(struct soft_cpu *cpu, uint64_t lin, bool user);

/* ---- stack (soft_mem.c) ---- */

/* Stack address size: 8 in 64-bit mode, else 4 or 2 from SS.B. */
unsigned soft_stack_size(const struct soft_cpu *cpu);
/* Push/pop with the current stack; size is the operand size (2, 4, 8). Faults leave RSP unchanged. */
void soft_push(struct soft_cpu *cpu, unsigned size, uint64_t value);
uint64_t soft_pop(struct soft_cpu *cpu, unsigned size);

/* ---- mode (soft_cpu.c) ---- */

void soft_cpu_mode_changed(struct soft_cpu *cpu);
static inline bool soft_in_64bit_mode(const struct soft_cpu *cpu)
{
	return cpu->code_size == 8;
}

/* Bits 63..47 all equal (48-bit linear addresses). */
static inline bool soft_is_canonical(uint64_t lin)
{
	return (uint64_t)((int64_t)(lin << 16) >> 16) == lin;
}

/* The soft-TLB view of an access by user (CPL 3) or supervisor privilege. */
static inline unsigned soft_tlb_view(const struct soft_cpu *cpu, bool user)
{
	if (user)
		return 1;
	return (cpu->s.rflags & cpu->smap_ac) && cpu->cpl < 3 ? 2 : 0;
}

/* An entry's write tag (another vCPU may take it away at any time). */
static inline uint64_t soft_tlb_write_tag(const struct soft_tlb_entry *e)
{
	return __atomic_load_n(&e->tag_write, __ATOMIC_RELAXED);
}

static inline void soft_tlb_set_write_tag(struct soft_tlb_entry *e, uint64_t tag)
{
	__atomic_store_n(&e->tag_write, tag, __ATOMIC_RELAXED);
}

/*
 * The fast path of soft_seg_read / soft_seg_write: in 64-bit mode (no limits
 * or types apply; only FS and GS have a base) or on a flat segment (whose
 * 4 GiB limit a linear address past 4 GiB, never in the TLB, stands for),
 * no watchpoints, the access
 * within one page and a soft-TLB hit for this privilege view. Returns the
 * host address, or NULL when the full path must run (which then raises any
 * fault). A non-canonical address never hits: tags are canonical pages, and
 * a same-page access cannot end outside the page it starts in.
 */
static inline __attribute__((always_inline)) void *soft_fast_ptr(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size,
				  enum soft_access acc)
{
	if (cpu->watch_active || (!soft_in_64bit_mode(cpu) && !(cpu->seg_flat[acc == SOFT_ACC_WRITE] >> sreg & 1)))
		return (void *)0;
	uint64_t lin = offset + (sreg >= X86_FS ? cpu->s.seg[sreg].base : 0);
	if ((lin & 0xfff) > 4096 - size)
		return (void *)0;
	const struct soft_tlb_entry *e = &cpu->tlb[soft_tlb_view(cpu, cpu->cpl == 3)][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
	uint64_t tag = acc == SOFT_ACC_WRITE ? soft_tlb_write_tag(e) : e->tag_read;
	if (tag != (lin & SOFT_PAGE_MASK))
		return (void *)0;
	return (void *)(uintptr_t)(lin + e->addend);
}

/*
 * Fixed-size loads and stores of guest RAM through a host pointer: one host
 * access each, so an aligned one is never torn while other vCPUs (and their
 * locked instructions, host atomics) use the same bytes. Relaxed atomics
 * say so to the compiler and to ThreadSanitizer; on x86-64 they are the
 * plain MOV at any alignment (guest addresses need not be aligned).
 */
static inline uint64_t soft_host_load(const void *p, unsigned size)
{
	switch (size) {
	case 1: return __atomic_load_n((const uint8_t *)p, __ATOMIC_RELAXED);
	case 2: return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
	case 4: return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
	default: return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
	}
}

static inline void soft_host_store(void *p, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: __atomic_store_n((uint8_t *)p, (uint8_t)v, __ATOMIC_RELAXED); break;
	case 2: __atomic_store_n((uint16_t *)p, (uint16_t)v, __ATOMIC_RELAXED); break;
	case 4: __atomic_store_n((uint32_t *)p, (uint32_t)v, __ATOMIC_RELAXED); break;
	default: __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED); break;
	}
}

/* soft_seg_read / soft_seg_write with the fast path inline. */
static inline __attribute__((always_inline)) uint64_t soft_mem_read(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size)
{
	void *p = soft_fast_ptr(cpu, sreg, offset, size, SOFT_ACC_READ);
	if (__builtin_expect(p != (void *)0, 1))
		return soft_host_load(p, size);
	return soft_seg_read(cpu, sreg, offset, size);
}

static inline __attribute__((always_inline)) void soft_mem_write(struct soft_cpu *cpu, int sreg, uint64_t offset, unsigned size, uint64_t value)
{
	void *p = soft_fast_ptr(cpu, sreg, offset, size, SOFT_ACC_WRITE);
	if (__builtin_expect(p != (void *)0, 1)) {
		soft_host_store(p, size, value);
		return;
	}
	soft_seg_write(cpu, sreg, offset, size, value);
}

/* ---- port I/O (soft_cpu.c) ---- */

/* IN/OUT after the IOPL / I/O-permission-bitmap check (raises #GP(0)). */
uint64_t soft_io_read(struct soft_cpu *cpu, uint16_t port, unsigned size);
void soft_io_write(struct soft_cpu *cpu, uint16_t port, unsigned size, uint64_t value);

#endif
