/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics on stderr. Every line starts with "x86v: ". log_guest() is for
 * things a guest can provoke: printed only with --verbose (tools that drive a
 * VMM take unexpected stderr lines for failures) and rate-limited per call
 * site so a guest hammering an unimplemented register cannot flood the host.
 */
#ifndef X86V_CORE_LOG_H
#define X86V_CORE_LOG_H

#include <stdbool.h>
#include "core/compiler.h"

void log_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* The text of the last log_error line (the control API reports it as a fault message). */
const char *log_last_error(void);
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Per-call-site budget for guest-triggered messages. */
struct log_ratelimit {
	unsigned printed;
};
#define LOG_GUEST_BURST 10

void log_guest_rl(struct log_ratelimit *rl, const char *fmt, ...) PRINTF_LIKE(2, 3);
#define log_guest(...)                                       \
	do {                                                 \
		static struct log_ratelimit log_rl_;         \
		log_guest_rl(&log_rl_, __VA_ARGS__);         \
	} while (0)

/* Set by --verbose: informational lines and notes about the guest. */
extern bool log_verbose;

#endif
