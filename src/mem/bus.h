/* SPDX-License-Identifier: MIT */
/*
 * An address bus: the port I/O space and the MMIO space are each one bus.
 * Devices register regions with a read/write pair; lookup is a binary search
 * over a sorted array of non-overlapping regions.
 *
 * Access-size contract: a device states the smallest and largest access it
 * implements (1, 2, 4 or 8 bytes). The bus splits wider accesses into
 * little-endian pieces and widens narrower ones (reads extract the bytes,
 * writes pass the value shifted into place with the other bytes zero, as
 * QEMU's memory core does), so a device never sees a size outside its range.
 * An access that straddles a region boundary is split into bytes. Unmapped
 * reads return all-ones; unmapped writes are ignored.
 *
 * The bus does no locking: callers hold the machine lock (see core/vm.h).
 */
#ifndef X86V_MEM_BUS_H
#define X86V_MEM_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include "core/compiler.h"

struct bus_ops {
	/* offset is relative to the region base; size is within [min_size, max_size]. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
	uint8_t min_size; /* 0 means 1 */
	uint8_t max_size; /* 0 means 8 */
};

struct bus_region {
	uint64_t base;
	uint64_t size;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	struct bus_region *regions; /* sorted by base, never overlapping */
	size_t count;
	size_t capacity;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* Adds [base, base + size). Returns -EEXIST if it overlaps a region, -EINVAL if size is 0
 * or the range wraps, -ENOMEM. ops and opaque must outlive the region. */
int bus_add(struct bus *bus, uint64_t base, uint64_t size, const struct bus_ops *ops,
	    void *opaque, const char *name) MUST_CHECK;
/* Removes the region that starts at base. Returns -ENOENT if there is none. */
int bus_remove(struct bus *bus, uint64_t base);
/* The region holding addr, or NULL. */
const struct bus_region *bus_find(const struct bus *bus, uint64_t addr);

/* size is 1..8. Returns false when no device claimed any byte of the access. */
bool bus_read(const struct bus *bus, uint64_t addr, unsigned size, uint64_t *value);
bool bus_write(const struct bus *bus, uint64_t addr, unsigned size, uint64_t value);

#endif
