/* SPDX-License-Identifier: MIT */
/*
 * The PC memory map for small RAM, RAM above the PCI hole, and with a ROM.
 */
#include <stdlib.h>

#include "boot/e820.h"
#include "check.h"

static void check_entry(const struct e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	CHECK_EQ(e->addr, addr);
	CHECK_EQ(e->size, size);
	CHECK_EQ(e->type, type);
}

static void test_map_64m(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	struct e820_entry m[E820_MAX_ENTRIES];
	unsigned n = e820_build(&ram, m, E820_MAX_ENTRIES);
	CHECK_EQ(n, 4);
	check_entry(&m[0], 0, 0x9FC00, E820_RAM);
	check_entry(&m[1], 0x9FC00, 0x400, E820_RESERVED);
	check_entry(&m[2], 0xF0000, 0x10000, E820_RESERVED);
	check_entry(&m[3], 0x100000, 63 * MiB, E820_RAM);
	ram_destroy(&ram);
}

static void test_map_above_4g(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 4 * GiB + 64 * MiB), 0);
	struct e820_entry m[E820_MAX_ENTRIES];
	unsigned n = e820_build(&ram, m, E820_MAX_ENTRIES);
	CHECK_EQ(n, 5);
	check_entry(&m[3], 0x100000, 3 * GiB - MiB, E820_RAM);
	check_entry(&m[4], 4 * GiB, GiB + 64 * MiB, E820_RAM);
	ram_destroy(&ram);
}

static void test_map_exactly_3g(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 3 * GiB), 0);
	struct e820_entry m[E820_MAX_ENTRIES];
	CHECK_EQ(e820_build(&ram, m, E820_MAX_ENTRIES), 4);
	check_entry(&m[3], 0x100000, 3 * GiB - MiB, E820_RAM);
	ram_destroy(&ram);
}

static void test_map_with_rom(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 4 * GiB + 64 * MiB), 0);
	uint8_t *rom = calloc(1, 256 * KiB);
	CHECK(rom != NULL);
	CHECK_EQ(ram_set_rom(&ram, rom, 256 * KiB), 0);
	free(rom);
	struct e820_entry m[E820_MAX_ENTRIES];
	unsigned n = e820_build(&ram, m, E820_MAX_ENTRIES);
	CHECK_EQ(n, 6);
	check_entry(&m[4], 4 * GiB - 256 * KiB, 256 * KiB, E820_RESERVED);
	check_entry(&m[5], 4 * GiB, GiB + 64 * MiB, E820_RAM);
	/* Sorted and non-overlapping. */
	for (unsigned i = 1; i < n; i++)
		CHECK(m[i - 1].addr + m[i - 1].size <= m[i].addr);
	ram_destroy(&ram);
}

static void test_map_truncated(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	struct e820_entry m[3] = { 0 };
	CHECK_EQ(e820_build(&ram, m, 2), 4); /* the full count, only 2 written */
	check_entry(&m[1], 0x9FC00, 0x400, E820_RESERVED);
	CHECK_EQ(m[2].size, 0);
	CHECK_EQ(e820_build(&ram, NULL, 0), 4);
	ram_destroy(&ram);
}

static void test_type_names(void)
{
	CHECK_STR(e820_type_name(E820_RAM), "usable");
	CHECK_STR(e820_type_name(E820_RESERVED), "reserved");
	CHECK_STR(e820_type_name(E820_ACPI), "ACPI data");
	CHECK_STR(e820_type_name(E820_NVS), "ACPI NVS");
	CHECK_STR(e820_type_name(E820_UNUSABLE), "unusable");
	CHECK_STR(e820_type_name(99), "unknown");
}

CHECK_MAIN(TEST_CASE(test_map_64m), TEST_CASE(test_map_above_4g), TEST_CASE(test_map_exactly_3g),
	   TEST_CASE(test_map_with_rom), TEST_CASE(test_map_truncated), TEST_CASE(test_type_names))
