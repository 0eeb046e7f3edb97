/* SPDX-License-Identifier: MIT */
/*
 * The PC physical memory map as firmware reports it (ACPI 6.5 §15, "INT 15H
 * E820H"): the one layout x86v presents, built from struct guest_ram so the
 * Multiboot and Linux loaders (and later firmware tables) agree on it.
 *
 *   [0, 0x9FC00)            usable   conventional memory (639 KiB)
 *   [0x9FC00, 0xA0000)      reserved extended BIOS data area
 *   [0xF0000, 0x100000)     reserved system BIOS
 *   [0x100000, low_size)    usable   extended memory up to the PCI hole
 *   [4 GiB - rom, 4 GiB)    reserved firmware ROM, only when one is installed
 *   [4 GiB, 4 GiB + rest)   usable   RAM that did not fit below the PCI hole
 *
 * [0xA0000, 0xF0000) (VGA window, option ROMs) is left out of the map, as
 * on real PCs. ACPI table/NVS ranges are not produced yet.
 */
#ifndef X86V_BOOT_E820_H
#define X86V_BOOT_E820_H

#include <stdint.h>
#include "core/compiler.h"
#include "mem/guest_ram.h"

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4
#define E820_UNUSABLE 5

#define E820_EBDA_START 0x9FC00ULL
#define E820_VGA_START 0xA0000ULL
#define E820_BIOS_START 0xF0000ULL
#define E820_HIGH_MEMORY 0x100000ULL

/* The most entries e820_build() can produce; callers size their arrays with it. */
#define E820_MAX_ENTRIES 8

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * Fills out[0..max) with the map for ram, sorted by address, non-overlapping.
 * Returns the number of entries the full map has; when that exceeds max only
 * the first max were written (size out with E820_MAX_ENTRIES to get all).
 */
unsigned e820_build(const struct guest_ram *ram, struct e820_entry *out, unsigned max);

/* "usable", "reserved", "ACPI data", "ACPI NVS", "unusable" or "unknown". */
const char *e820_type_name(uint32_t type);

#endif
