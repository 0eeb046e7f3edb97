/* SPDX-License-Identifier: MIT */
/*
 * virtio-console, single port (no MULTIPORT): queue 0 receives, queue 1
 * transmits. See virtio_console.h.
 *
 * A request the transmit ring could not take whole stays popped (tx_busy)
 * until the ring has room. A snapshot keeps how much of it was written; the
 * restored device gives the chain back to its queue, takes it again on the
 * kick that follows a load and writes only the rest.
 */
#include <errno.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/chardev.h"
#include "hw/virtio/virtio_console.h"
#include "hw/virtio/virtio_pci.h"

#define QUEUE_SIZE 128
#define RX_QUEUE 0
#define TX_QUEUE 1
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000

/* What a snapshot keeps (console_fields). */
struct virtio_console_state {
	struct virtio_pci_state vp;
	bool tx_busy; /* the transmit queue's last chain taken is being written out */
	uint64_t tx_off; /* bytes of it written */
};

struct virtio_console {
	struct device dev;
	struct virtio_console_state s;
	struct virtio_pci *vp;
	struct chardev *chr;
	struct virtio_console_config config;
	bool tx_busy; /* tx holds a request the ring could not take whole */
	size_t tx_off, tx_len;
	uint64_t tx_skip; /* after a load: bytes of the next chain taken already written */
	struct virtq_elem tx;
	struct virtq_elem rx;
};

/* Moves transmit requests into the backend until it is full or the queue empty. */
static void tx_pump(struct virtio_console *con)
{
	struct virtq *q = virtio_pci_queue(con->vp, TX_QUEUE);
	bool pushed = false;
	for (;;) {
		if (!con->tx_busy) {
			if (virtq_pop(q, &con->tx) != 1)
				break;
			con->tx_busy = true;
			con->tx_len = virtq_out_len(&con->tx);
			con->tx_off = con->tx_skip < con->tx_len ? con->tx_skip : con->tx_len;
			con->tx_skip = 0;
		}
		while (con->tx_off < con->tx_len) {
			uint8_t buf[4096];
			size_t n = virtq_copy_from(&con->tx, con->tx_off, buf, sizeof(buf));
			size_t took = chardev_write(con->chr, buf, n);
			con->tx_off += took;
			if (took < n)
				goto out; /* virtio_console_tx_space resumes */
		}
		virtq_push(q, &con->tx, 0);
		con->tx_busy = false;
		pushed = true;
	}
out:
	if (pushed || q->broken)
		virtio_pci_queue_done(con->vp, TX_QUEUE);
}

void virtio_console_tx_space(void *opaque)
{
	struct virtio_console *con = opaque;
	if (con->tx_busy)
		tx_pump(con);
}

size_t virtio_console_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct virtio_console *con = opaque;
	struct virtq *q = virtio_pci_queue(con->vp, RX_QUEUE);
	size_t took = 0;
	if (!virtio_pci_running(con->vp))
		return 0; /* held by the backend until the driver is ready */
	while (took < len && virtq_pop(q, &con->rx) == 1) {
		size_t n = virtq_copy_to(&con->rx, 0, buf + took, len - took);
		virtq_push(q, &con->rx, (uint32_t)n);
		took += n;
	}
	if (took || q->broken)
		virtio_pci_queue_done(con->vp, RX_QUEUE);
	return took;
}

static void notify(void *opaque, unsigned q)
{
	struct virtio_console *con = opaque;
	if (q == TX_QUEUE)
		tx_pump(con);
	else
		chardev_accept_more(con->chr); /* new receive buffers: held input can come */
}

/* The emergency write register: one character, straight out. */
static void config_write(void *opaque, unsigned offset, uint32_t value, unsigned size)
{
	struct virtio_console *con = opaque;
	(void)size;
	if (offset == offsetof(struct virtio_console_config, emerg_wr)) {
		uint8_t c = (uint8_t)value;
		(void)chardev_write(con->chr, &c, 1);
	}
}

static void device_reset(void *opaque)
{
	struct virtio_console *con = opaque;
	con->tx_busy = false; /* nothing is in flight outside the device */
	con->tx_skip = 0;
}

static const struct virtio_dev_ops console_ops = { .notify = notify, .reset = device_reset, .config_write = config_write };

/* ---- the device object ---- */

static const struct device_field console_fields[] = {
	VIRTIO_PCI_FIELDS(struct virtio_console_state, vp),
	DEVICE_BOOL(struct virtio_console_state, tx_busy),
	DEVICE_FIELD(struct virtio_console_state, tx_off),
};

static void capture(struct virtio_console *con)
{
	virtio_pci_save(con->vp, &con->s.vp);
	con->s.tx_busy = con->tx_busy;
	con->s.tx_off = con->tx_busy ? con->tx_off : 0;
}

static void console_device_reset(struct device *dev)
{
	struct virtio_console *con = container_of(dev, struct virtio_console, dev);
	virtio_console_reset(con);
	capture(con); /* a record without some field loads its reset value */
}

static int console_pre_save(struct device *dev)
{
	capture(container_of(dev, struct virtio_console, dev));
	return 0;
}

static int console_post_load(struct device *dev, char *why, size_t why_len)
{
	struct virtio_console *con = container_of(dev, struct virtio_console, dev);
	const struct virtio_console_state *s = &con->s;
	/* Received chains are returned at once; one transmit chain may be held. */
	if (virtio_pci_state_in_flight(&s->vp, RX_QUEUE) ||
	    virtio_pci_state_in_flight(&s->vp, TX_QUEUE) != (s->tx_busy ? 1u : 0u) || (!s->tx_busy && s->tx_off)) {
		snprintf(why, why_len, "%s: requests in flight that the device does not hold", dev->name);
		return -EINVAL;
	}
	int r = virtio_pci_load(con->vp, &con->s.vp, why, why_len);
	if (r < 0 || !s->tx_busy)
		return r;
	/* The chain is taken again (guest RAM holds it) and written from tx_off on. */
	virtq_unpop(virtio_pci_queue(con->vp, TX_QUEUE), &con->tx, 1);
	con->tx_skip = s->tx_off;
	return 0;
}

static void console_device_destroy(struct device *dev)
{
	virtio_console_destroy(container_of(dev, struct virtio_console, dev));
}

static const struct device_class console_class = {
	.type = "virtio-console",
	.version = 1,
	.fields = console_fields,
	.nfields = ARRAY_SIZE(console_fields),
	.reset = console_device_reset,
	.pre_save = console_pre_save,
	.post_load = console_post_load,
	.destroy = console_device_destroy,
};

struct device *virtio_console_device(struct virtio_console *con)
{
	return &con->dev;
}

int virtio_console_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram,
			  const struct virtio_kick_host *kicks, struct chardev *chr, struct virtio_console **out)
{
	struct virtio_console *con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	con->chr = chr;
	con->config.cols = 80;
	con->config.rows = 25;
	con->config.max_nr_ports = 1;
	struct virtio_pci_info info = {
		.device_id = VIRTIO_ID_CONSOLE,
		.class_code = PCI_CLASS_COMMUNICATION_OTHER,
		.features = (1ULL << VIRTIO_CONSOLE_F_SIZE) | (1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE),
		.num_queues = 2,
		.queue_size = QUEUE_SIZE,
		.config = &con->config,
		.config_size = sizeof(con->config),
		.ops = &console_ops,
		.opaque = con,
	};
	int r = virtio_pci_create(bus, devfn, ram, kicks, &info, &con->vp);
	if (r < 0) {
		free(con);
		return r;
	}
	virtio_pci_device_init(con->vp, &con->dev, &console_class, &con->s);
	capture(con);
	*out = con;
	return 0;
}

void virtio_console_reset(struct virtio_console *con)
{
	virtio_pci_reset(con->vp);
}

void virtio_console_destroy(struct virtio_console *con)
{
	if (!con)
		return;
	virtio_pci_destroy(con->vp);
	free(con);
}
