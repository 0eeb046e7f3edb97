/* SPDX-License-Identifier: MIT */
/*
 * The machine's debugging hooks, called from vm.c at a handful of points:
 * building the machine (GDB stub, trace file), the vCPU thread's start and
 * its exits, state dumps, and the end of the run.
 */
#ifndef X86V_CORE_VM_DEBUG_H
#define X86V_CORE_VM_DEBUG_H

#include <stdio.h>

#include "core/compiler.h"
#include "core/vm.h"

/* Main thread, in vm_create: opens the trace and the GDB stub. 0, or the exit
 * status to end with (a one-line error was printed). */
int vm_debug_create(struct vm *vm) MUST_CHECK;
/* vCPU c's thread, once its vCPU holds its first state: installs its trace
 * hook; the BSP's waits for the debugger under -S. */
void vm_debug_vcpu_start(struct vm_cpu *c);
/* vCPU c's thread: a VCPU_EXIT_DEBUG exit. */
void vm_debug_vcpu_exit(struct vm_cpu *c, const struct vcpu_exit *ex);
/* vCPU c's thread, lock not held, after a kick or a halt: parks if the
 * debugger stopped the machine. */
void vm_debug_vcpu_poll(struct vm_cpu *c);
/* vCPU c's thread, lock held, while c waits (halted, or for a start-up IPI):
 * whether the debugger wants it out of its wait (to park). */
bool vm_debug_stop_pending(const struct vm_cpu *c);
/* vCPU c's thread: what follows x86_state_dump in every dump: the current
 * instruction disassembled and the engine's branch history. */
void vm_debug_dump_extra(struct vm *vm, struct vm_cpu *c, const struct x86_cpu_state *s, FILE *out);
/* Main thread after the vCPU thread ended: the debugger hears the exit status. */
void vm_debug_finish(struct vm *vm);
/* Frees what vm_debug_create made. */
void vm_debug_destroy(struct vm *vm);

#endif
