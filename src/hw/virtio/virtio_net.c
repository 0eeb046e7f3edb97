/* SPDX-License-Identifier: MIT */
/*
 * virtio-net: queue 0 receives, queue 1 transmits. Every buffer the driver
 * offers starts with struct virtio_net_hdr_v1 (12 bytes in virtio 1.x,
 * num_buffers included), then the frame.
 *
 * Transmit: each chain is copied into a packet for the backend and
 * returned at once; when the backend's queue is full the device stops
 * taking chains until the backend says there is room (the guest's queue
 * fills and its driver stops the interface, as on real hardware).
 * Receive: a frame waits in the backend until the driver offers enough
 * buffers: one chain, or with VIRTIO_NET_F_MRG_RXBUF as many as it takes,
 * published together so that the driver never sees part of a frame.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/virtio/virtio_net.h"

#define QUEUE_SIZE 256
#define RX_QUEUE 0
#define TX_QUEUE 1
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)
#define MAX_MERGED 64 /* chains one received frame may spread over */
#define PCI_CLASS_NETWORK_ETHERNET 0x020000

/* What a snapshot keeps (net_fields). */
struct virtio_net_state {
	struct virtio_pci_state vp;
	uint8_t mac[6]; /* the configuration the guest read */
	uint16_t net_status;
};

struct virtio_net {
	struct device dev;
	struct virtio_net_state s;
	struct virtio_pci *vp;
	struct net_backend *nb;
	struct virtio_net_config config;
	struct virtq_elem tx;
	struct virtq_elem rx[MAX_MERGED];
};

/* ---- transmit ---- */

static void tx_pump(struct virtio_net *n)
{
	struct virtq *q = virtio_pci_queue(n->vp, TX_QUEUE);
	bool pushed = false;
	while (virtio_pci_running(n->vp) && net_tx_room(n->nb) && virtq_pop(q, &n->tx) == 1) {
		size_t total = virtq_out_len(&n->tx);
		if (total < HDR_LEN) {
			q->broken = true; /* not even a header: the driver is confused (QEMU: needs reset too) */
			break;
		}
		size_t len = total - HDR_LEN;
		struct net_packet *p = net_packet_alloc(len);
		if (p)
			virtq_copy_from(&n->tx, HDR_LEN, p->data, len);
		virtq_push(q, &n->tx, 0);
		pushed = true;
		if (p)
			net_send(n->nb, p);
		else
			log_guest("virtio-net: a %zu-byte frame from the guest dropped (the limit is %d)", len,
				  NET_MAX_FRAME);
	}
	if (pushed || q->broken)
		virtio_pci_queue_done(n->vp, TX_QUEUE);
}

/* ---- receive ---- */

/* Writes bytes [off, off + len) of header + frame into e, from its start. */
static void rx_write(const struct virtq_elem *e, const struct virtio_net_hdr_v1 *hdr, const struct net_packet *p,
		     size_t off, size_t len)
{
	size_t done = 0;
	if (off < HDR_LEN) {
		done = HDR_LEN - off < len ? HDR_LEN - off : len;
		virtq_copy_to(e, 0, (const uint8_t *)hdr + off, done);
	}
	if (len > done)
		virtq_copy_to(e, done, p->data + (off + done - HDR_LEN), len - done);
}

/* Delivers one frame: 1 when done (or dropped as undeliverable), 0 when
 * it has to wait for more buffers, -1 when the queue broke. */
static int rx_one(struct virtio_net *n, struct virtq *q, const struct net_packet *p, bool merge)
{
	unsigned max = merge ? MAX_MERGED : 1, used = 0;
	size_t need = HDR_LEN + p->len, room = 0;
	int r = 1;
	while (room < need && used < max && (r = virtq_pop(q, &n->rx[used])) == 1)
		room += virtq_in_len(&n->rx[used]), used++;
	if (r < 0)
		return -1;
	if (room < need) {
		virtq_unpop(q, &n->rx[0], used);
		if (used < max)
			return 0; /* the driver has not offered enough yet: its next kick retries */
		log_guest("virtio-net: a %zu-byte frame does not fit the guest's receive buffers: dropped", p->len);
		return 1;
	}
	struct virtio_net_hdr_v1 hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE, .num_buffers = (uint16_t)used };
	size_t off = 0;
	for (unsigned i = 0; i < used; i++) {
		size_t cap = virtq_in_len(&n->rx[i]);
		size_t take = cap < need - off ? cap : need - off;
		rx_write(&n->rx[i], &hdr, p, off, take);
		virtq_fill(q, &n->rx[i], (uint32_t)take, i);
		off += take;
	}
	virtq_flush(q, used);
	return 1;
}

static void rx_deliver(struct virtio_net *n)
{
	if (!virtio_pci_running(n->vp))
		return; /* frames wait in the backend (a bounded queue) */
	struct virtq *q = virtio_pci_queue(n->vp, RX_QUEUE);
	bool merge = virtio_pci_features(n->vp) & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	bool pushed = false;
	const struct net_packet *p;
	while ((p = net_rx_peek(n->nb))) {
		int r = rx_one(n, q, p, merge);
		if (r <= 0)
			break;
		net_rx_pop(n->nb);
		pushed = true;
	}
	if (pushed || q->broken)
		virtio_pci_queue_done(n->vp, RX_QUEUE);
}

/* ---- the device ---- */

static void backend_ready(void *opaque)
{
	struct virtio_net *n = opaque;
	rx_deliver(n);
	tx_pump(n);
}

static void notify(void *opaque, unsigned q)
{
	struct virtio_net *n = opaque;
	if (q == TX_QUEUE)
		tx_pump(n);
	else
		rx_deliver(n); /* new receive buffers */
}

static void device_reset(void *opaque)
{
	struct virtio_net *n = opaque;
	net_rx_purge(n->nb); /* transmitted frames were copied: nothing else is in flight */
}

static const struct virtio_dev_ops net_ops = { .notify = notify, .reset = device_reset };

/* ---- the device object ---- */

static const struct device_field net_fields[] = {
	VIRTIO_PCI_FIELDS(struct virtio_net_state, vp),
	DEVICE_FIELD(struct virtio_net_state, mac),
	DEVICE_FIELD(struct virtio_net_state, net_status),
};

static void capture(struct virtio_net *n)
{
	virtio_pci_save(n->vp, &n->s.vp);
	memcpy(n->s.mac, n->config.mac, sizeof(n->s.mac));
	n->s.net_status = n->config.status;
}

static void net_device_reset(struct device *dev)
{
	struct virtio_net *n = container_of(dev, struct virtio_net, dev);
	virtio_net_reset(n);
	capture(n); /* a record without some field loads its reset value */
}

/* Nothing is in flight between calls: transmitted chains are returned at
 * once, received frames wait in the backend until they are delivered whole. */
static int net_pre_save(struct device *dev)
{
	capture(container_of(dev, struct virtio_net, dev));
	return 0;
}

static int net_post_load(struct device *dev, char *why, size_t why_len)
{
	struct virtio_net *n = container_of(dev, struct virtio_net, dev);
	if (n->s.net_status & ~VIRTIO_NET_S_LINK_UP) {
		snprintf(why, why_len, "%s: link status 0x%x", dev->name, n->s.net_status);
		return -EINVAL;
	}
	if (virtio_pci_state_in_flight(&n->s.vp, RX_QUEUE) || virtio_pci_state_in_flight(&n->s.vp, TX_QUEUE)) {
		snprintf(why, why_len, "%s: frames in flight", dev->name);
		return -EINVAL;
	}
	int r = virtio_pci_load(n->vp, &n->s.vp, why, why_len);
	if (r < 0)
		return r;
	/* The guest knows the NIC by the address it read, whatever the options say now. */
	memcpy(n->config.mac, n->s.mac, sizeof(n->config.mac));
	n->config.status = n->s.net_status;
	return 0;
}

static void net_device_destroy(struct device *dev)
{
	virtio_net_destroy(container_of(dev, struct virtio_net, dev));
}

static const struct device_class net_class = {
	.type = "virtio-net",
	.version = 1,
	.fields = net_fields,
	.nfields = ARRAY_SIZE(net_fields),
	.reset = net_device_reset,
	.pre_save = net_pre_save,
	.post_load = net_post_load,
	.destroy = net_device_destroy,
};

struct device *virtio_net_device(struct virtio_net *n)
{
	return &n->dev;
}

int virtio_net_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram, struct event_loop *loop,
		      const struct virtio_kick_host *kicks, struct net_backend *nb, const uint8_t mac[6],
		      struct virtio_net **out)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n) {
		net_close(nb);
		return -ENOMEM;
	}
	n->nb = nb;
	memcpy(n->config.mac, mac, 6);
	n->config.status = VIRTIO_NET_S_LINK_UP;
	n->config.max_virtqueue_pairs = 1;
	struct virtio_pci_info info = {
		.device_id = VIRTIO_ID_NET,
		.class_code = PCI_CLASS_NETWORK_ETHERNET,
		.features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
			    (1ULL << VIRTIO_NET_F_MRG_RXBUF),
		.num_queues = 2,
		.queue_size = QUEUE_SIZE,
		.config = &n->config,
		.config_size = sizeof(n->config),
		.ops = &net_ops,
		.opaque = n,
	};
	int r = virtio_pci_create(bus, devfn, ram, kicks, &info, &n->vp);
	if (r == 0 && (r = net_start(nb, loop, backend_ready, n)) < 0)
		virtio_pci_destroy(n->vp);
	if (r < 0) {
		net_close(nb);
		free(n);
		return r;
	}
	virtio_pci_device_init(n->vp, &n->dev, &net_class, &n->s);
	capture(n);
	*out = n;
	return 0;
}

void virtio_net_reset(struct virtio_net *n)
{
	virtio_pci_reset(n->vp);
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	virtio_pci_destroy(n->vp);
	net_close(n->nb);
	free(n);
}
