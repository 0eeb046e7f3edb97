/* SPDX-License-Identifier: MIT */
/*
 * Inside hw/block: what a disk driver (a raw file, an NBD export) gives the
 * generic backend in block.c, which owns the worker threads and the queues.
 * A driver's run is called on worker threads only, by several at once
 * (BLOCK_WORKERS), and may block.
 */
#ifndef X86V_HW_BLOCK_BLOCK_IMAGE_H
#define X86V_HW_BLOCK_BLOCK_IMAGE_H

#include "hw/block/block.h"

struct block_image_ops {
	/* Runs one request: 0 or -errno. */
	int (*run)(void *state, const struct block_request *req);
	void (*close)(void *state);
};

struct block_image {
	const struct block_image_ops *ops;
	void *state;
	uint64_t size; /* bytes, a multiple of BLOCK_SECTOR */
	bool readonly;
};

/* Each fills *img, or returns -errno with a one-line *why. */
int block_file_open(const struct block_options *opt, struct block_image *img, char *why, size_t why_len);
int block_nbd_open(const struct block_options *opt, struct block_image *img, char *why, size_t why_len);

#endif
