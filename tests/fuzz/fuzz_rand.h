/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets' own mains (make check's bounded runs): a fixed-seed
 * xorshift64 stream of input bytes, which argv[2] changes.
 */
#ifndef X86V_TESTS_FUZZ_RAND_H
#define X86V_TESTS_FUZZ_RAND_H

#include <stdint.h>
#include <stdlib.h>

/* The stream's state: base, or base mixed with argv[2] times mul; never 0. */
static inline uint64_t fuzz_seed(uint64_t base, uint64_t mul, int argc, char **argv)
{
	return (base ^ (argc > 2 ? strtoull(argv[2], NULL, 0) * mul : 0)) | 1;
}

/* The next state (xorshift64: 13, 7, 17). */
static inline uint64_t fuzz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
