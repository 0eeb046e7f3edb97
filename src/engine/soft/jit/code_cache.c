/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/soft/jit/code_cache.h"

/* A shared anonymous mapping and a second view of the same pages
 * (mremap with old size 0). Unlike a memfd's, both views count as
 * anonymous memory to perf, which then names translated code from the
 * perf map (--jit-perf-map), and no file descriptor stays open. */
int jit_cache_init(struct jit_code_cache *c, size_t size, char *why, size_t why_len)
{
	memset(c, 0, sizeof(*c));
	c->size = size;
	c->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->rw == MAP_FAILED) {
		c->rw = NULL;
		goto fail;
	}
	c->rx = mremap(c->rw, 0, size, MREMAP_MAYMOVE);
	if (c->rx == MAP_FAILED) {
		c->rx = NULL;
		goto fail;
	}
	if (mprotect(c->rx, size, PROT_READ | PROT_EXEC) < 0)
		goto fail;
	return 0;
fail:;
	int err = errno;
	snprintf(why, why_len, "translator code cache of %zu MiB: %s", size >> 20, strerror(err));
	jit_cache_destroy(c);
	return -err;
}

void jit_cache_destroy(struct jit_code_cache *c)
{
	if (c->rw)
		munmap(c->rw, c->size);
	if (c->rx)
		munmap(c->rx, c->size);
	memset(c, 0, sizeof(*c));
}
