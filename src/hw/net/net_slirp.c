/* SPDX-License-Identifier: MIT */
/*
 * User-mode networking through libslirp: the guest's network is 10.0.2.0/24
 * (and fec0::/64), the host is 10.0.2.2, DNS 10.0.2.3, DHCP hands out
 * 10.0.2.15 onwards; the guest's connections become ordinary sockets of
 * x86v's, and hostfwd listens on the host for the guest. QEMU's defaults,
 * so guides written for QEMU work.
 *
 * libslirp is not thread-safe: after open, every call into it is made on
 * the network thread (fill, dispatch, send). Its timers are a short list
 * kept here and run from dispatch; its clock is the host's monotonic clock
 * (TCP timers follow real time, not the guest's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "hw/net/net_driver.h"

struct slirp_timer {
	struct slirp_timer *next;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
};

struct net_slirp {
	Slirp *slirp;
	struct net_backend *nb;
	struct slirp_timer *timers;
	struct net_poll *poll; /* the set being filled or dispatched */
	bool want_input;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- callbacks from libslirp (network thread) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;
	if (len > NET_MAX_FRAME)
		return (ssize_t)len; /* cannot happen with the default MTU: dropped */
	net_deliver(s->nb, buf, len); /* a full guest queue drops it: TCP resends */
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	log_guest("slirp: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct slirp_timer){ .next = s->timers, .id = id, .cb_opaque = cb_opaque, .expire_ms = -1 };
	s->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *s = opaque;
	for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	struct slirp_timer *t = timer;
	if (t)
		t->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque; /* the poll set is rebuilt every round */
}

static void cb_notify(void *opaque)
{
	(void)opaque; /* the thread polls again after every round anyway */
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_register_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the driver ---- */

static int to_poll_events(int slirp_events)
{
	return (slirp_events & SLIRP_POLL_IN ? POLLIN : 0) | (slirp_events & SLIRP_POLL_OUT ? POLLOUT : 0) |
	       (slirp_events & SLIRP_POLL_PRI ? POLLPRI : 0);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	if (!s->want_input)
		events &= ~(SLIRP_POLL_IN | SLIRP_POLL_PRI); /* the guest's queue is full: leave data in the sockets */
	return net_poll_add(s->poll, fd, (short)to_poll_events(events));
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	if (idx < 0 || (unsigned)idx >= s->poll->n)
		return 0;
	short r = s->poll->fds[idx].revents;
	return (r & POLLIN ? SLIRP_POLL_IN : 0) | (r & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (r & POLLPRI ? SLIRP_POLL_PRI : 0) | (r & POLLERR ? SLIRP_POLL_ERR : 0) |
	       (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

static void slirp_fill(void *state, struct net_poll *p, bool want_input)
{
	struct net_slirp *s = state;
	s->poll = p;
	s->want_input = want_input;
	uint32_t timeout = UINT32_MAX;
	slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
	if (timeout != UINT32_MAX)
		net_poll_timeout(p, timeout);
	int64_t now = now_ns() / 1000000;
	for (struct slirp_timer *t = s->timers; t; t = t->next)
		if (t->expire_ms >= 0)
			net_poll_timeout(p, t->expire_ms - now);
}

static void slirp_dispatch(void *state, struct net_poll *p, bool poll_error)
{
	struct net_slirp *s = state;
	s->poll = p;
	slirp_pollfds_poll(s->slirp, poll_error, get_revents, s);
	int64_t now = now_ns() / 1000000;
	for (struct slirp_timer *t = s->timers; t; t = t->next) {
		if (t->expire_ms >= 0 && t->expire_ms <= now) {
			t->expire_ms = -1;
			slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
			break; /* the handler may have changed the list; the rest wait a round */
		}
	}
}

static void slirp_send(void *state, const uint8_t *frame, size_t len)
{
	struct net_slirp *s = state;
	slirp_input(s->slirp, frame, (int)len);
}

static void slirp_close(void *state)
{
	struct net_slirp *s = state;
	if (s->slirp)
		slirp_cleanup(s->slirp); /* frees its timers through timer_free */
	while (s->timers)
		cb_timer_free(s->timers, s);
	free(s);
}

static const struct net_driver_ops slirp_ops = {
	.fill = slirp_fill,
	.dispatch = slirp_dispatch,
	.send = slirp_send,
	.close = slirp_close,
};

static struct in_addr ipv4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

static struct in6_addr ipv6(const char *s)
{
	struct in6_addr a;
	inet_pton(AF_INET6, s, &a);
	return a;
}

int net_slirp_open(const struct net_options *opt, struct net_backend *nb, struct net_driver *drv, char *why,
		   size_t why_len)
{
	struct net_slirp *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	s->nb = nb;
	SlirpConfig cfg = {
		.version = 4,
		.restricted = opt->restrict_guest,
		.in_enabled = true,
		.vnetwork = ipv4("10.0.2.0"),
		.vnetmask = ipv4("255.255.255.0"),
		.vhost = ipv4("10.0.2.2"),
		.in6_enabled = true,
		.vprefix_addr6 = ipv6("fec0::"),
		.vprefix_len = 64,
		.vhost6 = ipv6("fec0::2"),
		.vdhcp_start = ipv4("10.0.2.15"),
		.vnameserver = ipv4("10.0.2.3"),
		.vnameserver6 = ipv6("fec0::3"),
	};
	s->slirp = slirp_new(&cfg, &callbacks, s);
	if (!s->slirp) {
		slirp_close(s);
		snprintf(why, why_len, "--net user: libslirp could not start");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < opt->nfwd; i++) {
		const struct net_hostfwd *f = &opt->fwd[i];
		struct in_addr host = f->host_addr[0] ? ipv4(f->host_addr) : (struct in_addr){ INADDR_ANY };
		struct in_addr guest = ipv4(f->guest_addr[0] ? f->guest_addr : "10.0.2.15");
		if (slirp_add_hostfwd(s->slirp, f->udp, host, f->host_port, guest, f->guest_port) < 0) {
			int err = errno;
			snprintf(why, why_len, "--net user: hostfwd %s:%s:%u: cannot listen there%s%s",
				 f->udp ? "udp" : "tcp", f->host_addr, f->host_port, err ? ": " : "",
				 err ? strerror(err) : "");
			slirp_close(s);
			return -EADDRINUSE;
		}
	}
	for (unsigned i = 0; i < opt->ngfwd; i++) {
		const struct net_guestfwd *g = &opt->gfwd[i];
		struct in_addr guest = ipv4(g->guest_addr);
		int r = g->command ? slirp_add_exec(s->slirp, g->target, &guest, g->guest_port)
				   : slirp_add_unix(s->slirp, g->target, &guest, g->guest_port);
		if (r < 0) {
			snprintf(why, why_len, "--net user: guestfwd to %s:%u: the address is taken or not in 10.0.2.0/24",
				 g->guest_addr, g->guest_port);
			slirp_close(s);
			return -EINVAL;
		}
	}
	*drv = (struct net_driver){ &slirp_ops, s };
	return 0;
}
