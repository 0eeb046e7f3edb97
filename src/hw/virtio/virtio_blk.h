/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 §5.2) over virtio-pci: one request queue, reads,
 * writes, flushes, discards, write-zeroes and the device ID, on a disk
 * backend (hw/block) whose worker does the I/O. A request's data moves
 * straight between the image and the guest's buffers; its status comes
 * back through the event loop.
 *
 * Snapshots: before its state is saved the device waits for the disk's
 * requests in flight and returns them to the driver (with the interrupts
 * they call for), so a snapshot never holds a request half done.
 */
#ifndef X86V_HW_VIRTIO_VIRTIO_BLK_H
#define X86V_HW_VIRTIO_VIRTIO_BLK_H

#include "core/compiler.h"
#include "core/event_loop.h"
#include "hw/block/block.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_pci.h"
#include "mem/guest_ram.h"

struct device;
struct virtio_blk;

/* A disk at devfn on bus, backed by disk (which the device now owns; it is
 * closed with the device, or here on failure). serial: the device ID the
 * guest reads (up to 20 bytes). 0 or -errno. */
int virtio_blk_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram, struct event_loop *loop,
		      const struct virtio_kick_host *kicks, struct block_backend *disk, const char *serial,
		      struct virtio_blk **out) MUST_CHECK;
/* Machine reset: waits for the disk's in-flight requests, then the device is as new. */
void virtio_blk_reset(struct virtio_blk *blk);
void virtio_blk_destroy(struct virtio_blk *blk);
/* The disk as a device object, "virtio-blk@SS.F" (reset: virtio_blk_reset; destroy: virtio_blk_destroy). */
struct device *virtio_blk_device(struct virtio_blk *blk);

#endif
