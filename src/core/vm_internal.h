/* SPDX-License-Identifier: MIT */
/*
 * What the machine's own files (core/vm*.c) share and nobody else uses.
 */
#ifndef X86V_CORE_VM_INTERNAL_H
#define X86V_CORE_VM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct vm;

/* CLOCK_MONOTONIC in ns. */
int64_t vm_host_now_ns(void);
/* Loads the firmware or kernel the configuration names (lock held). 0, or
 * -errno with one line in why. */
int vm_load_images(struct vm *vm, char *why, size_t why_len) MUST_CHECK;
/* Where --snapshot-on-exit and Ctrl-A s write. */
const char *vm_snapshot_path(const struct vm *vm);

#endif
