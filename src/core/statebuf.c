/* SPDX-License-Identifier: MIT */
/*
 * Snapshot byte streams (statebuf.h): little-endian, length-prefixed names,
 * a reader that fails closed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/statebuf.h"

void sb_init(struct statebuf *sb)
{
	*sb = (struct statebuf){ 0 };
}

void sb_free(struct statebuf *sb)
{
	free(sb->data);
	*sb = (struct statebuf){ 0 };
}

void sb_put(struct statebuf *sb, const void *data, size_t len)
{
	if (sb->failed)
		return;
	if (len > sb->cap - sb->len) {
		size_t cap = sb->cap ? sb->cap : 4096;
		while (cap - sb->len < len)
			cap *= 2;
		uint8_t *p = realloc(sb->data, cap);
		if (!p) {
			sb->failed = true;
			return;
		}
		sb->data = p;
		sb->cap = cap;
	}
	if (len)
		memcpy(sb->data + sb->len, data, len);
	sb->len += len;
}

void sb_put_u8(struct statebuf *sb, uint8_t v)
{
	sb_put(sb, &v, 1);
}

void sb_put_u32(struct statebuf *sb, uint32_t v)
{
	uint8_t b[4];
	for (unsigned i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	sb_put(sb, b, sizeof(b));
}

void sb_put_u64(struct statebuf *sb, uint64_t v)
{
	sb_put_u32(sb, (uint32_t)v);
	sb_put_u32(sb, (uint32_t)(v >> 32));
}

void sb_put_name(struct statebuf *sb, const char *name)
{
	size_t n = strlen(name);
	if (n > 255)
		n = 255;
	sb_put_u8(sb, (uint8_t)n);
	sb_put(sb, name, n);
}

size_t sb_reserve_u32(struct statebuf *sb)
{
	size_t at = sb->len;
	sb_put_u32(sb, 0);
	return at;
}

void sb_patch_u32(struct statebuf *sb, size_t offset, uint32_t v)
{
	if (sb->failed || offset + 4 > sb->len)
		return;
	for (unsigned i = 0; i < 4; i++)
		sb->data[offset + i] = (uint8_t)(v >> (8 * i));
}

void sr_init(struct state_reader *sr, const void *data, size_t len)
{
	*sr = (struct state_reader){ data, len, false };
}

void sr_get(struct state_reader *sr, void *out, size_t len)
{
	if (sr->failed || len > sr->left) {
		sr->failed = true;
		memset(out, 0, len);
		return;
	}
	memcpy(out, sr->p, len);
	sr->p += len;
	sr->left -= len;
}

uint8_t sr_get_u8(struct state_reader *sr)
{
	uint8_t v;
	sr_get(sr, &v, 1);
	return v;
}

uint32_t sr_get_u32(struct state_reader *sr)
{
	uint8_t b[4];
	sr_get(sr, b, sizeof(b));
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t sr_get_u64(struct state_reader *sr)
{
	uint64_t lo = sr_get_u32(sr);
	return lo | (uint64_t)sr_get_u32(sr) << 32;
}

void sr_get_name(struct state_reader *sr, char out[256])
{
	unsigned n = sr_get_u8(sr);
	sr_get(sr, out, n);
	out[n] = '\0';
	for (unsigned i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			sr->failed = true;
	if (sr->failed)
		out[0] = '\0';
}

struct state_reader sr_sub(struct state_reader *sr, size_t len)
{
	struct state_reader sub = { sr->p, len, sr->failed };
	if (sr->failed || len > sr->left) {
		sr->failed = true;
		sub = (struct state_reader){ NULL, 0, true };
		return sub;
	}
	sr->p += len;
	sr->left -= len;
	return sub;
}

static uint32_t crc32c_table[256];

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (unsigned k = 0; k < 8; k++)
			c = c & 1 ? 0x82f63b78u ^ (c >> 1) : c >> 1;
		crc32c_table[i] = c;
	}
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, crc32c_init);
	const uint8_t *p = data;
	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
