/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 §5.1) over virtio-pci: one receive and one
 * transmit queue, a MAC address, link status and mergeable receive
 * buffers; no offloads (every frame is a plain Ethernet frame of up to the
 * backend's MTU). Frames go to and come from a network backend (hw/net)
 * whose thread does the host I/O.
 *
 * Snapshots keep the device and its configuration (MAC, link status), not
 * the frames waiting in the backend: those are dropped with it, as a real
 * network may; the receive buffers the driver offered stay in the ring.
 */
#ifndef X86V_HW_VIRTIO_VIRTIO_NET_H
#define X86V_HW_VIRTIO_VIRTIO_NET_H

#include "core/compiler.h"
#include "core/event_loop.h"
#include "hw/net/net.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_pci.h"
#include "mem/guest_ram.h"

struct device;
struct virtio_net;

/* A NIC at devfn on bus with the given MAC, on backend nb (which the device
 * now owns; it is closed with the device, or here on failure). 0 or -errno. */
int virtio_net_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram, struct event_loop *loop,
		      const struct virtio_kick_host *kicks, struct net_backend *nb, const uint8_t mac[6],
		      struct virtio_net **out) MUST_CHECK;
/* Machine reset: frames waiting for the guest are dropped, the device is as new. */
void virtio_net_reset(struct virtio_net *n);
void virtio_net_destroy(struct virtio_net *n);
/* The NIC as a device object, "virtio-net@SS.F" (reset: virtio_net_reset; destroy: virtio_net_destroy). */
struct device *virtio_net_device(struct virtio_net *n);

#endif
