/* SPDX-License-Identifier: MIT */
/*
 * Raw image files (and block devices): preadv/pwritev on the worker threads,
 * O_DIRECT for cache=none (through an aligned copy when the guest's
 * buffers are not aligned), fdatasync, hole punching; an OFD lock against
 * a second writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/block/block_image.h"

#define DIRECT_ALIGN 4096 /* what O_DIRECT accepts on every Linux file system */

struct raw_file {
	int fd;
	bool direct;
};

static bool aligned(const struct block_request *r)
{
	if (r->offset % DIRECT_ALIGN || r->len % DIRECT_ALIGN)
		return false;
	for (unsigned i = 0; i < r->niov; i++)
		if ((uintptr_t)r->iov[i].iov_base % DIRECT_ALIGN || r->iov[i].iov_len % DIRECT_ALIGN)
			return false;
	return true;
}

/* preadv/pwritev until done; a read past the end of the file reads zeros. */
static int rw_all(int fd, bool write, const struct iovec *iov, unsigned niov, uint64_t offset)
{
	struct iovec v[IOV_MAX];
	if (niov > IOV_MAX)
		return -EINVAL;
	memcpy(v, iov, niov * sizeof(*v));
	unsigned i = 0;
	while (i < niov) {
		ssize_t n = write ? pwritev(fd, &v[i], (int)(niov - i), (off_t)offset)
				  : preadv(fd, &v[i], (int)(niov - i), (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write)
				return -EIO;
			for (; i < niov; i++)
				memset(v[i].iov_base, 0, v[i].iov_len);
			return 0;
		}
		offset += (uint64_t)n;
		while (i < niov && (size_t)n >= v[i].iov_len)
			n -= (ssize_t)v[i++].iov_len;
		if (i < niov) {
			v[i].iov_base = (uint8_t *)v[i].iov_base + n;
			v[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* O_DIRECT with guest buffers that are not aligned: through an aligned copy. */
static int rw_bounced(int fd, bool write, const struct block_request *r)
{
	size_t len = (size_t)r->len;
	void *buf;
	if (posix_memalign(&buf, DIRECT_ALIGN, len ? len : DIRECT_ALIGN))
		return -ENOMEM;
	struct iovec one = { buf, len };
	int res = 0;
	if (write) {
		size_t at = 0;
		for (unsigned i = 0; i < r->niov; at += r->iov[i].iov_len, i++)
			memcpy((uint8_t *)buf + at, r->iov[i].iov_base, r->iov[i].iov_len);
		res = rw_all(fd, true, &one, 1, r->offset);
	} else if ((res = rw_all(fd, false, &one, 1, r->offset)) == 0) {
		size_t at = 0;
		for (unsigned i = 0; i < r->niov; at += r->iov[i].iov_len, i++)
			memcpy(r->iov[i].iov_base, (uint8_t *)buf + at, r->iov[i].iov_len);
	}
	free(buf);
	return res;
}

static int write_zeroes(struct raw_file *f, uint64_t offset, uint64_t len)
{
	if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0 ||
	    fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0)
		return 0;
	/* A file system without either: write the zeros. */
	static const uint8_t zeros[65536] __attribute__((aligned(DIRECT_ALIGN)));
	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		struct iovec v = { (void *)zeros, n };
		int r = rw_all(f->fd, true, &v, 1, offset);
		if (r < 0)
			return r;
		offset += n;
		len -= n;
	}
	return 0;
}

static int file_run(void *state, const struct block_request *r)
{
	struct raw_file *f = state;
	switch (r->op) {
	case BLOCK_READ:
	case BLOCK_WRITE: {
		bool write = r->op == BLOCK_WRITE;
		if (f->direct && !aligned(r))
			return rw_bounced(f->fd, write, r);
		return rw_all(f->fd, write, r->iov, r->niov, r->offset);
	}
	case BLOCK_FLUSH:
		return fdatasync(f->fd) == 0 ? 0 : -errno;
	case BLOCK_DISCARD:
		/* Advisory: a file system that cannot punch holes keeps the data. */
		if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->offset, (off_t)r->len) < 0 &&
		    errno != EOPNOTSUPP)
			return -errno;
		return 0;
	case BLOCK_WRITE_ZEROES:
		return write_zeroes(f, r->offset, r->len);
	}
	return -EINVAL;
}

static void file_close(void *state)
{
	struct raw_file *f = state;
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

static const struct block_image_ops file_ops = { .run = file_run, .close = file_close };

static int open_fail(struct raw_file *f, char *why, size_t why_len, int err, const char *fmt, const char *path)
{
	snprintf(why, why_len, fmt, path, strerror(err));
	file_close(f);
	return -err;
}

int block_file_open(const struct block_options *opt, struct block_image *img, char *why, size_t why_len)
{
	struct raw_file *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	f->fd = -1;
	f->direct = opt->direct;

	int flags = (opt->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (opt->direct ? O_DIRECT : 0);
	f->fd = open(opt->path, flags);
	if (f->fd < 0) {
		int err = errno;
		if (err == EINVAL && opt->direct)
			return open_fail(f, why, why_len, err, "%s: cache=none: the file system does not support O_DIRECT (%s)",
					 opt->path);
		return open_fail(f, why, why_len, err, "%s: cannot open the disk image: %s", opt->path);
	}
	struct stat st;
	if (fstat(f->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return open_fail(f, why, why_len, EINVAL, "%s: not a regular file or block device (%s)", opt->path);
	struct flock lock = { .l_type = opt->readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(f->fd, F_OFD_SETLK, &lock) < 0) {
		int err = errno;
		if (err == EAGAIN || err == EACCES)
			return open_fail(f, why, why_len, err, "%s: the disk image is in use by another process (%s)",
					 opt->path);
		return open_fail(f, why, why_len, err, "%s: cannot lock the disk image: %s", opt->path);
	}
	off_t end = lseek(f->fd, 0, SEEK_END);
	if (end < 0)
		return open_fail(f, why, why_len, errno, "%s: cannot size the disk image: %s", opt->path);
	uint64_t size = (uint64_t)end / BLOCK_SECTOR * BLOCK_SECTOR;
	if (size == 0)
		return open_fail(f, why, why_len, EINVAL, "%s: the disk image is smaller than one 512-byte sector (%s)",
				 opt->path);
	*img = (struct block_image){ .ops = &file_ops, .state = f, .size = size, .readonly = opt->readonly };
	return 0;
}

