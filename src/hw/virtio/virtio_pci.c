/* SPDX-License-Identifier: MIT */
/*
 * virtio-pci, modern interface (virtio 1.2 §4.1). See virtio_pci.h.
 *
 * BAR 4 (64-bit memory, 32 KiB):
 *   0x0000 common configuration    0x3000 notifications, 4 bytes per queue
 *   0x1000 ISR status              0x4000 MSI-X table
 *   0x2000 device configuration    0x5000 MSI-X pending bits
 * Capabilities: MSI-X at 0x40, then common, ISR, device (if the device has a
 * configuration) and notify. Snapshots at the end (see virtio_pci.h).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/pci/msix.h"
#include "hw/virtio/virtio_pci.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define PCI_CAP_ID_VNDR 0x09

#define COMMON_OFF 0x0000
#define ISR_OFF 0x1000
#define DEVICE_OFF 0x2000
#define NOTIFY_OFF 0x3000
#define NOTIFY_MULT 4
#define MSIX_TABLE_OFF 0x4000
#define MSIX_PBA_OFF 0x5000
#define REGION_SIZE 0x1000
#define BAR_SIZE 0x8000

#define CAP_MSIX 0x40
#define CAP_COMMON (CAP_MSIX + MSIX_CAP_SIZE)
#define CAP_ISR (CAP_COMMON + 16)
#define CAP_DEVICE (CAP_ISR + 16)
#define CAP_NOTIFY (CAP_DEVICE + 16)

/* The status bits of virtio 1.2 §2.1; the others are reserved and not kept. */
#define STATUS_BITS                                                                                    \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK |            \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)

/* What the transport offers on its own: the ring layout and event features
 * (and VIRTIO_F_RING_PACKED when the machine asks: virtio_kick_host). */
#define TRANSPORT_FEATURES \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX))

/* An MSI-X vector's eventfd (virtio_kick_host.irqfd). */
struct vec_irqfd {
	int fd; /* -1: none */
	bool bound; /* to the message below: a write to fd is the interrupt */
	uint64_t addr;
	uint32_t data;
};

/* A queue's kick by eventfd (virtio_kick_host). */
struct kick {
	struct virtio_pci *vp;
	unsigned q;
	int fd; /* -1: none */
	uint64_t addr; /* where it is bound, or PCI_BAR_UNMAPPED */
};

struct virtio_pci {
	struct pci_device pci;
	struct virtio_kick_host kick_host;
	struct kick kicks[VIRTIO_PCI_MAX_QUEUES];
	struct vec_irqfd irqfds[VIRTIO_PCI_MAX_QUEUES + 1]; /* one per MSI-X vector */
	bool irqfd_unsupported; /* the host said -ENOTSUP: every vector goes through the bus */
	struct virtio_pci_info info;
	uint64_t features; /* offered */
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint16_t config_vector;
	uint16_t queue_vector[VIRTIO_PCI_MAX_QUEUES];
	uint8_t status, config_generation, isr;
	struct virtq vq[VIRTIO_PCI_MAX_QUEUES];
	const struct guest_ram *ram;
	struct msix msix;
	struct vtimer resume; /* after a snapshot load: kicks the queues (no clock: never armed) */
	char name[32]; /* the device object's, for messages */
};

/* ---- interrupts ---- */

static void interrupt(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (msix_enabled(&vp->msix)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			msix_notify(&vp->msix, vector);
		return;
	}
	vp->isr |= isr_bit;
	pci_set_irq(&vp->pci, 1);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	vp->config_generation++;
	if (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)
		interrupt(vp, vp->config_vector, VIRTIO_PCI_ISR_CONFIG);
}

/* The driver broke something the device cannot go on from (virtio 1.2 §2.1.2). */
static void needs_reset(struct virtio_pci *vp)
{
	if (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	log_guest("virtio device %02x.%x (id %u): the driver broke a queue; the device needs a reset",
		  PCI_SLOT(vp->pci.devfn), PCI_FUNC(vp->pci.devfn), vp->info.device_id);
	vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	virtio_pci_config_changed(vp);
}

void virtio_pci_queue_done(struct virtio_pci *vp, unsigned q)
{
	struct virtq *vq = &vp->vq[q];
	if (vq->broken)
		needs_reset(vp);
	else if (virtq_needs_interrupt(vq))
		interrupt(vp, vp->queue_vector[q], 1);
}

/* ---- interrupts by eventfd (irqfd) ---- */

/* Whether a queue or the configuration uses vector v. */
static bool vector_used(const struct virtio_pci *vp, unsigned v)
{
	if (vp->config_vector == v)
		return true;
	for (unsigned q = 0; q < vp->info.num_queues; q++)
		if (vp->queue_vector[q] == v)
			return true;
	return false;
}

/* Whether vector v's eventfd should be bound (virtio_pci.h, Interrupts). */
static bool irqfd_wanted(const struct virtio_pci *vp, unsigned v)
{
	return vp->irqfds[v].fd >= 0 && !vp->irqfd_unsupported && msix_vector_live(&vp->msix, v) &&
	       vector_used(vp, v);
}

static void irqfd_unbind(struct virtio_pci *vp, struct vec_irqfd *i)
{
	if (i->bound)
		(void)vp->kick_host.irqfd(vp->kick_host.opaque, i->fd, 0, 0, false);
	i->bound = false;
}

/* Empties an unbound eventfd: KVM_IRQFD delivers at once what it finds
 * there, and a kernel that does not consume what an irqfd delivered leaves
 * a count behind. */
static void drain(int fd)
{
	uint64_t n;
	ssize_t r = read(fd, &n, sizeof(n)); /* EAGAIN when empty */
	(void)r;
}

/* Binds, rebinds or unbinds each vector's eventfd as its state now asks;
 * nothing is asked of the host for a vector whose state did not change. */
static void sync_irqfds(struct virtio_pci *vp)
{
	for (unsigned v = 0; v < vp->msix.nvec; v++) {
		struct vec_irqfd *i = &vp->irqfds[v];
		if (i->fd < 0)
			continue;
		if (!irqfd_wanted(vp, v)) {
			irqfd_unbind(vp, i);
			continue;
		}
		uint64_t addr;
		uint32_t data;
		msix_message(&vp->msix, v, &addr, &data);
		if (i->bound && i->addr == addr && i->data == data)
			continue;
		if (!i->bound)
			drain(i->fd);
		int r = vp->kick_host.irqfd(vp->kick_host.opaque, i->fd, addr, data, true);
		if (r == 0) {
			if (!i->bound)
				log_guest("%s: MSI-X vector %u (message %#llx, data %#x) goes through an irqfd",
					  vp->name, v, (unsigned long long)addr, data);
			*i = (struct vec_irqfd){ .fd = i->fd, .bound = true, .addr = addr, .data = data };
			continue;
		}
		irqfd_unbind(vp, i); /* a refused new message: the old one must not stay */
		if (r == -ENOTSUP)
			vp->irqfd_unsupported = true;
		if (r != -EAGAIN) /* -EAGAIN: no engine yet; resume_fire binds it */
			log_guest("%s: MSI-X vector %u: no irqfd (%s); its messages go through the PCI bus", vp->name,
				  v, strerror(-r));
	}
}

/* msix_ops.send: a bound vector's message is one write to its eventfd. */
static bool irqfd_send(void *opaque, unsigned vector, uint64_t addr, uint32_t data)
{
	struct virtio_pci *vp = opaque;
	const struct vec_irqfd *i = &vp->irqfds[vector];
	/* Not a bus master: pci_msi_send drops it, as the bus would. */
	if (!i->bound || i->addr != addr || i->data != data || !(vp->pci.config[PCI_COMMAND] & PCI_COMMAND_MASTER))
		return false;
	uint64_t one = 1;
	return write(i->fd, &one, sizeof(one)) == (ssize_t)sizeof(one);
}

static void irqfd_changed(void *opaque)
{
	sync_irqfds(opaque);
}

static const struct msix_ops irqfd_msix_ops = { .send = irqfd_send, .changed = irqfd_changed };

/* An eventfd per vector when the host binds them (before any thread's sandbox). */
static void irqfds_init(struct virtio_pci *vp)
{
	for (unsigned v = 0; v < ARRAY_SIZE(vp->irqfds); v++)
		vp->irqfds[v] = (struct vec_irqfd){ .fd = -1 };
	if (!vp->kick_host.irqfd)
		return;
	for (unsigned v = 0; v < vp->msix.nvec; v++)
		vp->irqfds[v].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	msix_set_ops(&vp->msix, &irqfd_msix_ops, vp);
}

static void irqfds_destroy(struct virtio_pci *vp)
{
	for (unsigned v = 0; v < ARRAY_SIZE(vp->irqfds); v++) {
		struct vec_irqfd *i = &vp->irqfds[v];
		if (i->fd < 0)
			continue;
		irqfd_unbind(vp, i);
		close(i->fd);
		i->fd = -1;
	}
}

/* ---- reset ---- */

static void device_reset(struct virtio_pci *vp)
{
	vp->info.ops->reset(vp->info.opaque);
	for (unsigned q = 0; q < vp->info.num_queues; q++) {
		virtq_reset(&vp->vq[q], vp->ram);
		vp->vq[q].size = vp->info.queue_size;
		vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
	}
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	vp->status = 0;
	vp->isr = 0;
	pci_set_irq(&vp->pci, 0);
	sync_irqfds(vp); /* no vector in use */
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	vtimer_cancel(&vp->resume);
	device_reset(vp);
	msix_reset(&vp->msix);
	pci_device_reset(&vp->pci);
	sync_irqfds(vp);
}

/* ---- common configuration ---- */

static struct virtq *selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->info.num_queues ? &vp->vq[vp->queue_select] : NULL;
}

/* One field of the common configuration, at its own offset and width. */
static uint32_t common_field(struct virtio_pci *vp, unsigned off)
{
	struct virtq *q = selected(vp);
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF: return vp->dfselect < 2 ? (uint32_t)(vp->features >> (32 * vp->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT: return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX: return vp->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ: return vp->info.num_queues;
	case VIRTIO_PCI_COMMON_STATUS: return vp->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION: return vp->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT: return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_SIZE: return q ? q->size : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX: return q ? vp->queue_vector[vp->queue_select] : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return q ? q->enabled : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF: return q ? vp->queue_select : 0;
	case VIRTIO_PCI_COMMON_Q_DESCLO: return q ? (uint32_t)q->desc : 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI: return q ? (uint32_t)(q->desc >> 32) : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: return q ? (uint32_t)q->avail : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: return q ? (uint32_t)(q->avail >> 32) : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO: return q ? (uint32_t)q->used : 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI: return q ? (uint32_t)(q->used >> 32) : 0;
	default: return 0;
	}
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
	*field = high ? (*field & 0xffffffffULL) | (uint64_t)v << 32 : (*field & ~0xffffffffULL) | v;
}

/* The driver accepts features: a subset of the offer, VERSION_1 among them. */
static bool features_acceptable(const struct virtio_pci *vp)
{
	return !(vp->driver_features & ~vp->features) && (vp->driver_features >> VIRTIO_F_VERSION_1 & 1);
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
	if (v == 0) {
		device_reset(vp);
		return;
	}
	v &= STATUS_BITS;
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		if (!features_acceptable(vp))
			v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK; /* the driver reads it back and gives up */
		else {
			bool packed = vp->driver_features >> VIRTIO_F_RING_PACKED & 1;
			for (unsigned q = 0; q < vp->info.num_queues; q++) {
				vp->vq[q].event_idx = vp->driver_features >> VIRTIO_RING_F_EVENT_IDX & 1;
				vp->vq[q].packed = packed;
			}
			log_guest("%s: the driver took features %#llx (%s virtqueues)", vp->name,
				  (unsigned long long)vp->driver_features, packed ? "packed" : "split");
		}
	}
	/* Bits are only ever added by the driver; NEEDS_RESET stays the device's. */
	vp->status = (uint8_t)(v | (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void enable_queue(struct virtio_pci *vp, struct virtq *q)
{
	q->enabled = true;
	if (!virtq_rings_valid(q)) {
		q->broken = true;
		needs_reset(vp);
		return;
	}
	virtq_start(q);
}

static uint16_t valid_vector(const struct virtio_pci *vp, uint32_t v)
{
	return v < vp->msix.nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct virtio_pci *vp, unsigned off, uint32_t v)
{
	struct virtq *q = selected(vp);
	bool live = q && q->enabled; /* a live queue's layout is fixed until reset */
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: vp->dfselect = v; break;
	case VIRTIO_PCI_COMMON_GFSELECT: vp->gfselect = v; break;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->gfselect < 2 && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_half(&vp->driver_features, vp->gfselect, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->config_vector = valid_vector(vp, v);
		sync_irqfds(vp);
		break;
	case VIRTIO_PCI_COMMON_STATUS: write_status(vp, (uint8_t)v); break;
	case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_select = (uint16_t)v; break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* A split ring's size is a power of two; a packed one's any (§2.8.10.1). */
		if (q && !live && v && (q->packed || !(v & (v - 1))) && v <= vp->info.queue_size)
			q->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (q)
			vp->queue_vector[vp->queue_select] = valid_vector(vp, v);
		sync_irqfds(vp);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (q && !live && v == 1)
			enable_queue(vp, q);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO: case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (q && !live)
			set_half(&q->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (q && !live)
			set_half(&q->avail, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO: case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (q && !live)
			set_half(&q->used, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
		break;
	default: break; /* read-only or reserved */
	}
}

/* The width of the field at off (0: no field starts there). */
static unsigned common_width(unsigned off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_STATUS: case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	case VIRTIO_PCI_COMMON_MSIX: case VIRTIO_PCI_COMMON_NUMQ: case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE: case VIRTIO_PCI_COMMON_Q_MSIX: case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return 2;
	default:
		return off < VIRTIO_PCI_COMMON_Q_NDATA && off % 4 == 0 ? 4 : 0;
	}
}

/* ---- the BAR ---- */

static uint64_t bar_read(void *opaque, uint64_t offset, unsigned size)
{
	struct virtio_pci *vp = opaque;
	unsigned off = (unsigned)(offset % REGION_SIZE);
	switch (offset - off) {
	case COMMON_OFF: {
		unsigned w = common_width(off);
		if (w == size)
			return common_field(vp, off);
		if (size == 8 && w == 4 && off >= VIRTIO_PCI_COMMON_Q_DESCLO) /* a 64-bit address in one access */
			return common_field(vp, off) | (uint64_t)common_field(vp, off + 4) << 32;
		return 0;
	}
	case ISR_OFF: {
		if (off != 0)
			return 0;
		uint8_t v = vp->isr;
		vp->isr = 0;
		pci_set_irq(&vp->pci, 0);
		return v;
	}
	case DEVICE_OFF: {
		uint64_t v = 0;
		if (off + size <= vp->info.config_size)
			memcpy(&v, (const uint8_t *)vp->info.config + off, size);
		return v;
	}
	case MSIX_TABLE_OFF:
		return msix_table_read(&vp->msix, off, size);
	case MSIX_PBA_OFF:
		return msix_pba_read(&vp->msix, off, size);
	default:
		return 0;
	}
}

static void bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct virtio_pci *vp = opaque;
	unsigned off = (unsigned)(offset % REGION_SIZE);
	switch (offset - off) {
	case COMMON_OFF: {
		unsigned w = common_width(off);
		if (w == size) {
			common_write(vp, off, (uint32_t)value);
		} else if (size == 8 && w == 4 && off >= VIRTIO_PCI_COMMON_Q_DESCLO) {
			common_write(vp, off, (uint32_t)value);
			common_write(vp, off + 4, (uint32_t)(value >> 32));
		}
		break;
	}
	case DEVICE_OFF:
		if (size <= 4 && off + size <= vp->info.config_size && vp->info.ops->config_write)
			vp->info.ops->config_write(vp->info.opaque, off, (uint32_t)value, size);
		break;
	case NOTIFY_OFF:
		/* Kicks before DRIVER_OK are the driver's mistake (virtio 1.2 §3.1.1): ignored. */
		if (off % NOTIFY_MULT == 0 && off / NOTIFY_MULT < vp->info.num_queues &&
		    vp->vq[off / NOTIFY_MULT].enabled && virtio_pci_running(vp))
			vp->info.ops->notify(vp->info.opaque, off / NOTIFY_MULT);
		break;
	case MSIX_TABLE_OFF:
		msix_table_write(&vp->msix, off, value, size);
		break;
	default:
		break; /* ISR and PBA are read-only */
	}
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write, .min_size = 1, .max_size = 8 };

/* ---- kicks by eventfd ---- */

static void kick_ready(void *opaque, int fd, uint32_t events)
{
	(void)events;
	struct kick *k = opaque;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) == sizeof(n) && k->vp->vq[k->q].enabled && virtio_pci_running(k->vp))
		k->vp->info.ops->notify(k->vp->info.opaque, k->q);
}

/* Binds each queue's notification address in the BAR at addr (or nowhere). */
static void bind_kicks(struct virtio_pci *vp, uint64_t bar)
{
	for (unsigned q = 0; q < vp->info.num_queues; q++) {
		struct kick *k = &vp->kicks[q];
		if (k->fd < 0)
			continue;
		if (k->addr != PCI_BAR_UNMAPPED)
			(void)vp->kick_host.ioeventfd(vp->kick_host.opaque, k->addr, 2, k->fd, false);
		k->addr = PCI_BAR_UNMAPPED;
		uint64_t at = bar + NOTIFY_OFF + NOTIFY_MULT * q;
		if (bar != PCI_BAR_UNMAPPED && vp->kick_host.ioeventfd(vp->kick_host.opaque, at, 2, k->fd, true) == 0)
			k->addr = at;
	}
}

static void bar_moved(struct pci_device *dev, unsigned bar, uint64_t addr)
{
	if (bar == VIRTIO_PCI_BAR)
		bind_kicks(dev->opaque, addr);
}

/* One eventfd per queue, watched by the loop; bound when the BAR decodes. */
static void kicks_init(struct virtio_pci *vp, const struct virtio_kick_host *host)
{
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		vp->kicks[q] = (struct kick){ .vp = vp, .q = q, .fd = -1, .addr = PCI_BAR_UNMAPPED };
	if (!host || !host->ioeventfd || !host->loop)
		return;
	vp->kick_host = *host;
	for (unsigned q = 0; q < vp->info.num_queues; q++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			continue;
		if (evloop_add_fd(host->loop, fd, EPOLLIN, kick_ready, &vp->kicks[q]) < 0) {
			close(fd);
			continue;
		}
		vp->kicks[q].fd = fd;
	}
}

static void kicks_destroy(struct virtio_pci *vp)
{
	bind_kicks(vp, PCI_BAR_UNMAPPED);
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
		if (vp->kicks[q].fd < 0)
			continue;
		evloop_del_fd(vp->kick_host.loop, vp->kicks[q].fd);
		close(vp->kicks[q].fd);
	}
}

/* ---- snapshots ---- */

/* The first run after a load: the vectors' eventfds bound to their messages
 * (at load time the engine did not exist yet), and a kick on every live
 * queue, so that what the driver kicked for before the snapshot (a request
 * the device held, a frame waiting for room) moves on without another kick
 * from it. A kick finding nothing to do is harmless. */
static void resume_fire(void *opaque)
{
	struct virtio_pci *vp = opaque;
	sync_irqfds(vp); /* the engine exists now: the vectors' bindings (virtio_pci_load) */
	for (unsigned q = 0; q < vp->info.num_queues; q++)
		if (vp->vq[q].enabled && virtio_pci_running(vp))
			vp->info.ops->notify(vp->info.opaque, q);
}

/* ---- PCI ---- */

static void config_written(struct pci_device *dev, unsigned offset, uint32_t value, unsigned size)
{
	(void)offset;
	(void)value;
	(void)size;
	struct virtio_pci *vp = dev->opaque;
	msix_config_written(&vp->msix);
}

/* A virtio vendor capability (struct virtio_pci_cap): region type, where in the BAR, how long. */
static void put_cap(struct pci_device *dev, unsigned at, unsigned next, uint8_t type, uint32_t offset,
		    uint32_t length, unsigned len)
{
	uint8_t *c = &dev->config[at];
	c[0] = PCI_CAP_ID_VNDR;
	c[1] = (uint8_t)next;
	c[2] = (uint8_t)len;
	c[3] = type;
	c[4] = VIRTIO_PCI_BAR;
	memcpy(&c[8], &offset, 4);
	memcpy(&c[12], &length, 4);
}

int virtio_pci_create(struct pci_bus *bus, unsigned devfn, const struct guest_ram *ram,
		      const struct virtio_kick_host *kicks, const struct virtio_pci_info *info, struct virtio_pci **out)
{
	if (info->num_queues == 0 || info->num_queues > VIRTIO_PCI_MAX_QUEUES || info->config_size > 256 ||
	    !info->queue_size || (info->queue_size & (info->queue_size - 1)) || info->queue_size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->info = *info;
	vp->ram = ram;
	if (kicks)
		vp->kick_host = *kicks;
	vtimer_init(&vp->resume, kicks && kicks->loop ? kicks->loop->clock : NULL, resume_fire, vp);
	snprintf(vp->name, sizeof(vp->name), "virtio %02x.%x", PCI_SLOT(devfn), PCI_FUNC(devfn));
	vp->features = info->features | TRANSPORT_FEATURES | (kicks && kicks->ring_packed ? 1ULL << VIRTIO_F_RING_PACKED : 0);
	struct pci_device *dev = &vp->pci;
	/* Revision 1: a modern-only device (virtio 1.2 §4.1.2.1). */
	pci_device_init(dev, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + info->device_id), info->class_code,
			1, 0);
	dev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->config[PCI_CAPABILITY_LIST] = CAP_MSIX;
	msix_init(&vp->msix, dev, CAP_MSIX, CAP_COMMON, info->num_queues + 1, VIRTIO_PCI_BAR, MSIX_TABLE_OFF,
		  MSIX_PBA_OFF);
	put_cap(dev, CAP_COMMON, CAP_ISR, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, VIRTIO_PCI_COMMON_Q_NDATA, 16);
	/* A device without configuration (virtio-rng) has no device capability. */
	put_cap(dev, CAP_ISR, info->config_size ? CAP_DEVICE : CAP_NOTIFY, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 1, 16);
	if (info->config_size)
		put_cap(dev, CAP_DEVICE, CAP_NOTIFY, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_OFF, info->config_size, 16);
	put_cap(dev, CAP_NOTIFY, 0, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF, NOTIFY_MULT * info->num_queues, 20);
	uint32_t mult = NOTIFY_MULT;
	memcpy(&dev->config[CAP_NOTIFY + 16], &mult, 4);
	pci_device_set_intx_pin(dev, 1);
	dev->config_write = config_written;
	dev->bar_moved = bar_moved;
	dev->opaque = vp;
	kicks_init(vp, kicks);
	irqfds_init(vp);
	int r = pci_device_set_bar(dev, VIRTIO_PCI_BAR, PCI_BAR_MEM64, BAR_SIZE, &bar_ops, vp);
	if (r == 0)
		r = pci_bus_add_device(bus, dev, devfn);
	if (r < 0) {
		kicks_destroy(vp);
		irqfds_destroy(vp);
		free(vp);
		return r;
	}
	virtio_pci_reset(vp);
	*out = vp;
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp)
		return;
	vtimer_cancel(&vp->resume);
	vp->info.ops->reset(vp->info.opaque);
	if (vp->pci.bus)
		pci_bus_remove_device(vp->pci.bus, &vp->pci);
	kicks_destroy(vp);
	irqfds_destroy(vp);
	free(vp);
}

struct virtq *virtio_pci_queue(struct virtio_pci *vp, unsigned q)
{
	return q < vp->info.num_queues ? &vp->vq[q] : NULL;
}

uint64_t virtio_pci_features(const struct virtio_pci *vp)
{
	return vp->driver_features;
}

bool virtio_pci_running(const struct virtio_pci *vp)
{
	return (vp->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(vp->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void virtio_pci_device_init(struct virtio_pci *vp, struct device *dev, const struct device_class *cls,
			    void *state)
{
	char name[sizeof(dev->name)];
	snprintf(name, sizeof(name), "%s@%02x.%x", cls->type, PCI_SLOT(vp->pci.devfn), PCI_FUNC(vp->pci.devfn));
	device_init(dev, cls, name, state);
	snprintf(vp->name, sizeof(vp->name), "%s", name);
}

void virtio_pci_save(const struct virtio_pci *vp, struct virtio_pci_state *s)
{
	memset(s, 0, sizeof(*s));
	pci_device_save_config(&vp->pci, s->pci_config);
	s->status = vp->status;
	s->config_generation = vp->config_generation;
	s->isr = vp->isr;
	s->driver_features = vp->driver_features;
	s->dfselect = vp->dfselect;
	s->gfselect = vp->gfselect;
	s->queue_select = vp->queue_select;
	s->config_vector = vp->config_vector;
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
		s->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
		if (q >= vp->info.num_queues)
			continue;
		const struct virtq *vq = &vp->vq[q];
		s->queue_vector[q] = vp->queue_vector[q];
		s->queue_size[q] = vq->size;
		s->queue_enabled[q] = vq->enabled;
		s->queue_desc[q] = vq->desc;
		s->queue_avail[q] = vq->avail;
		s->queue_used[q] = vq->used;
		s->last_avail[q] = vq->last_avail;
		s->used_idx[q] = vq->used_idx;
		s->signalled_used[q] = vq->signalled_used;
		s->signalled_valid[q] = vq->signalled_valid;
		s->event_idx[q] = vq->event_idx;
		s->queue_broken[q] = vq->broken;
	}
	msix_save(&vp->msix, s->msix_table, &s->msix_pending);
}

static bool vector_ok(const struct virtio_pci *vp, uint16_t v)
{
	return v == VIRTIO_MSI_NO_VECTOR || v < vp->msix.nvec;
}

/* What is wrong with queue q's saved state, or NULL. */
static const char *queue_check(const struct virtio_pci *vp, const struct virtio_pci_state *s, unsigned q)
{
	if (q >= vp->info.num_queues) {
		if (s->queue_vector[q] != VIRTIO_MSI_NO_VECTOR || s->queue_size[q] || s->queue_enabled[q] ||
		    s->queue_desc[q] || s->queue_avail[q] || s->queue_used[q] || s->last_avail[q] || s->used_idx[q] ||
		    s->signalled_used[q] || s->signalled_valid[q] || s->event_idx[q] || s->queue_broken[q])
			return "state for a queue the device does not have";
		return NULL;
	}
	uint16_t size = s->queue_size[q];
	bool packed = (s->status & VIRTIO_CONFIG_S_FEATURES_OK) && (s->driver_features >> VIRTIO_F_RING_PACKED & 1);
	if (!size || (!packed && (size & (size - 1))) || size > vp->info.queue_size)
		return "a queue size the driver cannot set";
	if (!vector_ok(vp, s->queue_vector[q]))
		return "a queue vector past the MSI-X table";
	if (s->queue_broken[q] && !s->queue_enabled[q])
		return "a broken queue that was never enabled";
	if (!s->queue_enabled[q] && (s->last_avail[q] || s->used_idx[q] || s->signalled_used[q] || s->signalled_valid[q]))
		return "ring indexes on a queue that was never enabled";
	/* As when the driver enabled it; a broken queue is never touched again. */
	struct virtq t = { .size = size, .desc = s->queue_desc[q], .avail = s->queue_avail[q],
			   .used = s->queue_used[q], .packed = packed, .last_avail = s->last_avail[q],
			   .used_idx = s->used_idx[q], .signalled_used = s->signalled_used[q], .ram = vp->ram };
	if (s->queue_enabled[q] && !virtq_indexes_valid(&t))
		return "more requests taken than the queue holds";
	if (s->queue_enabled[q] && !s->queue_broken[q] && !virtq_rings_valid(&t))
		return "rings outside guest RAM";
	return NULL;
}

int virtio_pci_load(struct virtio_pci *vp, const struct virtio_pci_state *s, char *why, size_t why_len)
{
	const char *bad = NULL;
	if (s->status & ~STATUS_BITS)
		bad = "reserved status bits";
	/* Until FEATURES_OK the driver's bits are only a register (write_status
	 * refuses FEATURES_OK for bits not offered); from then on they are the
	 * device's behaviour. */
	else if ((s->status & VIRTIO_CONFIG_S_FEATURES_OK) && (s->driver_features & ~vp->features))
		bad = "features the device does not offer";
	else if ((s->status & VIRTIO_CONFIG_S_FEATURES_OK) && !(s->driver_features >> VIRTIO_F_VERSION_1 & 1))
		bad = "FEATURES_OK without VERSION_1";
	else if (s->isr & ~(1 | VIRTIO_PCI_ISR_CONFIG))
		bad = "reserved ISR bits";
	else if (!s->isr != !(s->pci_config[PCI_STATUS] & PCI_STATUS_INTERRUPT))
		bad = "an INTx level that is not the ISR's";
	else if (!vector_ok(vp, s->config_vector))
		bad = "a configuration vector past the MSI-X table";
	for (unsigned q = 0; q < VIRTIO_PCI_MAX_QUEUES && !bad; q++)
		bad = queue_check(vp, s, q);
	if (bad) {
		snprintf(why, why_len, "%s: %s", vp->name, bad);
		return -EINVAL;
	}
	int r = pci_device_load_config(&vp->pci, s->pci_config, why, why_len);
	if (r == 0)
		r = msix_load(&vp->msix, s->msix_table, s->msix_pending, why, why_len);
	if (r < 0)
		return r;
	vp->status = s->status;
	vp->config_generation = s->config_generation;
	vp->isr = s->isr;
	vp->driver_features = s->driver_features;
	vp->dfselect = s->dfselect;
	vp->gfselect = s->gfselect;
	vp->queue_select = s->queue_select;
	vp->config_vector = s->config_vector;
	for (unsigned q = 0; q < vp->info.num_queues; q++) {
		struct virtq *vq = &vp->vq[q];
		vp->queue_vector[q] = s->queue_vector[q];
		vq->size = s->queue_size[q];
		vq->enabled = s->queue_enabled[q];
		vq->desc = s->queue_desc[q];
		vq->avail = s->queue_avail[q];
		vq->used = s->queue_used[q];
		vq->last_avail = s->last_avail[q];
		vq->used_idx = s->used_idx[q];
		vq->signalled_used = s->signalled_used[q];
		vq->signalled_valid = s->signalled_valid[q];
		vq->event_idx = s->event_idx[q];
		vq->packed = (s->status & VIRTIO_CONFIG_S_FEATURES_OK) && (s->driver_features >> VIRTIO_F_RING_PACKED & 1);
		vq->broken = s->queue_broken[q];
	}
	sync_irqfds(vp);
	bool unbound = false; /* the engine may not exist yet: bound once the machine runs */
	for (unsigned v = 0; v < vp->msix.nvec; v++)
		unbound |= irqfd_wanted(vp, v) && !vp->irqfds[v].bound;
	if (vp->resume.clock && (virtio_pci_running(vp) || unbound) &&
	    vtimer_arm(&vp->resume, vclock_now(vp->resume.clock)) < 0) {
		snprintf(why, why_len, "%s: out of memory", vp->name);
		return -ENOMEM;
	}
	return 0;
}
