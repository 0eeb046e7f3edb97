/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2 §5.4): one request queue whose device-writable
 * buffers the device fills from the host's getrandom(). The guest's
 * /dev/hwrng and its entropy pool are then fed without anything of its own.
 */
#ifndef X86V_HW_VIRTIO_VIRTIO_RNG_H
#define X86V_HW_VIRTIO_VIRTIO_RNG_H

#include "core/compiler.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_pci.h"
#include "mem/guest_ram.h"

struct device;
struct virtio_rng;

/* The device at devfn on bus. 0 or -errno. */
int virtio_rng_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram,
		      const struct virtio_kick_host *kicks, struct virtio_rng **out) MUST_CHECK;
void virtio_rng_reset(struct virtio_rng *rng);
void virtio_rng_destroy(struct virtio_rng *rng);
/* The device object, "virtio-rng@SS.F": the transport's state only (nothing is ever in flight). */
struct device *virtio_rng_device(struct virtio_rng *rng);

#endif
