/* SPDX-License-Identifier: MIT */
/*
 * A character backend's transmit ring: guest output is copied into a ring
 * (never blocking, with or without the machine lock) and a writer thread of
 * its own writes it to the host fd with plain blocking writes, holding no
 * lock of the machine while it does. A stalled reader (a terminal on
 * Ctrl-S, a pipe nobody empties) therefore fills the ring, and the guest
 * sees a busy transmitter, instead of freezing x86v. When the ring was full
 * and the writer made room, it signals space_fd (an eventfd) so that the
 * event loop can tell the frontend (kvmtool's serial transmit buffer is the
 * same idea).
 */
#ifndef X86V_CORE_CHARDEV_TX_H
#define X86V_CORE_CHARDEV_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"

#define CHARDEV_TX_RING (64 * 1024)

struct chardev_tx;

/* Starts the writer for fd (not owned). 0 or -errno. */
int chardev_tx_start(int fd, struct chardev_tx **out) MUST_CHECK;
/* Writes what is queued (waiting at most about 2 s for a stalled reader),
 * then stops the writer and frees. NULL is ignored. */
void chardev_tx_stop(struct chardev_tx *tx);

/* Copies up to len bytes into the ring: how many fit. After a hard write
 * error (a closed pipe, a full disk) everything is accepted and dropped. */
size_t chardev_tx_put(struct chardev_tx *tx, const uint8_t *buf, size_t len);
/* Waits until the ring is empty (or the output dead): for tests and exits. */
void chardev_tx_flush(struct chardev_tx *tx);
/* Readable (an eventfd) when a put found the ring full and room appeared since. */
int chardev_tx_space_fd(const struct chardev_tx *tx);
/* Consumes space_fd's count. */
void chardev_tx_space_ack(struct chardev_tx *tx);

#endif
