/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng: requests filled from getrandom() on the vCPU thread that
 * kicked the queue. getrandom never blocks once the host's pool is
 * initialised (GRND_NONBLOCK makes sure of it), and each request is capped,
 * so a guest spinning on the queue costs its own CPU time and nothing more.
 */
#include <errno.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "hw/virtio/virtio_pci.h"
#include "hw/virtio/virtio_rng.h"

#define QUEUE_SIZE 64
#define MAX_PER_REQUEST 65536
#define PCI_CLASS_OTHERS 0xff0000

/* What a snapshot keeps (rng_fields). */
struct virtio_rng_state {
	struct virtio_pci_state vp;
};

struct virtio_rng {
	struct device dev;
	struct virtio_rng_state s;
	struct virtio_pci *vp;
	struct virtq_elem elem;
};

/* Fills e's writable buffers (up to MAX_PER_REQUEST bytes): how many. */
static uint32_t fill(struct virtq_elem *e)
{
	uint32_t done = 0;
	for (unsigned i = 0; i < e->nin && done < MAX_PER_REQUEST; i++) {
		size_t want = e->in[i].iov_len, got = 0;
		if (want > MAX_PER_REQUEST - done)
			want = MAX_PER_REQUEST - done;
		while (got < want) {
			ssize_t n = getrandom((uint8_t *)e->in[i].iov_base + got, want - got, GRND_NONBLOCK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return done + (uint32_t)got; /* the host pool is not ready: what there is */
			got += (size_t)n;
		}
		done += (uint32_t)got;
	}
	return done;
}

static void notify(void *opaque, unsigned q)
{
	struct virtio_rng *rng = opaque;
	struct virtq *vq = virtio_pci_queue(rng->vp, q);
	bool pushed = false;
	while (virtq_pop(vq, &rng->elem) == 1) {
		virtq_push(vq, &rng->elem, fill(&rng->elem));
		pushed = true;
	}
	/* A kick that found nothing (the one after a snapshot load) interrupts nobody. */
	if (pushed || vq->broken)
		virtio_pci_queue_done(rng->vp, q);
}

static void device_reset(void *opaque)
{
	(void)opaque; /* nothing is ever in flight */
}

static const struct virtio_dev_ops rng_ops = { .notify = notify, .reset = device_reset };

/* ---- the device object ---- */

static const struct device_field rng_fields[] = {
	VIRTIO_PCI_FIELDS(struct virtio_rng_state, vp),
};

static void rng_device_reset(struct device *dev)
{
	struct virtio_rng *rng = container_of(dev, struct virtio_rng, dev);
	virtio_rng_reset(rng);
	virtio_pci_save(rng->vp, &rng->s.vp); /* a record without some field loads its reset value */
}

static int rng_pre_save(struct device *dev)
{
	struct virtio_rng *rng = container_of(dev, struct virtio_rng, dev);
	virtio_pci_save(rng->vp, &rng->s.vp);
	return 0;
}

static int rng_post_load(struct device *dev, char *why, size_t why_len)
{
	struct virtio_rng *rng = container_of(dev, struct virtio_rng, dev);
	if (virtio_pci_state_in_flight(&rng->s.vp, 0)) {
		snprintf(why, why_len, "%s: requests in flight", dev->name);
		return -EINVAL;
	}
	return virtio_pci_load(rng->vp, &rng->s.vp, why, why_len);
}

static void rng_device_destroy(struct device *dev)
{
	virtio_rng_destroy(container_of(dev, struct virtio_rng, dev));
}

static const struct device_class rng_class = {
	.type = "virtio-rng",
	.version = 1,
	.fields = rng_fields,
	.nfields = ARRAY_SIZE(rng_fields),
	.reset = rng_device_reset,
	.pre_save = rng_pre_save,
	.post_load = rng_post_load,
	.destroy = rng_device_destroy,
};

struct device *virtio_rng_device(struct virtio_rng *rng)
{
	return &rng->dev;
}

int virtio_rng_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram,
		      const struct virtio_kick_host *kicks, struct virtio_rng **out)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	struct virtio_pci_info info = {
		.device_id = VIRTIO_ID_RNG,
		.class_code = PCI_CLASS_OTHERS,
		.num_queues = 1,
		.queue_size = QUEUE_SIZE,
		.ops = &rng_ops,
		.opaque = rng,
	};
	int r = virtio_pci_create(bus, devfn, ram, kicks, &info, &rng->vp);
	if (r < 0) {
		free(rng);
		return r;
	}
	virtio_pci_device_init(rng->vp, &rng->dev, &rng_class, &rng->s);
	virtio_pci_save(rng->vp, &rng->s.vp);
	*out = rng;
	return 0;
}

void virtio_rng_reset(struct virtio_rng *rng)
{
	virtio_pci_reset(rng->vp);
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	if (!rng)
		return;
	virtio_pci_destroy(rng->vp);
	free(rng);
}
