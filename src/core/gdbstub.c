/* SPDX-License-Identifier: MIT */
/*
 * The GDB stub's transport: the listening socket, the one connection, packet
 * framing ($payload#cs), acknowledgments ('+'/'-', until QStartNoAckMode),
 * Ctrl-C (a bare 0x03 byte), and a bounded output queue. Spec: GDB manual,
 * Appendix E, "Overview" and "Packet Acknowledgment".
 *
 * Everything a client sends is bounded: a packet longer than GDB_PACKET_MAX
 * is dropped and NAKed, bytes between packets are ignored, a bad checksum is
 * NAKed (or dropped in no-ack mode), and a client that stops reading its
 * replies is disconnected once GDB_OUT_MAX bytes are queued. No input reaches
 * an abort or an unbounded copy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/gdb_internal.h"
#include "core/log.h"

/* How long a packet that needs a parked vCPU waits for it. */
#define GDB_PARK_TIMEOUT_S 5

uint8_t gdb_checksum(const char *data, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + (uint8_t)data[i]);
	return sum;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gdb_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_len)
{
	if (hex_len % 2 || hex_len / 2 > out_len)
		return -EINVAL;
	for (size_t i = 0; i < hex_len / 2; i++) {
		int hi = hex_val(hex[2 * i]), lo = hex_val(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int gdb_unescape(uint8_t *data, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '}') {
			if (++i >= len)
				return -EINVAL;
			data[o++] = data[i] ^ 0x20;
		} else {
			data[o++] = data[i];
		}
	}
	return (int)o;
}

int gdb_parse_address(const char *spec, bool listen_any, char *host, size_t host_len, uint16_t *port,
		      char *why, size_t why_len)
{
	if (strncmp(spec, "tcp:", 4)) {
		snprintf(why, why_len, "--gdb %s: expected tcp:[HOST:]PORT", spec);
		return -EINVAL;
	}
	const char *rest = spec + 4;
	const char *colon = strrchr(rest, ':');
	const char *port_text = colon ? colon + 1 : rest;
	size_t hlen = colon ? (size_t)(colon - rest) : 0;
	if (hlen == 0) {
		snprintf(host, host_len, "127.0.0.1");
	} else if (hlen < host_len) {
		memcpy(host, rest, hlen);
		host[hlen] = '\0';
	} else {
		snprintf(why, why_len, "--gdb %s: host name too long", spec);
		return -EINVAL;
	}
	if (!strcmp(host, "localhost"))
		snprintf(host, host_len, "127.0.0.1");
	char *end;
	errno = 0;
	unsigned long p = strtoul(port_text, &end, 10);
	if (errno || end == port_text || *end || p > 65535 || port_text[0] == '-' || port_text[0] == '+') {
		snprintf(why, why_len, "--gdb %s: bad port '%s'", spec, port_text);
		return -EINVAL;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1) {
		snprintf(why, why_len, "--gdb %s: '%s' is not an IPv4 address", spec, host);
		return -EINVAL;
	}
	if (!listen_any && (ntohl(a.s_addr) >> 24) != 127) {
		snprintf(why, why_len, "--gdb %s: %s is not a loopback address (add --gdb-listen-any to allow it)",
			 spec, host);
		return -EINVAL;
	}
	*port = (uint16_t)p;
	return 0;
}

/* ---- output ---- */

static void gdb_disconnect(struct gdb_stub *g);

static void flush_out(struct gdb_stub *g)
{
	while (g->conn_fd >= 0 && g->out_len) {
		ssize_t n = send(g->conn_fd, g->out, g->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			gdb_disconnect(g);
			return;
		}
		memmove(g->out, g->out + n, g->out_len - (size_t)n);
		g->out_len -= (size_t)n;
	}
	/* Failure leaves EPOLLOUT as it was: at worst one spurious wake-up. */
	if (g->conn_fd >= 0 && evloop_mod_fd(&g->vm->loop, g->conn_fd, EPOLLIN | (g->out_len ? EPOLLOUT : 0)) < 0)
		return;
}

static void queue_raw(struct gdb_stub *g, const char *data, size_t len)
{
	if (g->conn_fd < 0)
		return;
	if (len > sizeof(g->out) - g->out_len) {
		log_warn("gdb: the debugger does not read its replies; disconnecting");
		gdb_disconnect(g);
		return;
	}
	memcpy(g->out + g->out_len, data, len);
	g->out_len += len;
}

void gdb_send(struct gdb_stub *g, const char *payload, size_t len)
{
	if (len > GDB_PACKET_MAX)
		len = GDB_PACKET_MAX; /* never happens with our replies; keeps the framing bounded */
	char *p = g->last;
	p[0] = '$';
	memcpy(p + 1, payload, len);
	snprintf(p + 1 + len, 4, "#%02x", gdb_checksum(payload, len));
	g->last_len = len + 4;
	queue_raw(g, g->last, g->last_len);
	flush_out(g);
}

void gdb_send_str(struct gdb_stub *g, const char *payload)
{
	gdb_send(g, payload, strlen(payload));
}

/* ---- run control (lock held) ---- */

bool gdb_ensure_parked(struct gdb_stub *g)
{
	struct vm *vm = g->vm;
	if (g->stopped)
		return true;
	if (vm->exit_requested)
		return false;
	g->stop_requested = true;
	gdb_check_stopped(g);
	/* Kicks again now and then: a vCPU whose thread was still starting at
	 * the first kick (KVM's in-kernel wait for a start-up IPI takes no kick
	 * that came before it) parks at a later one. */
	for (unsigned tick = 0; tick < 10 * GDB_PARK_TIMEOUT_S && !g->stopped && !vm->exit_requested; tick++) {
		gdb_kick_running(g, NULL);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		while (!g->stopped && !vm->exit_requested)
			if (pthread_cond_timedwait(&g->parked_cond, &vm->lock, &until) == ETIMEDOUT)
				break;
	}
	return g->stopped;
}

/* Whether vCPU gc's unreported stop would happen again were it to run: its
 * breakpoint or watchpoint is still set and the debugger did not move it. */
static bool event_stands(const struct gdb_stub *g, const struct gdb_cpu *gc)
{
	const struct engine_debug *d = &g->dbg;
	if (gc->state_dirty)
		return false;
	if (gc->event == GDB_EV_WATCH)
		return gc->watch >= 0 && gc->watch < ENGINE_MAX_HW_BP && d->hw[gc->watch].enabled &&
		       d->hw[gc->watch].type != ENGINE_HW_EXEC;
	if (gc->event != GDB_EV_BREAK)
		return false;
	for (unsigned i = 0; i < d->n_sw; i++)
		if (d->sw_bp[i] == gc->event_pc)
			return true;
	for (unsigned i = 0; i < ENGINE_MAX_HW_BP; i++)
		if (d->hw[i].enabled && d->hw[i].type == ENGINE_HW_EXEC && d->hw[i].addr == gc->event_pc)
			return true;
	return false;
}

void gdb_resume(struct gdb_stub *g, const enum gdb_resume *how, bool report)
{
	struct vm *vm = g->vm;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct gdb_cpu *gc = &g->cpu[i];
		if (how[i] == GDB_RESUME_NONE || !gc->pending)
			continue;
		gc->pending = false;
		if (report && event_stands(g, gc)) {
			/* It stopped there while another stop was reported: its turn now. */
			g->report = i;
			gc->skip_first = true;
			g->cur_g = i;
			g->cur_c = (int)i;
			g->stop_signal = 5;
			g->report_event = true;
			gdb_send_stop_reply(g);
			return;
		}
	}
	g->stopped = false;
	g->stop_requested = false;
	g->wait_at_start = false;
	g->first = -1;
	g->ctrl_c = false;
	g->reply_on_stop = report;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct gdb_cpu *gc = &g->cpu[i];
		struct vm_cpu *c = &vm->cpus[i];
		if (how[i] != GDB_RESUME_NONE) {
			gc->resume = how[i];
			gc->held = false;
			if (gc->parked) {
				gc->parked = false;
				pthread_cond_broadcast(&c->wake);
			}
		}
		if (gc->idle) {
			/* A start-up IPI lets it run: a kick waits for it, and at that kick
			 * it loads the breakpoints (or parks, when still held). */
			gc->idle = gc->held;
			if (c->vcpu)
				vm->eng_ops->kick(c->vcpu);
		}
	}
}

void gdb_release_all(struct gdb_stub *g)
{
	enum gdb_resume how[ENGINE_MAX_VCPUS];
	struct vm *vm = g->vm;
	for (unsigned i = 0; i < ENGINE_MAX_VCPUS; i++) {
		how[i] = GDB_RESUME_CONTINUE;
		g->cpu[i].pending = false;
	}
	gdb_resume(g, how, false);
	/* vCPUs that run with the old breakpoints load the new set at a kick. */
	for (unsigned i = 0; i < vm->ncpus; i++)
		g->cpu[i].load_debug = true;
	gdb_kick_running(g, NULL);
}

/* ---- input ---- */

static void got_packet(struct gdb_stub *g)
{
	unsigned want = (unsigned)(hex_val(g->in_csum[0]) << 4 | hex_val(g->in_csum[1]));
	if (g->in_overflow || want != gdb_checksum(g->in_buf, g->in_len)) {
		if (!g->no_ack)
			queue_raw(g, "-", 1);
		flush_out(g);
		return;
	}
	if (!g->no_ack)
		queue_raw(g, "+", 1);
	g->in_buf[g->in_len] = '\0';
	gdb_handle_packet(g, g->in_buf, g->in_len);
	flush_out(g);
}

static void interrupt(struct gdb_stub *g)
{
	/* Ctrl-C: stop the running vCPUs; the stop reply goes to the c/s in flight. */
	if (g->stopped || g->vm->exit_requested)
		return;
	g->ctrl_c = true;
	g->stop_requested = true;
	gdb_kick_running(g, NULL);
	gdb_check_stopped(g);
}

static void feed(struct gdb_stub *g, const char *data, size_t len)
{
	for (size_t i = 0; i < len && g->conn_fd >= 0; i++) {
		char c = data[i];
		switch (g->in_state) {
		case GDB_IN_IDLE:
			if (c == '$') {
				g->in_state = GDB_IN_DATA;
				g->in_len = 0;
				g->in_overflow = false;
			} else if (c == 0x03) {
				interrupt(g);
			} else if (c == '-' && g->last_len && !g->no_ack) {
				queue_raw(g, g->last, g->last_len);
				flush_out(g);
			}
			/* '+' and anything else between packets: nothing to do. */
			break;
		case GDB_IN_DATA:
			if (c == '#') {
				g->in_state = GDB_IN_CSUM1;
			} else if (c == '$') {
				/* A new start: the previous packet was truncated. */
				g->in_len = 0;
				g->in_overflow = false;
			} else if (g->in_len < GDB_PACKET_MAX) {
				g->in_buf[g->in_len++] = c;
			} else {
				g->in_overflow = true;
			}
			break;
		case GDB_IN_CSUM1:
			g->in_csum[0] = c;
			g->in_state = hex_val(c) < 0 ? GDB_IN_IDLE : GDB_IN_CSUM2;
			if (g->in_state == GDB_IN_IDLE && !g->no_ack)
				queue_raw(g, "-", 1);
			break;
		case GDB_IN_CSUM2:
			g->in_csum[1] = c;
			g->in_state = GDB_IN_IDLE;
			if (hex_val(c) < 0) {
				if (!g->no_ack)
					queue_raw(g, "-", 1);
				break;
			}
			got_packet(g);
			break;
		}
	}
	flush_out(g);
}

static void conn_event(void *opaque, int fd, uint32_t events)
{
	struct gdb_stub *g = opaque;
	(void)fd;
	if (events & EPOLLOUT)
		flush_out(g);
	if (g->conn_fd < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	char buf[4096];
	ssize_t n = recv(g->conn_fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		gdb_disconnect(g);
		return;
	}
	feed(g, buf, (size_t)n);
}

/* The debugger went away: forget its breakpoints and let the guest run, as
 * after a detach. */
static void gdb_disconnect(struct gdb_stub *g)
{
	if (g->conn_fd < 0)
		return;
	evloop_del_fd(&g->vm->loop, g->conn_fd);
	close(g->conn_fd);
	g->conn_fd = -1;
	g->out_len = 0;
	g->last_len = 0;
	g->in_state = GDB_IN_IDLE;
	g->no_ack = false;
	g->arch_chosen = false;
	g->reply_on_stop = false;
	memset(&g->dbg, 0, sizeof(g->dbg));
	gdb_release_all(g);
}

static void listen_event(void *opaque, int fd, uint32_t events)
{
	struct gdb_stub *g = opaque;
	(void)events;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0)
		return;
	if (g->conn_fd >= 0) {
		/* One debugger at a time. */
		close(c);
		return;
	}
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (evloop_add_fd(&g->vm->loop, c, EPOLLIN, conn_event, g) < 0) {
		close(c);
		return;
	}
	g->conn_fd = c;
	g->stop_signal = 5;
	g->report_event = false;
}

int gdb_stub_create(struct vm *vm, const struct debug_opts *opts, struct gdb_stub **out, char *why,
		    size_t why_len)
{
	char host[64];
	uint16_t port;
	int r = gdb_parse_address(opts->gdb, opts->gdb_listen_any, host, sizeof(host), &port, why, why_len);
	if (r < 0)
		return r;
	struct gdb_stub *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	g->vm = vm;
	g->conn_fd = -1;
	g->wait_at_start = opts->gdb_wait;
	g->stop_requested = opts->gdb_wait;
	g->first = -1;
	g->stop_signal = 5;
	g->cur_c = -1;
	for (unsigned i = 0; i < ENGINE_MAX_VCPUS; i++) {
		x86_state_reset(&g->cpu[i].state);
		g->cpu[i].watch = -1;
	}
	pthread_cond_init(&g->parked_cond, NULL);
	pthread_mutex_init(&g->debug_lock, NULL);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, host, &sa.sin_addr);
	g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (g->listen_fd < 0 || setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(g->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(g->listen_fd, 1) < 0) {
		r = -errno;
		snprintf(why, why_len, "--gdb %s: cannot listen on %s:%u: %s", opts->gdb, host, port, strerror(-r));
		gdb_stub_destroy(g);
		return r;
	}
	socklen_t sl = sizeof(sa);
	getsockname(g->listen_fd, (struct sockaddr *)&sa, &sl);
	r = evloop_add_fd(&vm->loop, g->listen_fd, EPOLLIN, listen_event, g);
	if (r < 0) {
		snprintf(why, why_len, "--gdb: event loop: %s", strerror(-r));
		gdb_stub_destroy(g);
		return r;
	}
	fprintf(stderr, "x86v: gdb: listening on %s:%u%s\n", host, ntohs(sa.sin_port),
		opts->gdb_wait ? " (the guest waits for the debugger)" : "");
	fflush(stderr);
	*out = g;
	return 0;
}

void gdb_stub_report_exit(struct gdb_stub *g, int status)
{
	if (!g || g->conn_fd < 0)
		return;
	pthread_mutex_lock(&g->vm->lock);
	char reply[8];
	snprintf(reply, sizeof(reply), "W%02x", status & 0xff);
	gdb_send_str(g, reply);
	/* The event loop has stopped: give the reply a moment to leave. */
	for (int tries = 0; tries < 100 && g->conn_fd >= 0 && g->out_len; tries++) {
		pthread_mutex_unlock(&g->vm->lock);
		usleep(10000);
		pthread_mutex_lock(&g->vm->lock);
		flush_out(g);
	}
	pthread_mutex_unlock(&g->vm->lock);
}

void gdb_stub_destroy(struct gdb_stub *g)
{
	if (!g)
		return;
	if (g->conn_fd >= 0) {
		evloop_del_fd(&g->vm->loop, g->conn_fd);
		close(g->conn_fd);
	}
	if (g->listen_fd >= 0) {
		evloop_del_fd(&g->vm->loop, g->listen_fd);
		close(g->listen_fd);
	}
	pthread_cond_destroy(&g->parked_cond);
	pthread_mutex_destroy(&g->debug_lock);
	free(g);
}
