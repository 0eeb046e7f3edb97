/* SPDX-License-Identifier: MIT */
/*
 * The byte streams that snapshot state travels in: a growable writer and a
 * bounds-checked reader of little-endian integers, byte strings and short
 * names. A reader never reads past its end: once a read fails, every later
 * read fails too and returns zeros, so a parser checks sb_ok() once at the end
 * of a record instead of after every field (the stream is untrusted input).
 */
#ifndef X86V_CORE_STATEBUF_H
#define X86V_CORE_STATEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"

struct statebuf {
	uint8_t *data;
	size_t len, cap;
	bool failed; /* out of memory: every later write is dropped */
};

void sb_init(struct statebuf *sb);
void sb_free(struct statebuf *sb);
void sb_put(struct statebuf *sb, const void *data, size_t len);
void sb_put_u8(struct statebuf *sb, uint8_t v);
void sb_put_u32(struct statebuf *sb, uint32_t v);
void sb_put_u64(struct statebuf *sb, uint64_t v);
/* A name of up to 255 bytes: its length byte, then the bytes. */
void sb_put_name(struct statebuf *sb, const char *name);
/* Reserves a u32 to fill later with sb_patch_u32 (record lengths); its offset. */
size_t sb_reserve_u32(struct statebuf *sb);
void sb_patch_u32(struct statebuf *sb, size_t offset, uint32_t v);

struct state_reader {
	const uint8_t *p;
	size_t left;
	bool failed; /* a read went past the end, or a check failed */
};

void sr_init(struct state_reader *sr, const void *data, size_t len);
static inline bool sr_ok(const struct state_reader *sr)
{
	return !sr->failed;
}
/* Copies len bytes into out (zeros once failed). */
void sr_get(struct state_reader *sr, void *out, size_t len);
uint8_t sr_get_u8(struct state_reader *sr);
uint32_t sr_get_u32(struct state_reader *sr);
uint64_t sr_get_u64(struct state_reader *sr);
/* A name written by sb_put_name into out[256], NUL-terminated; a name with a
 * NUL or a non-printable byte inside fails the reader. */
void sr_get_name(struct state_reader *sr, char out[256]);
/* The next len bytes as a reader of their own (a record), skipped in sr. */
struct state_reader sr_sub(struct state_reader *sr, size_t len);

/* CRC-32C (Castagnoli) of data, continuing from crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
