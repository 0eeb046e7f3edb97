/* SPDX-License-Identifier: MIT */
/*
 * Firmware ROM loading: the ROM at the top of 4 GiB, its shadow below 1 MiB,
 * the reset state, and every refused size and file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/bios.h"
#include "check.h"

/* An image whose every 4-byte word holds its own offset, so any misplaced copy shows. */
static uint8_t *make_image(size_t size)
{
	uint8_t *p = malloc(size);
	for (size_t i = 0; i + 4 <= size; i += 4) {
		uint32_t v = (uint32_t)i ^ 0x5a5a0000u;
		memcpy(p + i, &v, 4);
	}
	return p;
}

static void check_loaded(size_t size)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	uint8_t *img = make_image(size);
	struct x86_cpu_state cpu;
	memset(&cpu, 0xcc, sizeof(cpu));
	char why[256] = "";
	CHECK_EQ(bios_load_image(&ram, "fw.bin", img, size, &cpu, why, sizeof(why)), 0);
	CHECK_STR(why, "");

	/* Reset vector: the last 16 bytes of the image at 0xFFFFFFF0. */
	const uint8_t *top = ram_ptr(&ram, 0xFFFFFFF0, 16);
	CHECK(top != NULL);
	if (top)
		CHECK(memcmp(top, img + size - 16, 16) == 0);
	const uint8_t *all = ram_ptr(&ram, 4 * GiB - size, size);
	CHECK(all != NULL);
	if (all)
		CHECK(memcmp(all, img, size) == 0);
	CHECK(ram_ptr(&ram, 4 * GiB - size - 1, 1) == NULL);
	CHECK(ram_ptr_rw(&ram, 0xFFFFFFF0, 16) == NULL); /* read-only */

	/* The shadow: the last min(size, 128 KiB) bytes end at 0xFFFFF. */
	size_t shadow = size < 128 * KiB ? size : 128 * KiB;
	const uint8_t *low = ram_ptr(&ram, 0x100000 - shadow, shadow);
	CHECK(low != NULL);
	if (low)
		CHECK(memcmp(low, img + size - shadow, shadow) == 0);
	const uint8_t *f0 = ram_ptr(&ram, 0xFFFF0, 16);
	if (f0)
		CHECK(memcmp(f0, img + size - 16, 16) == 0);
	if (size > 128 * KiB) {
		const uint8_t *below = ram_ptr(&ram, 0x100000 - shadow - 4, 4);
		CHECK(below && below[0] == 0 && below[3] == 0); /* nothing copied below the shadow */
	}

	CHECK_EQ(cpu.seg[X86_CS].selector, 0xf000);
	CHECK_EQ(cpu.seg[X86_CS].base, 0xffff0000);
	CHECK_EQ(cpu.rip, 0xfff0);
	CHECK_EQ(cpu.seg[X86_CS].base + cpu.rip, 0xFFFFFFF0);
	CHECK_EQ(cpu.cr0 & CR0_PE, 0);
	CHECK_EQ(cpu.rflags, RFLAGS_FIXED);
	CHECK_STR(x86_state_mode(&cpu), "real");
	free(img);
	ram_destroy(&ram);
}

static void test_load_64k(void)
{
	check_loaded(64 * KiB);
}

static void test_load_128k(void)
{
	check_loaded(128 * KiB);
}

static void test_load_256k(void)
{
	check_loaded(256 * KiB);
}

static void test_load_16m(void)
{
	check_loaded(16 * MiB);
}

static void test_reload_replaces(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	uint8_t *a = calloc(1, 256 * KiB), *b = make_image(64 * KiB);
	struct x86_cpu_state cpu;
	char why[256];
	CHECK_EQ(bios_load_image(&ram, "a", a, 256 * KiB, &cpu, why, sizeof(why)), 0);
	CHECK_EQ(bios_load_image(&ram, "b", b, 64 * KiB, &cpu, why, sizeof(why)), 0);
	CHECK(ram_ptr(&ram, 4 * GiB - 128 * KiB, 1) == NULL);
	const uint8_t *top = ram_ptr(&ram, 4 * GiB - 64 * KiB, 64 * KiB);
	CHECK(top && memcmp(top, b, 64 * KiB) == 0);
	free(a);
	free(b);
	ram_destroy(&ram);
}

static void expect_size_error(size_t size, int err, const char *text)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	uint8_t *img = calloc(1, size + 1);
	struct x86_cpu_state cpu;
	memset(&cpu, 0xcc, sizeof(cpu));
	char why[256] = "";
	int r = bios_load_image(&ram, "fw.bin", img, size, &cpu, why, sizeof(why));
	CHECK_EQ(r, err);
	if (!strstr(why, text) || strncmp(why, "fw.bin: ", 8) != 0) {
		printf("# why: %s\n", why);
		check_failures++;
	}
	CHECK(ram.rom == NULL);
	CHECK_EQ(cpu.rip, 0xccccccccccccccccULL); /* untouched on error */
	free(img);
	ram_destroy(&ram);
}

static void test_bad_sizes(void)
{
	expect_size_error(0, -EINVAL, "empty");
	expect_size_error(4 * KiB, -EINVAL, "too small");
	expect_size_error(64 * KiB - 4 * KiB, -EINVAL, "too small");
	expect_size_error(64 * KiB - 1, -EINVAL, "too small");
	expect_size_error(64 * KiB + 1, -EINVAL, "not a multiple of 4 KiB");
	expect_size_error(64 * KiB + 2048, -EINVAL, "not a multiple of 4 KiB");
	expect_size_error(16 * MiB + 4 * KiB, -EFBIG, "too large");
	expect_size_error(32 * MiB, -EFBIG, "too large");
}

static void test_ram_too_small(void)
{
	/* ram_init refuses RAM below 2 MiB, so fake a guest_ram whose low RAM stops short of 1 MiB. */
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 2 * MiB), 0);
	uint64_t saved = ram.slots[0].size;
	ram.slots[0].size = 0xF0000;
	uint8_t *img = calloc(1, 64 * KiB);
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(bios_load_image(&ram, "fw.bin", img, 64 * KiB, &cpu, why, sizeof(why)), -ENOSPC);
	CHECK(strstr(why, "does not cover the BIOS area") != NULL);
	ram.slots[0].size = saved;
	free(img);
	ram_destroy(&ram);
}

static void test_files(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	struct x86_cpu_state cpu;
	char why[512] = "";
	char dir[] = "/tmp/x86v-bios-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[600];

	snprintf(path, sizeof(path), "%s/missing.bin", dir);
	CHECK_EQ(bios_load_file(&ram, path, &cpu, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, path) && strstr(why, "No such file"));

	CHECK_EQ(bios_load_file(&ram, dir, &cpu, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "not a regular file") != NULL);

	snprintf(path, sizeof(path), "%s/empty.bin", dir);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(bios_load_file(&ram, path, &cpu, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "empty") != NULL);

	/* Huge sparse file: refused from its size alone. */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && ftruncate(fd, 1024 * MiB) == 0);
	close(fd);
	CHECK_EQ(bios_load_file(&ram, path, &cpu, why, sizeof(why)), -EFBIG);
	CHECK(strstr(why, "too large") != NULL);

	uint8_t *img = make_image(128 * KiB);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, img, 128 * KiB) == (ssize_t)(128 * KiB));
	close(fd);
	CHECK_EQ(bios_load_file(&ram, path, &cpu, why, sizeof(why)), 0);
	const uint8_t *top = ram_ptr(&ram, 0xFFFFFFF0, 16);
	CHECK(top && memcmp(top, img + 128 * KiB - 16, 16) == 0);
	CHECK_EQ(cpu.rip, 0xfff0);

	/* Not readable: only meaningful when not root. */
	if (geteuid() != 0) {
		CHECK(chmod(path, 0) == 0);
		CHECK_EQ(bios_load_file(&ram, path, &cpu, why, sizeof(why)), -EACCES);
	}
	unlink(path);
	rmdir(dir);
	free(img);
	ram_destroy(&ram);
}

CHECK_MAIN(TEST_CASE(test_load_64k), TEST_CASE(test_load_128k), TEST_CASE(test_load_256k),
	   TEST_CASE(test_load_16m), TEST_CASE(test_reload_replaces), TEST_CASE(test_bad_sizes),
	   TEST_CASE(test_ram_too_small), TEST_CASE(test_files))
