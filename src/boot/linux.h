/* SPDX-License-Identifier: MIT */
/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), protocol
 * 2.10 and later: a bzImage's protected-mode kernel loaded at 1 MiB, the
 * zero page (struct boot_params) with the setup header, e820 map, command
 * line, initrd and ACPI RSDP, and the CPU state of the 64-bit entry (long
 * mode, identity-mapped 4 GiB) or the 32-bit entry (flat protected mode).
 *
 * Guest-physical layout (below 640 KiB, all inside usable e820 RAM that the
 * kernel reclaims once it has copied what it needs):
 *   0x00500  GDT (null, null, __BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x07000  boot_params (RSI at entry)
 *   0x09000  page tables for the 64-bit entry (PML4, PDPT, 4 PDs)
 *   0x20000  command line (at most LINUX_CMDLINE_MAX bytes)
 *   0x100000 protected-mode kernel;  initrd at the top of low RAM.
 * Not implemented: the 16-bit real-mode entry (needs a BIOS), EFI handover,
 * setup_data chains, compressed kernels other than bzImage.
 */
#ifndef X86V_BOOT_LINUX_H
#define X86V_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"
#include "cpu/x86_state.h"
#include "mem/guest_ram.h"

#define LINUX_GDT_ADDR 0x500ULL
#define LINUX_BOOT_PARAMS_ADDR 0x7000ULL
#define LINUX_PAGE_TABLES_ADDR 0x9000ULL
#define LINUX_CMDLINE_ADDR 0x20000ULL
#define LINUX_CMDLINE_MAX 0x10000u
#define LINUX_KERNEL_ADDR 0x100000ULL
#define LINUX_MIN_PROTOCOL 0x020a

struct linux_boot {
	unsigned entry; /* 64 or 32: that entry point; 0: the 64-bit one if the kernel has it, else 32 */
	uint64_t rsdp; /* ACPI RSDP address, 0 if none */
};

/* True if image starts like a bzImage ("HdrS" in the setup header). */
bool linux_probe(const uint8_t *image, size_t size);

/* Loads a bzImage (and initrd, may be NULL) into ram and sets *cpu to the entry state.
 * 0, or -errno with a one-line why naming the file and the problem. */
int linux_load_image(struct guest_ram *ram, const char *name, const uint8_t *image, size_t size,
		     const uint8_t *initrd, size_t initrd_size, const char *cmdline, const struct linux_boot *opts,
		     struct x86_cpu_state *cpu, char *why, size_t why_len) MUST_CHECK;
int linux_load_file(struct guest_ram *ram, const char *path, const char *initrd_path, const char *cmdline,
		    const struct linux_boot *opts, struct x86_cpu_state *cpu, char *why, size_t why_len) MUST_CHECK;

#endif
