/* SPDX-License-Identifier: MIT */
/*
 * Linux boot protocol loader (see linux.h). Offsets are those of struct
 * boot_params and struct setup_header in the kernel's uapi bootparam.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/e820.h"
#include "boot/image_file.h"
#include "boot/linux.h"

/* struct boot_params */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_SIZE 4096

/* struct setup_header, at its offset in the file and in boot_params */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260

#define LOADFLAGS_LOADED_HIGH 0x01
#define LOADFLAGS_KEEP_SEGMENTS 0x40
#define LOADFLAGS_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02
#define TYPE_OF_LOADER_UNDEFINED 0xff

#define BOOT_CS 0x10
#define BOOT_DS 0x18

static int fail(char *why, size_t why_len, int err, const char *fmt, ...) PRINTF_LIKE(4, 5);
static int fail(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return err;
}

static uint16_t get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | (p[off + 1] << 8));
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return (uint32_t)get16(p, off) | ((uint32_t)get16(p, off + 2) << 16);
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return (uint64_t)get32(p, off) | ((uint64_t)get32(p, off + 4) << 32);
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

bool linux_probe(const uint8_t *image, size_t size)
{
	return size >= 0x250 && memcmp(image + HDR_MAGIC, "HdrS", 4) == 0;
}

/* GDT with the boot protocol's __BOOT_CS/__BOOT_DS and identity page tables for 4 GiB. */
static int build_entry_tables(struct guest_ram *ram, bool entry32)
{
	static const uint64_t gdt[4] = { 0, 0, 0x00af9a000000ffffULL, 0x00cf92000000ffffULL };
	uint64_t gdt_copy[4];
	memcpy(gdt_copy, gdt, sizeof(gdt));
	if (entry32)
		gdt_copy[2] = 0x00cf9a000000ffffULL; /* 32-bit code */
	if (ram_write(ram, LINUX_GDT_ADDR, gdt_copy, sizeof(gdt_copy)) < 0)
		return -EFAULT;
	if (entry32)
		return 0;
	/* PML4 -> PDPT -> four page directories of 2 MiB pages: 0..4 GiB. */
	uint64_t pml4 = LINUX_PAGE_TABLES_ADDR, pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
	uint64_t e = pdpt | 0x3;
	if (ram_write(ram, pml4, &e, 8) < 0)
		return -EFAULT;
	for (uint64_t i = 0; i < 4; i++) {
		e = (pd + i * 0x1000) | 0x3;
		if (ram_write(ram, pdpt + i * 8, &e, 8) < 0)
			return -EFAULT;
	}
	for (uint64_t i = 0; i < 4 * 512; i++) {
		e = (i << 21) | 0x83; /* P | RW | PS */
		if (ram_write(ram, pd + i * 8, &e, 8) < 0)
			return -EFAULT;
	}
	return 0;
}

static struct x86_segment flat_segment(uint16_t sel, uint32_t type, bool code64)
{
	uint32_t attr = type | SEG_ATTR_S | SEG_ATTR_P | SEG_ATTR_G | (code64 ? SEG_ATTR_L : SEG_ATTR_DB);
	return (struct x86_segment){ .selector = sel, .base = 0, .limit = 0xffffffff, .attr = attr };
}

static void entry_state(struct x86_cpu_state *cpu, uint64_t entry, bool entry32)
{
	x86_state_reset(cpu);
	cpu->gpr[X86_RDX] = 0;
	cpu->gpr[X86_RSI] = LINUX_BOOT_PARAMS_ADDR;
	cpu->rip = entry;
	cpu->rflags = RFLAGS_FIXED;
	cpu->gdtr = (struct x86_dtable){ LINUX_GDT_ADDR, 4 * 8 - 1 };
	cpu->idtr = (struct x86_dtable){ 0, 0 };
	uint32_t data = SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED, code = SEG_TYPE_CODE | SEG_TYPE_CODE_R | SEG_TYPE_ACCESSED;
	for (int i = 0; i < X86_NR_SREGS; i++)
		cpu->seg[i] = flat_segment(BOOT_DS, data, false);
	cpu->seg[X86_CS] = flat_segment(BOOT_CS, code, !entry32);
	cpu->cr0 = CR0_PE | CR0_ET | CR0_NE;
	if (!entry32) {
		cpu->cr0 |= CR0_PG;
		cpu->cr3 = LINUX_PAGE_TABLES_ADDR;
		cpu->cr4 = CR4_PAE;
		cpu->efer = EFER_LME | EFER_LMA;
	}
	cpu->fpu.fcw = 0x37f;
}

/*
 * The setup header fields the kernel will rely on, against the file: the
 * protected-mode code (syssize) fills what follows the setup sectors but for
 * alignment padding (under 4 KiB), the compressed payload lies inside it, a
 * relocatable kernel's alignment is a power of two its preferred address
 * honours, and setup_data, which the boot loader owns, is empty.
 */
static int check_header(const uint8_t *image, const char *name, size_t kernel_size, char *why, size_t why_len)
{
	uint64_t sys = (uint64_t)get32(image, HDR_SYSSIZE) * 16;
	if (sys == 0 || sys > kernel_size)
		return fail(why, why_len, -ENOEXEC,
			    "%s: syssize says %llu bytes of kernel but the file has %zu after the setup sectors "
			    "(truncated, or a wrong setup_sects)", name, (unsigned long long)sys, kernel_size);
	if (kernel_size - sys >= 4096)
		return fail(why, why_len, -ENOEXEC,
			    "%s: %zu bytes follow the setup sectors but syssize says %llu (a wrong setup_sects?)", name,
			    kernel_size, (unsigned long long)sys);
	uint64_t off = get32(image, HDR_PAYLOAD_OFFSET), len = get32(image, HDR_PAYLOAD_LENGTH);
	if (len == 0 || off + len > sys)
		return fail(why, why_len, -ENOEXEC, "%s: the compressed payload [%#llx, +%#llx) is not inside the kernel",
			    name, (unsigned long long)off, (unsigned long long)len);
	uint64_t align = get32(image, HDR_KERNEL_ALIGNMENT);
	if (image[HDR_RELOCATABLE] && (align < 4096 || (align & (align - 1))))
		return fail(why, why_len, -ENOEXEC, "%s: kernel_alignment %#llx is not a power of two of at least 4 KiB",
			    name, (unsigned long long)align);
	uint64_t pref = get64(image, HDR_PREF_ADDRESS);
	if (pref >= (1ULL << 40) || (image[HDR_RELOCATABLE] && (pref & (align - 1))))
		return fail(why, why_len, -ENOEXEC, "%s: pref_address %#llx is impossible", name,
			    (unsigned long long)pref);
	if (get64(image, HDR_SETUP_DATA))
		return fail(why, why_len, -ENOEXEC, "%s: setup_data is set in the file (it is the boot loader's)", name);
	if (get32(image, HDR_INIT_SIZE) < sys)
		return fail(why, why_len, -ENOEXEC, "%s: init_size %#x is smaller than the kernel", name,
			    get32(image, HDR_INIT_SIZE));
	return 0;
}

int linux_load_image(struct guest_ram *ram, const char *name, const uint8_t *image, size_t size,
		     const uint8_t *initrd, size_t initrd_size, const char *cmdline, const struct linux_boot *opts,
		     struct x86_cpu_state *cpu, char *why, size_t why_len)
{
	if (!linux_probe(image, size))
		return fail(why, why_len, -ENOEXEC, "%s: not a Linux bzImage (no \"HdrS\" setup header)", name);
	uint16_t version = get16(image, HDR_VERSION);
	if (version < LINUX_MIN_PROTOCOL)
		return fail(why, why_len, -ENOEXEC, "%s: boot protocol %u.%02u is too old (x86v needs 2.10 or later)",
			    name, version >> 8, version & 0xff);
	if (version >> 8 != 2)
		return fail(why, why_len, -ENOEXEC, "%s: boot protocol %u.%02u does not exist (major version 2 only)",
			    name, version >> 8, version & 0xff);
	if (!(image[HDR_LOADFLAGS] & LOADFLAGS_LOADED_HIGH))
		return fail(why, why_len, -ENOEXEC, "%s: a zImage (loaded low) is not supported", name);
	bool has64 = get16(image, HDR_XLOADFLAGS) & XLF_KERNEL_64;
	if (opts->entry == 64 && !has64)
		return fail(why, why_len, -ENOEXEC, "%s: the kernel has no 64-bit entry point (--kernel-entry 64)",
			    name);
	/* A 32-bit kernel (no 64-bit entry) is entered at its 32-bit one, as QEMU does. */
	bool entry32 = opts->entry == 32 || (opts->entry == 0 && !has64);

	unsigned setup_sects = image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4;
	size_t setup_size = ((size_t)setup_sects + 1) * 512;
	size_t header_end = 0x202 + (size_t)image[HDR_JUMP + 1];
	if (setup_size >= size || header_end > setup_size || header_end > BP_SIZE)
		return fail(why, why_len, -ENOEXEC, "%s: truncated bzImage (setup is %zu bytes, file %zu)", name,
			    setup_size, size);
	size_t kernel_size = size - setup_size;
	int r = check_header(image, name, kernel_size, why, why_len);
	if (r < 0)
		return r;
	uint64_t init_size = get32(image, HDR_INIT_SIZE);
	uint64_t footprint = init_size > kernel_size ? init_size : kernel_size;
	if (!ram_contains(ram, LINUX_KERNEL_ADDR, footprint))
		return fail(why, why_len, -ENOSPC, "%s: the kernel needs %llu MiB above 1 MiB; give more RAM with -m",
			    name, (unsigned long long)((footprint + LINUX_KERNEL_ADDR + MiB - 1) / MiB));

	size_t cmdline_len = strlen(cmdline);
	uint32_t cmdline_max = get32(image, HDR_CMDLINE_SIZE);
	if (cmdline_len >= LINUX_CMDLINE_MAX || (cmdline_max && cmdline_len > cmdline_max))
		return fail(why, why_len, -E2BIG, "%s: command line too long (%zu bytes, the kernel takes %u)", name,
			    cmdline_len, cmdline_max ? cmdline_max : LINUX_CMDLINE_MAX - 1);

	/* The initrd goes as high as the kernel allows, below the top of low RAM. */
	uint64_t initrd_addr = 0;
	if (initrd) {
		uint64_t max = get32(image, HDR_INITRD_ADDR_MAX);
		uint64_t top = ram->low_size < max + 1 ? ram->low_size : max + 1;
		uint64_t kernel_end = LINUX_KERNEL_ADDR + footprint;
		if (initrd_size > top || ((top - initrd_size) & ~0xfffULL) < kernel_end)
			return fail(why, why_len, -ENOSPC,
				    "%s: the initrd (%zu bytes) does not fit in RAM beside the kernel; give more RAM with -m",
				    name, initrd_size);
		initrd_addr = (top - initrd_size) & ~0xfffULL;
	}

	uint8_t *bp = calloc(1, BP_SIZE);
	if (!bp)
		return fail(why, why_len, -ENOMEM, "out of memory");
	memcpy(bp + BP_HDR, image + BP_HDR, header_end - BP_HDR);
	bp[HDR_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED;
	bp[HDR_LOADFLAGS] = (uint8_t)((bp[HDR_LOADFLAGS] & ~LOADFLAGS_KEEP_SEGMENTS) | LOADFLAGS_CAN_USE_HEAP);
	put16(bp, HDR_HEAP_END_PTR, 0xfe00);
	put32(bp, HDR_CODE32_START, (uint32_t)LINUX_KERNEL_ADDR);
	put32(bp, HDR_CMD_LINE_PTR, (uint32_t)LINUX_CMDLINE_ADDR);
	put32(bp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	put32(bp, HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	put32(bp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
	put32(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd_size >> 32));
	put32(bp, BP_EXT_CMD_LINE_PTR, 0);
	put64(bp, BP_ACPI_RSDP_ADDR, opts->rsdp);

	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(ram, map, E820_MAX_ENTRIES);
	if (n > E820_MAX_ENTRIES)
		n = E820_MAX_ENTRIES;
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		put64(bp, BP_E820_TABLE + i * 20, map[i].addr);
		put64(bp, BP_E820_TABLE + i * 20 + 8, map[i].size);
		put32(bp, BP_E820_TABLE + i * 20 + 16, map[i].type);
	}

	if (ram_write(ram, LINUX_KERNEL_ADDR, image + setup_size, kernel_size) < 0 ||
	    ram_write(ram, LINUX_CMDLINE_ADDR, cmdline, cmdline_len + 1) < 0 ||
	    ram_write(ram, LINUX_BOOT_PARAMS_ADDR, bp, BP_SIZE) < 0 ||
	    (initrd && ram_write(ram, initrd_addr, initrd, initrd_size) < 0) ||
	    build_entry_tables(ram, entry32) < 0)
		r = fail(why, why_len, -EFAULT, "%s: guest RAM too small for the boot structures", name);
	free(bp);
	if (r < 0)
		return r;
	entry_state(cpu, LINUX_KERNEL_ADDR + (entry32 ? 0 : 0x200), entry32);
	return 0;
}

int linux_load_file(struct guest_ram *ram, const char *path, const char *initrd_path, const char *cmdline,
		    const struct linux_boot *opts, struct x86_cpu_state *cpu, char *why, size_t why_len)
{
	uint8_t *image = NULL, *initrd = NULL;
	size_t size = 0, initrd_size = 0;
	int r = boot_read_file(path, "kernel", ram->size, &image, &size, why, why_len);
	if (r == 0 && initrd_path)
		r = boot_read_file(initrd_path, "initrd", ram->low_size, &initrd, &initrd_size, why, why_len);
	if (r == 0)
		r = linux_load_image(ram, path, image, size, initrd, initrd_size, cmdline, opts, cpu, why, why_len);
	free(initrd);
	free(image);
	return r;
}
