/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote serial protocol stub (GDB manual, Appendix E "Remote
 * Protocol"): `--gdb tcp:HOST:PORT`, one debugger connection at a time,
 * all-stop, one thread.
 *
 * Threads. The stub's socket work (accept, packets, replies) runs on the main
 * thread in the event loop, with the machine lock held like every other
 * callback. The vCPU belongs to its own thread (KVM wants vCPU ioctls
 * there), so the stub never calls the engine: when the vCPU stops (a
 * breakpoint, a step, a watchpoint, Ctrl-C, -S, a debugger connecting) the
 * vCPU thread "parks" in gdb_vcpu_*(): it saves the engine's state into the
 * stub, takes software breakpoints out of guest memory, and sleeps on the
 * BSP's wake condition (vm_cpu.wake). While it is parked the main thread answers
 * register and memory packets from that saved copy and guest RAM. A resume
 * packet (c, s, vCont, D) sets what to do and wakes the vCPU thread, which
 * loads changed registers (set_state) and the breakpoint set (set_debug) on
 * itself and runs again. A packet that needs a parked vCPU while it runs
 * asks it to stop and waits (bounded) until it has parked.
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
struct gdb_stub;

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

/* vCPU thread, lock not held. */
/* Before the first instruction: parks when -S asked to start halted. */
void gdb_vcpu_start(struct gdb_stub *g);
/* The engine returned VCPU_EXIT_DEBUG: parks and reports the stop. */
void gdb_vcpu_debug_exit(struct gdb_stub *g, const struct vcpu_exit *ex);
/* After any other exit: parks if the debugger asked for a stop. */
void gdb_vcpu_poll(struct gdb_stub *g);
/* Lock held: the debugger wants the vCPU stopped (a halted vCPU must come out). */
bool gdb_stop_pending(const struct gdb_stub *g);

/* ---- pieces exposed for unit tests ---- */

/* The RSP checksum: the sum of the bytes modulo 256. */
uint8_t gdb_checksum(const char *data, size_t len);
/* Hex text → bytes; -EINVAL on a non-hex digit or odd length; at most out_len bytes. */
int gdb_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len) MUST_CHECK;
/* Undoes the '}' escape of binary data in place; returns the new length or -EINVAL. */
int gdb_unescape(uint8_t *data, size_t len) MUST_CHECK;

#endif
