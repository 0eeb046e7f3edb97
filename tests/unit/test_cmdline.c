/* SPDX-License-Identifier: MIT */
/*
 * The command line: every option in both spellings, defaults, and the
 * one-line errors for bad input.
 */
#include "check.h"
#include "core/cmdline.h"

static int parse(struct cmdline *cl, char *why, int argc, const char **argv)
{
	return cmdline_parse(argc, (char **)argv, cl, why, 256);
}

#define PARSE(cl, why, ...)                                                 \
	({                                                                  \
		const char *argv_[] = { "x86v", __VA_ARGS__ };              \
		parse((cl), (why), (int)(sizeof(argv_) / sizeof(argv_[0])), argv_); \
	})

static void test_defaults(void)
{
	struct cmdline cl;
	char why[256];
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "rom.bin"), 0);
	CHECK_EQ(cl.command, CMDLINE_RUN);
	CHECK_STR(cl.cfg.accel, "auto");
	CHECK(!cl.cfg.overcommit);
	CHECK_EQ(cl.cfg.ram_size, 128 * MiB);
	CHECK_STR(cl.cfg.serial, "stdio");
	CHECK_STR(cl.cfg.bios, "rom.bin");
	CHECK(!cl.cfg.no_reboot);
	CHECK(cl.cfg.timeout == 0);
	CHECK(!cl.cfg.verbose);
	CHECK(!cl.cfg.stats);
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--verbose", "--stats", "--overcommit"), 0);
	CHECK(cl.cfg.verbose);
	CHECK(cl.cfg.stats);
	CHECK(cl.cfg.overcommit);
	CHECK(!cl.cfg.irqchip_kernel); /* x86v's own interrupt controllers on every engine */
}

static void test_long_options(void)
{
	struct cmdline cl;
	char why[256];
	CHECK_EQ(PARSE(&cl, why, "run", "--accel", "soft", "-m", "2G", "--kernel", "k.elf", "--initrd",
		       "i.img", "--append", "console=ttyS0 quiet", "--serial", "file:/tmp/out",
		       "--no-reboot", "--timeout", "2.5"),
		 0);
	CHECK_STR(cl.cfg.accel, "soft");
	CHECK_EQ(cl.cfg.ram_size, 2 * GiB);
	CHECK_STR(cl.cfg.kernel, "k.elf");
	CHECK_STR(cl.cfg.initrd, "i.img");
	CHECK_STR(cl.cfg.append, "console=ttyS0 quiet");
	CHECK_STR(cl.cfg.serial, "file:/tmp/out");
	CHECK(cl.cfg.no_reboot);
	CHECK(cl.cfg.timeout == 2.5);
}

static void test_equals_and_qemu_spellings(void)
{
	struct cmdline cl;
	char why[256];
	CHECK_EQ(PARSE(&cl, why, "run", "--memory=256M", "-kernel", "k", "-append", "a=b", "-initrd", "i",
		       "-accel", "kvm", "-no-reboot", "-serial", "none"),
		 0);
	CHECK_EQ(cl.cfg.ram_size, 256 * MiB);
	CHECK_STR(cl.cfg.kernel, "k");
	CHECK_STR(cl.cfg.append, "a=b");
	CHECK_STR(cl.cfg.initrd, "i");
	CHECK(cl.cfg.no_reboot);
	CHECK_STR(cl.cfg.serial, "none");
	CHECK_EQ(PARSE(&cl, why, "run", "-bios", "r", "-m", "size=64M"), 0);
	CHECK_EQ(cl.cfg.ram_size, 64 * MiB);
	/* Without the "run" word, as one would type for QEMU. */
	CHECK_EQ(PARSE(&cl, why, "-m", "64", "-kernel", "k.elf"), 0);
	CHECK_EQ(cl.command, CMDLINE_RUN);
	CHECK_EQ(cl.cfg.ram_size, 64 * MiB);
}

static void test_commands(void)
{
	struct cmdline cl;
	char why[256];
	CHECK_EQ(PARSE(&cl, why, "--help"), 0);
	CHECK_EQ(cl.command, CMDLINE_HELP);
	CHECK_EQ(PARSE(&cl, why, "--version"), 0);
	CHECK_EQ(cl.command, CMDLINE_VERSION);
	CHECK_EQ(PARSE(&cl, why, "info"), 0);
	CHECK_EQ(cl.command, CMDLINE_INFO);
	CHECK(!cl.info_engines);
	CHECK_EQ(PARSE(&cl, why, "info", "--engines"), 0);
	CHECK(cl.info_engines);
	CHECK_EQ(PARSE(&cl, why, "run", "--help"), 0);
	CHECK_EQ(cl.command, CMDLINE_HELP);
}

/* Each bad input is refused with a message naming the problem. */
static void expect_error(int r, const char *why, const char *needle)
{
	CHECK(r < 0);
	if (!strstr(why, needle)) {
		printf("# message \"%s\" lacks \"%s\"\n", why, needle);
		check_failures++;
	}
	CHECK(strchr(why, '\n') == NULL);
}

static void test_errors(void)
{
	struct cmdline cl;
	char why[256];
	const char *one[] = { "x86v" };
	expect_error(parse(&cl, why, 1, one), why, "no command");
	expect_error(PARSE(&cl, why, "frobnicate"), why, "unknown command 'frobnicate'");
	expect_error(PARSE(&cl, why, "--bogus"), why, "unknown option --bogus");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--bogus"), why, "unknown option --bogus");
	expect_error(PARSE(&cl, why, "run", "--bios"), why, "needs a value");
	expect_error(PARSE(&cl, why, "run"), why, "nothing to run");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--accel", "tcg"), why, "expected auto, kvm or soft");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "-m", "lots"), why, "-m lots");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "-m", "1M"), why, "2 MiB");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--serial", "tcp:1"), why, "--serial tcp:1");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--serial", "file:"), why, "needs a path");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--timeout", "-3"), why, "--timeout -3");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--timeout", "nan"), why, "--timeout nan");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--no-reboot=yes"), why, "takes no value");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--initrd", "i"), why, "--initrd needs --kernel");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--append", "x"), why, "--append needs --kernel");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "stray"), why, "unexpected argument 'stray'");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "-timeout", "3"), why, "unknown option -timeout");
	expect_error(PARSE(&cl, why, "info", "--bogus"), why, "--bogus");
}

/* --irqchip: user everywhere; kernel only with kvm, whichever order the options come in. */
static void test_irqchip(void)
{
	struct cmdline cl;
	char why[256];
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--irqchip", "kernel"), 0);
	CHECK(cl.cfg.irqchip_kernel);
	CHECK_STR(cl.cfg.accel, "kvm"); /* auto: only kvm has in-kernel controllers */
	CHECK_EQ(PARSE(&cl, why, "run", "--irqchip=kernel", "--accel", "kvm", "--bios", "r"), 0);
	CHECK(cl.cfg.irqchip_kernel);
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--irqchip", "kernel", "--irqchip", "user"), 0);
	CHECK(!cl.cfg.irqchip_kernel);
	CHECK_EQ(PARSE(&cl, why, "run", "--accel", "soft", "--irqchip", "user", "--bios", "r"), 0);
	CHECK(!cl.cfg.irqchip_kernel);
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--irqchip", "split"), why,
		     "--irqchip split: expected user or kernel");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--irqchip"), why, "needs a value");
	expect_error(PARSE(&cl, why, "run", "--irqchip", "kernel", "--accel", "soft", "--bios", "r"), why,
		     "--irqchip kernel needs --accel kvm");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "-irqchip", "kernel"), why, "unknown option -irqchip");
}

/* The soft engine's tiers and translator settings. */
static void test_tiers(void)
{
	struct cmdline cl;
	char why[256];
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r"), 0);
	CHECK(!cl.cfg.interp_only);
	CHECK_EQ(cl.cfg.jit_threshold, 0); /* the engine's default */
	CHECK_EQ(cl.cfg.jit_cache_size, 0);
	CHECK_EQ(cl.cfg.jit_check, 0);
	CHECK(!cl.cfg.jit_perf_map);
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--tier", "interp"), 0);
	CHECK(cl.cfg.interp_only);
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--tier=jit", "--jit-threshold", "1", "--jit-cache", "16M",
		       "--jit-check", "1000", "--jit-perf-map"), 0);
	CHECK(!cl.cfg.interp_only);
	CHECK_EQ(cl.cfg.jit_threshold, 1);
	CHECK_EQ(cl.cfg.jit_cache_size, 16 * MiB);
	CHECK_EQ(cl.cfg.jit_check, 1000);
	CHECK(cl.cfg.jit_perf_map);
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--tier", "tcg"), why, "--tier tcg: expected jit or interp");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--jit-threshold", "0"), why,
		     "--jit-threshold 0: expected a number 1..1000000");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--jit-threshold", "2x"), why, "expected a number");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--jit-cache", "512K"), why,
		     "--jit-cache 512K: expected a size 1M..1G");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--jit-cache", "2G"), why, "expected a size 1M..1G");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--jit-check", "-1"), why, "--jit-check -1");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "-tier", "interp"), why, "unknown option -tier");
}

static void test_debug_options(void)
{
	struct cmdline cl;
	char why[256];
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r"), 0);
	CHECK(cl.cfg.debug.gdb == NULL);
	CHECK(!cl.cfg.debug.gdb_wait);
	CHECK(cl.cfg.debug.trace == NULL);
	CHECK_EQ(cl.cfg.debug.trace_cpl, -1);
	CHECK_EQ(PARSE(&cl, why, "-bios", "r", "-s", "-S"), 0);
	CHECK_STR(cl.cfg.debug.gdb, "tcp:127.0.0.1:1234");
	CHECK(cl.cfg.debug.gdb_wait);
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--gdb", "tcp::4321"), 0);
	CHECK_STR(cl.cfg.debug.gdb, "tcp::4321");
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--gdb=tcp:0.0.0.0:9", "--gdb-listen-any"), 0);
	CHECK(cl.cfg.debug.gdb_listen_any);
	CHECK_EQ(PARSE(&cl, why, "run", "--accel", "soft", "--bios", "r", "--trace", "t.txt", "--trace-range",
		       "0xf0000-fffff", "--trace-cpl", "3", "--trace-mode", "long64", "--trace-count", "100",
		       "--trace-format", "qemu"),
		 0);
	CHECK_STR(cl.cfg.debug.trace, "t.txt");
	CHECK(cl.cfg.debug.trace_has_range);
	CHECK_EQ(cl.cfg.debug.trace_start, 0xf0000);
	CHECK_EQ(cl.cfg.debug.trace_end, 0xfffff);
	CHECK_EQ(cl.cfg.debug.trace_cpl, 3);
	CHECK_STR(cl.cfg.debug.trace_mode, "long64");
	CHECK_EQ(cl.cfg.debug.trace_count, 100);
	CHECK_EQ(cl.cfg.debug.trace_format, TRACE_FORMAT_QEMU);
}

static void test_debug_errors(void)
{
	struct cmdline cl;
	char why[256];
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--gdb", "tcp:0.0.0.0:1234"), why, "not a loopback");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--gdb", "udp:1234"), why, "expected tcp:");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--gdb", "tcp:127.0.0.1:70000"), why, "bad port");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--gdb", "tcp:host.example:1"), why, "not an IPv4");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "-S"), why, "-S needs --gdb");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--gdb-listen-any"), why, "needs --gdb");
	expect_error(PARSE(&cl, why, "run", "--bios", "r", "--accel", "kvm", "--trace", "t"), why,
		     "--trace needs --accel soft");
	CHECK_EQ(PARSE(&cl, why, "run", "--bios", "r", "--trace", "t"), 0);
	CHECK_STR(cl.cfg.accel, "soft"); /* auto: only soft traces */
	expect_error(PARSE(&cl, why, "run", "--accel", "soft", "--bios", "r", "--trace-count", "5"), why,
		     "need --trace");
	expect_error(PARSE(&cl, why, "run", "--accel", "soft", "--bios", "r", "--trace", "t", "--trace-range",
			   "5-1"),
		     why, "--trace-range 5-1");
	expect_error(PARSE(&cl, why, "run", "--accel", "soft", "--bios", "r", "--trace", "t", "--trace-cpl", "4"),
		     why, "--trace-cpl 4");
	expect_error(PARSE(&cl, why, "run", "--accel", "soft", "--bios", "r", "--trace", "t", "--trace-mode", "smm"),
		     why, "--trace-mode smm");
	expect_error(PARSE(&cl, why, "run", "--accel", "soft", "--bios", "r", "--trace", "t", "--trace-format", "x"),
		     why, "--trace-format x");
	expect_error(PARSE(&cl, why, "run", "--accel", "soft", "--bios", "r", "--trace", "t", "--trace-count", "0"),
		     why, "--trace-count 0");
}

CHECK_MAIN(TEST_CASE(test_defaults), TEST_CASE(test_long_options), TEST_CASE(test_equals_and_qemu_spellings),
	   TEST_CASE(test_commands), TEST_CASE(test_errors), TEST_CASE(test_debug_options),
	   TEST_CASE(test_debug_errors), TEST_CASE(test_irqchip), TEST_CASE(test_tiers))
