/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a whole machine: a small state file (format version, machine
 * description, the vCPU's architectural state, every device's record, all
 * under a CRC-32C) beside a memory file holding guest RAM and the firmware
 * ROM, written sparsely (pages of zeros stay holes).
 *
 * Taking one is atomic: the memory file gets a name of its own
 * (PATH.mem-ID, ID random per snapshot), both files are written under
 * temporary names and synced, and renaming the state file onto PATH
 * commits; only then is the memory file of the previous snapshot at PATH
 * removed. A crash at any point leaves the previous snapshot usable.
 *
 * Restoring maps the memory file privately over guest RAM, so pages load on
 * first touch and nothing is copied. The engine's state is engine-neutral
 * (cpu/x86_state.h), so a snapshot taken on one engine restores on the
 * other. The virtual clock continues from the snapshot's time; the RTC's
 * wall clock moves on by the time the snapshot sat on disk.
 *
 * A state file is untrusted input: every length, name and field is checked,
 * and a file that is wrong in any way is refused with a one-line reason.
 */
#ifndef X86V_CORE_SNAPSHOT_H
#define X86V_CORE_SNAPSHOT_H

#include <stddef.h>

#include "core/compiler.h"

struct vm;
struct statebuf;
struct state_reader;
struct x86_cpu_state;

/* Opens the directory that will hold snapshots written to path (before the
 * sandbox: files are then created relative to it). 0 or -errno with why. */
int snapshot_prepare(struct vm *vm, const char *path, char *why, size_t why_len) MUST_CHECK;
/* Writes a snapshot of the machine to path (the directory snapshot_prepare
 * opened). On the vCPU thread with the vCPU out of the guest; takes the
 * machine lock itself. 0, or -errno with a one-line reason in why. */
int snapshot_save(struct vm *vm, const char *path, char *why, size_t why_len) MUST_CHECK;
/* The same with the memory file named mem (a plain name in path's directory,
 * replaced as it is written: the control API's choice), or NULL. */
int snapshot_save_named(struct vm *vm, const char *path, const char *mem, char *why, size_t why_len) MUST_CHECK;
/* Restores the snapshot at path into a machine built from the same options:
 * RAM, devices and the clock now, the vCPU's state into vm->boot_state.
 * Called by vm_create after the board exists and before the engine does.
 * 0, or -errno with a one-line reason in why. */
int snapshot_restore(struct vm *vm, const char *path, char *why, size_t why_len) MUST_CHECK;
/* After --restore, on the vCPU thread once set_state has given the vCPU
 * vm->boot_state: applies the engine's own state the snapshot held (section
 * PLAT: KVM's in-kernel interrupt controllers, XSAVE components beyond AVX)
 * and drops it. 0 (also when there is none), or -errno with a one-line
 * reason in why. */
int snapshot_restore_platform(struct vm *vm, char *why, size_t why_len) MUST_CHECK;
/* The machine configuration a snapshot records (Firecracker's JSON, core/vm_json.h)
 * and the name of its memory file, both malloc'd. 0 or -errno with why. */
int snapshot_read_config(const char *path, char **json, char **mem_name, char *why, size_t why_len) MUST_CHECK;

/* The CPU0 section's record (a device record of type "x86-cpu"), as the two
 * functions above write and read it; also for tests/fuzz/fuzz_snapshot.c.
 * Saving: 0 or -errno. Loading reads the whole of in (trailing bytes are
 * refused): 0, or -EINVAL with a one-line reason in why. */
int snapshot_save_cpu_record(const struct x86_cpu_state *cpu, struct statebuf *out) MUST_CHECK;
int snapshot_load_cpu_record(struct state_reader *in, struct x86_cpu_state *out, char *why,
			     size_t why_len) MUST_CHECK;

#endif
