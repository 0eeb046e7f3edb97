/* SPDX-License-Identifier: MIT */
/*
 * The main thread's event loop: file descriptors (stdin, later sockets),
 * the virtual clock's timers, and wake-ups from vCPU threads. Every callback
 * runs with the machine lock held, the same lock vCPU threads take around
 * device accesses, so device models never see concurrent calls.
 */
#ifndef X86V_CORE_EVENT_LOOP_H
#define X86V_CORE_EVENT_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/compiler.h"
#include "core/vclock.h"

typedef void evloop_fd_fn(void *opaque, int fd, uint32_t events);

#define EVLOOP_MAX_FDS 64

struct evloop_fd {
	int fd;
	evloop_fd_fn *fn;
	void *opaque;
};

struct event_loop {
	int epoll_fd;
	int timer_fd; /* armed for the clock's next deadline */
	int wake_fd; /* eventfd: a vCPU thread changed something */
	struct vclock *clock;
	pthread_mutex_t *lock;
	struct evloop_fd fds[EVLOOP_MAX_FDS];
	bool stop;
};

int evloop_init(struct event_loop *loop, struct vclock *clock, pthread_mutex_t *lock) MUST_CHECK;
void evloop_destroy(struct event_loop *loop);

/* Watches fd for events (EPOLLIN, EPOLLOUT). 0 or -errno. */
int evloop_add_fd(struct event_loop *loop, int fd, uint32_t events, evloop_fd_fn *fn,
		  void *opaque) MUST_CHECK;
/* Changes the watched events of fd; 0 stops watching without removing it. */
int evloop_mod_fd(struct event_loop *loop, int fd, uint32_t events) MUST_CHECK;
void evloop_del_fd(struct event_loop *loop, int fd);

/* Thread-safe, async-signal-safe: makes evloop_run re-check timers and the stop flag. */
void evloop_wake(struct event_loop *loop);
/* Call with the lock held (from a callback or a vCPU thread); evloop_run returns soon after. */
void evloop_stop(struct event_loop *loop);

/* Runs until evloop_stop. Takes and releases the lock around every callback. */
void evloop_run(struct event_loop *loop);

#endif
