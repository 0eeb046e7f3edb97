/* SPDX-License-Identifier: MIT */
/* The soft-engine fuzz target shared by libFuzzer and the make-check driver. */
#ifndef X86V_TESTS_FUZZ_SOFT_H
#define X86V_TESTS_FUZZ_SOFT_H

#include <stddef.h>
#include <stdint.h>

/* Modes the first input byte selects: real, prot16, prot32, v86, long64. */
#define FUZZ_MODES 5

int fuzz_soft_one(const uint8_t *data, size_t size);

#endif
