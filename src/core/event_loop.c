/* SPDX-License-Identifier: MIT */
/*
 * epoll-based event loop with a timerfd for the virtual clock.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/event_loop.h"
#include "core/log.h"

static void loop_wake_deadline(void *opaque)
{
	evloop_wake(opaque);
}

int evloop_init(struct event_loop *loop, struct vclock *clock, pthread_mutex_t *lock)
{
	memset(loop, 0, sizeof(*loop));
	for (unsigned i = 0; i < EVLOOP_MAX_FDS; i++)
		loop->fds[i].fd = -1;
	loop->clock = clock;
	loop->lock = lock;
	loop->epoll_fd = loop->timer_fd = loop->wake_fd = -1;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epoll_fd < 0 || loop->timer_fd < 0 || loop->wake_fd < 0) {
		int e = -errno;
		evloop_destroy(loop);
		return e;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = loop->timer_fd };
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->timer_fd, &ev) < 0)
		goto fail;
	ev.data.fd = loop->wake_fd;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0)
		goto fail;
	clock->deadline_changed = loop_wake_deadline;
	clock->notify_opaque = loop;
	return 0;
fail:;
	int e = -errno;
	evloop_destroy(loop);
	return e;
}

void evloop_destroy(struct event_loop *loop)
{
	if (!loop->clock)
		return; /* never initialised */
	if (loop->clock && loop->clock->notify_opaque == loop)
		loop->clock->deadline_changed = NULL;
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	if (loop->timer_fd >= 0)
		close(loop->timer_fd);
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	loop->epoll_fd = loop->timer_fd = loop->wake_fd = -1;
}

static struct evloop_fd *find_fd(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < EVLOOP_MAX_FDS; i++)
		if (loop->fds[i].fd == fd)
			return &loop->fds[i];
	return NULL;
}

int evloop_add_fd(struct event_loop *loop, int fd, uint32_t events, evloop_fd_fn *fn, void *opaque)
{
	struct evloop_fd *slot = find_fd(loop, -1);
	if (!slot)
		return -ENOSPC;
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	*slot = (struct evloop_fd){ fd, fn, opaque };
	return 0;
}

int evloop_mod_fd(struct event_loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	if (!find_fd(loop, fd))
		return -ENOENT;
	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void evloop_del_fd(struct event_loop *loop, int fd)
{
	struct evloop_fd *slot = find_fd(loop, fd);
	if (!slot || fd < 0)
		return;
	epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	slot->fd = -1;
}

void evloop_wake(struct event_loop *loop)
{
	uint64_t one = 1;
	ssize_t r = write(loop->wake_fd, &one, sizeof(one));
	(void)r; /* EAGAIN means a wake-up is already pending */
}

void evloop_stop(struct event_loop *loop)
{
	__atomic_store_n(&loop->stop, true, __ATOMIC_RELEASE);
	evloop_wake(loop);
}

/* Programs the timerfd for the clock's earliest deadline (lock held). */
static void arm_timerfd(struct event_loop *loop)
{
	int64_t deadline = vclock_next_deadline(loop->clock);
	struct itimerspec its = { 0 };
	if (deadline != VCLOCK_NEVER) {
		int64_t delta = deadline - vclock_now(loop->clock);
		if (delta < 1)
			delta = 1; /* 0 would disarm */
		its.it_value.tv_sec = delta / 1000000000;
		its.it_value.tv_nsec = delta % 1000000000;
	}
	timerfd_settime(loop->timer_fd, 0, &its, NULL);
}

void evloop_run(struct event_loop *loop)
{
	pthread_mutex_lock(loop->lock);
	while (!__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE)) {
		vclock_run_expired(loop->clock, vclock_now(loop->clock));
		arm_timerfd(loop);
		pthread_mutex_unlock(loop->lock);

		struct epoll_event evs[8];
		int n = epoll_wait(loop->epoll_fd, evs, 8, -1);

		pthread_mutex_lock(loop->lock);
		if (n < 0) {
			if (errno != EINTR) {
				log_error("event loop: epoll_wait: %s", strerror(errno));
				break;
			}
			continue;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint64_t drain;
			if (fd == loop->timer_fd || fd == loop->wake_fd) {
				ssize_t r = read(fd, &drain, sizeof(drain));
				(void)r;
				continue;
			}
			struct evloop_fd *slot = find_fd(loop, fd);
			if (slot)
				slot->fn(slot->opaque, fd, evs[i].events);
		}
	}
	pthread_mutex_unlock(loop->lock);
}
