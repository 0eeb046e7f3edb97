/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM layout (PCI hole, RAM above 4 GiB, ROM slot) and the bounds
 * checks every VMM access goes through.
 */
#include <errno.h>

#include "check.h"
#include "mem/guest_ram.h"

static void test_small_ram_layout(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	CHECK_EQ(ram.nslots, 1);
	CHECK_EQ(ram.low_size, 64 * MiB);
	CHECK(ram_ptr(&ram, 0, 64 * MiB) == ram.host);
	CHECK(ram_ptr(&ram, 64 * MiB - 1, 1) != NULL);
	CHECK(ram_ptr(&ram, 64 * MiB - 1, 2) == NULL);
	CHECK(ram_ptr(&ram, 64 * MiB, 1) == NULL);
	CHECK(ram_ptr(&ram, ~0ULL, 2) == NULL); /* wraps */
	CHECK(ram_ptr(&ram, 0, 0) == NULL);
	ram_destroy(&ram);
}

static void test_pci_hole_and_high_ram(void)
{
	struct guest_ram ram;
	/* 8 GiB: 3 GiB below the hole, 5 GiB from 4 GiB up. MAP_NORESERVE keeps this free. */
	CHECK_EQ(ram_init(&ram, 8 * GiB), 0);
	CHECK_EQ(ram.nslots, 2);
	CHECK_EQ(ram.low_size, RAM_PCI_HOLE_START);
	CHECK_EQ(ram.slots[1].base, RAM_HIGH_BASE);
	CHECK_EQ(ram.slots[1].size, 5 * GiB);
	CHECK(ram_ptr(&ram, RAM_PCI_HOLE_START - 4, 4) != NULL);
	CHECK(ram_ptr(&ram, RAM_PCI_HOLE_START, 1) == NULL);
	CHECK(ram_ptr(&ram, RAM_HIGH_BASE - 1, 1) == NULL);
	CHECK(ram_ptr(&ram, RAM_PCI_HOLE_START - 4, 8) == NULL); /* straddles into the hole */
	uint32_t v = 0x12345678, back = 0;
	CHECK_EQ(ram_write(&ram, RAM_HIGH_BASE + 5 * GiB - 4, &v, 4), 0);
	CHECK_EQ(ram_read(&ram, RAM_HIGH_BASE + 5 * GiB - 4, &back, 4), 0);
	CHECK_EQ(back, 0x12345678);
	/* The memfd holds high RAM right after low RAM. */
	CHECK(ram_ptr(&ram, RAM_HIGH_BASE, 1) == ram.host + RAM_PCI_HOLE_START);
	CHECK_EQ(ram_write(&ram, RAM_HIGH_BASE + 5 * GiB - 2, &v, 4), -EFAULT);
	ram_destroy(&ram);
}

static void test_rom_slot(void)
{
	struct guest_ram ram;
	static uint8_t rom[64 * 1024];
	rom[sizeof(rom) - 16] = 0xea; /* far jmp at the reset vector */
	CHECK_EQ(ram_init(&ram, 16 * MiB), 0);
	CHECK_EQ(ram_set_rom(&ram, rom, 1000), -EINVAL);
	CHECK_EQ(ram_set_rom(&ram, rom, sizeof(rom)), 0);
	const uint8_t *p = ram_ptr(&ram, 0xfffffff0, 16);
	CHECK(p && p[0] == 0xea);
	CHECK(ram_ptr_rw(&ram, 0xfffffff0, 1) == NULL); /* ROM is read-only */
	uint8_t b = 1;
	CHECK_EQ(ram_write(&ram, 0xfffffff0, &b, 1), -EFAULT);
	CHECK(!ram_contains(&ram, 0xffff0000, 1));
	CHECK(ram_contains(&ram, 0, 16 * MiB));
	ram_destroy(&ram);
}

static void test_bad_sizes(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 1 * MiB), -EINVAL);
	CHECK_EQ(ram_init(&ram, 64 * MiB + 1), -EINVAL);
	CHECK_EQ(ram_init(&ram, 2048 * GiB), -EINVAL);
}

static void test_parse_size(void)
{
	uint64_t v;
	CHECK_EQ(ram_parse_size("64", &v), 0);
	CHECK_EQ(v, 64 * MiB);
	CHECK_EQ(ram_parse_size("512M", &v), 0);
	CHECK_EQ(v, 512 * MiB);
	CHECK_EQ(ram_parse_size("2G", &v), 0);
	CHECK_EQ(v, 2 * GiB);
	CHECK_EQ(ram_parse_size("8GiB", &v), 0);
	CHECK_EQ(v, 8 * GiB);
	CHECK_EQ(ram_parse_size("65536k", &v), 0);
	CHECK_EQ(v, 64 * MiB);
	CHECK_EQ(ram_parse_size("", &v), -EINVAL);
	CHECK_EQ(ram_parse_size("-1", &v), -EINVAL);
	CHECK_EQ(ram_parse_size("12X", &v), -EINVAL);
	CHECK_EQ(ram_parse_size("1Gx", &v), -EINVAL);
	CHECK_EQ(ram_parse_size("99999999999999999999", &v), -EINVAL);
	CHECK_EQ(ram_parse_size("17179869184T", &v), -EINVAL);
}

CHECK_MAIN(TEST_CASE(test_small_ram_layout), TEST_CASE(test_pci_hole_and_high_ram),
	   TEST_CASE(test_rom_slot), TEST_CASE(test_bad_sizes), TEST_CASE(test_parse_size))
