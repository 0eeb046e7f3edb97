/* SPDX-License-Identifier: MIT */
/*
 * The Linux boot protocol loader (boot/linux.c): which entry point a bzImage
 * is started at, and the corrupted setup headers it refuses. A synthetic
 * bzImage (setup header only, boot protocol 2.15, 1 KiB of kernel) is loaded
 * into guest RAM with and without XLF_KERNEL_64 in xloadflags and each
 * --kernel-entry choice, then with one header field broken at a time.
 */
#include <errno.h>
#include <stdlib.h>

#include "boot/linux.h"
#include "check.h"
#include "mem/guest_ram.h"

/* A bzImage of 20 setup sectors + 1 KiB of kernel, protocol 2.15, loaded
 * high, relocatable with 2 MiB alignment. */
#define SETUP_SIZE (21 * 512)
static uint8_t *make_bzimage(size_t *size, bool has64)
{
	*size = SETUP_SIZE + 1024;
	uint8_t *img = calloc(1, *size);
	img[0x1f1] = 20;                            /* setup_sects */
	img[0x1f4] = 1024 / 16;                     /* syssize */
	img[0x1fe] = 0x55, img[0x1ff] = 0xaa;       /* boot_flag */
	img[0x200] = 0xeb, img[0x201] = 0x66;       /* jump past the header */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f, img[0x207] = 0x02;       /* version 2.15 */
	img[0x211] = 0x01;                          /* loadflags: LOADED_HIGH */
	img[0x22c] = 0xff, img[0x22d] = 0xff, img[0x22e] = 0xff, img[0x22f] = 0x37; /* initrd_addr_max */
	img[0x232] = 0x20;                          /* kernel_alignment 2 MiB */
	img[0x234] = 1;                             /* relocatable_kernel */
	img[0x25b] = 0x01;                          /* pref_address 16 MiB */
	img[0x236] = has64 ? 0x01 : 0;              /* xloadflags: XLF_KERNEL_64 */
	img[0x238] = 0xff, img[0x239] = 0x07;       /* cmdline_size 2047 */
	img[0x248] = 0x10;                          /* payload_offset */
	img[0x24d] = 0x01;                          /* payload_length 0x100 */
	img[0x261] = 0x10;                          /* init_size 4 KiB */
	return img;
}

/* A header field to break: offset, width, value; size: the file cut to this many bytes (0: whole). */
struct breakage {
	unsigned off, width;
	uint64_t value;
	size_t size;
	const char *why;
};

static int load_broken(struct guest_ram *ram, const struct breakage *b, struct x86_cpu_state *cpu, char *why)
{
	size_t size;
	uint8_t *img = make_bzimage(&size, true);
	if (b) {
		for (unsigned i = 0; i < b->width; i++)
			img[b->off + i] = (uint8_t)(b->value >> (8 * i));
		if (b->size)
			size = b->size;
	}
	struct linux_boot opts = { 0 };
	memset(cpu, 0, sizeof(*cpu));
	int r = linux_load_image(ram, "k.bz", img, size, NULL, 0, "", &opts, cpu, why, 256);
	free(img);
	return r;
}

static int load(struct guest_ram *ram, bool has64, unsigned entry, struct x86_cpu_state *cpu, char *why)
{
	size_t size;
	uint8_t *img = make_bzimage(&size, has64);
	struct linux_boot opts = { .entry = entry };
	memset(cpu, 0, sizeof(*cpu));
	int r = linux_load_image(ram, "k.bz", img, size, NULL, 0, "console=ttyS0", &opts, cpu, why, 256);
	free(img);
	return r;
}

static void test_entry_choice(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 << 20), 0);
	struct x86_cpu_state cpu;
	char why[256];
	/* Default: the 64-bit entry (startup_64, 0x200 in) in long mode. */
	CHECK_EQ(load(&ram, true, 0, &cpu, why), 0);
	CHECK_EQ(cpu.rip, LINUX_KERNEL_ADDR + 0x200);
	CHECK(cpu.efer & EFER_LMA);
	/* A kernel without a 64-bit entry: its 32-bit one, paging off, untold. */
	CHECK_EQ(load(&ram, false, 0, &cpu, why), 0);
	CHECK_EQ(cpu.rip, LINUX_KERNEL_ADDR);
	CHECK(!(cpu.efer & EFER_LMA));
	CHECK(!(cpu.cr0 & CR0_PG));
	CHECK(cpu.cr0 & CR0_PE);
	/* Asked for explicitly. */
	CHECK_EQ(load(&ram, true, 32, &cpu, why), 0);
	CHECK_EQ(cpu.rip, LINUX_KERNEL_ADDR);
	CHECK_EQ(load(&ram, false, 64, &cpu, why), -ENOEXEC);
	CHECK(strstr(why, "k.bz: the kernel has no 64-bit entry point") != NULL);
	ram_destroy(&ram);
}

/* Each broken field: refused with its own one-line reason, nothing run. */
static void test_broken_headers(void)
{
	static const struct breakage cases[] = {
		{ 0x1f4, 4, 0, 0, "syssize says 1024 bytes of kernel but the file has 512" }, /* truncated */
		{ 0x1f1, 1, 0, 0, "9216 bytes follow the setup sectors but syssize says 1024" }, /* 0 means 4 */
		{ 0x1f1, 1, 255, 0, "truncated bzImage" },
		{ 0x1f4, 4, 0xffffffff, 0, "syssize says 68719476720 bytes" },
		{ 0x230, 4, 0, 0, "kernel_alignment 0 is not a power of two" },
		{ 0x230, 4, 0x200001, 0, "kernel_alignment 0x200001 is not a power of two" },
		{ 0x258, 8, 0xfffffffffff00000ULL, 0, "pref_address 0xfffffffffff00000 is impossible" },
		{ 0x248, 4, 0xfffff000, 0, "the compressed payload [0xfffff000, +0x100) is not inside the kernel" },
		{ 0x250, 8, 0xdead000, 0, "setup_data is set in the file" },
		{ 0x206, 2, 0xffff, 0, "boot protocol 255.255 does not exist" },
		{ 0x260, 4, 0x100, 0, "init_size 0x100 is smaller than the kernel" },
	};
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 << 20), 0);
	struct x86_cpu_state cpu;
	char why[256];
	CHECK_EQ(load_broken(&ram, NULL, &cpu, why), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct breakage b = cases[i];
		if (i == 0) /* the file cut short instead: 1 KiB of kernel promised, 512 bytes there */
			b = (struct breakage){ 0x1f4, 1, 1024 / 16, SETUP_SIZE + 512, cases[0].why };
		why[0] = 0;
		int r = load_broken(&ram, &b, &cpu, why);
		if (r != -ENOEXEC || !strstr(why, b.why) || strncmp(why, "k.bz: ", 6) || strchr(why, '\n')) {
			printf("# case %zu: r=%d why=\"%s\" (want \"%s\")\n", i, r, why, b.why);
			check_failures++;
		}
	}
	ram_destroy(&ram);
}

CHECK_MAIN(TEST_CASE(test_entry_choice), TEST_CASE(test_broken_headers))
