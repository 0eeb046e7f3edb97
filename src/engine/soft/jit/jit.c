/* SPDX-License-Identifier: MIT */
/*
 * The translator's entry from the execution loop: when a block is hot
 * enough, translate it; when its translation fits the state the vCPU is in,
 * run it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/soft/jit/jit.h"

/* heat value of a block the translator gave up on */
#define HEAT_NEVER UINT32_MAX

int soft_jit_init(struct soft_cpu *cpu, uint32_t threshold, uint64_t cache_size, bool perf_map, char *why,
		  size_t why_len)
{
	struct soft_jit *jit = calloc(1, sizeof(*jit));
	if (!jit) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	int err = jit_cache_init(&jit->cache, cache_size ? cache_size : JIT_DEFAULT_CACHE_SIZE, why, why_len);
	if (err < 0) {
		free(jit);
		return err;
	}
	jit->threshold = threshold ? threshold : JIT_DEFAULT_THRESHOLD;
	if (perf_map) {
		char path[64];
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
		jit->perf_map = fopen(path, "w");
		if (!jit->perf_map) {
			err = -errno;
			snprintf(why, why_len, "--jit-perf-map: %s: %s", path, strerror(errno));
			jit_cache_destroy(&jit->cache);
			free(jit);
			return err;
		}
	}
	cpu->jit = jit;
	return 0;
}

void soft_jit_destroy(struct soft_cpu *cpu)
{
	if (!cpu->jit)
		return;
	jit_cache_destroy(&cpu->jit->cache);
	if (cpu->jit->perf_map)
		fclose(cpu->jit->perf_map);
	free(cpu->jit);
	cpu->jit = NULL;
}

void soft_jit_reset(struct soft_cpu *cpu)
{
	jit_cache_reset(&cpu->jit->cache);
	memset(cpu->jit->jump, 0, sizeof(cpu->jit->jump));
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether b's translation was made for the state the vCPU is in now: the
 * same CS offset (its code holds rip values), TLB view and CS limit. */
static bool fits(const struct soft_cpu *cpu, const struct soft_block *b)
{
	return b->jit_rip == cpu->s.rip && b->jit_view == soft_jit_view(cpu) &&
	       (cpu->code_size == 8 || b->jit_cs_limit == cpu->s.seg[X86_CS].limit);
}

/* The epoch counter a link or jump-table entry into b (about to run at
 * CS:RIP) checks: global_epoch when b lies in one page that the TLB holds as
 * global (so a CR3 write leaves it mapped), chain_epoch otherwise. */
static size_t jit_epoch(const struct soft_cpu *cpu, const struct soft_block *b)
{
	uint64_t lin = cpu->s.seg[X86_CS].base + cpu->s.rip;
	unsigned index = (lin >> 12) & (SOFT_TLB_SIZE - 1);
	if (b->jit_one_page && cpu->tlb_phys[b->jit_view][index].global &&
	    cpu->tlb[b->jit_view][index].tag_exec == (lin & SOFT_PAGE_MASK))
		return offsetof(struct soft_cpu, global_epoch);
	return offsetof(struct soft_cpu, chain_epoch);
}

static uint64_t epoch_at(const struct soft_cpu *cpu, size_t off)
{
	return off == offsetof(struct soft_cpu, global_epoch) ? cpu->global_epoch : cpu->chain_epoch;
}

bool soft_jit_run(struct soft_cpu *cpu, struct soft_block *b, const struct jit_link *link)
{
	struct soft_jit *jit = cpu->jit;
	const void *code = b->jit_code;
	if (!code || !fits(cpu, b)) {
		if (b->heat == HEAT_NEVER || ++b->heat < jit->threshold)
			return false;
		if (soft_page_written_often(cpu, b->gpa)) {
			b->heat = HEAT_NEVER;
			jit->written_often++;
			return false;
		}
		uint64_t t0 = now_ns(), flushes = jit->flushes;
		code = soft_jit_translate(cpu, b);
		jit->translate_ns += now_ns() - t0;
		if (!code) {
			/* A full cache was flushed (b went with it): the next
			 * run starts over. Otherwise the block stays interpreted. */
			if (jit->flushes == flushes)
				b->heat = HEAT_NEVER;
			return false;
		}
		b->jit_code = code;
		b->heat = 0;
	}
	if (__builtin_expect(cpu->jit_check != NULL, 0) && soft_jit_checking(cpu)) {
		soft_jit_check_block(cpu, b, code);
		return true;
	}
	/* The exit that led here learns where its branch goes: no TLB flush or
	 * code write since it was taken, and the block is the one it targets
	 * (not, say, an interrupt handler), translated for the same view. */
	bool to_link = link && link->target == cpu->s.rip && cpu->jit_link_epoch == cpu->chain_epoch;
	if (to_link || cpu->code_size == 8) {
		size_t off = jit_epoch(cpu, b);
		if (to_link) {
			uint8_t *w = jit->cache.rw + ((const uint8_t *)link - jit->cache.rx);
			uint32_t cmp[2] = { (uint32_t)off, (uint32_t)epoch_at(cpu, off) };
			memcpy(w - link->cmp_back, cmp, sizeof(cmp));
			const uint8_t *jmp_end = (const uint8_t *)link - link->jmp_back + 4;
			int32_t rel = (int32_t)((const uint8_t *)code + JIT_BODY_OFFSET - jmp_end);
			memcpy(w - link->jmp_back, &rel, 4);
		}
		if (cpu->code_size == 8) {
			struct jit_jump *j = &jit->jump[jit_jump_index(cpu->s.rip)];
			j->rip = cpu->s.rip;
			j->epoch = epoch_at(cpu, off);
			j->code = (uint64_t)(uintptr_t)code + JIT_BODY_OFFSET;
			j->key = JIT_JUMP_KEY(b->jit_view) | (uint64_t)off << 32;
		}
	}
	/* As in the interpreter's run_block: a shadow covers at most the
	 * first instruction, and nothing is waiting for it to end here. */
	cpu->interrupt_shadow = false;
	jit->entries++;
	uint64_t next = ((jit_block_fn *)code)(cpu);
	cpu->jit_fault_uncount = 0;
	cpu->jit_link_epoch = cpu->chain_epoch;
	if (cpu->s.rip != next) {
		struct engine_branch *br = &cpu->branch_ring[cpu->branch_pos++ % ENGINE_BRANCH_HISTORY];
		br->from = cpu->insn_rip;
		br->to = cpu->s.rip;
	}
	return true;
}

void soft_jit_stats(const struct soft_cpu *cpu, char *buf, size_t len)
{
	const struct soft_jit *jit = cpu->jit;
	if (!jit) {
		snprintf(buf, len, "translator off (interpreter only)");
		return;
	}
	char check[160];
	soft_jit_check_stats(cpu, check, sizeof(check));
	double share = cpu->insn_count ? 100.0 * (double)(cpu->insn_count - cpu->interp_insns) / (double)cpu->insn_count : 0.0;
	snprintf(buf, len,
		 "translator: %llu blocks translated (%llu left to the interpreter, %llu of them on pages written often), cache %.1f of %llu MiB, "
		 "%llu flushes, %.1f%% of instructions translated, %llu entries from the loop, %llu helper calls, "
		 "%.3f s translating%s",
		 (unsigned long long)jit->blocks, (unsigned long long)(jit->failed + jit->written_often),
		 (unsigned long long)jit->written_often,
		 (double)jit->cache.used / (1 << 20), (unsigned long long)(jit->cache.size >> 20),
		 (unsigned long long)jit->flushes, share, (unsigned long long)jit->entries,
		 (unsigned long long)cpu->jit_helper_calls,
		 (double)jit->translate_ns / 1e9, check);
}
