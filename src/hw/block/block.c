/* SPDX-License-Identifier: MIT */
/*
 * Disk backends (see block.h): the I/O workers, their queues and completions,
 * and the choice of driver: an NBD export for nbd:// and nbd+unix:// URIs
 * (or format=nbd), a raw image file otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/sandbox.h"
#include "hw/block/block_image.h"

struct block_backend {
	struct block_image img;
	int efd; /* the workers' completions, for the event loop */
	struct event_loop *loop;
	block_done_fn *done;
	void *opaque;

	pthread_t workers[BLOCK_WORKERS];
	unsigned nworkers; /* started */
	pthread_mutex_t mu;
	pthread_cond_t work; /* queued requests or stop */
	pthread_cond_t idle; /* in_flight reached 0 */
	struct block_request *queued, **queued_tail;
	struct block_request *finished, **finished_tail;
	unsigned in_flight; /* submitted, not yet finished */
	bool stop;
};

/* ---- the workers: each takes the oldest queued request ---- */

static void *worker_main(void *arg)
{
	struct block_backend *b = arg;
	sandbox_enter(SANDBOX_DISK);
	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (!b->queued && !b->stop)
			pthread_cond_wait(&b->work, &b->mu);
		struct block_request *r = b->queued;
		if (!r)
			break; /* stopping, and nothing left */
		b->queued = r->next;
		if (!b->queued)
			b->queued_tail = &b->queued;
		pthread_mutex_unlock(&b->mu);
		r->result = b->img.ops->run(b->img.state, r);
		pthread_mutex_lock(&b->mu);
		r->next = NULL;
		*b->finished_tail = r;
		b->finished_tail = &r->next;
		if (--b->in_flight == 0)
			pthread_cond_broadcast(&b->idle);
		uint64_t one = 1;
		ssize_t n = write(b->efd, &one, sizeof(one)); /* never blocks: the counter cannot fill */
		(void)n;
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* ---- the owner's side (machine lock held) ---- */

static void complete_finished(struct block_backend *b)
{
	pthread_mutex_lock(&b->mu);
	struct block_request *r = b->finished;
	b->finished = NULL;
	b->finished_tail = &b->finished;
	pthread_mutex_unlock(&b->mu);
	while (r) {
		struct block_request *next = r->next;
		b->done(b->opaque, r);
		r = next;
	}
}

static void on_completions(void *opaque, int fd, uint32_t events)
{
	(void)events;
	uint64_t count;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n;
	complete_finished(opaque);
}

void block_submit(struct block_backend *b, struct block_request *req)
{
	pthread_mutex_lock(&b->mu);
	req->next = NULL;
	*b->queued_tail = req;
	b->queued_tail = &req->next;
	b->in_flight++;
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->mu);
}

void block_drain(struct block_backend *b)
{
	pthread_mutex_lock(&b->mu);
	while (b->in_flight)
		pthread_cond_wait(&b->idle, &b->mu);
	pthread_mutex_unlock(&b->mu);
	complete_finished(b);
}

uint64_t block_size(const struct block_backend *b)
{
	return b->img.size;
}

bool block_readonly(const struct block_backend *b)
{
	return b->img.readonly;
}

bool block_is_nbd(const char *path)
{
	return !strncmp(path, "nbd://", 6) || !strncmp(path, "nbd+unix://", 11) || !strncmp(path, "nbds://", 7) ||
	       !strncmp(path, "nbds+unix://", 12);
}

int block_open(const struct block_options *opt, struct block_backend **out, char *why, size_t why_len)
{
	struct block_backend *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	int r = opt->nbd || block_is_nbd(opt->path) ? block_nbd_open(opt, &b->img, why, why_len)
						      : block_file_open(opt, &b->img, why, why_len);
	if (r < 0) {
		free(b);
		return r;
	}
	b->efd = -1;
	b->queued_tail = &b->queued;
	b->finished_tail = &b->finished;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->idle, NULL);
	*out = b;
	return 0;
}

int block_start(struct block_backend *b, struct event_loop *loop, block_done_fn *done, void *opaque)
{
	b->loop = loop;
	b->done = done;
	b->opaque = opaque;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0)
		return -errno;
	int r = evloop_add_fd(loop, b->efd, EPOLLIN, on_completions, b);
	if (r < 0) {
		close(b->efd);
		b->efd = -1;
		return r;
	}
	for (; b->nworkers < BLOCK_WORKERS; b->nworkers++) {
		r = pthread_create(&b->workers[b->nworkers], NULL, worker_main, b);
		if (r)
			return b->nworkers ? 0 : -r; /* fewer workers are still workers */
	}
	return 0;
}

void block_close(struct block_backend *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = true;
	pthread_cond_broadcast(&b->work);
	pthread_mutex_unlock(&b->mu);
	for (unsigned i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	if (b->efd >= 0) {
		if (b->loop)
			evloop_del_fd(b->loop, b->efd);
		close(b->efd);
	}
	b->img.ops->close(b->img.state);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->idle);
	free(b);
}
