/* SPDX-License-Identifier: MIT */
/*
 * Disk backends: a raw image file or an NBD export (block_nbd.c) served by
 * a small pool of I/O worker threads, so that no disk access ever runs on a
 * vCPU thread or under the machine lock, and several requests are in flight
 * at once (as a guest's queue expects; a flush covers the writes completed
 * before it, which is what virtio-blk promises).
 * Requests are queued with block_submit; a worker runs each (preadv,
 * pwritev, fdatasync, hole punching) and hands it back through an eventfd,
 * and the event loop calls the owner's done function with the machine lock
 * held, in the order they finished.
 *
 * Opening a file takes an open-file-description lock: a write lock for a
 * writable image, a read lock for a read-only one, so a second x86v (or
 * anything else that honours OFD/POSIX locks, like QEMU) cannot write an
 * image in use. An NBD export is the server's to guard.
 */
#ifndef X86V_HW_BLOCK_BLOCK_H
#define X86V_HW_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/compiler.h"
#include "core/event_loop.h"

#define BLOCK_SECTOR 512
#define BLOCK_WORKERS 4 /* I/O threads per disk */

enum block_op { BLOCK_READ, BLOCK_WRITE, BLOCK_FLUSH, BLOCK_DISCARD, BLOCK_WRITE_ZEROES };

struct block_request {
	enum block_op op;
	uint64_t offset; /* bytes */
	uint64_t len; /* DISCARD, WRITE_ZEROES: bytes; READ, WRITE: the iovecs' total */
	const struct iovec *iov;
	unsigned niov;
	int result; /* set by the worker: 0 or -errno */
	struct block_request *next; /* the backend's queues */
};

struct block_options {
	const char *path; /* a file, or an NBD URI (nbd://, nbd+unix://, nbds://, nbds+unix://) */
	bool nbd; /* format=nbd: path is an NBD URI whatever it looks like */
	bool readonly;
	bool direct; /* cache=none: O_DIRECT, bypassing the host's page cache (files only) */
};

/* Whether path is an NBD URI. */
bool block_is_nbd(const char *path);

struct block_backend;

/* Runs on the event loop, machine lock held, for each finished request. */
typedef void block_done_fn(void *opaque, struct block_request *req);

/* Opens and locks the image (what the user got wrong is found here).
 * 0, or -errno with a one-line *why. */
int block_open(const struct block_options *opt, struct block_backend **out, char *why, size_t why_len) MUST_CHECK;
/* Starts the worker, its completions going to done on loop. 0 or -errno. */
int block_start(struct block_backend *b, struct event_loop *loop, block_done_fn *done, void *opaque) MUST_CHECK;
/* Finishes what is queued, stops the worker, closes the file. NULL is ignored. */
void block_close(struct block_backend *b);

uint64_t block_size(const struct block_backend *b); /* bytes, a multiple of BLOCK_SECTOR */
bool block_readonly(const struct block_backend *b);

/* Queues req (machine lock held; never blocks). */
void block_submit(struct block_backend *b, struct block_request *req);
/* Waits until every submitted request has run and calls done for each
 * (machine lock held: for a device reset, which must not leave DMA in flight). */
void block_drain(struct block_backend *b);

#endif
