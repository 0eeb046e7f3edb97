/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the kernel loaders (bzImage, Multiboot with ELF32 or the
 * a.out kludge, firmware ROMs) on hostile images. Random bytes alone would
 * never pass a magic number, so each input mutates a template that does:
 * the first byte picks the loader, the rest is a list of (offset, byte)
 * edits and a length to cut the image to. A loader must either load or
 * refuse with a one-line reason, never crash or write outside guest RAM
 * (ASan and UBSan watch in make check), and stay fast: state is reused, no
 * machine is built per input.
 *
 * Also a libFuzzer target (LLVMFuzzerTestOneInput, with -DFUZZ_NO_MAIN);
 * make check runs test_fuzz_loaders, a fixed-seed stream of random inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/bios.h"
#include "boot/linux.h"
#include "boot/multiboot.h"
#include "cpu/x86_state.h"
#include "mem/guest_ram.h"
#include "fuzz_rand.h"

#define RAM (32 * MiB)
#define IMAGE_MAX (64 * 1024)

static struct guest_ram ram;
static uint8_t image[IMAGE_MAX];
static unsigned loaded, refused;

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/* A bzImage: 20 setup sectors and 32 KiB of kernel, protocol 2.15 (as test_linux_boot). */
static size_t bzimage_template(void)
{
	size_t size = 21 * 512 + 32768;
	memset(image, 0, size);
	image[0x1f1] = 20;
	put32(image + 0x1f4, 32768 / 16);
	image[0x1fe] = 0x55, image[0x1ff] = 0xaa;
	image[0x200] = 0xeb, image[0x201] = 0x66;
	memcpy(image + 0x202, "HdrS", 4);
	put16(image + 0x206, 0x020f);
	image[0x211] = 0x01;
	put32(image + 0x22c, 0x37ffffff);
	put32(image + 0x230, 0x200000);
	image[0x234] = 1;
	image[0x236] = 0x01;
	put32(image + 0x238, 2047);
	put32(image + 0x248, 0x1000);
	put32(image + 0x24c, 0x100);
	put32(image + 0x258, 0x1000000);
	put32(image + 0x260, 0x100000);
	return size;
}

/* A Multiboot kernel: an ELF32 with two PT_LOAD segments and the header in the first one. */
static size_t multiboot_template(void)
{
	size_t size = 0x3000;
	memset(image, 0, size);
	uint8_t *e = image;
	memcpy(e, "\x7f" "ELF", 4);
	e[4] = 1, e[5] = 1, e[6] = 1; /* ELFCLASS32, little-endian, version */
	put16(e + 16, 2); /* ET_EXEC */
	put16(e + 18, 3); /* EM_386 */
	put32(e + 20, 1);
	put32(e + 24, 0x100000); /* entry */
	put32(e + 28, 52); /* phoff */
	put16(e + 40, 52); /* ehsize */
	put16(e + 42, 32); /* phentsize */
	put16(e + 44, 2); /* phnum */
	for (unsigned i = 0; i < 2; i++) {
		uint8_t *ph = e + 52 + 32 * i;
		put32(ph, 1); /* PT_LOAD */
		put32(ph + 4, 0x1000 + 0x1000 * i); /* offset */
		put32(ph + 8, 0x100000 + 0x1000 * i); /* vaddr */
		put32(ph + 12, 0x100000 + 0x1000 * i); /* paddr */
		put32(ph + 16, 0x1000); /* filesz */
		put32(ph + 20, 0x1000 + 0x4000 * i); /* memsz: BSS in the second */
		put32(ph + 24, 7);
	}
	uint8_t *mb = image + 0x1000; /* flags 3: page-align modules, memory info */
	put32(mb, 0x1BADB002);
	put32(mb + 4, 3);
	put32(mb + 8, (uint32_t)-(0x1BADB002 + 3));
	return size;
}

static size_t rom_template(void)
{
	size_t size = 64 * 1024;
	memset(image, 0xcc, size);
	return size;
}

int fuzz_loaders_one(const uint8_t *data, size_t size);
int fuzz_loaders_one(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (ram_init(&ram, RAM) < 0)
			abort();
		ready = true;
	}
	if (size < 3)
		return 0;
	unsigned kind = data[0] % 3;
	size_t len = kind == 0 ? bzimage_template() : kind == 1 ? multiboot_template() : rom_template();
	/* The cut: bytes 1-2 scaled to the template, or the whole image. */
	uint16_t cut;
	memcpy(&cut, data + 1, 2);
	if (cut & 1)
		len = len * (cut >> 1) / 32768;
	/* Edits: (offset low, offset high, value) triples, most near the headers. */
	for (size_t i = 3; i + 3 <= size; i += 3) {
		size_t off = (size_t)(data[i] | data[i + 1] << 8);
		if (kind == 0 && (data[i + 1] & 0x80))
			off = 0x1f0 + (data[i] % 0x80); /* the setup header */
		else if (kind == 1 && (data[i + 1] & 0x80))
			off = (data[i] & 1) ? data[i] % 116 : 0x1000 + data[i] % 48; /* ELF + program headers, or the Multiboot header */
		if (off < len)
			image[off] = data[i + 2];
	}
	struct x86_cpu_state cpu;
	char why[256] = "";
	int r;
	if (kind == 0) {
		struct linux_boot opts = { .entry = (data[1] & 2) ? 32 : 0 };
		static const uint8_t initrd[4096];
		r = linux_load_image(&ram, "fuzz.bz", image, len, (data[1] & 4) ? initrd : NULL, sizeof(initrd),
				     "console=ttyS0", &opts, &cpu, why, sizeof(why));
	} else if (kind == 1) {
		static const uint8_t module[100];
		r = multiboot_load_image(&ram, "fuzz.elf", image, len, "a b c", (data[1] & 4) ? module : NULL,
					 (data[1] & 4) ? sizeof(module) : 0, "mod", &cpu, why, sizeof(why));
	} else {
		r = bios_load_image(&ram, "fuzz.rom", image, len, &cpu, why, sizeof(why));
	}
	if (r < 0) {
		refused++;
		if (!why[0] || strchr(why, '\n')) { /* every refusal says why, on one line */
			fprintf(stderr, "fuzz_loaders: loader %u refused without a one-line reason: \"%s\"\n", kind, why);
			abort();
		}
	} else {
		loaded++;
	}
	return 0;
}

#ifndef FUZZ_NO_MAIN
/* make check: a fixed-seed stream of random inputs (argv[1]: how many; argv[2]: another seed). */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 6000;
	uint64_t s = fuzz_seed(0x2545f4914f6cdd1dULL, 0x9e3779b97f4a7c15ULL, argc, argv);
	static uint8_t buf[64];
	for (int i = 0; i < n; i++) {
		size_t len = 3 + (size_t)(i % 20) * 3;
		for (size_t k = 0; k < len; k++) {
			fuzz_next(&s);
			buf[k] = (uint8_t)(s >> 24);
		}
		buf[0] = (uint8_t)i;
		fuzz_loaders_one(buf, len);
	}
	printf("ok - fuzz_loaders (%d mutated images: %u loaded, %u refused with a reason)\n", n, loaded, refused);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_loaders_one(data, size);
}
#endif
