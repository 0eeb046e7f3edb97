/* SPDX-License-Identifier: MIT */
/*
 * The translator's code cache: one shared memory object mapped twice, a
 * writable view the emitter writes through and an executable view the vCPU
 * runs, so no page is ever writable and executable at once. Space is handed out from the front
 * and all of it is taken back at once (jit_cache_reset) when it runs out.
 */
#ifndef X86V_ENGINE_SOFT_JIT_CODE_CACHE_H
#define X86V_ENGINE_SOFT_JIT_CODE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct jit_code_cache {
	uint8_t *rw, *rx; /* the two views of the same bytes */
	size_t size, used;
};

/* 0, or -errno (why filled). */
int jit_cache_init(struct jit_code_cache *c, size_t size, char *why, size_t why_len);
void jit_cache_destroy(struct jit_code_cache *c);
static inline void jit_cache_reset(struct jit_code_cache *c)
{
	c->used = 0;
}
/* The executable address of the writable address p. */
static inline const void *jit_cache_exec(const struct jit_code_cache *c, const uint8_t *p)
{
	return c->rx + (p - c->rw);
}

#endif
