/* SPDX-License-Identifier: MIT */
/*
 * stderr diagnostics. Messages are written with one write() per line so
 * lines from the vCPU thread and the event loop never interleave mid-line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "core/log.h"

bool log_verbose;

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "x86v: %s", prefix);
	if (n < 0)
		return;
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	/* The terminal may be in raw mode: a bare \n would not return the carriage. */
	if (isatty(STDERR_FILENO) && len < sizeof(buf)) {
		buf[len - 1] = '\r';
		buf[len++] = '\n';
	}
	ssize_t r = write(STDERR_FILENO, buf, len);
	(void)r;
}

static char last_error[320];

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list copy;
	va_copy(copy, ap);
	vsnprintf(last_error, sizeof(last_error), fmt, copy);
	va_end(copy);
	log_line("", fmt, ap);
	va_end(ap);
}

const char *log_last_error(void)
{
	return last_error;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void log_guest_rl(struct log_ratelimit *rl, const char *fmt, ...)
{
	if (!log_verbose || rl->printed > LOG_GUEST_BURST)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (rl->printed++ == LOG_GUEST_BURST)
		log_line("guest: (further messages of this kind suppressed) ", fmt, ap);
	else
		log_line("guest: ", fmt, ap);
	va_end(ap);
}
