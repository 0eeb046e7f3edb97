/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing. Long options take "--opt VALUE" or "--opt=VALUE";
 * QEMU's single-dash spellings (-m -kernel -initrd -append -bios -accel
 * -no-reboot -serial) are accepted too, so muscle memory works.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmdline.h"

struct option_spec {
	const char *name; /* without dashes */
	bool qemu_spelling; /* also accepted with a single dash */
	bool takes_value;
};

static const struct option_spec run_options[] = {
	{ "accel", true, true },   { "m", true, true },	      { "memory", false, true },
	{ "bios", true, true },	   { "kernel", true, true },  { "initrd", true, true },
	{ "append", true, true },  { "serial", true, true },  { "no-reboot", true, false },
	{ "timeout", false, true }, { "help", false, false }, { "h", true, false },
};

static int fail(char *why, size_t why_len, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int fail(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void cmdline_usage(FILE *out)
{
	fputs("usage: x86v run [options]     run a virtual machine (\"run\" may be omitted)\n"
	      "       x86v info [--engines]   report what this host can virtualize\n"
	      "       x86v --help | --version\n"
	      "\n"
	      "run options (QEMU's single-dash spellings also work: -m -bios -kernel ...):\n"
	      "  --accel kvm|soft     execution engine (default kvm)\n"
	      "  -m, --memory SIZE    guest RAM, e.g. 512M, 2G; a bare number is MiB (default 128M)\n"
	      "  --bios FILE          firmware ROM (64 KiB..16 MiB, multiple of 4 KiB), started at F000:FFF0\n"
	      "  --kernel FILE        Multiboot (v1) ELF kernel, entered in 32-bit protected mode\n"
	      "  --initrd FILE        passed to a Multiboot kernel as its boot module\n"
	      "  --append TEXT        kernel command line\n"
	      "  --serial stdio|none|file:PATH   where COM1 goes (default stdio)\n"
	      "  --no-reboot          exit on guest reset or triple fault instead of restarting\n"
	      "  --timeout SECONDS    stop the guest after this long (exit status 12)\n"
	      "\n"
	      "console: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h shows help\n"
	      "exit status: the guest's debug-exit value V gives (V << 1) | 1; 0 after power-off or Ctrl-A x;\n"
	      "  2 bad input, 4 triple fault, 6 internal error, 8 failed entry, 10 unknown exit,\n"
	      "  12 timeout, 14 host error, 16 halted forever\n",
	      out);
}

/* Matches argv[*i] against the option table; returns the spec and sets *value. */
static const struct option_spec *match_option(int argc, char **argv, int *i, const char **value,
					      char *why, size_t why_len, int *err)
{
	const char *arg = argv[*i];
	bool double_dash = arg[1] == '-';
	const char *name = arg + (double_dash ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	*err = 0;
	for (size_t k = 0; k < ARRAY_SIZE(run_options); k++) {
		const struct option_spec *o = &run_options[k];
		if (strlen(o->name) != len || strncmp(o->name, name, len) != 0)
			continue;
		if (!double_dash && !o->qemu_spelling)
			break;
		if (!o->takes_value) {
			if (eq) {
				*err = fail(why, why_len, "option %.*s takes no value", (int)len, name);
				return NULL;
			}
			return o;
		}
		if (eq) {
			*value = eq + 1;
		} else if (*i + 1 < argc) {
			*value = argv[++*i];
		} else {
			*err = fail(why, why_len, "option %s needs a value", arg);
			return NULL;
		}
		return o;
	}
	*err = fail(why, why_len, "unknown option %s (see x86v --help)", arg);
	return NULL;
}

static int parse_timeout(const char *text, double *out, char *why, size_t why_len)
{
	char *end;
	errno = 0;
	double t = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(t) || t <= 0 || t > 1e7)
		return fail(why, why_len, "--timeout %s: expected a number of seconds > 0", text);
	*out = t;
	return 0;
}

static int parse_run(int argc, char **argv, int first, struct cmdline *out, char *why, size_t why_len)
{
	struct vm_config *cfg = &out->cfg;
	for (int i = first; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-' || arg[1] == '\0')
			return fail(why, why_len, "unexpected argument '%s' (see x86v --help)", arg);
		const char *v = NULL;
		int err;
		const struct option_spec *o = match_option(argc, argv, &i, &v, why, why_len, &err);
		if (!o)
			return err;
		const char *n = o->name;
		if (!strcmp(n, "help") || !strcmp(n, "h")) {
			out->command = CMDLINE_HELP;
			return 0;
		} else if (!strcmp(n, "accel")) {
			if (strcmp(v, "kvm") && strcmp(v, "soft"))
				return fail(why, why_len, "--accel %s: expected kvm or soft", v);
			cfg->accel = v;
		} else if (!strcmp(n, "m") || !strcmp(n, "memory")) {
			/* QEMU allows "-m size=512M". */
			if (!strncmp(v, "size=", 5))
				v += 5;
			if (ram_parse_size(v, &cfg->ram_size) < 0)
				return fail(why, why_len, "-m %s: expected a size such as 512M or 2G", v);
			if (cfg->ram_size < RAM_MIN_SIZE || cfg->ram_size > RAM_MAX_SIZE ||
			    cfg->ram_size % (4 * KiB))
				return fail(why, why_len,
					    "-m %s: RAM must be 2 MiB..1 TiB and a multiple of 4 KiB", v);
		} else if (!strcmp(n, "bios")) {
			cfg->bios = v;
		} else if (!strcmp(n, "kernel")) {
			cfg->kernel = v;
		} else if (!strcmp(n, "initrd")) {
			cfg->initrd = v;
		} else if (!strcmp(n, "append")) {
			cfg->append = v;
		} else if (!strcmp(n, "serial")) {
			if (strcmp(v, "stdio") && strcmp(v, "none") && strncmp(v, "file:", 5))
				return fail(why, why_len, "--serial %s: expected stdio, none or file:PATH", v);
			if (!strcmp(v, "file:"))
				return fail(why, why_len, "--serial file: needs a path");
			cfg->serial = v;
		} else if (!strcmp(n, "no-reboot")) {
			cfg->no_reboot = true;
		} else if (!strcmp(n, "timeout")) {
			int r = parse_timeout(v, &cfg->timeout, why, why_len);
			if (r < 0)
				return r;
		}
	}
	if (!cfg->bios && !cfg->kernel)
		return fail(why, why_len, "nothing to run: give --bios FILE or --kernel FILE");
	if (cfg->bios && cfg->kernel)
		return fail(why, why_len, "--bios and --kernel together are not supported yet");
	if (cfg->initrd && !cfg->kernel)
		return fail(why, why_len, "--initrd needs --kernel");
	if (cfg->append && !cfg->kernel)
		return fail(why, why_len, "--append needs --kernel");
	return 0;
}

int cmdline_parse(int argc, char **argv, struct cmdline *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	out->cfg.ram_size = CMDLINE_DEFAULT_RAM;
	out->cfg.accel = "kvm";
	out->cfg.serial = "stdio";
	if (why_len)
		why[0] = '\0';

	if (argc < 2)
		return fail(why, why_len, "no command given (see x86v --help)");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		out->command = CMDLINE_HELP;
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		out->command = CMDLINE_VERSION;
		return 0;
	}
	if (!strcmp(cmd, "info")) {
		out->command = CMDLINE_INFO;
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--engines"))
				out->info_engines = true;
			else
				return fail(why, why_len, "info: unknown argument %s", argv[i]);
		}
		return 0;
	}
	if (!strcmp(cmd, "run")) {
		out->command = CMDLINE_RUN;
		return parse_run(argc, argv, 2, out, why, why_len);
	}
	/* "x86v -m 64 -kernel k.elf", as one would type for QEMU, means run. */
	if (cmd[0] == '-') {
		out->command = CMDLINE_RUN;
		return parse_run(argc, argv, 1, out, why, why_len);
	}
	return fail(why, why_len, "unknown command '%s' (see x86v --help)", cmd);
}
