/* SPDX-License-Identifier: MIT */
/*
 * make check's bounded fuzz run: a fixed-seed stream of random instruction
 * bytes through the soft-engine fuzz target, per CPU mode. Longer runs: build
 * the libFuzzer target (docs/testing.md) or pass an iteration count.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_soft.h"

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* One saved input (the first byte picks the mode); a lockstep difference aborts. */
static void replay(const char *path)
{
	static uint8_t input[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(input, 1, sizeof(input), f) : 0;
	if (f)
		fclose(f);
	fuzz_soft_one(input, n);
	printf("ok - %s\n", path);
}

/* The seeds built from tests/fuzz/seeds (seed-NAME.bin beside this program). */
static void replay_seeds(void)
{
#ifdef FUZZ_SEED_DIR
	DIR *d = opendir(FUZZ_SEED_DIR);
	struct dirent *ent;
	while (d && (ent = readdir(d))) {
		size_t len = strlen(ent->d_name);
		if (strncmp(ent->d_name, "seed-", 5) || len < 4 || strcmp(ent->d_name + len - 4, ".bin"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", FUZZ_SEED_DIR, ent->d_name);
		replay(path);
	}
	if (d)
		closedir(d);
#endif
}

int main(int argc, char **argv)
{
	static const char *const names[FUZZ_MODES] = { "real", "prot16", "prot32", "v86", "long64" };
	/* test_fuzz_soft FILE: one saved input. */
	if (argc > 1 && access(argv[1], R_OK) == 0) {
		replay(argv[1]);
		return 0;
	}
	replay_seeds();
	int per_mode = argc > 1 ? atoi(argv[1]) : 2000;
	if (argc > 2) /* another stream (make fuzz) */
		rng_state ^= strtoull(argv[2], NULL, 0) * 0x9e3779b97f4a7c15ULL | 1;
	uint8_t buf[512];
	for (unsigned mode = 0; mode < FUZZ_MODES; mode++) {
		for (int i = 0; i < per_mode; i++) {
			size_t len = 2 + rng() % (sizeof(buf) - 2);
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rng();
			buf[0] = (uint8_t)(mode + FUZZ_MODES * (i & 1)); /* odd: the interpreter alone */
			fuzz_soft_one(buf, len);
		}
		printf("ok - fuzz_soft_%s (%d random inputs, no crash)\n", names[mode], per_mode);
	}
	return 0;
}
