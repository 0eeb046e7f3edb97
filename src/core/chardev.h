/* SPDX-License-Identifier: MIT */
/*
 * The host side of a serial port: where guest output goes and where guest
 * input comes from. Backends: "stdio" (the terminal, in raw mode while x86v
 * runs), "none", "file:PATH" (output only) and, for tests and later sockets,
 * a pair of file descriptors.
 *
 * Input passes through a console escape, Ctrl-A (0x01), as in QEMU's
 * -nographic: Ctrl-A x quits, Ctrl-A r dumps state, Ctrl-A h prints help,
 * Ctrl-A Ctrl-A sends one 0x01; any other key after Ctrl-A is dropped.
 *
 * Locking: all functions except chardev_open* and chardev_close run with the
 * machine lock held; the frontend and the commands are called with it held.
 */
#ifndef X86V_CORE_CHARDEV_H
#define X86V_CORE_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

struct chardev;
struct event_loop;

#define CHARDEV_ESCAPE 0x01 /* Ctrl-A */

/*
 * spec: "stdio", "none" or "file:PATH" (output appended to PATH, created with
 * mode 0644 if missing; no input). On success stores the backend in *out and
 * returns 0. On failure fills why (if why_len > 0) with one line naming the
 * problem, e.g. "--serial file:/x/y: No such file or directory", and returns
 * -errno (-EINVAL for a malformed spec).
 *
 * "stdio" puts stdin in raw mode when it is a terminal (see chardev_open_fds).
 */
int chardev_open(const char *spec, struct chardev **out, char *why, size_t why_len) MUST_CHECK;

/* Puts the terminal back as it was before raw mode (async-signal-safe: for
 * a fatal signal's handler). */
void chardev_terminal_restore(void);

/*
 * A backend over in_fd (input; -1 for none) and out_fd (output; -1 for none).
 * The chardev does not own the fds: the caller closes them after
 * chardev_close(). When raw_tty is true and in_fd is a terminal, the terminal
 * is put in raw mode until chardev_close(), and also restored by atexit() and
 * by SIGTERM/SIGHUP/SIGQUIT/SIGINT (handlers are installed only over default
 * dispositions; they restore the terminal and re-raise with the default action).
 * SIGPIPE, if at its default, is set to ignored so a closed output pipe drops
 * output instead of killing x86v.
 */
int chardev_open_fds(int in_fd, int out_fd, bool raw_tty, struct chardev **out, char *why,
		     size_t why_len) MUST_CHECK;

/* Stops watching input, restores the terminal, closes what the chardev opened, frees.
 * Call before the event loop it was attached to is destroyed. NULL is ignored. */
void chardev_close(struct chardev *chr);

/*
 * Guest → host, never blocking: the bytes go into a transmit ring that a
 * writer thread empties into the output fd (core/chardev_tx.h). Returns how
 * many fit (all of them without an output, or after a hard error such as a
 * closed pipe: output is dropped from then on). When fewer than len fit,
 * the tx_space handler runs (from the event loop, lock held) once there is
 * room again.
 */
size_t chardev_write(struct chardev *chr, const uint8_t *buf, size_t len);
typedef void chardev_tx_space_fn(void *opaque);
void chardev_set_tx_space(struct chardev *chr, chardev_tx_space_fn *fn, void *opaque);
/* Waits until everything written has reached the output, then runs the
 * tx_space handler if it is due (for tests, and loops that are not running). */
void chardev_flush(struct chardev *chr);

/*
 * The frontend (a UART) receives input: it returns how many of the len bytes
 * it took. Fewer than len makes the chardev hold the rest and stop reading its
 * input until the frontend calls chardev_accept_more(). Without a frontend,
 * input is dropped.
 */
typedef size_t chardev_receive_fn(void *opaque, const uint8_t *buf, size_t len);
void chardev_set_frontend(struct chardev *chr, chardev_receive_fn *receive, void *opaque);

/* The frontend has room again: delivers held input and resumes reading. Machine lock
 * held (may be called from a vCPU thread). Safe to call when nothing is held. NULL ignored. */
void chardev_accept_more(struct chardev *chr);

/* Console commands; any of the pointers may be NULL. The struct is copied. */
struct chardev_commands {
	void (*quit)(void *opaque); /* Ctrl-A x */
	void (*dump)(void *opaque); /* Ctrl-A r */
	void (*snapshot)(void *opaque); /* Ctrl-A s */
	void *opaque;
};
void chardev_set_commands(struct chardev *chr, const struct chardev_commands *cmds);

/*
 * Starts reading input from loop (callbacks run with the machine lock held).
 * An input that cannot be polled (a regular file or /dev/null as stdin) is
 * treated as closed. 0 or -errno (from evloop_add_fd).
 */
int chardev_attach(struct chardev *chr, struct event_loop *loop) MUST_CHECK;

/*
 * For the event loop and for tests: reads what is available on the input (at
 * most one read(), never blocking), runs the escape commands and offers the
 * bytes to the frontend. If input is held from an earlier read it only retries
 * delivering that. At end of input it stops watching (the guest keeps running).
 */
void chardev_handle_input(struct chardev *chr);

#endif
