/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the device snapshot tests (test_snapshot, test_snapshot_hostile
 * in each device's test): save and load a device's record, find a field in
 * it by name and rewrite it, and scramble a record's fields at random, so
 * that hostile states reach post_load. Include after check.h.
 */
#ifndef X86V_TESTS_SNAPSHOT_CHECK_H
#define X86V_TESTS_SNAPSHOT_CHECK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/statebuf.h"
#include "hw/device.h"

static UNUSED void snap_save(struct device *dev, struct statebuf *sb)
{
	sb_init(sb);
	CHECK_EQ(device_save(dev, sb), 0);
}

static UNUSED int snap_load(struct device *dev, const struct statebuf *sb, char *why, size_t why_len)
{
	struct state_reader sr;
	sr_init(&sr, sb->data, sb->len);
	why[0] = '\0';
	int r = device_load(dev, &sr, why, why_len);
	if (r == 0)
		CHECK_EQ(sr.left, 0);
	return r;
}

/* The bytes of field name in the record sb holds (device.c's layout), or NULL. */
static UNUSED uint8_t *snap_field(struct statebuf *sb, const char *name, uint32_t *size)
{
	struct state_reader sr;
	char s[256];
	sr_init(&sr, sb->data, sb->len);
	sr_get_name(&sr, s);
	sr_get_name(&sr, s);
	(void)sr_get_u32(&sr);
	uint32_t n = sr_get_u32(&sr);
	for (uint32_t i = 0; i < n && sr_ok(&sr); i++) {
		sr_get_name(&sr, s);
		uint32_t len = sr_get_u32(&sr);
		if (!sr_ok(&sr) || len > sr.left)
			break;
		uint8_t *at = sb->data + (sr.p - sb->data);
		if (strcmp(s, name) == 0) {
			*size = len;
			return at;
		}
		(void)sr_sub(&sr, len);
	}
	return NULL;
}

/* Stores v little-endian in field name (truncated to its size). */
static UNUSED void snap_poke(struct statebuf *sb, const char *name, uint64_t v)
{
	uint32_t size = 0;
	uint8_t *at = snap_field(sb, name, &size);
	CHECK(at != NULL);
	for (uint32_t i = 0; at && i < size; i++)
		at[i] = (uint8_t)(i < 8 ? v >> (8 * i) : 0);
}

/* A copy of good with field name set to v must be refused with -EINVAL
 * and why naming the device; the device is left reset. */
static UNUSED void snap_refused(struct device *dev, const struct statebuf *good, const char *name, uint64_t v)
{
	struct statebuf bad;
	sb_init(&bad);
	sb_put(&bad, good->data, good->len);
	snap_poke(&bad, name, v);
	char why[256];
	int r = snap_load(dev, &bad, why, sizeof(why));
	if (r != -EINVAL)
		printf("# field %s = 0x%llx: load returned %d\n", name, (unsigned long long)v, r);
	CHECK_EQ(r, -EINVAL);
	if (!strstr(why, dev->name))
		printf("# field %s = 0x%llx: why \"%s\"\n", name, (unsigned long long)v, why);
	CHECK(strstr(why, dev->name) != NULL);
	sb_free(&bad);
}

static UNUSED uint64_t snap_rand(uint64_t *x)
{
	/* xorshift64 */
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static UNUSED bool snap_is_bool(const struct device *dev, const char *name)
{
	for (size_t i = 0; i < dev->cls->nfields; i++)
		if (strcmp(dev->cls->fields[i].name, name) == 0)
			return dev->cls->fields[i].is_bool;
	return false;
}

/* Rewrites the fields of the record: random bytes, a small number or one
 * bit flipped. Some rounds rewrite every field, others one in 2..64, so that
 * some records pass the loader's and post_load's checks and reach the
 * device. Booleans get 0 or 1 (now and then 2, which the loader refuses). */
static UNUSED void snap_scramble(const struct device *dev, struct statebuf *sb, uint64_t *rng)
{
	struct state_reader sr;
	char s[256];
	uint64_t rate = 1ull << (snap_rand(rng) % 7);
	sr_init(&sr, sb->data, sb->len);
	sr_get_name(&sr, s);
	sr_get_name(&sr, s);
	(void)sr_get_u32(&sr);
	uint32_t n = sr_get_u32(&sr);
	for (uint32_t i = 0; i < n && sr_ok(&sr); i++) {
		sr_get_name(&sr, s);
		uint32_t len = sr_get_u32(&sr);
		if (!sr_ok(&sr) || len > sr.left)
			break;
		uint8_t *at = sb->data + (sr.p - sb->data);
		(void)sr_sub(&sr, len);
		uint64_t r = snap_rand(rng);
		if (snap_rand(rng) % rate != 0)
			continue;
		if (snap_is_bool(dev, s)) {
			for (uint32_t k = 0; k < len; k++)
				at[k] = (snap_rand(rng) % 512 == 0) ? 2 : (uint8_t)(snap_rand(rng) & 1);
			continue;
		}
		switch (r % 3) {
		case 0:
			for (uint32_t k = 0; k < len; k++)
				at[k] = (uint8_t)snap_rand(rng);
			break;
		case 1:
			memset(at, 0, len);
			at[0] = (uint8_t)(snap_rand(rng) % 20);
			break;
		default:
			at[(r >> 8) % len] ^= (uint8_t)(1u << ((r >> 40) % 8));
			break;
		}
	}
}

/* Where each field of a record lies (device.c: name, type, version, count,
 * then name, size, bytes per field). */
struct rec_field {
	char name[256];
	size_t at;
	uint32_t size;
	bool is_bool;
};

static UNUSED unsigned rec_fields(const struct statebuf *sb, const struct device *dev, struct rec_field *out,
			   unsigned max)
{
	struct state_reader sr;
	char buf[256];
	sr_init(&sr, sb->data, sb->len);
	sr_get_name(&sr, buf);
	sr_get_name(&sr, buf);
	(void)sr_get_u32(&sr);
	uint32_t n = sr_get_u32(&sr);
	unsigned k = 0;
	for (uint32_t i = 0; i < n && k < max; i++) {
		struct rec_field *f = &out[k++];
		sr_get_name(&sr, f->name);
		f->size = sr_get_u32(&sr);
		f->at = sb->len - sr.left;
		f->is_bool = false;
		for (size_t j = 0; j < dev->cls->nfields; j++)
			if (strcmp(dev->cls->fields[j].name, f->name) == 0)
				f->is_bool = dev->cls->fields[j].is_bool;
		(void)sr_sub(&sr, f->size);
	}
	CHECK(sr_ok(&sr));
	CHECK_EQ(sr.left, 0);
	return k;
}

/* The bytes of field name in the record the list fs describes. */
static UNUSED uint8_t *rec_find(struct statebuf *sb, const struct rec_field *fs, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(fs[i].name, name) == 0)
			return sb->data + fs[i].at;
	CHECK_STR(name, "(a field of the record)");
	return NULL;
}

#endif
