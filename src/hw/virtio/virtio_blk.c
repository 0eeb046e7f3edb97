/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk: requests from the queue to the disk backend and back.
 *
 * A request is a header (type, sector) in the device-readable buffers, the
 * data, and a status byte: the last byte of the device-writable buffers.
 * Requests the device cannot even parse (no header, no status byte) break
 * the queue (DEVICE_NEEDS_RESET, as QEMU does); requests it can parse but
 * not serve get VIRTIO_BLK_S_IOERR or _UNSUPP.
 *
 * Snapshots: pre_save drains the disk (block_drain: it waits for the
 * workers, which never take the machine lock, and runs the completions
 * right there instead of on the event loop), so the queue holds no request
 * in flight; post_load expects none. The interrupt those completions call
 * for is sent only after the state is captured, and the snapshot records
 * it as owed: the interrupt controllers may have been saved already, so
 * the restored device sends it again (on the kick after the load), as the
 * driver's wishes in the restored rings decide.
 */
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_pci.h"

#define QUEUE_SIZE 256
#define SEG_MAX (VIRTQ_MAX_SEGS - 2) /* data buffers beside the header and the status byte */
#define MAX_DISCARD_SECTORS 0x400000u /* 2 GiB per request */
#define PCI_CLASS_STORAGE_SCSI 0x010000

/* What a snapshot keeps (blk_fields). */
struct virtio_blk_state {
	struct virtio_pci_state vp;
	uint64_t capacity; /* sectors: the disk must be as large as the guest was told */
	bool interrupt_owed; /* requests returned while saving: virtio_pci_queue_done due */
};

struct virtio_blk {
	struct device dev;
	struct virtio_blk_state s;
	struct virtio_pci *vp;
	struct block_backend *disk;
	struct virtio_blk_config config;
	char serial[VIRTIO_BLK_ID_BYTES];
	bool resetting; /* finished requests are dropped, not returned */
	bool saving; /* finished requests are returned, their interrupt left owed */
	bool interrupt_owed;
};

struct blk_req {
	struct block_request io;
	struct virtio_blk *blk;
	uint8_t *status; /* the request's status byte, in guest RAM */
	uint32_t written; /* bytes written into the guest's buffers when it succeeds */
	struct iovec data[VIRTQ_MAX_SEGS];
	struct virtq_elem elem;
};

/* Up to len bytes of src after its first skip bytes, as iovecs in dst: how many. */
static unsigned iov_range(const struct iovec *src, unsigned n, size_t skip, size_t len, struct iovec *dst)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && len; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		size_t take = src[i].iov_len - skip;
		if (take > len)
			take = len;
		dst[k++] = (struct iovec){ (uint8_t *)src[i].iov_base + skip, take };
		len -= take;
		skip = 0;
	}
	return k;
}

/* Returns req to the driver with status (and written bytes before it on success). */
static void finish(struct blk_req *req, uint8_t status)
{
	*req->status = status;
	uint32_t written = status == VIRTIO_BLK_S_OK ? req->written + 1 : 1;
	/* The status byte lies after the data: report it as written too. */
	virtq_push(virtio_pci_queue(req->blk->vp, 0), &req->elem, written);
	free(req);
}

static void io_done(void *opaque, struct block_request *io)
{
	struct blk_req *req = (struct blk_req *)io;
	struct virtio_blk *blk = opaque;
	if (blk->resetting) {
		free(req);
		return;
	}
	finish(req, io->result == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR);
	if (blk->saving)
		blk->interrupt_owed = true;
	else
		virtio_pci_queue_done(blk->vp, 0);
}

/* Whether [sector, sector + bytes / 512) lies on the disk. */
static bool in_range(const struct virtio_blk *blk, uint64_t sector, uint64_t bytes)
{
	uint64_t size = block_size(blk->disk);
	return sector <= size / BLOCK_SECTOR && bytes <= size - sector * BLOCK_SECTOR;
}

/* DISCARD and WRITE_ZEROES: one range (the limits the config announces). */
static uint8_t range_request(struct blk_req *req, uint32_t type, size_t out_len)
{
	struct virtio_blk *blk = req->blk;
	struct virtio_blk_discard_write_zeroes seg;
	if (out_len != sizeof(struct virtio_blk_outhdr) + sizeof(seg) ||
	    virtq_copy_from(&req->elem, sizeof(struct virtio_blk_outhdr), &seg, sizeof(seg)) != sizeof(seg))
		return VIRTIO_BLK_S_UNSUPP;
	bool zeroes = type == VIRTIO_BLK_T_WRITE_ZEROES;
	if ((seg.flags & ~(uint32_t)(zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0)) || seg.num_sectors > MAX_DISCARD_SECTORS)
		return VIRTIO_BLK_S_UNSUPP;
	uint64_t bytes = (uint64_t)seg.num_sectors * BLOCK_SECTOR;
	if (block_readonly(blk->disk) || !in_range(blk, seg.sector, bytes))
		return VIRTIO_BLK_S_IOERR;
	req->io = (struct block_request){ .op = zeroes ? BLOCK_WRITE_ZEROES : BLOCK_DISCARD,
					  .offset = seg.sector * BLOCK_SECTOR, .len = bytes };
	return 0xff; /* submitted */
}

/* Starts one request: 0xff when it went to the disk, else its status now. */
static uint8_t start(struct blk_req *req)
{
	struct virtio_blk *blk = req->blk;
	struct virtq_elem *e = &req->elem;
	struct virtio_blk_outhdr hdr;
	virtq_copy_from(e, 0, &hdr, sizeof(hdr));
	size_t out_len = virtq_out_len(e), in_len = virtq_in_len(e) - 1;
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool write = hdr.type == VIRTIO_BLK_T_OUT;
		size_t len = write ? out_len - sizeof(hdr) : in_len;
		if (len % BLOCK_SECTOR || !in_range(blk, hdr.sector, len) || (write && block_readonly(blk->disk)))
			return VIRTIO_BLK_S_IOERR;
		unsigned n = write ? iov_range(e->out, e->nout, sizeof(hdr), len, req->data)
				   : iov_range(e->in, e->nin, 0, len, req->data);
		req->io = (struct block_request){ .op = write ? BLOCK_WRITE : BLOCK_READ, .offset = hdr.sector * BLOCK_SECTOR,
						  .len = len, .iov = req->data, .niov = n };
		req->written = write ? 0 : (uint32_t)len;
		return 0xff;
	}
	case VIRTIO_BLK_T_FLUSH:
		req->io = (struct block_request){ .op = BLOCK_FLUSH };
		return 0xff;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = in_len < sizeof(blk->serial) ? in_len : sizeof(blk->serial);
		req->written = (uint32_t)virtq_copy_to(e, 0, blk->serial, n);
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return range_request(req, hdr.type, out_len);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* The status byte: the last byte of the last non-empty writable buffer. */
static uint8_t *status_byte(const struct virtq_elem *e)
{
	for (unsigned i = e->nin; i-- > 0;)
		if (e->in[i].iov_len)
			return (uint8_t *)e->in[i].iov_base + e->in[i].iov_len - 1;
	return NULL;
}

static void notify(void *opaque, unsigned q)
{
	struct virtio_blk *blk = opaque;
	struct virtq *vq = virtio_pci_queue(blk->vp, q);
	bool pushed = false;
	for (;;) {
		struct blk_req *req = malloc(sizeof(*req));
		if (!req)
			break; /* the kick stays pending: the driver kicks again */
		req->blk = blk;
		req->written = 0;
		if (virtq_pop(vq, &req->elem) <= 0) {
			free(req);
			break;
		}
		req->status = status_byte(&req->elem);
		if (!req->status || virtq_out_len(&req->elem) < sizeof(struct virtio_blk_outhdr)) {
			vq->broken = true; /* nowhere to answer */
			free(req);
			break;
		}
		uint8_t status = start(req);
		if (status == 0xff) {
			block_submit(blk->disk, &req->io);
		} else {
			finish(req, status);
			pushed = true;
		}
	}
	/* A kick that found nothing interrupts nobody, unless a snapshot load left an interrupt owed. */
	if (pushed || vq->broken || blk->interrupt_owed) {
		blk->interrupt_owed = false;
		virtio_pci_queue_done(blk->vp, q);
	}
}

static void device_reset(void *opaque)
{
	struct virtio_blk *blk = opaque;
	blk->resetting = true;
	block_drain(blk->disk); /* no DMA into buffers the driver takes back */
	blk->resetting = false;
	blk->interrupt_owed = false;
}

static const struct virtio_dev_ops blk_ops = { .notify = notify, .reset = device_reset };

/* ---- the device object ---- */

static const struct device_field blk_fields[] = {
	VIRTIO_PCI_FIELDS(struct virtio_blk_state, vp),
	DEVICE_FIELD(struct virtio_blk_state, capacity),
	DEVICE_BOOL(struct virtio_blk_state, interrupt_owed),
};

static void capture(struct virtio_blk *blk)
{
	virtio_pci_save(blk->vp, &blk->s.vp);
	blk->s.capacity = blk->config.capacity;
	blk->s.interrupt_owed = blk->interrupt_owed;
}

static void blk_device_reset(struct device *dev)
{
	struct virtio_blk *blk = container_of(dev, struct virtio_blk, dev);
	virtio_blk_reset(blk);
	capture(blk); /* a record without some field loads its reset value */
}

static int blk_pre_save(struct device *dev)
{
	struct virtio_blk *blk = container_of(dev, struct virtio_blk, dev);
	blk->saving = true;
	block_drain(blk->disk); /* every request done and pushed to the used ring */
	blk->saving = false;
	capture(blk);
	if (blk->interrupt_owed) { /* this machine goes on: its interrupt now */
		blk->interrupt_owed = false;
		virtio_pci_queue_done(blk->vp, 0);
	}
	return 0;
}

static int blk_post_load(struct device *dev, char *why, size_t why_len)
{
	struct virtio_blk *blk = container_of(dev, struct virtio_blk, dev);
	if (blk->s.capacity != blk->config.capacity) {
		snprintf(why, why_len, "%s: the disk has %llu sectors, the snapshot's had %llu", dev->name,
			 (unsigned long long)blk->config.capacity, (unsigned long long)blk->s.capacity);
		return -EINVAL;
	}
	/* pre_save drained the disk (a chain taken without an answer broke the queue). */
	if (virtio_pci_state_in_flight(&blk->s.vp, 0)) {
		snprintf(why, why_len, "%s: requests in flight", dev->name);
		return -EINVAL;
	}
	int r = virtio_pci_load(blk->vp, &blk->s.vp, why, why_len);
	if (r == 0)
		blk->interrupt_owed = blk->s.interrupt_owed; /* sent on the kick after the load */
	return r;
}

static void blk_device_destroy(struct device *dev)
{
	virtio_blk_destroy(container_of(dev, struct virtio_blk, dev));
}

static const struct device_class blk_class = {
	.type = "virtio-blk",
	.version = 1,
	.fields = blk_fields,
	.nfields = ARRAY_SIZE(blk_fields),
	.reset = blk_device_reset,
	.pre_save = blk_pre_save,
	.post_load = blk_post_load,
	.destroy = blk_device_destroy,
};

struct device *virtio_blk_device(struct virtio_blk *blk)
{
	return &blk->dev;
}

int virtio_blk_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram, struct event_loop *loop,
		      const struct virtio_kick_host *kicks, struct block_backend *disk, const char *serial,
		      struct virtio_blk **out)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	if (!blk) {
		block_close(disk);
		return -ENOMEM;
	}
	blk->disk = disk;
	memcpy(blk->serial, serial, strnlen(serial, sizeof(blk->serial))); /* not NUL-terminated when 20 long */
	struct virtio_blk_config *c = &blk->config;
	c->capacity = block_size(disk) / BLOCK_SECTOR;
	c->seg_max = SEG_MAX;
	c->blk_size = BLOCK_SECTOR;
	c->num_queues = 1;
	c->max_discard_sectors = MAX_DISCARD_SECTORS;
	c->max_discard_seg = 1;
	c->discard_sector_alignment = 4096 / BLOCK_SECTOR;
	c->max_write_zeroes_sectors = MAX_DISCARD_SECTORS;
	c->max_write_zeroes_seg = 1;
	c->write_zeroes_may_unmap = 1;
	uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ULL << VIRTIO_BLK_F_FLUSH);
	if (block_readonly(disk))
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	struct virtio_pci_info info = {
		.device_id = VIRTIO_ID_BLOCK,
		.class_code = PCI_CLASS_STORAGE_SCSI,
		.features = features,
		.num_queues = 1,
		.queue_size = QUEUE_SIZE,
		.config = &blk->config,
		.config_size = sizeof(blk->config),
		.ops = &blk_ops,
		.opaque = blk,
	};
	int r = block_start(disk, loop, io_done, blk);
	if (r == 0)
		r = virtio_pci_create(bus, devfn, ram, kicks, &info, &blk->vp);
	if (r < 0) {
		block_close(disk);
		free(blk);
		return r;
	}
	virtio_pci_device_init(blk->vp, &blk->dev, &blk_class, &blk->s);
	capture(blk);
	*out = blk;
	return 0;
}

void virtio_blk_reset(struct virtio_blk *blk)
{
	virtio_pci_reset(blk->vp);
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (!blk)
		return;
	virtio_pci_destroy(blk->vp); /* resets the device: nothing in flight after */
	block_close(blk->disk);
	free(blk);
}
