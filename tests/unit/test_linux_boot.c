/* SPDX-License-Identifier: MIT */
/*
 * The Linux boot protocol loader (boot/linux.c): which entry point a bzImage
 * is started at. A synthetic bzImage (setup header only, boot protocol 2.15,
 * a few kernel bytes) is loaded into guest RAM with and without XLF_KERNEL_64
 * in xloadflags and each --kernel-entry choice.
 */
#include <errno.h>
#include <stdlib.h>

#include "boot/linux.h"
#include "check.h"
#include "mem/guest_ram.h"

/* A bzImage of 4 setup sectors + 1 KiB of kernel, protocol 2.15, loaded high. */
static uint8_t *make_bzimage(size_t *size, bool has64)
{
	*size = 5 * 512 + 1024;
	uint8_t *img = calloc(1, *size);
	img[0x1f1] = 4;                             /* setup_sects */
	img[0x1fe] = 0x55, img[0x1ff] = 0xaa;       /* boot_flag */
	img[0x200] = 0xeb, img[0x201] = 0x66;       /* jump past the header */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f, img[0x207] = 0x02;       /* version 2.15 */
	img[0x211] = 0x01;                          /* loadflags: LOADED_HIGH */
	img[0x22c] = 0xff, img[0x22d] = 0xff, img[0x22e] = 0xff, img[0x22f] = 0x37; /* initrd_addr_max */
	img[0x236] = has64 ? 0x01 : 0;              /* xloadflags: XLF_KERNEL_64 */
	img[0x238] = 0xff, img[0x239] = 0x07;       /* cmdline_size 2047 */
	img[0x261] = 0x10;                          /* init_size 4 KiB */
	return img;
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

CHECK_MAIN(TEST_CASE(test_entry_choice))
