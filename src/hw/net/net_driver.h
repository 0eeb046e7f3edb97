/* SPDX-License-Identifier: MIT */
/*
 * Inside hw/net: what a network driver (slirp, TAP) gives the generic
 * backend in net.c, which owns the network thread and the queues. Every
 * call but open is made on the network thread, which loops: fill (the
 * driver adds what to poll), poll, dispatch (the driver reads and hands
 * frames for the guest to net_deliver), then send for each frame the guest
 * sent.
 */
#ifndef X86V_HW_NET_NET_DRIVER_H
#define X86V_HW_NET_NET_DRIVER_H

#include <poll.h>

#include "hw/net/net.h"

/* The thread's poll set, rebuilt each round. */
struct net_poll {
	struct pollfd *fds;
	unsigned n, cap;
	int timeout_ms; /* -1: none */
};

/* Adds fd to the set: its index, or -1 when out of memory. */
int net_poll_add(struct net_poll *p, int fd, short events);
/* Wakes the loop after at most ms milliseconds. */
void net_poll_timeout(struct net_poll *p, int64_t ms);

struct net_driver_ops {
	/* Adds what to poll; input only when want_input (the guest's queue has room). */
	void (*fill)(void *state, struct net_poll *p, bool want_input);
	/* After poll (failed: poll_error): reads what came, timers that expired. */
	void (*dispatch)(void *state, struct net_poll *p, bool poll_error);
	/* Sends one frame from the guest. */
	void (*send)(void *state, const uint8_t *frame, size_t len);
	void (*close)(void *state);
};

struct net_driver {
	const struct net_driver_ops *ops;
	void *state;
};

/* On the network thread: a frame for the guest (copied). False when the
 * guest's queue is full and the frame was dropped. */
bool net_deliver(struct net_backend *nb, const uint8_t *frame, size_t len);
/* Whether the guest's queue has room (the thread's view). */
bool net_rx_room(struct net_backend *nb);

/* Each fills *drv, or returns -errno with a one-line *why. */
int net_slirp_open(const struct net_options *opt, struct net_backend *nb, struct net_driver *drv, char *why,
		   size_t why_len);
int net_tap_open(const struct net_options *opt, struct net_backend *nb, struct net_driver *drv, char *why,
		 size_t why_len);

#endif
