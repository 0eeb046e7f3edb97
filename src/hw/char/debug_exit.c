/* SPDX-License-Identifier: MIT */
/*
 * debug-exit and POST ports (see debug_exit.h).
 */
#include "hw/char/debug_exit.h"

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return ~0ULL; /* write-only, like an unclaimed port */
}

static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct debug_exit *d = opaque;
	(void)size;
	if (!d->exit)
		return;
	if (offset == 0)
		d->exit(d->opaque, (int)(((value & 0x7fffffff) << 1) | 1));
	else if (offset == DEBUG_EXIT_STATUS_OFFSET)
		d->exit(d->opaque, (int)(value & 0xff));
}

const struct bus_ops debug_exit_bus_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
	.min_size = 1,
	.max_size = 4,
};

static uint64_t post_read(void *opaque, uint64_t offset, unsigned size)
{
	struct post_port *p = opaque;
	(void)offset;
	(void)size;
	return p->last;
}

static void post_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct post_port *p = opaque;
	(void)offset;
	(void)size;
	p->last = (uint8_t)value;
}

const struct bus_ops post_port_bus_ops = {
	.read = post_read,
	.write = post_write,
	.min_size = 1,
	.max_size = 1,
};
