/* SPDX-License-Identifier: MIT */
/*
 * Engine-wide state of the software engine (the "struct engine" of
 * engine.h) and the pieces its files share: page walk, code-page tracking,
 * the block cache, exception delivery.
 */
#ifndef X86V_ENGINE_SOFT_ENGINE_H
#define X86V_ENGINE_SOFT_ENGINE_H

#include <pthread.h>
#include <Zydis/Zydis.h>

#include "engine/soft/soft_cpu.h"
#include "engine/soft/soft_insn.h"

struct engine {
	struct engine_host host;
	/* The vCPUs by index. cpus_lock: read by those who look at other vCPUs
	 * (code-page tracking, exclusive sections), written by create/destroy. */
	pthread_rwlock_t cpus_lock;
	struct soft_cpu *cpus[ENGINE_MAX_VCPUS];
	/* Set once a second vCPU exists (atomic): until then the cross-vCPU
	 * work (fences, compare-and-swap) is skipped. */
	bool multi;
	/* Code-page tracking, shared by every vCPU (soft_decode.c), one entry
	 * per guest RAM page, all accessed atomically: 1 = some vCPU holds
	 * code decoded from the page; its generation, moved on by every write
	 * that finds the page marked. */
	uint8_t *code_pages;
	uint32_t *page_gen;
	uint64_t code_pages_len;
	uint64_t code_writes; /* writes that found decoded code on their page (atomic) */
	/* Exclusive sections (soft_exclusive.c). */
	pthread_mutex_t excl_lock;
	pthread_cond_t excl_done; /* the vCPUs an exclusive section waits for have stopped */
	pthread_cond_t excl_resume; /* the exclusive section is over */
	int excl_pending; /* 0: none; else 1 + vCPUs still to stop (atomic, written under excl_lock) */
	bool host_cx16; /* the host has CMPXCHG16B */
	/* Every vCPU's TSC offset at creation (soft_tsc.c), under cpus_lock. */
	uint64_t tsc_base;
	bool tsc_started;
	soft_handler_fn *handlers[2048]; /* indexed by ZydisMnemonic */
	/* Forms with an MMX or XMM register operand: a separate table because
	 * mnemonics such as MOVSD and CMPSD name both a string and an SSE2 instruction. */
	soft_handler_fn *simd_handlers[2048];
};


/* ---- page walk (mmu/walker.c) ---- */

struct soft_walk {
	uint64_t gpa; /* physical address of the byte */
	bool readable, writable, user, executable, dirty, global; /* readable: by data accesses */
	uint64_t page_size;
};

#define SOFT_WALK_FAULT (1 << 16)

/* Translates lin for an access by the given privilege; sets A (and D for
 * writes) bits. Returns 0, or SOFT_WALK_FAULT | the #PF error code (PF_P
 * etc.) when the access must fault; the caller raises. */
int soft_walk(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool user, struct soft_walk *w);

/* ---- code pages and blocks (soft_decode.c) ---- */

/* Stores of len bytes at guest-physical gpa are in guest memory: every
 * vCPU's code decoded from those bytes is dropped (addresses outside RAM are
 * ignored). writer: the vCPU that made them (its current block ends), or
 * NULL for the VMM and devices. Any thread. */
void soft_code_written(struct engine *eng, struct soft_cpu *writer, uint64_t gpa, uint64_t len);
bool soft_is_code_page(const struct engine *eng, uint64_t gpa);
/* Whether the code on gpa's page was rewritten SOFT_WRITTEN_OFTEN times
 * since the block cache was last flushed: the translator leaves it alone. */
#define SOFT_WRITTEN_OFTEN 8
bool soft_page_written_often(const struct soft_cpu *cpu, uint64_t gpa);
int soft_blocks_init(struct soft_cpu *cpu);
void soft_blocks_destroy(struct soft_cpu *cpu);
void soft_blocks_flush(struct soft_cpu *cpu);
/* Moves chain_epoch (and global_epoch when global): every link between
 * blocks made before is no longer followed. */
void soft_chain_epoch_bump(struct soft_cpu *cpu, bool global);

/* Sets dec up for code size code_size (2, 4, 8) as the engine decodes. */
void soft_decoder_init(ZydisDecoder *dec, unsigned code_size);
/* Decodes one instruction at code size code_size (2, 4, 8) as the engine
 * does, handler included, outside any vCPU (tools and tests); false when the
 * bytes are no valid instruction. soft_insn_unimplemented: no handler family
 * takes it (running it logs "not implemented" and raises #UD). */
bool soft_decode_insn(const struct engine *eng, unsigned code_size, const uint8_t *bytes, size_t avail,
		      struct soft_insn *in);
bool soft_insn_unimplemented(const struct soft_insn *in);
/* Fills eng's handler tables with every interp/ family (soft_exec.c). */
void soft_register_handlers(struct engine *eng);

/*
 * A decoded block: up to BLOCK_MAX_INSNS instructions from one page, keyed by
 * guest-physical address, code size and the page's generation. The
 * translator keeps its code for the block here too.
 */
struct soft_block {
	struct soft_block *next; /* hash chain */
	uint64_t gpa;
	uint32_t gen;
	uint8_t mode; /* code size */
	uint8_t count;
	/* Chaining: the blocks that last ran after this one, by linear address,
	 * valid while cpu->chain_epoch and the privilege view are unchanged. */
	uint8_t link_next; /* the slot the next new link replaces */
	bool link_user[2];
	uint64_t link_epoch[2];
	uint64_t link_lin[2];
	struct soft_block *link[2];
	/* Translation (jit/): host code for the block entered at CS offset
	 * jit_rip with TLB view jit_view and CS limit jit_cs_limit; heat counts
	 * interpreted runs towards the translation threshold. */
	const void *jit_code;
	uint64_t jit_rip;
	uint32_t jit_cs_limit;
	bool jit_one_page; /* its code lies in one page */
	uint8_t jit_view;
	uint32_t heat;
	struct soft_insn insns[];
};

/* Fetches and decodes (through the cache) the instruction at CS:RIP; raises
 * on fetch faults. *block: the block the instructions belong to, or NULL for
 * an instruction decoded outside any block (one crossing a page). */
const struct soft_insn *soft_fetch(struct soft_cpu *cpu, unsigned *run_len, struct soft_block **block);

/* Runs the n decoded instructions at in as the interpreter does (soft_exec.c). */
void soft_run_block(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n);

/* ---- specialised handlers (soft_fast.c) ---- */

/* The handler to run for the decoded in: a specialised one for the hottest
 * forms (same behaviour as generic, the registered handler), else generic. */
soft_handler_fn *soft_fast_handler(const struct soft_insn *in, unsigned code_size, soft_handler_fn *generic);

/* ---- vCPUs side by side (soft_exclusive.c) ---- */

/* A full barrier between the engine's threads (stores before it are seen
 * by every thread before loads after it are made): a locked instruction,
 * cheaper than MFENCE; ThreadSanitizer has no fences to model anyway. */
static inline void soft_barrier(void)
{
	__asm__ volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
}

static inline bool soft_engine_multi(const struct engine *eng)
{
	return __atomic_load_n(&eng->multi, __ATOMIC_RELAXED);
}

/* Work another thread asks of a vCPU at its next block boundary. */
#define SOFT_WORK_EXCL 1u /* stop (park) for an exclusive section */
#define SOFT_WORK_CODE 2u /* code it decoded was written: follow no old link */
#define SOFT_WORK_NMI 4u /* an NMI was injected (engine_ops.inject_nmi) */
void soft_cpu_post_work(struct soft_cpu *cpu, unsigned bits);
/* The loop saw cpu->work set: does what it asks. */
void soft_cpu_do_work(struct soft_cpu *cpu);

/* The vCPU starts / stops touching guest memory: run() entry and exit, and
 * around every host callback (which may block on the machine lock). Start
 * waits while another vCPU holds an exclusive section. No-ops while this
 * vCPU holds one. */
void soft_exec_start(struct soft_cpu *cpu);
void soft_exec_end(struct soft_cpu *cpu);

/* An exclusive section: every other vCPU of the engine is stopped at a block
 * boundary (or outside run() or in a host callback, where it touches no
 * guest memory) until soft_exclusive_end. From the vCPU's thread, in run().
 * Two vCPUs asking at once take turns. An exception raised inside ends it
 * (soft_run). self may be NULL for a thread that runs no vCPU
 * (soft_exclusive_barrier only). */
void soft_exclusive_begin(struct soft_cpu *self);
void soft_exclusive_end(struct soft_cpu *self);
/* Waits until every other running vCPU has passed a block boundary. */
void soft_exclusive_barrier(struct engine *eng, struct soft_cpu *self);

/* Host callbacks: the machine's, with the vCPU out of the way of exclusive sections. */
void soft_host_pio(struct soft_cpu *cpu, uint16_t port, void *data, unsigned size, bool is_write);
void soft_host_mmio(struct soft_cpu *cpu, uint64_t gpa, void *data, unsigned size, bool is_write);

/* ---- locked instructions (soft_atomic.c) ---- */

/* Whether in is a locked read-modify-write of memory (a LOCK prefix on an
 * instruction that allows it, or XCHG with a memory operand). */
bool soft_insn_atomic(const struct soft_insn *in);
/* The handler the decoder gives those: runs the generic one atomically
 * with respect to every other vCPU. */
void soft_atomic_insn(struct soft_cpu *cpu, const struct soft_insn *in);
/* Inside it, the generic handler's accesses to its memory operand
 * (soft_seg_read / soft_seg_write, after the segment checks, at linear
 * lin): true when taken care of (*value filled for a read), false when
 * the plain access must be made. */
bool soft_atomic_read(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t *value);
bool soft_atomic_write(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t value);
/* An exception left the locked instruction: undo what it set up. */
void soft_atomic_abort(struct soft_cpu *cpu);
/* Sets guest-physical [gpa, gpa + size) (size 4 or 8) from old to new with a
 * compare-and-swap when it is RAM (false: it no longer held old), or plainly
 * otherwise (true). For the page walk's accessed and dirty bits. */
bool soft_phys_cmpxchg(struct soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t old, uint64_t new_value);
/* The processor's own locked update of a descriptor's type byte at linear lin
 * (supervisor): the bits of set on, those of clear off, in one host atomic
 * when it is RAM, so a bit another vCPU changed meanwhile stays. For the
 * accessed and TSS busy bits (SDM Vol. 3A §9.1.2.1). A write fault raises. */
void soft_lin_update_byte(struct soft_cpu *cpu, uint64_t lin, uint8_t set, uint8_t clear);

/* ---- exceptions (soft_exception.c) ---- */

/* Delivers the exception recorded by soft_raise (double/triple fault logic included). */
void soft_deliver_exception(struct soft_cpu *cpu);
/* Delivers interrupt/trap vector through the IDT / IVT. soft_int: INT n (DPL checked, rip = next). */
void soft_deliver(struct soft_cpu *cpu, int vector, uint32_t error_code, bool has_error, bool soft_int);

/* ---- system instructions the decoder routes by operand (interp/system.c) ---- */

/* MOV to/from a segment, control or debug register. */
void soft_sys_mov_special(struct soft_cpu *cpu, const struct soft_insn *in);
/* Far JMP / CALL / RET (interp/far.c). */
void soft_sys_far_branch(struct soft_cpu *cpu, const struct soft_insn *in);
/* POP into a segment register. */
void soft_sys_pop_sreg(struct soft_cpu *cpu, const struct soft_insn *in);

/* ---- for tests and benchmarks (soft_exec.c) ---- */

/* run() returns VCPU_EXIT_KICK once at least n more instructions have run (each
 * exception raised counts as one): the limit is checked between decoded
 * blocks, so the current block finishes. */
void soft_vcpu_set_insn_limit(struct vcpu *vcpu, uint64_t n);
/* A REP string instruction counts once per batch of up to n elements (0: the
 * default, 4,096): a harness that bounds its work by instructions makes the
 * batch small, or one REP MOVS with a huge count runs billions of elements. */
void soft_vcpu_set_string_batch(struct vcpu *vcpu, unsigned n);
/* Instructions retired so far. */
uint64_t soft_vcpu_insn_count(const struct vcpu *vcpu);

/* ---- debugging and tracing (soft_debug.c) ---- */

int soft_debug_configure(struct soft_cpu *cpu, const struct engine_debug *dbg);
int soft_debug_set_trace(struct soft_cpu *cpu, const struct engine_trace *trace);
void soft_debug_destroy(struct soft_cpu *cpu);
/* Instruction boundary, s.rip = the instruction about to run: true (exit filled)
 * when a breakpoint stops it. Also starts a trace record. */
bool soft_debug_before(struct soft_cpu *cpu, struct vcpu_exit *exit);
/* After an instruction completed: true (exit filled) for a step or watchpoint stop. */
bool soft_debug_after(struct soft_cpu *cpu, struct vcpu_exit *exit);
/* The instruction raised an exception (before delivery). */
void soft_debug_fault(struct soft_cpu *cpu);
/* Loop top: true (exit filled) when a single step ended in an exception delivery. */
bool soft_debug_pending(struct soft_cpu *cpu, struct vcpu_exit *exit);
/* A data access of size bytes at linear lin (watch_active only): the host's
 * watchpoints and the guest's data breakpoints. */
void soft_debug_watch(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool is_write);
/* Copies the branch ring, oldest first. */
unsigned soft_debug_branches(const struct soft_cpu *cpu, struct engine_branch *out);

/* ---- the guest's debug features (soft_dr.c) ---- */

#define DR6_BD (1u << 13) /* debug-register access detected (DR7.GD) */
#define DR6_BS (1u << 14) /* single step */
#define DR6_BT (1u << 15) /* task switch to a TSS with the T bit */
#define DR7_ENABLES 0xffu /* L0 G0 ... L3 G3 */
#define DR7_LOCAL 0x155u /* L0-L3 and LE: cleared by a task switch */
#define DR7_GD (1u << 13)

/* True when a block starting now must run the per-instruction guest-debug
 * hooks. TF, RF and DR7 change only at block ends (POPF, IRET, task
 * switches, MOV DR7 and event delivery all end the block). */
static inline bool soft_dr_armed(const struct soft_cpu *cpu)
{
	return ((cpu->s.rflags & (RFLAGS_TF | RFLAGS_RF)) | (cpu->s.dr7 & DR7_ENABLES)) != 0;
}
/* DR7 changed (MOV DR7, a task switch, set_state): recomputes dr_data_active and watch_active. */
void soft_dr_changed(struct soft_cpu *cpu);
/* Instruction boundary, s.rip = the instruction about to run: checks the
 * instruction breakpoints (unless RF), samples TF and clears RF. Returns true
 * when it delivered an instruction-breakpoint #DB (a fault: the instruction
 * did not run). */
bool soft_dr_before(struct soft_cpu *cpu);
/* After an instruction completed: delivers the single-step and data-breakpoint
 * #DB trap, if any (true then). */
bool soft_dr_after(struct soft_cpu *cpu);
/* A segmented data access (soft_debug_watch calls it while dr_data_active). */
void soft_dr_watch(struct soft_cpu *cpu, uint64_t lin, unsigned size, bool is_write);
/* MOV DRx while DR7.GD: the general-detect #DB fault (never returns). */
__attribute__((noreturn)) void soft_dr_general_detect(struct soft_cpu *cpu);
/* A task switch loaded a TSS whose T bit is set: the #DB trap, in the new task. */
void soft_dr_task_trap(struct soft_cpu *cpu);

/* ---- hardware task switching (interp/task.c) ---- */

enum soft_task_reason {
	SOFT_TASK_JMP, /* JMP: old task's busy bit cleared, no link */
	SOFT_TASK_CALL, /* CALL: nested (back link, NT), old task stays busy */
	SOFT_TASK_IRET, /* IRET with NT: back to the linked task, old task not busy */
	SOFT_TASK_INT, /* interrupt or exception through an IDT task gate: nested */
};

/* JMP/CALL far (protected mode, not long mode) to a TSS descriptor or task
 * gate; desc is the 8-byte descriptor of sel. Checks privilege, type, busy
 * and presence, then switches. */
void soft_task_far(struct soft_cpu *cpu, uint16_t sel, uint64_t desc, bool call);
/* An interrupt or exception through the IDT task gate gate (present and, for
 * INT n, DPL already checked). ext: 1 unless INT n (the EXT bit of error
 * codes). The error code, if any, is pushed on the new task's stack. */
void soft_task_gate_event(struct soft_cpu *cpu, uint64_t gate, unsigned ext, uint32_t error_code, bool has_error);
/* IRET with EFLAGS.NT set outside long mode: returns to the task in the current TSS's back link. */
void soft_task_iret(struct soft_cpu *cpu);
/* The switch itself (SDM Vol. 3A §7.3) to the TSS tss_sel whose descriptor
 * is tss_desc, already checked by the callers above. Faults before the commit
 * point leave the old task as it was; later ones are delivered in the new
 * task (cpu->insn_rip = its EIP). error_code is pushed for SOFT_TASK_INT when
 * has_error. */
void soft_task_switch(struct soft_cpu *cpu, uint16_t tss_sel, uint64_t tss_desc, enum soft_task_reason reason,
		      unsigned ext, uint32_t error_code, bool has_error);

/* ---- time-stamp counter (soft_tsc.c) ---- */

/* The guest TSC's frequency: 2 GHz on the machine's virtual clock. */
#define SOFT_TSC_HZ 2000000000ULL
uint64_t soft_tsc_read(struct soft_cpu *cpu);
void soft_tsc_write(struct soft_cpu *cpu, uint64_t value);
/* A new vCPU's TSC, in step with the others (cpus_lock held for writing). */
void soft_tsc_start(struct soft_cpu *cpu);

/* ---- CPUID (soft_cpuid.c) ---- */

/* The CPUID result {eax, ebx, ecx, edx} for leaf/subleaf, as on vCPU 0
 * (the instruction puts in what depends on the vCPU or its state). */
void soft_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* ---- segments (soft_segment.c) ---- */

/* Loads sreg from selector with all protected-mode checks (or real/v86 semantics). */
void soft_load_sreg(struct soft_cpu *cpu, int sreg, uint16_t selector);
/* Reads the 8-byte (or 16-byte system, long mode) descriptor for selector; raises #GP(sel) on limit. */
uint64_t soft_read_descriptor(struct soft_cpu *cpu, uint16_t selector, int error_vector);
/* Decodes a descriptor's low 8 bytes into a segment cache entry. */
void soft_descriptor_to_segment(uint64_t desc, uint16_t selector, struct x86_segment *seg);
/* Sets the accessed bit of selector's descriptor in memory (desc: its current value), as loads do. */
void soft_descriptor_mark_accessed(struct soft_cpu *cpu, uint16_t selector, uint64_t desc);

#endif
