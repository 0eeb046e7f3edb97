/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2 §5.3), one port: the guest's /dev/hvc0 on a
 * character backend (the terminal with --console virtio). Output leaves
 * through the backend's transmit ring; while that ring is full the device
 * keeps the request and takes no more from the transmit queue, so a slow
 * reader slows the guest's writes down instead of losing them. Input waits
 * in the backend until the guest offers receive buffers.
 *
 * Snapshots keep the request being written out (how far it got), not what
 * is already in the backend's transmit ring nor the input the backend holds:
 * a restored device writes the rest of that request first.
 */
#ifndef X86V_HW_VIRTIO_VIRTIO_CONSOLE_H
#define X86V_HW_VIRTIO_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_pci.h"
#include "mem/guest_ram.h"

struct chardev;
struct device;
struct virtio_console;

int virtio_console_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram,
			  const struct virtio_kick_host *kicks, struct chardev *chr, struct virtio_console **out) MUST_CHECK;
void virtio_console_reset(struct virtio_console *con);
void virtio_console_destroy(struct virtio_console *con);
/* The device object, "virtio-console@SS.F" (reset: virtio_console_reset; destroy: virtio_console_destroy). */
struct device *virtio_console_device(struct virtio_console *con);

/* chardev_receive_fn: host input for the guest (opaque: the device). */
size_t virtio_console_receive(void *opaque, const uint8_t *buf, size_t len);
/* chardev_tx_space_fn: the transmit ring has room again. */
void virtio_console_tx_space(void *opaque);

#endif
