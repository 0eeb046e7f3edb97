/* SPDX-License-Identifier: MIT */
/*
 * NBD exports as disks, through libnbd: nbd://HOST[:PORT]/EXPORT or
 * nbd+unix:///EXPORT?socket=PATH (the NBD URI specification). Any format a
 * server understands — qcow2, vmdk, vhdx behind qemu-nbd or
 * qemu-storage-daemon — or a disk on another machine, without a format
 * parser here. Calls are libnbd's synchronous ones, made on the disk's
 * worker threads only (a libnbd handle is thread-safe).
 */
#include <errno.h>
#include <libnbd.h>
#include <stdio.h>
#include <stdlib.h>

#include "hw/block/block_image.h"

#define NBD_MAX_REQUEST (32u << 20) /* what every server accepts in one command */

struct nbd_image {
	struct nbd_handle *h;
	bool can_flush, can_trim, can_zero;
};

static int nbd_fail(void)
{
	int e = nbd_get_errno();
	return e ? -e : -EIO;
}

/* pread/pwrite of one buffer, in commands a server accepts. */
static int transfer(struct nbd_image *n, bool write, uint8_t *buf, size_t len, uint64_t offset)
{
	while (len) {
		size_t chunk = len < NBD_MAX_REQUEST ? len : NBD_MAX_REQUEST;
		int r = write ? nbd_pwrite(n->h, buf, chunk, offset, 0) : nbd_pread(n->h, buf, chunk, offset, 0);
		if (r == -1)
			return nbd_fail();
		buf += chunk;
		offset += chunk;
		len -= chunk;
	}
	return 0;
}

static int zero_by_writing(struct nbd_image *n, uint64_t offset, uint64_t len)
{
	static const uint8_t zeros[65536];
	while (len) {
		size_t chunk = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		if (nbd_pwrite(n->h, zeros, chunk, offset, 0) == -1)
			return nbd_fail();
		offset += chunk;
		len -= chunk;
	}
	return 0;
}

static int image_run(void *state, const struct block_request *r)
{
	struct nbd_image *n = state;
	switch (r->op) {
	case BLOCK_READ:
	case BLOCK_WRITE: {
		uint64_t offset = r->offset;
		for (unsigned i = 0; i < r->niov; i++) {
			int e = transfer(n, r->op == BLOCK_WRITE, r->iov[i].iov_base, r->iov[i].iov_len, offset);
			if (e < 0)
				return e;
			offset += r->iov[i].iov_len;
		}
		return 0;
	}
	case BLOCK_FLUSH:
		return !n->can_flush || nbd_flush(n->h, 0) == 0 ? 0 : nbd_fail();
	case BLOCK_DISCARD: /* advisory */
		return !n->can_trim || nbd_trim(n->h, r->len, r->offset, 0) == 0 ? 0 : nbd_fail();
	case BLOCK_WRITE_ZEROES:
		if (!n->can_zero)
			return zero_by_writing(n, r->offset, r->len);
		return nbd_zero(n->h, r->len, r->offset, 0) == 0 ? 0 : nbd_fail();
	}
	return -EINVAL;
}

static void image_close(void *state)
{
	struct nbd_image *n = state;
	if (n->h) {
		nbd_shutdown(n->h, 0);
		nbd_close(n->h);
	}
	free(n);
}

static const struct block_image_ops nbd_ops = { .run = image_run, .close = image_close };

int block_nbd_open(const struct block_options *opt, struct block_image *img, char *why, size_t why_len)
{
	struct nbd_image *n = calloc(1, sizeof(*n));
	if (!n || !(n->h = nbd_create())) {
		snprintf(why, why_len, "%s: cannot create an NBD handle: %s", opt->path, n ? nbd_get_error() : "out of memory");
		free(n);
		return -ENOMEM;
	}
	if (nbd_connect_uri(n->h, opt->path) == -1) {
		int e = nbd_fail();
		snprintf(why, why_len, "%s: cannot connect to the NBD export: %s", opt->path, nbd_get_error());
		image_close(n);
		return e;
	}
	int64_t size = nbd_get_size(n->h);
	if (size < BLOCK_SECTOR) {
		snprintf(why, why_len, "%s: the NBD export is smaller than one 512-byte sector", opt->path);
		image_close(n);
		return -EINVAL;
	}
	n->can_flush = nbd_can_flush(n->h) == 1;
	n->can_trim = nbd_can_trim(n->h) == 1;
	n->can_zero = nbd_can_zero(n->h) == 1;
	*img = (struct block_image){ .ops = &nbd_ops, .state = n, .size = (uint64_t)size / BLOCK_SECTOR * BLOCK_SECTOR,
				     .readonly = opt->readonly || nbd_is_read_only(n->h) == 1 };
	return 0;
}
