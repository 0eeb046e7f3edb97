/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 kernel loading (Multiboot Specification version 0.6.96):
 * header search and flags (§3.1.1-§3.1.4), ELF32 and a.out-kludge loading,
 * the machine state at entry (§3.2) and the boot information (§3.3).
 *
 * Not implemented: ELF64 kernels (refused), video mode setting (header flag
 * bit 2 is accepted and ignored: there is no display, and §3.1.4 leaves the
 * final mode to the boot loader; no VBE/framebuffer info is passed), the
 * boot_device, symbol table, drives, config/APM/VBE fields, more than one
 * module. Multiboot 2 is a different protocol and is not handled.
 *
 * Guest-physical layout of what x86v passes: the whole area
 * [MULTIBOOT_AREA_START, MULTIBOOT_AREA_END) is zeroed and holds
 *   0x9000  struct multiboot_info          (EBX at entry)
 *   0x9100  struct multiboot_mod_list[1]    (mods_addr)
 *   0x9200  "x86v"                          (boot_loader_name)
 *   0x9400  struct multiboot_mmap_entry[n]  (mmap_addr; n <= E820_MAX_ENTRIES)
 *   0xA000  module string, NUL-terminated   (at most 4095 characters)
 *   0xB000  command line, NUL-terminated    (at most 20479 characters): the
 *           kernel's path, then a space and the --append text if any, as
 *           GRUB and QEMU pass it
 * The module is page-aligned at or above max(1 MiB, end of the kernel). A
 * kernel that loads into that low area gets the same layout moved to the
 * first page after the kernel and its module.
 */
#ifndef X86V_BOOT_MULTIBOOT_H
#define X86V_BOOT_MULTIBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"
#include "cpu/x86_state.h"
#include "mem/guest_ram.h"

#define MULTIBOOT_SEARCH 8192
#define MULTIBOOT_HEADER_ALIGN 4
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

/* Header flags (§3.1.2). Bits 0-15 are requirements, 16-31 optional features. */
#define MULTIBOOT_PAGE_ALIGN 0x00000001u
#define MULTIBOOT_MEMORY_INFO 0x00000002u
#define MULTIBOOT_VIDEO_MODE 0x00000004u
#define MULTIBOOT_AOUT_KLUDGE 0x00010000u
#define MULTIBOOT_REQUIRED_MASK 0x0000ffffu

/* Boot information flags (§3.3). */
#define MULTIBOOT_INFO_MEMORY 0x00000001u
#define MULTIBOOT_INFO_BOOTDEV 0x00000002u
#define MULTIBOOT_INFO_CMDLINE 0x00000004u
#define MULTIBOOT_INFO_MODS 0x00000008u
#define MULTIBOOT_INFO_AOUT_SYMS 0x00000010u
#define MULTIBOOT_INFO_ELF_SHDR 0x00000020u
#define MULTIBOOT_INFO_MEM_MAP 0x00000040u
#define MULTIBOOT_INFO_DRIVE_INFO 0x00000080u
#define MULTIBOOT_INFO_CONFIG_TABLE 0x00000100u
#define MULTIBOOT_INFO_BOOT_LOADER_NAME 0x00000200u
#define MULTIBOOT_INFO_APM_TABLE 0x00000400u
#define MULTIBOOT_INFO_VBE_INFO 0x00000800u

#define MULTIBOOT_MEMORY_AVAILABLE 1
#define MULTIBOOT_MEMORY_RESERVED 2

#define MULTIBOOT_AREA_START 0x9000u
#define MULTIBOOT_INFO_ADDR 0x9000u
#define MULTIBOOT_MODS_ADDR 0x9100u
#define MULTIBOOT_LOADER_NAME_ADDR 0x9200u
#define MULTIBOOT_MMAP_ADDR 0x9400u
#define MULTIBOOT_MODULE_STRING_ADDR 0xA000u
#define MULTIBOOT_CMDLINE_ADDR 0xB000u
#define MULTIBOOT_AREA_END 0x10000u
#define MULTIBOOT_AREA_SIZE (MULTIBOOT_AREA_END - MULTIBOOT_AREA_START)
/* Longest strings that fit, without their NUL. */
#define MULTIBOOT_MODULE_STRING_MAX (MULTIBOOT_CMDLINE_ADDR - MULTIBOOT_MODULE_STRING_ADDR - 1)
#define MULTIBOOT_CMDLINE_MAX (MULTIBOOT_AREA_END - MULTIBOOT_CMDLINE_ADDR - 1)
#define MULTIBOOT_LOADER_NAME "x86v"

/* The boot information structure as the guest sees it (§3.3, up to the VBE fields). */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
};

/* One memory map entry; size (20) does not count itself, so the next entry is at +24. */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

struct multiboot_mod_list {
	uint32_t mod_start;
	uint32_t mod_end; /* exclusive, as GRUB passes it */
	uint32_t string;
	uint32_t reserved;
};

/*
 * Loads a Multiboot v1 kernel image: finds and checks the header, loads its
 * ELF32 PT_LOAD segments at their physical addresses (or, with header flag
 * bit 16, the a.out-kludge range), zeroes the BSS, copies the module (when
 * module_name is non-NULL; module may be NULL only when module_size is 0),
 * writes the boot information at the fixed addresses above and sets *cpu to
 * the entry state: x86_state_flat32(), EAX = MULTIBOOT_BOOTLOADER_MAGIC,
 * EBX = MULTIBOOT_INFO_ADDR, EIP = the physical entry point. cmdline may be
 * NULL (passed as ""). Everything is validated before guest memory is
 * written, so on error RAM and *cpu are untouched.
 * Returns 0 or -errno (-ENOEXEC malformed image, -E2BIG string too long,
 * -ENOSPC does not fit); why (if why_len > 0) then holds one line.
 */
int multiboot_load_image(struct guest_ram *ram, const char *name, const uint8_t *image, size_t size,
			 const char *cmdline, const uint8_t *module, size_t module_size,
			 const char *module_name, struct x86_cpu_state *cpu, char *why,
			 size_t why_len) MUST_CHECK;

/*
 * As multiboot_load_image() for the kernel file at path; module_path (may be
 * NULL) is read as the one module and also passed as its string. Files must
 * be regular and are size-checked before being read: the kernel file against
 * 1 GiB (it may hold unloaded debug sections), the module against low RAM.
 */
int multiboot_load_file(struct guest_ram *ram, const char *path, const char *cmdline,
			const char *module_path, struct x86_cpu_state *cpu, char *why,
			size_t why_len) MUST_CHECK;

/* True when image has a Multiboot v1 header magic in its first 8192 bytes (for format detection). */
bool multiboot_probe(const uint8_t *image, size_t size);

#endif
