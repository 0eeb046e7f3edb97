/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing. Long options take "--opt VALUE" or "--opt=VALUE";
 * QEMU's single-dash spellings (-m -kernel -initrd -append -bios -accel
 * -no-reboot -serial -drive -hda -net -nic) are accepted too, so muscle memory works.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmdline.h"
#include "core/gdbstub.h"
#include "core/trace.h"
#include "hw/block/block.h"
#include "hw/net/net.h"

struct option_spec {
	const char *name; /* without dashes */
	bool qemu_spelling; /* also accepted with a single dash */
	bool takes_value;
};

static const struct option_spec run_options[] = {
	{ "accel", true, true },   { "m", true, true },	      { "memory", false, true }, { "smp", true, true },
	{ "bios", true, true },	   { "kernel", true, true },  { "initrd", true, true },
	{ "append", true, true },  { "serial", true, true },  { "no-reboot", true, false },
	{ "timeout", false, true }, { "help", false, false }, { "h", true, false },
	{ "kernel-entry", false, true }, { "irqchip", false, true }, { "stats", false, false },
	{ "verbose", false, false }, { "overcommit", false, false }, { "sandbox", false, true }, { "user", false, true },
	{ "tier", false, true },   { "jit-threshold", false, true }, { "jit-cache", false, true },
	{ "jit-check", false, true }, { "jit-perf-map", false, false },
	{ "drive", true, true },   { "hda", true, true },	      { "rng", false, false },
	{ "console", false, true }, { "virtio-ring", false, true }, { "net", true, true },	      { "nic", true, true },
	{ "restore", false, true }, { "snapshot-on-exit", false, true }, { "api-sock", false, true },
	{ "config-file", false, true },
	/* debugging (docs/debugging.md) */
	{ "gdb", true, true },	   { "gdb-listen-any", false, false }, { "s", true, false },
	{ "S", true, false },	   { "trace", false, true },	     { "trace-range", false, true },
	{ "trace-cpl", false, true }, { "trace-cpu", false, true }, { "trace-mode", false, true },   { "trace-count", false, true },
	{ "trace-format", false, true },
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
	      "  --accel auto|kvm|soft  execution engine (default auto: kvm where it runs guest code\n"
	      "                       natively, soft without /dev/kvm or on a software-nested one)\n"
	      "  -m, --memory SIZE    guest RAM, e.g. 512M, 2G; a bare number is MiB (default 128M)\n"
	      "  --smp N              N virtual CPUs, 1..64 (default 1; also cpus=N), each on a host thread\n"
	      "  --bios FILE          firmware ROM (64 KiB..16 MiB, multiple of 4 KiB), started at F000:FFF0\n"
	      "  --kernel FILE        Linux bzImage (boot protocol 2.10+) or Multiboot (v1) ELF kernel\n"
	      "  --kernel-entry 64|32 bzImage entry point: 64-bit long mode or 32-bit (default: 64-bit\n"
	      "                       when the kernel has that entry, else 32-bit)\n"
	      "  --initrd FILE        initramfs for Linux; the boot module for a Multiboot kernel\n"
	      "  --append TEXT        kernel command line\n"
	      "  --serial stdio|none|file:PATH   where COM1 goes (default stdio)\n"
	      "  --no-reboot          exit on guest reset or triple fault instead of restarting\n"
	      "  --timeout SECONDS    stop the guest after this long (exit status 12)\n"
	      "  --snapshot-on-exit PATH  when the run is ended while the guest still runs (Ctrl-A x,\n"
	      "                       --timeout), write a snapshot to PATH (+ PATH.mem-ID); Ctrl-A s too\n"
	      "  --restore PATH       start from a snapshot instead of booting; give the same -m and\n"
	      "                       devices as when it was taken (either engine)\n"
	      "  --api-sock PATH      a Firecracker-compatible control API on a new Unix socket: the machine\n"
	      "                       is configured and started through it (docs/api.md)\n"
	      "  --config-file FILE   the machine from a Firecracker configuration file (JSON), started at once\n"
	      "  --stats              at the end print the guest instructions run and MIPS (soft engine)\n"
	      "  --verbose            also print notes about what the guest does and which engine auto chose\n"
	      "  --overcommit         allow more guest RAM than the host's RAM and swap\n"
	      "  --sandbox on|off     seccomp filters on every thread once set up (default on; off for\n"
	      "                       debugging)\n"
	      "  --user NAME          started as root: run as NAME (its uid, gid and groups) once every\n"
	      "                       file, device and socket x86v needs is open\n"
	      "  --irqchip user|kernel  interrupt controllers and PIT: x86v's models (default) or,\n"
	      "                       with --accel kvm, KVM's in-kernel PIC/IOAPIC/LAPIC/PIT\n"
	      "  --tier jit|interp    soft engine: translate hot blocks to host code (default) or\n"
	      "                       only interpret\n"
	      "  --jit-threshold N    soft engine: translate a block on its Nth run (default 2)\n"
	      "  --jit-cache SIZE     soft engine: translated-code cache, e.g. 64M (default 64M,\n"
	      "                       1M..1G; flushed when full)\n"
	      "  --jit-check N        soft engine, debugging: run the first N translated blocks also in\n"
	      "                       the interpreter from the same state and stop at a difference\n"
	      "  --jit-perf-map       soft engine: name translated blocks for perf in /tmp/perf-PID.map\n"
	      "  --drive file=PATH[,format=raw|nbd][,readonly=on][,cache=none|writeback][,if=virtio]\n"
	      "                       a raw disk image, or an NBD export (file=nbd://HOST[:PORT]/NAME or\n"
	      "                       nbd+unix:///NAME?socket=PATH), as a virtio-blk disk (repeatable, up to 8:\n"
	      "                       vda, vdb..; \",,\" is a comma in PATH; cache=none bypasses the page cache)\n"
	      "  -hda FILE            the same as --drive file=FILE\n"
	      "  --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT][,restrict=on][,mac=MAC]\n"
	      "                       a virtio-net card on user-mode networking (NAT: guest 10.0.2.15 by DHCP,\n"
	      "                       host 10.0.2.2, DNS 10.0.2.3); hostfwd repeatable; restrict=on: the guest\n"
	      "                       reaches nothing outside (forwards still work);\n"
	      "                       guestfwd=[tcp]:GUESTADDR:GUESTPORT-unix:PATH|cmd:COMMAND: the guest's\n"
	      "                       connections there reach a Unix socket or a command on the host\n"
	      "  --net tap,ifname=NAME[,mac=MAC]   a virtio-net card on a host TAP interface\n"
	      "                       (repeatable, up to 4 cards; also -net, -nic)\n"
	      "  --rng                a virtio-rng device: the guest's /dev/hwrng, fed by the host's getrandom()\n"
	      "  --console serial|virtio   where the terminal's input goes: COM1 (default) or a virtio-console\n"
	      "  --virtio-ring split|packed   the virtqueue layouts the virtio devices offer: split\n"
	      "                       (default) or split and packed (VIRTIO_F_RING_PACKED; the driver picks)\n"
	      "                       (the guest's hvc0; COM1's output still reaches the terminal)\n"
	      "\n"
	      "debugging (docs/debugging.md):\n"
	      "  --gdb tcp:[HOST:]PORT  GDB remote stub (HOST defaults to 127.0.0.1; loopback only)\n"
	      "  --gdb-listen-any     allow a non-loopback --gdb HOST\n"
	      "  -s                   shorthand for --gdb tcp:127.0.0.1:1234\n"
	      "  -S                   start halted, waiting for the debugger\n"
	      "  --trace FILE         write an instruction trace (soft engine; FILE - is stdout)\n"
	      "  --trace-range START-END   only linear addresses START..END (hex, inclusive)\n"
	      "  --trace-cpl N        only at privilege level N (0..3)\n"
	      "  --trace-cpu N        only vCPU N's instructions (with --smp; default: every vCPU's)\n"
	      "  --trace-mode MODE    only in real|vm86|prot16|prot32|compat|long64\n"
	      "  --trace-count N      only the first N traced instructions\n"
	      "  --trace-format x86v|qemu  x86v: bytes, disassembly, changed registers;\n"
	      "                       qemu: like qemu -d exec,cpu (for scripts/trace-diff)\n"
	      "\n"
	      "console: Ctrl-A x quits, Ctrl-A s snapshots, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h shows help\n"
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

static int parse_u64(const char *opt, const char *text, uint64_t max, uint64_t *out, char *why, size_t why_len)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (errno || end == text || *end || text[0] == '-' || v > max)
		return fail(why, why_len, "%s %s: expected a number up to %llu", opt, text, (unsigned long long)max);
	*out = v;
	return 0;
}

/* The debugging options; 1 when n is not one of them. */
static int parse_debug_option(const char *n, const char *v, struct debug_opts *d, char *why, size_t why_len)
{
	uint64_t x = 0;
	int r = 0;
	if (!strcmp(n, "gdb")) {
		d->gdb = v;
	} else if (!strcmp(n, "gdb-listen-any")) {
		d->gdb_listen_any = true;
	} else if (!strcmp(n, "s")) {
		d->gdb = "tcp:127.0.0.1:1234";
	} else if (!strcmp(n, "S")) {
		d->gdb_wait = true;
	} else if (!strcmp(n, "trace")) {
		if (!v[0])
			return fail(why, why_len, "--trace needs a file name");
		d->trace = v;
	} else if (!strcmp(n, "trace-range")) {
		if (trace_parse_range(v, &d->trace_start, &d->trace_end) < 0)
			return fail(why, why_len, "--trace-range %s: expected START-END in hex, START <= END", v);
		d->trace_has_range = true;
	} else if (!strcmp(n, "trace-cpl")) {
		r = parse_u64("--trace-cpl", v, 3, &x, why, why_len);
		d->trace_cpl = (int)x;
	} else if (!strcmp(n, "trace-cpu")) {
		r = parse_u64("--trace-cpu", v, ENGINE_MAX_VCPUS - 1, &x, why, why_len);
		d->trace_cpu = (int)x;
	} else if (!strcmp(n, "trace-mode")) {
		static const char *const modes[] = { "real", "vm86", "prot16", "prot32", "compat", "long64" };
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
			ok |= !strcmp(v, modes[i]);
		if (!ok)
			return fail(why, why_len, "--trace-mode %s: expected real, vm86, prot16, prot32, compat or long64", v);
		d->trace_mode = v;
	} else if (!strcmp(n, "trace-count")) {
		r = parse_u64("--trace-count", v, UINT64_MAX, &d->trace_count, why, why_len);
		if (r == 0 && d->trace_count == 0)
			return fail(why, why_len, "--trace-count 0: expected at least 1");
	} else if (!strcmp(n, "trace-format")) {
		if (!strcmp(v, "x86v"))
			d->trace_format = TRACE_FORMAT_X86V;
		else if (!strcmp(v, "qemu"))
			d->trace_format = TRACE_FORMAT_QEMU;
		else
			return fail(why, why_len, "--trace-format %s: expected x86v or qemu", v);
	} else {
		return 1;
	}
	return r;
}

static int check_debug_options(const struct vm_config *cfg, char *why, size_t why_len)
{
	const struct debug_opts *d = &cfg->debug;
	bool filters = d->trace_has_range || d->trace_cpl >= 0 || d->trace_cpu >= 0 || d->trace_mode ||
		       d->trace_count || d->trace_format != TRACE_FORMAT_X86V;
	if (filters && !d->trace)
		return fail(why, why_len, "--trace-range/-cpl/-cpu/-mode/-count/-format need --trace FILE");
	if (d->trace_cpu >= 0 && (unsigned)d->trace_cpu >= (cfg->ncpus ? cfg->ncpus : 1))
		return fail(why, why_len, "--trace-cpu %d: the machine has vCPUs 0 to %u", d->trace_cpu,
			    (cfg->ncpus ? cfg->ncpus : 1) - 1);
	if (d->trace && strcmp(cfg->accel, "soft"))
		return fail(why, why_len, "--trace needs --accel soft (the %s engine cannot trace)", cfg->accel);
	if (d->gdb_wait && !d->gdb)
		return fail(why, why_len, "-S needs --gdb or -s (nothing could resume the guest)");
	if (d->gdb_listen_any && !d->gdb)
		return fail(why, why_len, "--gdb-listen-any needs --gdb");
	if (d->gdb) {
		char host[64];
		uint16_t port;
		return gdb_parse_address(d->gdb, d->gdb_listen_any, host, sizeof(host), &port, why, why_len);
	}
	return 0;
}

/* One VALUE of a KEY=VALUE list: up to the next single comma (",," is a
 * comma). Returns where the next item starts, or NULL when it is too long. */
static const char *drive_value(const char *p, char *out, size_t size)
{
	size_t n = 0;
	for (; *p && !(p[0] == ',' && p[1] != ','); p++) {
		if (n + 1 == size)
			return NULL;
		out[n++] = *p;
		if (p[0] == ',')
			p++; /* the second comma of ",," */
	}
	out[n] = '\0';
	return *p ? p + 1 : p;
}

/* Splits the next KEY=VALUE item of option opt's spec off *p into key
 * (up to 15 characters) and value: 0, or -EINVAL with *why. */
static int next_item(const char *opt, const char *spec, const char **p, char key[16], char *value,
		     size_t value_size, char *why, size_t why_len)
{
	const char *eq = strchr(*p, '=');
	const char *comma = strchr(*p, ',');
	if (!eq || (comma && comma < eq))
		return fail(why, why_len, "--%s %s: expected KEY=VALUE items separated by commas", opt, spec);
	size_t klen = (size_t)(eq - *p);
	if (klen >= 16)
		return fail(why, why_len, "--%s %s: unknown key %.*s", opt, spec, (int)klen, *p);
	memcpy(key, *p, klen);
	key[klen] = '\0';
	*p = drive_value(eq + 1, value, value_size);
	if (!*p)
		return fail(why, why_len, "--%s: the value of %s is too long", opt, key);
	return 0;
}

/* --drive file=PATH[,format=raw][,readonly=on|off][,cache=none|writeback][,if=virtio] */
static int parse_drive(const char *spec, struct vm_config *cfg, char *why, size_t why_len)
{
	if (cfg->ndrives == VM_MAX_DRIVES)
		return fail(why, why_len, "--drive %s: at most %d disks", spec, VM_MAX_DRIVES);
	struct vm_drive *d = &cfg->drives[cfg->ndrives];
	*d = (struct vm_drive){ 0 };
	for (const char *p = spec; *p;) {
		char key[16], value[sizeof(d->file)];
		if (next_item("drive", spec, &p, key, value, sizeof(value), why, why_len) < 0)
			return -EINVAL;
		if (!strcmp(key, "file")) {
			if (!value[0])
				return fail(why, why_len, "--drive %s: file= needs a path", spec);
			memcpy(d->file, value, sizeof(d->file));
		} else if (!strcmp(key, "format")) {
			if (strcmp(value, "raw") && strcmp(value, "nbd"))
				return fail(why, why_len, "--drive %s: format=%s: expected raw or nbd (qcow2 and others: serve them with qemu-nbd)", spec, value);
			d->nbd = !strcmp(value, "nbd");
		} else if (!strcmp(key, "readonly")) {
			if (strcmp(value, "on") && strcmp(value, "off"))
				return fail(why, why_len, "--drive %s: readonly=%s: expected on or off", spec, value);
			d->readonly = !strcmp(value, "on");
		} else if (!strcmp(key, "cache")) {
			if (strcmp(value, "none") && strcmp(value, "writeback"))
				return fail(why, why_len, "--drive %s: cache=%s: expected none or writeback", spec, value);
			d->direct = !strcmp(value, "none");
		} else if (!strcmp(key, "if")) {
			if (strcmp(value, "virtio"))
				return fail(why, why_len, "--drive %s: if=%s: only virtio disks exist", spec, value);
		} else {
			return fail(why, why_len, "--drive %s: unknown key %s (file, format, readonly, cache, if)", spec,
				    key);
		}
	}
	if (!d->file[0])
		return fail(why, why_len, "--drive %s: file=PATH is missing", spec);
	d->nbd |= block_is_nbd(d->file);
	if (d->nbd && d->direct)
		return fail(why, why_len, "--drive %s: cache=none applies to files, not NBD exports", spec);
	cfg->ndrives++;
	return 0;
}

/* mac=52:54:00:12:34:56 */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return mac[0] & 1 ? -1 : 0; /* a multicast address is no card's */
}

/* --net user[,hostfwd=..][,guestfwd=..][,restrict=on][,mac=..] | tap,ifname=NAME[,mac=..] (also -net, -nic) */
static int parse_net(const char *spec, struct vm_config *cfg, char *why, size_t why_len)
{
	if (cfg->nnets == VM_MAX_NETS)
		return fail(why, why_len, "--net %s: at most %d network cards", spec, VM_MAX_NETS);
	struct net_options *n = &cfg->nets[cfg->nnets];
	*n = (struct net_options){ .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + cfg->nnets) } };
	size_t tlen = strcspn(spec, ",");
	if (tlen == 4 && !strncmp(spec, "user", 4))
		n->kind = NET_USER;
	else if (tlen == 3 && !strncmp(spec, "tap", 3))
		n->kind = NET_TAP;
	else
		return fail(why, why_len, "--net %s: expected user or tap first", spec);
	bool tap = n->kind == NET_TAP;
	for (const char *p = spec + tlen + (spec[tlen] == ','); *p;) {
		char key[16], value[256];
		if (next_item("net", spec, &p, key, value, sizeof(value), why, why_len) < 0)
			return -EINVAL;
		if (!strcmp(key, "mac")) {
			if (parse_mac(value, n->mac) < 0)
				return fail(why, why_len, "--net %s: mac=%s: expected six hex bytes such as 52:54:00:12:34:56 "
							  "(not a multicast address)", spec, value);
		} else if (!strcmp(key, "model")) {
			if (strcmp(value, "virtio") && strcmp(value, "virtio-net-pci"))
				return fail(why, why_len, "--net %s: model=%s: only virtio cards exist", spec, value);
		} else if (!tap && !strcmp(key, "hostfwd")) {
			if (n->nfwd == NET_MAX_HOSTFWD)
				return fail(why, why_len, "--net %s: at most %d hostfwd", spec, NET_MAX_HOSTFWD);
			char fwhy[200];
			if (net_parse_hostfwd(value, &n->fwd[n->nfwd], fwhy, sizeof(fwhy)) < 0)
				return fail(why, why_len, "--net: %s", fwhy);
			n->nfwd++;
		} else if (!tap && !strcmp(key, "guestfwd")) {
			if (n->ngfwd == NET_MAX_GUESTFWD)
				return fail(why, why_len, "--net %s: at most %d guestfwd", spec, NET_MAX_GUESTFWD);
			char fwhy[400];
			if (net_parse_guestfwd(value, &n->gfwd[n->ngfwd], fwhy, sizeof(fwhy)) < 0)
				return fail(why, why_len, "--net: %s", fwhy);
			n->ngfwd++;
		} else if (!tap && !strcmp(key, "restrict")) {
			if (strcmp(value, "on") && strcmp(value, "off") && strcmp(value, "yes") && strcmp(value, "no"))
				return fail(why, why_len, "--net %s: restrict=%s: expected on or off", spec, value);
			n->restrict_guest = !strcmp(value, "on") || !strcmp(value, "yes");
		} else if (tap && !strcmp(key, "ifname")) {
			if (!value[0] || strlen(value) >= sizeof(n->ifname) || strchr(value, '/'))
				return fail(why, why_len, "--net %s: ifname=%s: expected an interface name of 1-%zu characters",
					    spec, value, sizeof(n->ifname) - 1);
			memcpy(n->ifname, value, strlen(value) + 1);
		} else if (tap && (!strcmp(key, "script") || !strcmp(key, "downscript"))) {
			if (strcmp(value, "no"))
				return fail(why, why_len, "--net %s: %s=%s: x86v runs no scripts (only %s=no)", spec, key,
					    value, key);
		} else {
			return fail(why, why_len, "--net %s: unknown key %s (%s)", spec, key,
				    tap ? "ifname, mac, model" : "hostfwd, guestfwd, restrict, mac, model");
		}
	}
	if (tap && !n->ifname[0])
		return fail(why, why_len, "--net %s: ifname=NAME is missing", spec);
	cfg->nnets++;
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
		int dr = parse_debug_option(n, v, &cfg->debug, why, why_len);
		if (dr < 0)
			return dr;
		if (dr == 0)
			continue;
		if (!strcmp(n, "help") || !strcmp(n, "h")) {
			out->command = CMDLINE_HELP;
			return 0;
		} else if (!strcmp(n, "accel")) {
			if (strcmp(v, "kvm") && strcmp(v, "soft") && strcmp(v, "auto"))
				return fail(why, why_len, "--accel %s: expected auto, kvm or soft", v);
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
		} else if (!strcmp(n, "smp")) {
			/* QEMU's "-smp cpus=4" too; topologies beyond one CPU per socket are not offered. */
			const char *num = !strncmp(v, "cpus=", 5) ? v + 5 : v;
			char *end;
			errno = 0;
			unsigned long ncpus = strtoul(num, &end, 10);
			if (errno || end == num || *end || ncpus < 1 || ncpus > ENGINE_MAX_VCPUS)
				return fail(why, why_len, "--smp %s: expected a number of CPUs 1..%u", v, ENGINE_MAX_VCPUS);
			cfg->ncpus = (unsigned)ncpus;
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
		} else if (!strcmp(n, "stats")) {
			cfg->stats = true;
		} else if (!strcmp(n, "verbose")) {
			cfg->verbose = true;
		} else if (!strcmp(n, "overcommit")) {
			cfg->overcommit = true;
		} else if (!strcmp(n, "user")) {
			if (!v[0])
				return fail(why, why_len, "--user needs a user name");
			cfg->user = v;
		} else if (!strcmp(n, "sandbox")) {
			if (strcmp(v, "on") && strcmp(v, "off"))
				return fail(why, why_len, "--sandbox %s: expected on or off", v);
			cfg->sandbox = !strcmp(v, "on");
		} else if (!strcmp(n, "kernel-entry")) {
			if (strcmp(v, "64") && strcmp(v, "32"))
				return fail(why, why_len, "--kernel-entry %s: expected 64 or 32", v);
			cfg->kernel_entry = !strcmp(v, "32") ? 32 : 64;
		} else if (!strcmp(n, "irqchip")) {
			if (strcmp(v, "user") && strcmp(v, "kernel"))
				return fail(why, why_len, "--irqchip %s: expected user or kernel", v);
			cfg->irqchip_kernel = !strcmp(v, "kernel");
		} else if (!strcmp(n, "tier")) {
			if (strcmp(v, "jit") && strcmp(v, "interp"))
				return fail(why, why_len, "--tier %s: expected jit or interp", v);
			cfg->interp_only = !strcmp(v, "interp");
		} else if (!strcmp(n, "jit-threshold")) {
			char *end;
			errno = 0;
			unsigned long t = strtoul(v, &end, 10);
			if (errno || end == v || *end || t < 1 || t > 1000000)
				return fail(why, why_len, "--jit-threshold %s: expected a number 1..1000000", v);
			cfg->jit_threshold = (uint32_t)t;
		} else if (!strcmp(n, "jit-check")) {
			char *end;
			errno = 0;
			unsigned long long k = strtoull(v, &end, 10);
			if (errno || end == v || *end || k < 1 || v[0] < '0' || v[0] > '9')
				return fail(why, why_len, "--jit-check %s: expected a number of blocks", v);
			cfg->jit_check = k;
		} else if (!strcmp(n, "jit-perf-map")) {
			cfg->jit_perf_map = true;
		} else if (!strcmp(n, "jit-cache")) {
			uint64_t size;
			if (ram_parse_size(v, &size) < 0 || size < MiB || size > GiB)
				return fail(why, why_len, "--jit-cache %s: expected a size 1M..1G", v);
			cfg->jit_cache_size = size;
		} else if (!strcmp(n, "drive") || !strcmp(n, "hda")) {
			char spec[sizeof(cfg->drives[0].file) + 8];
			if (!strcmp(n, "hda") && strchr(v, ','))
				return fail(why, why_len, "-hda %s: use --drive file=PATH for a path with commas", v);
			if ((size_t)snprintf(spec, sizeof(spec), "%s%s", !strcmp(n, "hda") ? "file=" : "", v) >= sizeof(spec))
				return fail(why, why_len, "--%s: the value is too long", n);
			int r = parse_drive(spec, cfg, why, why_len);
			if (r < 0)
				return r;
		} else if (!strcmp(n, "net") || !strcmp(n, "nic")) {
			int r = parse_net(v, cfg, why, why_len);
			if (r < 0)
				return r;
		} else if (!strcmp(n, "rng")) {
			cfg->rng = true;
		} else if (!strcmp(n, "console")) {
			if (strcmp(v, "serial") && strcmp(v, "virtio"))
				return fail(why, why_len, "--console %s: expected serial or virtio", v);
			cfg->console_virtio = !strcmp(v, "virtio");
		} else if (!strcmp(n, "virtio-ring")) {
			if (strcmp(v, "split") && strcmp(v, "packed"))
				return fail(why, why_len, "--virtio-ring %s: expected split or packed", v);
			cfg->virtio_packed = !strcmp(v, "packed");
		} else if (!strcmp(n, "no-reboot")) {
			cfg->no_reboot = true;
		} else if (!strcmp(n, "api-sock")) {
			cfg->api_sock = v;
		} else if (!strcmp(n, "config-file")) {
			cfg->config_file = v;
		} else if (!strcmp(n, "restore")) {
			cfg->restore = v;
		} else if (!strcmp(n, "snapshot-on-exit")) {
			cfg->snapshot_on_exit = v;
		} else if (!strcmp(n, "timeout")) {
			int r = parse_timeout(v, &cfg->timeout, why, why_len);
			if (r < 0)
				return r;
		}
	}
	if (!cfg->bios && !cfg->kernel && !cfg->restore && !cfg->api_sock && !cfg->config_file)
		return fail(why, why_len, "nothing to run: give --bios FILE, --kernel FILE or --restore SNAPSHOT");
	if (cfg->bios && cfg->kernel)
		return fail(why, why_len, "--bios and --kernel together are not supported yet");
	if (cfg->initrd && !cfg->kernel)
		return fail(why, why_len, "--initrd needs --kernel");
	if (cfg->append && !cfg->kernel)
		return fail(why, why_len, "--append needs --kernel");
	/* auto: options only one engine has decide; otherwise main() asks the host. */
	if (!strcmp(cfg->accel, "auto") && cfg->debug.trace)
		cfg->accel = "soft";
	else if (!strcmp(cfg->accel, "auto") && cfg->irqchip_kernel)
		cfg->accel = "kvm";
	/* Only KVM has interrupt controllers of its own; the other engines use x86v's. */
	if (cfg->irqchip_kernel && strcmp(cfg->accel, "kvm"))
		return fail(why, why_len, "--irqchip kernel needs --accel kvm (the %s engine uses x86v's own "
					  "interrupt controllers)", cfg->accel);
	return check_debug_options(cfg, why, why_len);
}

int cmdline_parse(int argc, char **argv, struct cmdline *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	out->cfg.ram_size = CMDLINE_DEFAULT_RAM;
	out->cfg.ncpus = 1;
	out->cfg.accel = "auto";
	out->cfg.serial = "stdio";
	out->cfg.debug.trace_cpl = -1;
	out->cfg.debug.trace_cpu = -1;
	out->cfg.sandbox = -1;
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
