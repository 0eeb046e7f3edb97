/* SPDX-License-Identifier: MIT */
/*
 * Port I/O and MMIO dispatch: a sorted region array searched by bisection,
 * and the size adaptation described in bus.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem/bus.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_destroy(struct bus *bus)
{
	free(bus->regions);
	bus->regions = NULL;
	bus->count = bus->capacity = 0;
}

/* Index of the first region whose end is above addr (count if none). */
static size_t bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_region *r = &bus->regions[mid];
		if (r->base + (r->size - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_add(struct bus *bus, uint64_t base, uint64_t size, const struct bus_ops *ops,
	    void *opaque, const char *name)
{
	if (size == 0 || base + (size - 1) < base || !ops)
		return -EINVAL;
	size_t i = bus_lower_bound(bus, base);
	if (i < bus->count && bus->regions[i].base <= base + (size - 1))
		return -EEXIST;
	if (bus->count == bus->capacity) {
		size_t cap = bus->capacity ? bus->capacity * 2 : 16;
		struct bus_region *r = realloc(bus->regions, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		bus->regions = r;
		bus->capacity = cap;
	}
	memmove(&bus->regions[i + 1], &bus->regions[i], (bus->count - i) * sizeof(bus->regions[0]));
	bus->regions[i] = (struct bus_region){ base, size, ops, opaque, name };
	bus->count++;
	return 0;
}

int bus_remove(struct bus *bus, uint64_t base)
{
	size_t i = bus_lower_bound(bus, base);
	if (i >= bus->count || bus->regions[i].base != base)
		return -ENOENT;
	memmove(&bus->regions[i], &bus->regions[i + 1], (bus->count - i - 1) * sizeof(bus->regions[0]));
	bus->count--;
	return 0;
}

const struct bus_region *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t i = bus_lower_bound(bus, addr);
	if (i < bus->count && bus->regions[i].base <= addr)
		return &bus->regions[i];
	return NULL;
}

static unsigned min_size(const struct bus_ops *ops)
{
	return ops->min_size ? ops->min_size : 1;
}

static unsigned max_size(const struct bus_ops *ops)
{
	return ops->max_size ? ops->max_size : 8;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* One access that lies inside region r and has power-of-two size <= 8. */
static uint64_t region_read(const struct bus_region *r, uint64_t off, unsigned size)
{
	unsigned lo = min_size(r->ops), hi = max_size(r->ops);
	if (size > hi) {
		uint64_t v = 0;
		for (unsigned done = 0; done < size; done += hi)
			v |= region_read(r, off + done, hi) << (done * 8);
		return v;
	}
	if (size < lo) {
		uint64_t aligned = off & ~(uint64_t)(lo - 1);
		if (aligned + lo > r->size) /* wider access would leave the region */
			return size_mask(size);
		uint64_t v = r->ops->read(r->opaque, aligned, lo);
		return (v >> ((off - aligned) * 8)) & size_mask(size);
	}
	return r->ops->read(r->opaque, off, size) & size_mask(size);
}

static void region_write(const struct bus_region *r, uint64_t off, unsigned size, uint64_t value)
{
	unsigned lo = min_size(r->ops), hi = max_size(r->ops);
	value &= size_mask(size);
	if (size > hi) {
		for (unsigned done = 0; done < size; done += hi)
			region_write(r, off + done, hi, value >> (done * 8));
		return;
	}
	if (size < lo) {
		uint64_t aligned = off & ~(uint64_t)(lo - 1);
		if (aligned + lo > r->size)
			return;
		r->ops->write(r->opaque, aligned, value << ((off - aligned) * 8), lo);
		return;
	}
	r->ops->write(r->opaque, off, value, size);
}

static bool is_pow2_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

bool bus_read(const struct bus *bus, uint64_t addr, unsigned size, uint64_t *value)
{
	if (size == 0 || size > 8) {
		*value = 0;
		return false;
	}
	const struct bus_region *r = bus_find(bus, addr);
	if (r && is_pow2_size(size) && addr - r->base + size <= r->size) {
		*value = region_read(r, addr - r->base, size);
		return true;
	}
	/* Straddles a boundary, odd size or unmapped start: byte by byte. */
	uint64_t v = 0;
	bool hit = false;
	for (unsigned i = 0; i < size; i++) {
		const struct bus_region *b = bus_find(bus, addr + i);
		uint64_t byte = 0xff;
		if (b) {
			byte = region_read(b, addr + i - b->base, 1);
			hit = true;
		}
		v |= byte << (i * 8);
	}
	*value = v;
	return hit;
}

bool bus_write(const struct bus *bus, uint64_t addr, unsigned size, uint64_t value)
{
	if (size == 0 || size > 8)
		return false;
	const struct bus_region *r = bus_find(bus, addr);
	if (r && is_pow2_size(size) && addr - r->base + size <= r->size) {
		region_write(r, addr - r->base, size, value);
		return true;
	}
	bool hit = false;
	for (unsigned i = 0; i < size; i++) {
		const struct bus_region *b = bus_find(bus, addr + i);
		if (b) {
			region_write(b, addr + i - b->base, 1, value >> (i * 8));
			hit = true;
		}
	}
	return hit;
}
