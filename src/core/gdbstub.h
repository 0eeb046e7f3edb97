/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote serial protocol stub (GDB manual, Appendix E "Remote
 * Protocol"): `--gdb tcp:HOST:PORT`, one debugger connection at a time,
 * all-stop, one thread per vCPU (thread id = vCPU index + 1).
 *
 * Threads. The stub's socket work (accept, packets, replies) runs on the main
 * thread in the event loop, with the machine lock held like every other
 * callback. Each vCPU belongs to its own thread (KVM wants vCPU ioctls
 * there), so the stub never calls the engine: when a vCPU stops (a
 * breakpoint, a step, a watchpoint) it asks every other vCPU to stop too
 * (a flag and a kick), and each vCPU thread "parks" in gdb_vcpu_*() at its
 * next exit, an instruction boundary: it saves the engine's state into the
 * stub, takes software breakpoints out of guest memory, and sleeps on its own
 * wake condition (vm_cpu.wake). A halted vCPU comes out of its halt to park;
 * an application processor waiting for a start-up IPI stays where it waits
 * and is "idle": its thread saves its state from the wait
 * (gdb_stop_pending). Once every vCPU is parked or idle the machine is
 * stopped and the debugger hears the stop, naming the thread that caused it.
 * While stopped the main thread answers register packets from the Hg
 * thread's saved copy, memory packets from guest RAM through that thread's
 * page tables. A resume packet (c, s, vCont, D) sets what each vCPU does
 * (continue, step, stay stopped) and wakes the vCPU threads that go, which
 * load changed registers (set_state) and the breakpoint set (set_debug, the
 * same for every vCPU) on themselves and run again. A vCPU that stopped on a
 * breakpoint or watchpoint while another's stop was being reported keeps its
 * stop and reports it at the next resume that would let it run, without
 * running anything (as gdbserver does). A packet that needs a stopped
 * machine while it runs asks every vCPU to stop and waits (bounded).
 */
#ifndef X86V_CORE_GDBSTUB_H
#define X86V_CORE_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/debug_opts.h"
#include "engine/engine.h"

struct vm;
struct vm_cpu;
struct gdb_stub;

/* What a resume lets one vCPU do. */
enum gdb_resume { GDB_RESUME_NONE, GDB_RESUME_CONTINUE, GDB_RESUME_STEP };

/* Parses "tcp:[HOST:]PORT" (HOST defaults to 127.0.0.1; PORT 0 picks a free
 * one). Refuses non-loopback hosts unless listen_any. 0 or -EINVAL + why. */
int gdb_parse_address(const char *spec, bool listen_any, char *host, size_t host_len, uint16_t *port,
		      char *why, size_t why_len) MUST_CHECK;

/* Main thread, while the machine is built: listens on opts->gdb and prints
 * "x86v: gdb: listening on HOST:PORT" on stderr. 0, or -errno with a why. */
int gdb_stub_create(struct vm *vm, const struct debug_opts *opts, struct gdb_stub **out, char *why,
		    size_t why_len) MUST_CHECK;
void gdb_stub_destroy(struct gdb_stub *g);
/* Main thread after the run ended (lock not held): tells a connected debugger
 * the exit status (W packet). */
void gdb_stub_report_exit(struct gdb_stub *g, int status);

/* vCPU c's thread, lock not held. */
/* The BSP, before its first instruction: parks when -S asked to start halted. */
void gdb_vcpu_start(struct gdb_stub *g, struct vm_cpu *c);
/* The engine returned VCPU_EXIT_DEBUG: parks and the machine stops. */
void gdb_vcpu_debug_exit(struct gdb_stub *g, struct vm_cpu *c, const struct vcpu_exit *ex);
/* After a kick or a halt: parks if the debugger asked for a stop; loads the
 * breakpoints when it must. */
void gdb_vcpu_poll(struct gdb_stub *g, struct vm_cpu *c);
/* vCPU c's thread, lock held, while c waits (a halt, a start-up IPI):
 * whether it must come out of its wait to park. One waiting for a start-up
 * IPI never must: it is stopped where it waits (its state is saved here). */
bool gdb_stop_pending(struct gdb_stub *g, const struct vm_cpu *c);

/* ---- pieces exposed for unit tests ---- */

/* The RSP checksum: the sum of the bytes modulo 256. */
uint8_t gdb_checksum(const char *data, size_t len);
/* Hex text → bytes; -EINVAL on a non-hex digit or odd length; at most out_len bytes. */
int gdb_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len) MUST_CHECK;
/* A thread id at *p ("-1": all, "0": any, else hex 1..nthreads) into *tid
 * (-1, 0 or the id); advances *p. 0, or -EINVAL (malformed, no such thread). */
int gdb_parse_thread(const char **p, unsigned nthreads, int *tid) MUST_CHECK;
/* vCont's actions (the text after "vCont": ";s:2;c", ";c"...) for nthreads
 * threads: how[i] for thread i + 1 is what the first action naming it (or
 * naming no thread, or -1) says, GDB_RESUME_NONE when none does; thread 0
 * ("any") means thread any + 1. c/C continue, s/S step, signals ignored.
 * 0, or -EINVAL (malformed, an action the stub lacks, no such thread). */
int gdb_parse_vcont(const char *p, unsigned nthreads, unsigned any, enum gdb_resume *how) MUST_CHECK;
/* Undoes the '}' escape of binary data in place; returns the new length or -EINVAL. */
int gdb_unescape(uint8_t *data, size_t len) MUST_CHECK;

#endif
