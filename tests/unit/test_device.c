/* SPDX-License-Identifier: MIT */
/*
 * Device records (hw/device.c) and the byte streams under them
 * (core/statebuf.c): a round trip, a record from an older state version,
 * and every way a record can be wrong — truncated at each length, a newer
 * version, another device's record, an unknown field, a field of another
 * size, a boolean that is not 0 or 1, a state post_load refuses.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "core/statebuf.h"
#include "hw/device.h"

struct toy_state {
	uint32_t count;
	uint8_t bytes[5];
	bool flag;
	uint64_t added_in_v2;
};

struct toy {
	struct device dev;
	struct toy_state s;
	unsigned resets;
};

static void toy_reset(struct device *dev)
{
	struct toy *t = container_of(dev, struct toy, dev);
	t->s = (struct toy_state){ .added_in_v2 = 77 };
	t->resets++;
}

static int toy_post_load(struct device *dev, char *why, size_t why_len)
{
	struct toy *t = container_of(dev, struct toy, dev);
	if (t->s.count > 5) {
		snprintf(why, why_len, "%s: count %u", dev->name, t->s.count);
		return -EINVAL;
	}
	return 0;
}

static void toy_destroy(struct device *dev)
{
	(void)dev;
}

static const struct device_field toy_fields[] = {
	DEVICE_FIELD(struct toy_state, count),
	DEVICE_FIELD(struct toy_state, bytes),
	DEVICE_BOOL(struct toy_state, flag),
	DEVICE_FIELD_SINCE(struct toy_state, added_in_v2, 2),
};

static const struct device_class toy_v2 = {
	.type = "toy", .version = 2, .fields = toy_fields, .nfields = ARRAY_SIZE(toy_fields),
	.reset = toy_reset, .post_load = toy_post_load, .destroy = toy_destroy,
};
/* The same device as an older x86v saw it: no added_in_v2. */
static const struct device_class toy_v1 = {
	.type = "toy", .version = 1, .fields = toy_fields, .nfields = 3,
	.reset = toy_reset, .post_load = toy_post_load, .destroy = toy_destroy,
};

static void toy_init(struct toy *t, const struct device_class *cls)
{
	*t = (struct toy){ 0 };
	device_init(&t->dev, cls, "toy0", &t->s);
	toy_reset(&t->dev);
}

static void save(struct toy *t, struct statebuf *sb)
{
	sb_init(sb);
	CHECK_EQ(device_save(&t->dev, sb), 0);
}

static int load(struct toy *t, const struct statebuf *sb, size_t len, char *why)
{
	struct state_reader sr;
	sr_init(&sr, sb->data, len);
	return device_load(&t->dev, &sr, why, 256);
}

static void test_round_trip(void)
{
	struct toy a, b;
	toy_init(&a, &toy_v2);
	toy_init(&b, &toy_v2);
	a.s = (struct toy_state){ 3, { 1, 2, 3, 4, 5 }, true, 0x1122334455667788ULL };
	struct statebuf sb;
	save(&a, &sb);
	char why[256];
	char name[256];
	struct state_reader sr;
	sr_init(&sr, sb.data, sb.len);
	device_record_name(&sr, name);
	CHECK_STR(name, "toy0");
	CHECK_EQ(load(&b, &sb, sb.len, why), 0);
	CHECK(memcmp(&a.s, &b.s, sizeof(a.s)) == 0);
	sb_free(&sb);
}

/* An older record lacks added_in_v2: it keeps its reset value. A newer one is refused. */
static void test_versions(void)
{
	struct toy old, cur;
	toy_init(&old, &toy_v1);
	toy_init(&cur, &toy_v2);
	old.s.count = 2;
	old.s.added_in_v2 = 5; /* not saved by v1 */
	struct statebuf sb;
	save(&old, &sb);
	char why[256];
	CHECK_EQ(load(&cur, &sb, sb.len, why), 0);
	CHECK_EQ(cur.s.count, 2);
	CHECK_EQ(cur.s.added_in_v2, 77);
	sb_free(&sb);

	save(&cur, &sb);
	CHECK_EQ(load(&old, &sb, sb.len, why), -EINVAL);
	CHECK_STR(why, "device toy0: state version 2, this x86v knows up to 1");
	sb_free(&sb);
}

static void test_truncated(void)
{
	struct toy a, b;
	toy_init(&a, &toy_v2);
	toy_init(&b, &toy_v2);
	a.s.count = 4;
	struct statebuf sb;
	save(&a, &sb);
	char why[256];
	for (size_t len = 0; len < sb.len; len++) {
		b.s.count = 1;
		CHECK_EQ(load(&b, &sb, len, why), -EINVAL);
		CHECK_STR(why, "device toy0: truncated record");
		CHECK_EQ(b.s.count, 0); /* left reset */
	}
	sb_free(&sb);
}

/* Offset of the bytes of field name in a record. */
static size_t field_at(const struct statebuf *sb, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + n + 5 < sb->len; i++)
		if (sb->data[i] == n && memcmp(sb->data + i + 1, name, n) == 0)
			return i + 1 + n + 4;
	return 0;
}

static void test_refused(void)
{
	struct toy a, b;
	toy_init(&a, &toy_v2);
	toy_init(&b, &toy_v2);
	struct statebuf sb;
	char why[256];

	save(&a, &sb);
	sb.data[field_at(&sb, "flag")] = 2;
	CHECK_EQ(load(&b, &sb, sb.len, why), -EINVAL);
	CHECK_STR(why, "device toy0: field flag is not a boolean");
	sb_free(&sb);

	save(&a, &sb);
	sb.data[field_at(&sb, "count")] = 6;
	CHECK_EQ(load(&b, &sb, sb.len, why), -EINVAL);
	CHECK_STR(why, "toy0: count 6");
	sb_free(&sb);

	save(&a, &sb);
	sb.data[field_at(&sb, "bytes") - 4] = 4; /* the size of bytes */
	CHECK_EQ(load(&b, &sb, sb.len, why), -EINVAL);
	CHECK_STR(why, "device toy0: field bytes has 4 bytes, not 5");
	sb_free(&sb);

	save(&a, &sb);
	sb.data[field_at(&sb, "count") - 5 - 4] = 'k'; /* "count" -> "kount" */
	CHECK_EQ(load(&b, &sb, sb.len, why), -EINVAL);
	CHECK_STR(why, "device toy0: unknown field kount");
	sb_free(&sb);

	save(&a, &sb);
	sb.data[1] = 'b'; /* "toy0" -> "boy0" */
	CHECK_EQ(load(&b, &sb, sb.len, why), -EINVAL);
	CHECK_STR(why, "device toy0: the record is for boy0 (toy), not toy");
	sb_free(&sb);
}

static void test_list(void)
{
	struct toy a, b;
	toy_init(&a, &toy_v2);
	toy_init(&b, &toy_v2);
	snprintf(b.dev.name, sizeof(b.dev.name), "toy1");
	struct device_list list = { 0 };
	CHECK_EQ(device_list_add(&list, &a.dev), 0);
	CHECK_EQ(device_list_add(&list, &b.dev), 0);
	CHECK(device_list_find(&list, "toy1") == &b.dev);
	CHECK(device_list_find(&list, "toy2") == NULL);
	device_list_reset(&list);
	CHECK_EQ(a.resets, 2);
	CHECK_EQ(b.resets, 2);
	device_list_destroy(&list);
	CHECK_EQ(list.count, 0);
}

static void test_statebuf(void)
{
	struct statebuf sb;
	sb_init(&sb);
	size_t at = sb_reserve_u32(&sb);
	sb_put_u64(&sb, 0x0102030405060708ULL);
	sb_put_name(&sb, "abc");
	sb_patch_u32(&sb, at, 0xdeadbeef);
	struct state_reader sr;
	sr_init(&sr, sb.data, sb.len);
	CHECK_EQ(sr_get_u32(&sr), 0xdeadbeef);
	CHECK_EQ(sr_get_u64(&sr), 0x0102030405060708ULL);
	char name[256];
	sr_get_name(&sr, name);
	CHECK_STR(name, "abc");
	CHECK(sr_ok(&sr));
	CHECK_EQ(sr_get_u8(&sr), 0); /* past the end: fails, reads zero */
	CHECK(!sr_ok(&sr));
	CHECK_EQ(crc32c(0, "123456789", 9), 0xe3069283); /* the CRC-32C check value */
	sb_free(&sb);
}

CHECK_MAIN(TEST_CASE(test_round_trip), TEST_CASE(test_versions), TEST_CASE(test_truncated), TEST_CASE(test_refused),
	   TEST_CASE(test_list), TEST_CASE(test_statebuf))
