/* SPDX-License-Identifier: MIT */
/*
 * The PC memory map (see e820.h for the layout and what is not produced).
 */
#include "boot/e820.h"

struct e820_builder {
	struct e820_entry *out;
	unsigned max;
	unsigned n;
};

static void e820_add(struct e820_builder *b, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0)
		return;
	/* Count every entry so the caller learns how many it would need. */
	if (b->n < b->max)
		b->out[b->n] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	b->n++;
}

unsigned e820_build(const struct guest_ram *ram, struct e820_entry *out, unsigned max)
{
	struct e820_builder b = { .out = out, .max = max };
	uint64_t low = ram->low_size;

	/* ram_init() guarantees at least RAM_MIN_SIZE; still clamp so a tiny RAM gives a sane map. */
	e820_add(&b, 0, low < E820_EBDA_START ? low : E820_EBDA_START, E820_RAM);
	e820_add(&b, E820_EBDA_START, E820_VGA_START - E820_EBDA_START, E820_RESERVED);
	e820_add(&b, E820_BIOS_START, E820_HIGH_MEMORY - E820_BIOS_START, E820_RESERVED);
	if (low > E820_HIGH_MEMORY)
		e820_add(&b, E820_HIGH_MEMORY, low - E820_HIGH_MEMORY, E820_RAM);
	if (ram->rom && ram->rom_size)
		e820_add(&b, RAM_HIGH_BASE - ram->rom_size, ram->rom_size, E820_RESERVED);
	if (ram->size > low)
		e820_add(&b, RAM_HIGH_BASE, ram->size - low, E820_RAM);
	return b.n;
}

const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case E820_RAM: return "usable";
	case E820_RESERVED: return "reserved";
	case E820_ACPI: return "ACPI data";
	case E820_NVS: return "ACPI NVS";
	case E820_UNUSABLE: return "unusable";
	default: return "unknown";
	}
}
