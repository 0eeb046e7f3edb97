/* SPDX-License-Identifier: MIT */
/*
 * Network backends (see net.h): the network thread, the two frame queues
 * and their eventfds, and the choice of driver.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sandbox.h"
#include "hw/net/net_driver.h"

/* Frames waiting each way. Bounded so that neither a guest flooding the
 * host nor the host flooding a guest that reads nothing grows x86v. */
#define TX_QUEUE_MAX 256
#define RX_QUEUE_MAX 256

struct packet_queue {
	struct net_packet *head, **tail;
	unsigned count;
};

struct net_backend {
	struct net_driver drv;
	pthread_mutex_t mu;
	struct packet_queue tx; /* from the guest, for the thread to send */
	struct packet_queue rx; /* for the guest */
	bool tx_blocked; /* the device found tx full: tell it when there is room */
	bool stop;
	int wake_fd; /* the thread's eventfd: frames to send, room in rx, stop */
	int ready_fd; /* the event loop's: frames in rx, room in tx */
	pthread_t thread;
	bool started;
	bool spawns; /* a guestfwd runs commands: processes start from this thread (no filter) */
	struct event_loop *loop;
	net_ready_fn *ready;
	void *opaque;
};

static void queue_init(struct packet_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->count = 0;
}

static void queue_put(struct packet_queue *q, struct net_packet *p)
{
	p->next = NULL;
	*q->tail = p;
	q->tail = &p->next;
	q->count++;
}

/* Takes the whole queue: its first packet (a NULL-terminated list). */
static struct net_packet *queue_take_all(struct packet_queue *q)
{
	struct net_packet *p = q->head;
	queue_init(q);
	return p;
}

static void free_list(struct net_packet *p)
{
	while (p) {
		struct net_packet *next = p->next;
		free(p);
		p = next;
	}
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one)); /* never blocks: the counter cannot fill */
	(void)n;
}

static void drain_fd(int fd)
{
	uint64_t count;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n;
}

struct net_packet *net_packet_alloc(size_t len)
{
	if (len > NET_MAX_FRAME)
		return NULL;
	struct net_packet *p = malloc(sizeof(*p) + len);
	if (p)
		p->len = len;
	return p;
}

/* ---- the network thread ---- */

int net_poll_add(struct net_poll *p, int fd, short events)
{
	if (p->n == p->cap) {
		unsigned cap = p->cap ? 2 * p->cap : 16;
		struct pollfd *fds = realloc(p->fds, cap * sizeof(*fds));
		if (!fds)
			return -1;
		p->fds = fds;
		p->cap = cap;
	}
	p->fds[p->n] = (struct pollfd){ .fd = fd, .events = events };
	return (int)p->n++;
}

void net_poll_timeout(struct net_poll *p, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms > 60000)
		ms = 60000;
	if (p->timeout_ms < 0 || ms < p->timeout_ms)
		p->timeout_ms = (int)ms;
}

bool net_rx_room(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->mu);
	bool room = nb->rx.count < RX_QUEUE_MAX;
	pthread_mutex_unlock(&nb->mu);
	return room;
}

bool net_deliver(struct net_backend *nb, const uint8_t *frame, size_t len)
{
	struct net_packet *p = net_packet_alloc(len);
	if (!p)
		return false;
	memcpy(p->data, frame, len);
	pthread_mutex_lock(&nb->mu);
	bool room = nb->rx.count < RX_QUEUE_MAX, first = nb->rx.count == 0;
	if (room)
		queue_put(&nb->rx, p);
	pthread_mutex_unlock(&nb->mu);
	if (!room) {
		free(p);
		return false;
	}
	if (first)
		signal_fd(nb->ready_fd); /* the device may be waiting for it */
	return true;
}

static void *thread_main(void *arg)
{
	struct net_backend *nb = arg;
	struct net_poll p = { 0 };
	if (!nb->spawns)
		sandbox_enter(SANDBOX_NET);
	for (;;) {
		pthread_mutex_lock(&nb->mu);
		bool stop = nb->stop, want_input = nb->rx.count < RX_QUEUE_MAX;
		pthread_mutex_unlock(&nb->mu);
		if (stop)
			break;
		p.n = 0;
		p.timeout_ms = -1;
		if (net_poll_add(&p, nb->wake_fd, POLLIN) < 0) {
			usleep(10000); /* out of memory: try again soon */
			continue;
		}
		nb->drv.ops->fill(nb->drv.state, &p, want_input);
		int r = poll(p.fds, p.n, p.timeout_ms);
		if (r > 0 && (p.fds[0].revents & POLLIN))
			drain_fd(nb->wake_fd);
		nb->drv.ops->dispatch(nb->drv.state, &p, r < 0 && errno != EINTR);

		pthread_mutex_lock(&nb->mu);
		struct net_packet *out = queue_take_all(&nb->tx);
		bool tell = nb->tx_blocked && out;
		nb->tx_blocked &= !tell;
		pthread_mutex_unlock(&nb->mu);
		for (struct net_packet *q = out; q; q = q->next)
			nb->drv.ops->send(nb->drv.state, q->data, q->len);
		free_list(out);
		if (tell)
			signal_fd(nb->ready_fd);
	}
	free(p.fds);
	return NULL;
}

/* ---- the device's side (machine lock held) ---- */

bool net_tx_room(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->mu);
	bool room = nb->tx.count < TX_QUEUE_MAX;
	nb->tx_blocked |= !room;
	pthread_mutex_unlock(&nb->mu);
	return room;
}

void net_send(struct net_backend *nb, struct net_packet *p)
{
	pthread_mutex_lock(&nb->mu);
	bool first = nb->tx.count == 0;
	queue_put(&nb->tx, p);
	pthread_mutex_unlock(&nb->mu);
	if (first)
		signal_fd(nb->wake_fd);
}

const struct net_packet *net_rx_peek(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->mu);
	const struct net_packet *p = nb->rx.head;
	pthread_mutex_unlock(&nb->mu);
	return p;
}

void net_rx_pop(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->mu);
	struct net_packet *p = nb->rx.head;
	bool was_full = nb->rx.count == RX_QUEUE_MAX;
	if (p) {
		nb->rx.head = p->next;
		if (!nb->rx.head)
			nb->rx.tail = &nb->rx.head;
		nb->rx.count--;
	}
	pthread_mutex_unlock(&nb->mu);
	free(p);
	if (was_full)
		signal_fd(nb->wake_fd); /* the thread reads again */
}

void net_rx_purge(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->mu);
	bool was_full = nb->rx.count == RX_QUEUE_MAX;
	struct net_packet *p = queue_take_all(&nb->rx);
	pthread_mutex_unlock(&nb->mu);
	free_list(p);
	if (was_full)
		signal_fd(nb->wake_fd);
}

static void on_ready(void *opaque, int fd, uint32_t events)
{
	(void)events;
	struct net_backend *nb = opaque;
	drain_fd(fd);
	nb->ready(nb->opaque);
}

/* ---- life cycle ---- */

int net_open(const struct net_options *opt, struct net_backend **out, char *why, size_t why_len)
{
	struct net_backend *nb = calloc(1, sizeof(*nb));
	if (!nb) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	queue_init(&nb->tx);
	queue_init(&nb->rx);
	pthread_mutex_init(&nb->mu, NULL);
	nb->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	nb->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r = nb->wake_fd < 0 || nb->ready_fd < 0 ? -errno : 0;
	if (r < 0)
		snprintf(why, why_len, "cannot create an eventfd: %s", strerror(-r));
	else if (opt->kind == NET_TAP)
		r = net_tap_open(opt, nb, &nb->drv, why, why_len);
	else
		r = net_slirp_open(opt, nb, &nb->drv, why, why_len);
	for (unsigned i = 0; i < opt->ngfwd; i++)
		nb->spawns |= opt->gfwd[i].command;
	if (nb->spawns && sandbox_enabled())
		log_info("sandbox: a guestfwd to a command starts processes from the network thread, which "
			 "therefore runs without a seccomp filter");
	if (r < 0) {
		nb->drv.ops = NULL;
		net_close(nb);
		return r;
	}
	*out = nb;
	return 0;
}

int net_start(struct net_backend *nb, struct event_loop *loop, net_ready_fn *ready, void *opaque)
{
	nb->ready = ready;
	nb->opaque = opaque;
	int r = evloop_add_fd(loop, nb->ready_fd, EPOLLIN, on_ready, nb);
	if (r < 0)
		return r;
	nb->loop = loop;
	r = pthread_create(&nb->thread, NULL, thread_main, nb);
	if (r)
		return -r;
	nb->started = true;
	return 0;
}

void net_close(struct net_backend *nb)
{
	if (!nb)
		return;
	if (nb->started) {
		pthread_mutex_lock(&nb->mu);
		nb->stop = true;
		pthread_mutex_unlock(&nb->mu);
		signal_fd(nb->wake_fd);
		pthread_join(nb->thread, NULL);
	}
	if (nb->loop)
		evloop_del_fd(nb->loop, nb->ready_fd);
	if (nb->drv.ops)
		nb->drv.ops->close(nb->drv.state);
	free_list(queue_take_all(&nb->tx));
	free_list(queue_take_all(&nb->rx));
	if (nb->wake_fd >= 0)
		close(nb->wake_fd);
	if (nb->ready_fd >= 0)
		close(nb->ready_fd);
	pthread_mutex_destroy(&nb->mu);
	free(nb);
}

/* ---- options ---- */

static int parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* "[ADDR]:PORT" of len bytes into addr (checked, "" when absent) and port. */
static int parse_endpoint(const char *s, size_t len, char *addr, size_t addr_size, uint16_t *port)
{
	const char *colon = memrchr(s, ':', len);
	if (!colon)
		return -1;
	size_t alen = (size_t)(colon - s);
	if (alen >= addr_size)
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	struct in_addr a;
	if (alen && inet_pton(AF_INET, addr, &a) != 1)
		return -1;
	return parse_port(colon + 1, len - alen - 1, port);
}

int net_parse_guestfwd(const char *spec, struct net_guestfwd *out, char *why, size_t why_len)
{
	*out = (struct net_guestfwd){ 0 };
	const char *p = !strncmp(spec, "tcp:", 4) ? spec + 4 : spec[0] == ':' ? spec + 1 : spec;
	const char *dash = strchr(p, '-');
	struct in_addr a;
	const char *target = dash ? dash + 1 : "";
	out->command = !strncmp(target, "cmd:", 4);
	bool unix_sock = !strncmp(target, "unix:", 5);
	const char *what = target + (out->command ? 4 : 5);
	if (!dash || parse_endpoint(p, (size_t)(dash - p), out->guest_addr, sizeof(out->guest_addr), &out->guest_port) ||
	    !out->guest_addr[0] || inet_pton(AF_INET, out->guest_addr, &a) != 1 || (!out->command && !unix_sock) ||
	    !what[0] || strlen(what) >= sizeof(out->target)) {
		snprintf(why, why_len, "guestfwd=%s: expected [tcp]:GUESTADDR:GUESTPORT-unix:PATH or -cmd:COMMAND", spec);
		return -EINVAL;
	}
	memcpy(out->target, what, strlen(what) + 1);
	return 0;
}

int net_parse_hostfwd(const char *spec, struct net_hostfwd *out, char *why, size_t why_len)
{
	*out = (struct net_hostfwd){ 0 };
	const char *p = spec;
	const char *colon = strchr(p, ':');
	if (colon && (colon == p || !strncmp(p, "tcp:", 4) || !strncmp(p, "udp:", 4))) {
		out->udp = !strncmp(p, "udp:", 4);
		p = colon + 1;
	}
	const char *dash = strchr(p, '-');
	if (!dash || parse_endpoint(p, (size_t)(dash - p), out->host_addr, sizeof(out->host_addr), &out->host_port) ||
	    parse_endpoint(dash + 1, strlen(dash + 1), out->guest_addr, sizeof(out->guest_addr), &out->guest_port)) {
		snprintf(why, why_len,
			 "hostfwd=%s: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT (IPv4, ports 1-65535)",
			 spec);
		return -EINVAL;
	}
	return 0;
}
