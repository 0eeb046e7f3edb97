/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/soft/jit/code_cache.h"

int jit_cache_init(struct jit_code_cache *c, size_t size, char *why, size_t why_len)
{
	memset(c, 0, sizeof(*c));
	c->size = size;
	c->fd = memfd_create("x86v-jit", MFD_CLOEXEC);
	if (c->fd < 0) {
		int err = errno;
		snprintf(why, why_len, "translator code cache: memfd_create: %s", strerror(err));
		return -err;
	}
	if (ftruncate(c->fd, (off_t)size) < 0)
		goto fail;
	c->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->rw == MAP_FAILED) {
		c->rw = NULL;
		goto fail;
	}
	c->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, c->fd, 0);
	if (c->rx == MAP_FAILED) {
		c->rx = NULL;
		goto fail;
	}
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
	if (c->fd >= 0)
		close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
