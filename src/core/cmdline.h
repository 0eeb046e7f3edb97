/* SPDX-License-Identifier: MIT */
/*
 * The x86v command line: `x86v run [options]`, `x86v info [--engines]`,
 * `x86v --help`, `x86v --version`. Parsing is pure (no I/O beyond the
 * returned message) so it is unit-tested directly.
 */
#ifndef X86V_CORE_CMDLINE_H
#define X86V_CORE_CMDLINE_H

#include <stdbool.h>
#include <stdio.h>
#include "core/compiler.h"
#include "core/vm.h"

enum cmdline_command { CMDLINE_RUN, CMDLINE_INFO, CMDLINE_HELP, CMDLINE_VERSION };

struct cmdline {
	enum cmdline_command command;
	struct vm_config cfg; /* for CMDLINE_RUN; strings point into argv */
	bool info_engines; /* `x86v info --engines`: list the built engines */
};

#define CMDLINE_DEFAULT_RAM (128 * MiB)

/* 0 on success; -EINVAL with a one-line why (no "x86v:" prefix) on bad input. */
int cmdline_parse(int argc, char **argv, struct cmdline *out, char *why, size_t why_len) MUST_CHECK;
void cmdline_usage(FILE *out);

#endif
