/* SPDX-License-Identifier: MIT */
/*
 * The soft engine's second tier: decoded blocks that run often become host
 * x86-64 code (translate.c) kept in a code cache (code_cache.c). The
 * interpreter stays the first tier and the fallback: instructions the
 * translator does not turn into host code are calls to their interpreter
 * handlers from the translated code, so coverage never drops
 * (docs/translator.md).
 */
#ifndef X86V_ENGINE_SOFT_JIT_JIT_H
#define X86V_ENGINE_SOFT_JIT_JIT_H

#include <stdio.h>

#include "engine/soft/jit/code_cache.h"
#include "engine/soft/soft_engine.h"

#define JIT_DEFAULT_THRESHOLD 2
#define JIT_DEFAULT_CACHE_SIZE (64ull << 20)
#define JIT_MIN_CACHE_SIZE (1ull << 20)

/* The jump table: translated blocks by CS offset, for indirect branches in
 * 64-bit code (RET, JMP/CALL through a register or memory). An entry is
 * valid for TLB view key & 0xff while the vCPU's epoch counter at offset
 * key >> 32 (chain_epoch, or global_epoch for code on a global page: see
 * jit_epoch) equals epoch. */
#define JIT_JUMP_BITS 12
struct jit_jump {
	uint64_t rip, epoch, code, key;
};
static inline unsigned jit_jump_index(uint64_t rip)
{
	return (unsigned)((rip ^ (rip >> 12)) & ((1u << JIT_JUMP_BITS) - 1));
}
#define JIT_JUMP_KEY(view) (0x800u | (view))

struct soft_jit {
	struct jit_code_cache cache;
	struct jit_jump jump[1u << JIT_JUMP_BITS];
	uint32_t threshold;
	FILE *perf_map; /* --jit-perf-map */
	/* --stats */
	uint64_t blocks, flushes, failed, translate_ns;
	uint64_t written_often; /* blocks not translated: their page is rewritten often */
	uint64_t entries; /* translated code entered from the execution loop */
};

/* Translated code: runs the block, leaves s.rip at the next instruction to
 * run and cpu->insn_rip at the last one run; returns the address that
 * follows that last instruction (so s.rip differs from it after a taken
 * branch). Exceptions unwind from inside it like from any handler. */
typedef uint64_t jit_block_fn(struct soft_cpu *cpu);

/* Linked blocks jump past the entry (push rbx, r12..r15; mov rbx, rdi) of the next one. */
#define JIT_BODY_OFFSET 12

/* A direct-branch exit: CMP DWORD [RBX + counter], epoch; JNE unlinked;
 * JMP body. Linking patches the counter's offset (chain_epoch, or
 * global_epoch: see jit.c), the low 32 bits of its value and the jump to
 * the next block's body, so the branch goes straight there until the
 * counter moves. An exit that finds no valid link leaves this slot, placed
 * after the exit's code, in cpu->jit_link for the loop to fill. */
struct jit_link {
	uint64_t target; /* the CS offset the branch goes to */
	uint32_t cmp_back; /* the CMP's displacement field lies this far before the slot */
	uint32_t jmp_back; /* and the JMP's rel32 field this far */
};

/* 0, or -errno with why filled. perf_map: name every translation in
 * /tmp/perf-PID.map, where perf looks for symbols of JIT code. */
int soft_jit_init(struct soft_cpu *cpu, uint32_t threshold, uint64_t cache_size, bool perf_map, char *why,
		  size_t why_len);
void soft_jit_destroy(struct soft_cpu *cpu);
/* Empties the code cache (soft_blocks_flush calls it: blocks own translations). */
void soft_jit_reset(struct soft_cpu *cpu);

/* The TLB view translated memory accesses use for code running now. */
static inline unsigned soft_jit_view(const struct soft_cpu *cpu)
{
	return soft_tlb_view(cpu, cpu->cpl == 3);
}

/* Translates b for the current CS offset, view and CS limit; NULL when it
 * cannot (no room even in an empty cache, or a block the translator leaves
 * to the interpreter). May flush the block cache (and so b) when the code
 * cache is full. */
const void *soft_jit_translate(struct soft_cpu *cpu, struct soft_block *b);

/* Runs b as translated code when it is hot (translating it first if need
 * be): true then; false when the interpreter must run it. */
bool soft_jit_run(struct soft_cpu *cpu, struct soft_block *b, const struct jit_link *link);

/* An exception unwound from translated code: the instruction counts then
 * include the rest of the block, which did not run. */
static inline void soft_jit_fault_fixup(struct soft_cpu *cpu)
{
	cpu->insn_count -= cpu->jit_fault_uncount;
	cpu->jit_fault_uncount = 0;
}

/* One line of translator statistics. */
void soft_jit_stats(const struct soft_cpu *cpu, char *buf, size_t len);

/* ---- the lockstep checker (check.c) ---- */

/* Checks the first blocks translated runs (0: none). 0, or -1 out of memory. */
int soft_jit_check_init(struct soft_cpu *cpu, uint64_t blocks);
void soft_jit_check_destroy(struct soft_cpu *cpu);
/* Whether the next translated run is to be checked. */
bool soft_jit_checking(const struct soft_cpu *cpu);
/* Runs b as code, then again from the same state in the interpreter, and
 * compares; a mismatch goes to cpu->jit_check_failed. */
void soft_jit_check_block(struct soft_cpu *cpu, struct soft_block *b, const void *code);
/* A RAM page is about to become writable (or be written) during a check. */
void soft_jit_check_page(struct soft_cpu *cpu, void *host_page);
/* TLB entry index of view is about to be filled, or the TLB flushed, during a check. */
void soft_jit_check_tlb_fill(struct soft_cpu *cpu, unsigned view, unsigned index);
void soft_jit_check_tlb_flush(struct soft_cpu *cpu);
/* "; lockstep check: ..." for --stats, or "". */
void soft_jit_check_stats(const struct soft_cpu *cpu, char *buf, size_t len);

#endif
