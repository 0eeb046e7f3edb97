/* SPDX-License-Identifier: MIT */
/*
 * A TAP interface of the host kernel (/dev/net/tun): each frame the guest
 * sends is one write, each read one frame for the guest. The interface is
 * created if it does not exist (that needs CAP_NET_ADMIN) or attached to
 * when it does (a persistent one made with `ip tuntap add`, which its owner
 * may attach without privileges). Configuring the host's side (addresses,
 * a bridge, bringing it up) is the user's, as with QEMU's script=no.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hw/net/net_driver.h"

#define READS_PER_ROUND 64 /* frames taken per wake-up before polling again */

struct net_tap {
	int fd;
	int idx; /* its index in this round's poll set, or -1 */
	struct net_backend *nb;
	uint8_t buf[NET_MAX_FRAME];
};

static void tap_fill(void *state, struct net_poll *p, bool want_input)
{
	struct net_tap *t = state;
	t->idx = want_input ? net_poll_add(p, t->fd, POLLIN) : -1;
}

static void tap_dispatch(void *state, struct net_poll *p, bool poll_error)
{
	struct net_tap *t = state;
	if (poll_error || t->idx < 0 || !(p->fds[t->idx].revents & (POLLIN | POLLERR)))
		return;
	for (unsigned i = 0; i < READS_PER_ROUND && net_rx_room(t->nb); i++) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
		if (n <= 0)
			break; /* EAGAIN, or the interface went down */
		net_deliver(t->nb, t->buf, (size_t)n);
	}
}

static void tap_send(void *state, const uint8_t *frame, size_t len)
{
	struct net_tap *t = state;
	ssize_t n;
	do
		n = write(t->fd, frame, len);
	while (n < 0 && errno == EINTR);
	/* EAGAIN (the host does not keep up), EIO (the link is down): dropped, as on a wire. */
}

static void tap_close(void *state)
{
	struct net_tap *t = state;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct net_driver_ops tap_ops = {
	.fill = tap_fill,
	.dispatch = tap_dispatch,
	.send = tap_send,
	.close = tap_close,
};

int net_tap_open(const struct net_options *opt, struct net_backend *nb, struct net_driver *drv, char *why,
		 size_t why_len)
{
	struct net_tap *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	t->nb = nb;
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		int err = errno;
		snprintf(why, why_len, "--net tap: cannot open /dev/net/tun: %s", strerror(err));
		tap_close(t);
		return -err;
	}
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt->ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		snprintf(why, why_len, "--net tap,ifname=%s: %s%s", opt->ifname, strerror(err),
			 err == EPERM ? " (creating an interface needs CAP_NET_ADMIN; or make a persistent one: "
					"ip tuntap add NAME mode tap user USER)"
				      : err == EBUSY ? " (another program has it)" : "");
		tap_close(t);
		return -err;
	}
	*drv = (struct net_driver){ &tap_ops, t };
	return 0;
}
