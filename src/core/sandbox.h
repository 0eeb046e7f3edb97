/* SPDX-License-Identifier: MIT */
/*
 * The system-call sandbox: once set up, each x86v thread runs under a
 * seccomp filter (libseccomp, with no_new_privs) that allows only the calls
 * its kind of work needs, and ioctl only with the requests it makes. A
 * forbidden call raises SIGSYS; the handler names the call (an ioctl's
 * request too) and the thread, restores the terminal and ends x86v with status
 * 14, so that a hole in a list is found by its message, not by a silent
 * death. Nothing in the filters depends on the host's CPU vendor.
 *
 * Each thread installs its own filter when it starts its loop, after its
 * set-up (a filter is inherited by threads created later, so the main
 * thread installs its own last). `--sandbox off` turns it off for
 * debugging; builds with AddressSanitizer default to off (its runtime makes
 * calls no list here should allow).
 */
#ifndef X86V_CORE_SANDBOX_H
#define X86V_CORE_SANDBOX_H

#include <stdbool.h>

#include "core/compiler.h"

enum sandbox_thread {
	SANDBOX_MAIN, /* the event loop: devices' host side, timers, the terminal, the GDB stub */
	SANDBOX_VCPU, /* running the guest and its device accesses */
	SANDBOX_DISK, /* a disk's I/O worker (files, NBD sockets) */
	SANDBOX_NET, /* a network card's thread (TAP, libslirp's sockets) */
	SANDBOX_CONSOLE, /* the terminal's writer */
	SANDBOX_API, /* the control API's HTTP server (core/api.c) */
};

/* Whether threads install filters (set once, before any thread starts). */
void sandbox_set_enabled(bool on);
bool sandbox_enabled(void);

/* The vCPU thread may create, rename and remove files in the directory
 * dirfd names (snapshots), by names relative to it; other opens still fail.
 * Before any thread starts; -1 for none. */
void sandbox_allow_files_in(int dirfd);

/* Before the first filter (when enabled): loads what glibc would load lazily
 * later (the unwinder that thread cancellation needs), as no thread may map
 * new code once filtered. */
void sandbox_prepare(void);

/* Installs the calling thread's filter (nothing when disabled). A thread
 * that cannot install it must not go on: x86v ends with a one-line error
 * and status 14. */
void sandbox_enter(enum sandbox_thread kind);

/* The tests' way to show that a forbidden call is reported: with the item
 * forbidden-call in X86V_SANDBOX_TEST (comma-separated items), the main
 * thread makes a call its filter forbids (socket) right after entering it.
 * (sandbox_enter itself takes the items ioctl:KIND:REQUEST, KIND one of
 * main, vcpu, disk, net, console, api: a thread of that kind calls
 * ioctl(-1, REQUEST) once its filter is in; an allowed request fails with
 * EBADF, a forbidden one is reported.) */
void sandbox_selftest(void);

#endif
