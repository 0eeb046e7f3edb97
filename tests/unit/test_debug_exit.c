/* SPDX-License-Identifier: MIT */
/*
 * The debug-exit ports: 0xf4 gives (V << 1) | 1, 0xf5 gives exactly V, the rest
 * of the region does nothing; POST keeps the last code.
 */
#include "check.h"
#include "hw/char/debug_exit.h"

static int last_status = -1, exits;

static void on_exit_request(void *opaque, int status)
{
	(void)opaque;
	last_status = status;
	exits++;
}

static void test_debug_exit_ports(void)
{
	struct debug_exit d = { on_exit_request, NULL };
	const struct bus_ops *ops = &debug_exit_bus_ops;
	exits = 0;
	ops->write(&d, 0, 0x01, 1);
	CHECK_EQ(last_status, 3);
	ops->write(&d, 0, 0x10, 1);
	CHECK_EQ(last_status, 0x21);
	ops->write(&d, DEBUG_EXIT_STATUS_OFFSET, 42, 1);
	CHECK_EQ(last_status, 42);
	ops->write(&d, DEBUG_EXIT_STATUS_OFFSET, 0x1ff, 1);
	CHECK_EQ(last_status, 0xff);
	CHECK_EQ(exits, 4);
	ops->write(&d, 2, 5, 1);
	ops->write(&d, 3, 5, 1);
	CHECK_EQ(exits, 4);
	CHECK_EQ(ops->read(&d, 0, 1) & 0xff, 0xff);
	struct debug_exit unwired = { NULL, NULL };
	ops->write(&unwired, 0, 1, 1); /* no callback: ignored, no crash */
}

static void test_post_port(void)
{
	struct post_port p = { 0 };
	post_port_bus_ops.write(&p, 0, 0x55, 1);
	CHECK_EQ(post_port_bus_ops.read(&p, 0, 1), 0x55);
}

CHECK_MAIN(TEST_CASE(test_debug_exit_ports), TEST_CASE(test_post_port))
