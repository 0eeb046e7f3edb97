/* SPDX-License-Identifier: MIT */
/*
 * The transmit ring and its writer thread (see chardev_tx.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/chardev_tx.h"
#include "core/log.h"
#include "core/sandbox.h"

#define STOP_WAIT_NS 2000000000LL

struct chardev_tx {
	int fd;
	int space_fd;
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t data; /* bytes queued, or stop */
	pthread_cond_t empty; /* the ring drained */
	uint8_t ring[CHARDEV_TX_RING];
	size_t head, count; /* bytes at ring[head..] (wrapping) */
	bool want_space; /* a put found the ring full */
	bool dead; /* a hard write error: drop from now on */
	bool stop;
};

static void *writer_main(void *arg)
{
	struct chardev_tx *tx = arg;
	sandbox_enter(SANDBOX_CONSOLE);
	/* Cancellable only inside write(), where no lock is held (chardev_tx_stop). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&tx->mu);
	for (;;) {
		while (!tx->count && !tx->stop)
			pthread_cond_wait(&tx->data, &tx->mu);
		if (!tx->count)
			break;
		/* The contiguous part from head: the ring is only appended to meanwhile. */
		size_t chunk = tx->count < CHARDEV_TX_RING - tx->head ? tx->count : CHARDEV_TX_RING - tx->head;
		const uint8_t *p = &tx->ring[tx->head];
		pthread_mutex_unlock(&tx->mu);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		ssize_t n = write(tx->fd, p, chunk);
		int err = errno;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		pthread_mutex_lock(&tx->mu);
		if (n < 0 && err == EINTR)
			continue;
		if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
			/* Someone made the fd non-blocking (a shared tty, a parent): wait for room. */
			pthread_mutex_unlock(&tx->mu);
			struct pollfd pfd = { .fd = tx->fd, .events = POLLOUT };
			pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
			(void)poll(&pfd, 1, -1);
			pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
			pthread_mutex_lock(&tx->mu);
			continue;
		}
		if (n <= 0) {
			log_warn("serial output: %s; dropping further output", n < 0 ? strerror(err) : "write returned 0");
			tx->dead = true;
			n = (ssize_t)tx->count;
		}
		tx->head = (tx->head + (size_t)n) % CHARDEV_TX_RING;
		tx->count -= (size_t)n;
		if (!tx->count)
			pthread_cond_broadcast(&tx->empty);
		if (tx->want_space) {
			tx->want_space = false;
			uint64_t one = 1;
			ssize_t w = write(tx->space_fd, &one, sizeof(one)); /* an eventfd: never blocks here */
			(void)w;
		}
	}
	pthread_mutex_unlock(&tx->mu);
	return NULL;
}

int chardev_tx_start(int fd, struct chardev_tx **out)
{
	struct chardev_tx *tx = calloc(1, sizeof(*tx));
	if (!tx)
		return -ENOMEM;
	tx->fd = fd;
	tx->space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (tx->space_fd < 0) {
		int e = errno;
		free(tx);
		return -e;
	}
	pthread_mutex_init(&tx->mu, NULL);
	pthread_cond_init(&tx->data, NULL);
	pthread_cond_init(&tx->empty, NULL);
	int r = pthread_create(&tx->writer, NULL, writer_main, tx);
	if (r) {
		close(tx->space_fd);
		free(tx);
		return -r;
	}
	*out = tx;
	return 0;
}

size_t chardev_tx_put(struct chardev_tx *tx, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&tx->mu);
	if (tx->dead) {
		pthread_mutex_unlock(&tx->mu);
		return len;
	}
	size_t room = CHARDEV_TX_RING - tx->count, n = len < room ? len : room;
	for (size_t i = 0; i < n; i++)
		tx->ring[(tx->head + tx->count + i) % CHARDEV_TX_RING] = buf[i];
	tx->count += n;
	if (n < len)
		tx->want_space = true;
	if (n)
		pthread_cond_signal(&tx->data);
	pthread_mutex_unlock(&tx->mu);
	return n;
}

void chardev_tx_flush(struct chardev_tx *tx)
{
	pthread_mutex_lock(&tx->mu);
	while (tx->count && !tx->dead)
		pthread_cond_wait(&tx->empty, &tx->mu);
	pthread_mutex_unlock(&tx->mu);
}

int chardev_tx_space_fd(const struct chardev_tx *tx)
{
	return tx->space_fd;
}

void chardev_tx_space_ack(struct chardev_tx *tx)
{
	uint64_t count;
	ssize_t n = read(tx->space_fd, &count, sizeof(count));
	(void)n;
}

void chardev_tx_stop(struct chardev_tx *tx)
{
	if (!tx)
		return;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += STOP_WAIT_NS / 1000000000LL;
	pthread_mutex_lock(&tx->mu);
	while (tx->count && !tx->dead)
		if (pthread_cond_timedwait(&tx->empty, &tx->mu, &deadline) == ETIMEDOUT)
			break;
	bool stalled = tx->count && !tx->dead;
	tx->stop = true;
	pthread_cond_signal(&tx->data);
	pthread_mutex_unlock(&tx->mu);
	if (stalled)
		pthread_cancel(tx->writer); /* blocked in write(): a cancellation point */
	pthread_join(tx->writer, NULL);
	close(tx->space_fd);
	pthread_mutex_destroy(&tx->mu);
	pthread_cond_destroy(&tx->data);
	pthread_cond_destroy(&tx->empty);
	free(tx);
}
