/* SPDX-License-Identifier: MIT */
/*
 * Raw image files behind an I/O worker thread (see block.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/block/block.h"

#define DIRECT_ALIGN 4096 /* what O_DIRECT accepts on every Linux file system */

struct block_backend {
	int fd;
	uint64_t size;
	bool readonly, direct;
	int efd; /* the worker's completions, for the event loop */
	struct event_loop *loop;
	block_done_fn *done;
	void *opaque;

	pthread_t worker;
	bool worker_started;
	pthread_mutex_t mu;
	pthread_cond_t work; /* queued requests or stop */
	pthread_cond_t idle; /* in_flight reached 0 */
	struct block_request *queued, **queued_tail;
	struct block_request *finished, **finished_tail;
	unsigned in_flight; /* submitted, not yet finished */
	bool stop;
};

/* ---- the worker ---- */

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

static int write_zeroes(struct block_backend *b, uint64_t offset, uint64_t len)
{
	if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0 ||
	    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0)
		return 0;
	/* A file system without either: write the zeros. */
	static const uint8_t zeros[65536] __attribute__((aligned(DIRECT_ALIGN)));
	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		struct iovec v = { (void *)zeros, n };
		int r = rw_all(b->fd, true, &v, 1, offset);
		if (r < 0)
			return r;
		offset += n;
		len -= n;
	}
	return 0;
}

static int run(struct block_backend *b, const struct block_request *r)
{
	switch (r->op) {
	case BLOCK_READ:
	case BLOCK_WRITE: {
		bool write = r->op == BLOCK_WRITE;
		if (b->direct && !aligned(r))
			return rw_bounced(b->fd, write, r);
		return rw_all(b->fd, write, r->iov, r->niov, r->offset);
	}
	case BLOCK_FLUSH:
		return fdatasync(b->fd) == 0 ? 0 : -errno;
	case BLOCK_DISCARD:
		/* Advisory: a file system that cannot punch holes keeps the data. */
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)r->offset, (off_t)r->len) < 0 &&
		    errno != EOPNOTSUPP)
			return -errno;
		return 0;
	case BLOCK_WRITE_ZEROES:
		return write_zeroes(b, r->offset, r->len);
	}
	return -EINVAL;
}

static void *worker_main(void *arg)
{
	struct block_backend *b = arg;
	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!b->queued && !b->stop)
			pthread_cond_wait(&b->work, &b->mu);
		struct block_request *r = b->queued;
		if (!r)
			break; /* stopping, and nothing left */
		b->queued = r->next;
		if (!b->queued)
			b->queued_tail = &b->queued;
		pthread_mutex_unlock(&b->mu);
		r->result = run(b, r);
		pthread_mutex_lock(&b->mu);
		r->next = NULL;
		*b->finished_tail = r;
		b->finished_tail = &r->next;
		if (--b->in_flight == 0)
			pthread_cond_broadcast(&b->idle);
		uint64_t one = 1;
		ssize_t n = write(b->efd, &one, sizeof(one)); /* never blocks: the counter cannot fill */
		(void)n;
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* ---- the owner's side (machine lock held) ---- */

static void complete_finished(struct block_backend *b)
{
	pthread_mutex_lock(&b->mu);
	struct block_request *r = b->finished;
	b->finished = NULL;
	b->finished_tail = &b->finished;
	pthread_mutex_unlock(&b->mu);
	while (r) {
		struct block_request *next = r->next;
		b->done(b->opaque, r);
		r = next;
	}
}

static void on_completions(void *opaque, int fd, uint32_t events)
{
	(void)events;
	uint64_t count;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n;
	complete_finished(opaque);
}

void block_submit(struct block_backend *b, struct block_request *req)
{
	pthread_mutex_lock(&b->mu);
	req->next = NULL;
	*b->queued_tail = req;
	b->queued_tail = &req->next;
	b->in_flight++;
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->mu);
}

void block_drain(struct block_backend *b)
{
	pthread_mutex_lock(&b->mu);
	while (b->in_flight)
		pthread_cond_wait(&b->idle, &b->mu);
	pthread_mutex_unlock(&b->mu);
	complete_finished(b);
}

uint64_t block_size(const struct block_backend *b)
{
	return b->size;
}

bool block_readonly(const struct block_backend *b)
{
	return b->readonly;
}

static int open_fail(struct block_backend *b, char *why, size_t why_len, int err, const char *fmt, const char *path)
{
	snprintf(why, why_len, fmt, path, strerror(err));
	block_close(b);
	return -err;
}

int block_open(const struct block_options *opt, struct block_backend **out, char *why, size_t why_len)
{
	struct block_backend *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	b->fd = b->efd = -1;
	b->readonly = opt->readonly;
	b->direct = opt->direct;
	b->queued_tail = &b->queued;
	b->finished_tail = &b->finished;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->idle, NULL);

	int flags = (opt->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (opt->direct ? O_DIRECT : 0);
	b->fd = open(opt->path, flags);
	if (b->fd < 0) {
		int err = errno;
		if (err == EINVAL && opt->direct)
			return open_fail(b, why, why_len, err, "%s: cache=none: the file system does not support O_DIRECT (%s)",
					 opt->path);
		return open_fail(b, why, why_len, err, "%s: cannot open the disk image: %s", opt->path);
	}
	struct stat st;
	if (fstat(b->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return open_fail(b, why, why_len, EINVAL, "%s: not a regular file or block device (%s)", opt->path);
	struct flock lock = { .l_type = opt->readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(b->fd, F_OFD_SETLK, &lock) < 0) {
		int err = errno;
		if (err == EAGAIN || err == EACCES)
			return open_fail(b, why, why_len, err, "%s: the disk image is in use by another process (%s)",
					 opt->path);
		return open_fail(b, why, why_len, err, "%s: cannot lock the disk image: %s", opt->path);
	}
	off_t end = lseek(b->fd, 0, SEEK_END);
	if (end < 0)
		return open_fail(b, why, why_len, errno, "%s: cannot size the disk image: %s", opt->path);
	b->size = (uint64_t)end / BLOCK_SECTOR * BLOCK_SECTOR;
	if (b->size == 0)
		return open_fail(b, why, why_len, EINVAL, "%s: the disk image is smaller than one 512-byte sector (%s)",
				 opt->path);
	*out = b;
	return 0;
}

int block_start(struct block_backend *b, struct event_loop *loop, block_done_fn *done, void *opaque)
{
	b->loop = loop;
	b->done = done;
	b->opaque = opaque;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0)
		return -errno;
	int r = evloop_add_fd(loop, b->efd, EPOLLIN, on_completions, b);
	if (r < 0) {
		close(b->efd);
		b->efd = -1;
		return r;
	}
	r = pthread_create(&b->worker, NULL, worker_main, b);
	if (r)
		return -r;
	b->worker_started = true;
	return 0;
}

void block_close(struct block_backend *b)
{
	if (!b)
		return;
	if (b->worker_started) {
		pthread_mutex_lock(&b->mu);
		b->stop = true;
		pthread_cond_signal(&b->work);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->worker, NULL);
	}
	if (b->efd >= 0) {
		if (b->loop)
			evloop_del_fd(b->loop, b->efd);
		close(b->efd);
	}
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->idle);
	free(b);
}
