/* SPDX-License-Identifier: MIT */
/*
 * MSI-X vectors delivered through eventfds (irqfd). The transport
 * (virtio_pci.c) against a host that records its bindings: a vector's eventfd
 * is bound while MSI-X is on, the vector and the function are unmasked and a
 * queue or the configuration uses it; it follows a new message, is unbound
 * while masked (the interrupt waits in the pending bit and goes out through
 * the eventfd on unmasking), with MSI-X off, after a device or machine reset
 * and on destroy; a function that is not a bus master sends nothing; a host
 * without irqfds gets every message on the PCI bus; a loaded snapshot binds
 * again once the machine runs. Then the kvm engine's side (kvm_irqchip.c)
 * with the in-kernel irqchip: a write to a bound eventfd lands in the local
 * APIC's IRR, a new message on the same GSI, an unbound eventfd reaching
 * nobody, GSIs reused, the limit of routes, the IOAPIC's pins still routed
 * (skipped where /dev/kvm is unusable).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "core/event_loop.h"
#include "core/statebuf.h"
#include "engine/kvm/kvm_internal.h"
#include "hw/device.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_rng.h"

#define RAM_SIZE (4 * MiB)
#define BAR_ADDR 0xc0000000ULL
#define DEVFN PCI_DEVFN(4, 0)
#define RING 0x40000ULL /* descriptors; available ring +0x1000; used ring +0x2000 */
#define BUF 0x100000ULL
#define QSIZE 8
#define MSI_ADDR 0xfee00000ULL
#define CONFIG_DATA 0x50 /* vector 0: configuration changes */
#define QUEUE_DATA 0x51 /* vector 1: queue 0 */
#define TABLE 0x4000 /* in the BAR */
#define PBA 0x5000
#define MSIX_CONTROL 0x42 /* the capability at 0x40 */

struct binding {
	int fd;
	uint64_t addr;
	uint32_t data;
	bool bound;
};

/* RAM, a PCI bus whose MSIs are counted, virtio-rng at 04.0 and a host that
 * binds eventfds as asked (or answers result). The lock is held throughout. */
struct machine {
	struct guest_ram ram;
	struct bus mmio;
	struct pci_bus *pci;
	struct vclock clock;
	pthread_mutex_t lock;
	struct event_loop loop;
	struct virtio_kick_host host;
	struct virtio_rng *rng;
	unsigned bus_msis;
	uint32_t bus_data; /* the last one's */
	int result; /* what the host answers a binding (0: it binds) */
	unsigned calls, binds, updates, unbinds;
	struct binding b[8];
	unsigned nb;
};

static void on_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;
	CHECK_EQ(addr, MSI_ADDR);
	m->bus_msis++;
	m->bus_data = data;
}

static struct binding *binding_of(struct machine *m, int fd)
{
	for (unsigned i = 0; i < m->nb; i++)
		if (m->b[i].fd == fd)
			return &m->b[i];
	if (m->nb == ARRAY_SIZE(m->b))
		return NULL;
	m->b[m->nb] = (struct binding){ .fd = fd };
	return &m->b[m->nb++];
}

static int host_irqfd(void *opaque, int fd, uint64_t addr, uint32_t data, bool assign)
{
	struct machine *m = opaque;
	m->calls++;
	struct binding *b = binding_of(m, fd);
	CHECK(b != NULL);
	if (!b)
		return -ENOSPC;
	if (!assign) {
		CHECK(b->bound); /* the transport unbinds only what it bound */
		b->bound = false;
		m->unbinds++;
		return 0;
	}
	if (m->result)
		return m->result;
	if (b->bound)
		m->updates++;
	else
		m->binds++;
	*b = (struct binding){ .fd = fd, .addr = addr, .data = data, .bound = true };
	return 0;
}

static struct machine *machine_init(void)
{
	struct machine *m = calloc(1, sizeof(*m));
	vclock_init(&m->clock);
	pthread_mutex_init(&m->lock, NULL);
	CHECK(ram_init(&m->ram, RAM_SIZE) == 0);
	CHECK(evloop_init(&m->loop, &m->clock, &m->lock) == 0);
	bus_init(&m->mmio, "mmio");
	m->pci = pci_bus_create();
	pci_bus_set_address_spaces(m->pci, NULL, &m->mmio);
	pci_bus_set_msi_handler(m->pci, on_msi, m);
	m->host = (struct virtio_kick_host){ .loop = &m->loop, .irqfd = host_irqfd, .opaque = m };
	CHECK(virtio_rng_create(m->pci, DEVFN, &m->ram, &m->host, &m->rng) == 0);
	pthread_mutex_lock(&m->lock);
	return m;
}

static void machine_fini(struct machine *m)
{
	pthread_mutex_unlock(&m->lock);
	virtio_rng_destroy(m->rng);
	pci_bus_destroy(m->pci);
	bus_destroy(&m->mmio);
	evloop_destroy(&m->loop);
	vclock_destroy(&m->clock);
	ram_destroy(&m->ram);
	free(m);
}

static void wr(struct machine *m, uint64_t off, unsigned size, uint64_t v)
{
	bus_write(&m->mmio, BAR_ADDR + off, size, v);
}

static uint64_t rd(struct machine *m, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	bus_read(&m->mmio, BAR_ADDR + off, size, &v);
	return v;
}

static void cfg_wr(struct machine *m, unsigned off, uint32_t v, unsigned size)
{
	pci_config_write(m->pci, DEVFN, off, v, size);
}

static uint16_t used_idx(struct machine *m)
{
	uint16_t v = 0;
	CHECK(ram_read(&m->ram, RING + 0x2000 + 2, &v, 2) == 0);
	return v;
}

/* One 16-byte request (the device fills it on this thread, kicked through the BAR). */
static void request(struct machine *m)
{
	uint16_t idx = 0;
	CHECK(ram_read(&m->ram, RING + 0x1000 + 2, &idx, 2) == 0);
	uint16_t head = idx % QSIZE;
	struct vring_desc d = { .addr = BUF + 16 * head, .len = 16, .flags = VRING_DESC_F_WRITE };
	CHECK(ram_write(&m->ram, RING + 16 * head, &d, sizeof(d)) == 0);
	CHECK(ram_write(&m->ram, RING + 0x1000 + 4 + 2 * head, &head, 2) == 0);
	idx++;
	CHECK(ram_write(&m->ram, RING + 0x1000 + 2, &idx, 2) == 0);
	wr(m, 0x3000, 2, 0);
	CHECK_EQ(used_idx(m), idx);
}

/* A driver's set-up: MSI-X on, vector 0 for configuration changes and 1 for
 * queue 0, both unmasked; queue 0 of QSIZE entries; DRIVER_OK. */
static void driver_init(struct machine *m)
{
	cfg_wr(m, PCI_BASE_ADDRESS_0 + 16, (uint32_t)BAR_ADDR | PCI_BAR_MEM64, 4);
	cfg_wr(m, PCI_BASE_ADDRESS_0 + 20, 0, 4);
	cfg_wr(m, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	cfg_wr(m, MSIX_CONTROL, 0x8000, 2);
	wr(m, TABLE + 0x00, 8, MSI_ADDR);
	wr(m, TABLE + 0x08, 4, CONFIG_DATA);
	wr(m, TABLE + 0x0c, 4, 0);
	wr(m, TABLE + 0x10, 8, MSI_ADDR);
	wr(m, TABLE + 0x18, 4, QUEUE_DATA);
	wr(m, TABLE + 0x1c, 4, 0);
	CHECK_EQ(m->calls, 0); /* no vector in use yet */
	wr(m, 0x14, 1, 0);
	wr(m, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(m, 0x08, 4, 1);
	wr(m, 0x0c, 4, 1); /* VERSION_1 */
	wr(m, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(m, 0x10, 2, 0);
	wr(m, 0x16, 2, 0);
	wr(m, 0x18, 2, QSIZE);
	wr(m, 0x1a, 2, 1);
	wr(m, 0x20, 8, RING);
	wr(m, 0x28, 8, RING + 0x1000);
	wr(m, 0x30, 8, RING + 0x2000);
	wr(m, 0x1c, 2, 1);
	wr(m, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
				VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(rd(m, 0x14, 1), 0x0f);
}

/* The eventfd bound to a message with data, or -1. */
static int bound_fd(struct machine *m, uint32_t data)
{
	for (unsigned i = 0; i < m->nb; i++)
		if (m->b[i].bound && m->b[i].data == data) {
			CHECK_EQ(m->b[i].addr, MSI_ADDR);
			return m->b[i].fd;
		}
	return -1;
}

static unsigned nbound(struct machine *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->nb; i++)
		n += m->b[i].bound;
	return n;
}

/* What was written to eventfd fd since the last look. */
static uint64_t signals(int fd)
{
	uint64_t n = 0;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0; /* EAGAIN: nothing */
	return n;
}

static void test_bindings_follow_the_vectors(void)
{
	struct machine *m = machine_init();
	driver_init(m);
	CHECK_EQ(m->binds, 2);
	CHECK_EQ(nbound(m), 2);
	int cfg_fd = bound_fd(m, CONFIG_DATA), q_fd = bound_fd(m, QUEUE_DATA);
	CHECK(cfg_fd >= 0 && q_fd >= 0 && cfg_fd != q_fd);

	/* A completion: one write to the queue vector's eventfd, nothing on the bus. */
	request(m);
	CHECK_EQ(signals(q_fd), 1);
	CHECK_EQ(signals(cfg_fd), 0);
	CHECK_EQ(m->bus_msis, 0);

	/* A new message while unmasked: the same eventfd, rebound to it. */
	wr(m, TABLE + 0x18, 4, QUEUE_DATA + 1);
	CHECK_EQ(m->updates, 1);
	CHECK_EQ(bound_fd(m, QUEUE_DATA + 1), q_fd);
	unsigned calls = m->calls;
	wr(m, TABLE + 0x18, 4, QUEUE_DATA + 1); /* the same message again: nothing asked of the host */
	wr(m, 0x1a, 2, 1);
	CHECK_EQ(m->calls, calls);

	/* Masked: unbound, the interrupt waits in the pending bit; unmasking
	 * binds again and sends it through the eventfd. */
	wr(m, TABLE + 0x1c, 4, 1);
	CHECK_EQ(bound_fd(m, QUEUE_DATA + 1), -1);
	CHECK_EQ(m->unbinds, 1);
	request(m);
	CHECK_EQ(signals(q_fd), 0);
	CHECK_EQ(m->bus_msis, 0);
	CHECK_EQ(rd(m, PBA, 8), 2);
	wr(m, TABLE + 0x18, 4, QUEUE_DATA + 2); /* a new message meanwhile */
	CHECK_EQ(m->calls, calls + 1);
	wr(m, TABLE + 0x1c, 4, 0);
	CHECK_EQ(bound_fd(m, QUEUE_DATA + 2), q_fd);
	CHECK_EQ(signals(q_fd), 1);
	CHECK_EQ(rd(m, PBA, 8), 0);
	CHECK_EQ(m->bus_msis, 0);

	/* The function mask: both unbound, the pending bit, both bound again. */
	cfg_wr(m, MSIX_CONTROL, 0xc000, 2);
	CHECK_EQ(nbound(m), 0);
	request(m);
	CHECK_EQ(signals(q_fd), 0);
	CHECK_EQ(rd(m, PBA, 8), 2);
	cfg_wr(m, MSIX_CONTROL, 0x8000, 2);
	CHECK_EQ(nbound(m), 2);
	CHECK_EQ(signals(q_fd), 1);
	CHECK_EQ(rd(m, PBA, 8), 0);

	/* Not a bus master: no message at all, as on the bus. */
	cfg_wr(m, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	request(m);
	CHECK_EQ(signals(q_fd), 0);
	CHECK_EQ(m->bus_msis, 0);
	cfg_wr(m, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

	/* A vector no queue uses any more: unbound. */
	wr(m, 0x1a, 2, VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(nbound(m), 1);
	CHECK_EQ(bound_fd(m, CONFIG_DATA), cfg_fd);
	wr(m, 0x1a, 2, 1);
	CHECK_EQ(nbound(m), 2);

	/* MSI-X off: unbound; INTx and the ISR byte. */
	cfg_wr(m, MSIX_CONTROL, 0, 2);
	CHECK_EQ(nbound(m), 0);
	request(m);
	CHECK_EQ(signals(q_fd), 0);
	CHECK_EQ(rd(m, 0x1000, 1), 1);
	cfg_wr(m, MSIX_CONTROL, 0x8000, 2);
	CHECK_EQ(nbound(m), 2);

	/* A device reset leaves no vector in use; a machine reset masks them all. */
	wr(m, 0x14, 1, 0);
	CHECK_EQ(nbound(m), 0);
	wr(m, 0x10, 2, 0);
	CHECK_EQ(nbound(m), 1);
	struct device *dev = virtio_rng_device(m->rng);
	dev->cls->reset(dev);
	CHECK_EQ(nbound(m), 0);

	/* Destroy: what is bound is unbound, the eventfds closed. */
	m->calls = m->binds = m->updates = m->unbinds = 0;
	m->nb = 0;
	driver_init(m);
	CHECK_EQ(nbound(m), 2);
	int fds[2] = { bound_fd(m, CONFIG_DATA), bound_fd(m, QUEUE_DATA) };
	pthread_mutex_unlock(&m->lock);
	virtio_rng_destroy(m->rng);
	pthread_mutex_lock(&m->lock);
	m->rng = NULL;
	CHECK_EQ(nbound(m), 0);
	for (unsigned i = 0; i < 2; i++)
		CHECK(fcntl(fds[i], F_GETFD) < 0 && errno == EBADF);
	CHECK(virtio_rng_create(m->pci, DEVFN, &m->ram, &m->host, &m->rng) == 0);
	machine_fini(m);
}

/* A host that cannot bind: every message on the PCI bus, asked once. */
static void test_no_irqfd(void)
{
	struct machine *m = machine_init();
	m->result = -ENOTSUP;
	driver_init(m);
	CHECK_EQ(nbound(m), 0);
	CHECK_EQ(m->calls, 1); /* the first refusal holds for the device */
	request(m);
	CHECK_EQ(m->bus_msis, 1);
	CHECK_EQ(m->bus_data, QUEUE_DATA);
	wr(m, TABLE + 0x1c, 4, 1);
	request(m);
	CHECK_EQ(m->bus_msis, 1);
	CHECK_EQ(rd(m, PBA, 8), 2);
	wr(m, TABLE + 0x1c, 4, 0);
	CHECK_EQ(m->bus_msis, 2);
	CHECK_EQ(m->calls, 1);

	/* Out of routes: that vector goes through the bus and the next change tries again. */
	struct machine *n = machine_init();
	n->result = -ENOSPC;
	driver_init(n);
	CHECK_EQ(nbound(n), 0);
	request(n);
	CHECK_EQ(n->bus_msis, 1);
	n->result = 0;
	wr(n, TABLE + 0x18, 4, QUEUE_DATA);
	CHECK_EQ(nbound(n), 2);
	request(n);
	CHECK_EQ(n->bus_msis, 1);
	CHECK_EQ(signals(bound_fd(n, QUEUE_DATA)), 1);
	machine_fini(n);
	machine_fini(m);
}

/* A snapshot loaded before the engine exists (the host says -EAGAIN): the
 * vectors are bound from the loaded table once the machine runs, and a
 * vector pending in the snapshot goes out through its eventfd when unmasked. */
static void test_snapshot(void)
{
	struct machine *a = machine_init();
	driver_init(a);
	wr(a, TABLE + 0x0c, 4, 1); /* configuration vector masked ... */
	wr(a, TABLE + 0x08, 4, CONFIG_DATA + 8);
	wr(a, 0x1a, 2, 0); /* ... and queue 0 on it: pending after a request */
	request(a);
	CHECK_EQ(rd(a, PBA, 8), 1);
	wr(a, TABLE + 0x18, 4, QUEUE_DATA + 4); /* vector 1: configuration only */
	wr(a, 0x10, 2, 1);
	struct statebuf sb;
	sb_init(&sb);
	CHECK_EQ(device_save(virtio_rng_device(a->rng), &sb), 0);
	uint8_t *ram = malloc(RAM_SIZE);
	memcpy(ram, a->ram.host, RAM_SIZE);
	machine_fini(a);

	struct machine *b = machine_init();
	memcpy(b->ram.host, ram, RAM_SIZE);
	b->result = -EAGAIN;
	struct state_reader sr;
	sr_init(&sr, sb.data, sb.len);
	char why[256] = "";
	CHECK_EQ(device_load(virtio_rng_device(b->rng), &sr, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(nbound(b), 0);
	b->result = 0;
	vclock_run_expired(&b->clock, vclock_now(&b->clock)); /* the machine runs */
	CHECK_EQ(nbound(b), 1);
	int fd1 = bound_fd(b, QUEUE_DATA + 4);
	CHECK(fd1 >= 0);
	request(b); /* queue 0 on the masked vector 0 */
	CHECK_EQ(b->bus_msis, 0);
	wr(b, TABLE + 0x0c, 4, 0);
	int fd0 = bound_fd(b, CONFIG_DATA + 8);
	CHECK(fd0 >= 0);
	CHECK_EQ(signals(fd0), 1); /* the two pending interrupts, one message */
	CHECK_EQ(rd(b, PBA, 8), 0);
	CHECK_EQ(b->bus_msis, 0);
	wr(b, 0x1a, 2, 1);
	request(b);
	CHECK_EQ(signals(fd1), 1);
	sb_free(&sb);
	free(ram);
	machine_fini(b);
}

/* ---- the kvm engine's side ---- */

struct kvm_machine {
	struct guest_ram ram;
	struct engine *eng;
	struct vcpu *vcpu;
};

static void no_pio(void *o, uint16_t port, void *data, unsigned size, bool is_write)
{
	(void)o, (void)port, (void)data, (void)size, (void)is_write;
}

static void no_mmio(void *o, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	(void)o, (void)gpa, (void)data, (void)size, (void)is_write;
}

static int64_t zero_clock(void *o)
{
	(void)o;
	return 0;
}

/* A VM with the in-kernel irqchip and vCPU 0, its local APIC software-enabled.
 * NULL (with the reason in *skip) where that cannot be. */
static struct kvm_machine *kvm_machine_create(const char **skip)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*skip = "/dev/kvm unusable";
		return NULL;
	}
	close(fd);
	struct kvm_machine *k = calloc(1, sizeof(*k));
	CHECK(ram_init(&k->ram, 2 * MiB) == 0);
	struct engine_host host = { .ram = &k->ram, .pio = no_pio, .mmio = no_mmio, .clock_ns = zero_clock,
				    .irqchip_kernel = true };
	char why[256];
	int r = kvm_engine_ops.create(&host, &k->eng, why, sizeof(why));
	if (r == 0 && (r = kvm_engine_ops.vcpu_create(k->eng, 0, &k->vcpu, why, sizeof(why))) < 0)
		kvm_engine_ops.destroy(k->eng);
	if (r < 0) {
		printf("# %s\n", why);
		ram_destroy(&k->ram);
		free(k);
		*skip = "no in-kernel irqchip here";
		return NULL;
	}
	struct kvm_lapic_state lapic;
	CHECK(kvmeng_ioctl(k->vcpu->fd, KVM_GET_LAPIC, &lapic) == 0);
	lapic.regs[0xf0] = 0xff;
	lapic.regs[0xf1] |= 1; /* SVR: APIC software-enabled */
	CHECK(kvmeng_ioctl(k->vcpu->fd, KVM_SET_LAPIC, &lapic) == 0);
	return k;
}

static void kvm_machine_destroy(struct kvm_machine *k)
{
	kvm_engine_ops.vcpu_destroy(k->vcpu);
	kvm_engine_ops.destroy(k->eng);
	ram_destroy(&k->ram);
	free(k);
}

/* Vector vec's bit in the local APIC's IRR. */
static bool irr(struct kvm_machine *k, unsigned vec)
{
	struct kvm_lapic_state lapic;
	CHECK(kvmeng_ioctl(k->vcpu->fd, KVM_GET_LAPIC, &lapic) == 0);
	uint32_t w;
	memcpy(&w, &lapic.regs[0x200 + (vec / 32) * 0x10], 4);
	return w >> (vec % 32) & 1;
}

/* The same once set, or false after a while: the kernel may deliver an
 * irqfd's interrupt from a work queue. */
static bool irr_soon(struct kvm_machine *k, unsigned vec)
{
	for (unsigned i = 0; i < 2000 && !irr(k, vec); i++)
		usleep(1000);
	return irr(k, vec);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	CHECK(write(fd, &one, sizeof(one)) == sizeof(one));
}

static void test_kvm_msi_routes(void)
{
	const char *skip = NULL;
	struct kvm_machine *k = kvm_machine_create(&skip);
	if (!k)
		SKIP(skip);
	struct engine *eng = k->eng;
	if (!eng->has_irqfd) {
		kvm_machine_destroy(k);
		SKIP("no KVM_CAP_IRQFD here");
	}
	CHECK(eng->gsi_limit > 24);
	int e1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), e2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(e1 >= 0 && e2 >= 0);

	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, MSI_ADDR, 0x41, true), 0);
	CHECK_EQ(eng->n_msi, 1);
	CHECK_EQ(eng->msi[0].gsi, 24); /* the first past the IOAPIC's pins */
	CHECK(!irr(k, 0x41));
	signal_fd(e1);
	CHECK(irr_soon(k, 0x41));

	/* A new message: the same GSI, the irqfd follows the table. */
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, MSI_ADDR, 0x42, true), 0);
	CHECK_EQ(eng->n_msi, 1);
	signal_fd(e1);
	CHECK(irr_soon(k, 0x42));

	/* A second eventfd, its own GSI; then e1 unbound: its writes reach nobody. */
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e2, MSI_ADDR, 0x44, true), 0);
	CHECK_EQ(eng->msi[1].gsi, 25);
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, MSI_ADDR, 0x43, true), 0);
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, 0, 0, false), 0);
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, 0, 0, false), -ENOENT);
	(void)signals(e1); /* whatever count the kernel left (older ones do) */
	signal_fd(e1);
	CHECK(!irr(k, 0x43));
	CHECK_EQ(signals(e1), 1);
	signal_fd(e2);
	CHECK(irr_soon(k, 0x44));
	/* e1 again: GSI 24 is free again and taken. */
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, MSI_ADDR, 0x45, true), 0);
	CHECK_EQ(eng->msi[1].gsi, 24);
	signal_fd(e1);
	CHECK(irr_soon(k, 0x45));

	/* The IOAPIC's pins stay routed: pin 4 to vector 0x30, edge, unmasked. */
	struct kvm_irqchip io = { .chip_id = KVM_IRQCHIP_IOAPIC };
	CHECK(kvmeng_ioctl(eng->vm_fd, KVM_GET_IRQCHIP, &io) == 0);
	io.chip.ioapic.redirtbl[4].bits = 0x30;
	CHECK(kvmeng_ioctl(eng->vm_fd, KVM_SET_IRQCHIP, &io) == 0);
	CHECK_EQ(kvm_engine_ops.set_irq(eng, 4, 1), 0);
	CHECK_EQ(kvm_engine_ops.set_irq(eng, 4, 0), 0);
	CHECK(irr_soon(k, 0x30));

	/* Binding and unbinding many times reuses GSIs; the limit of routes. */
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, 0, 0, false), 0);
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e2, 0, 0, false), 0);
	CHECK_EQ(eng->n_msi, 0);
	for (unsigned i = 0; i < 2 * KVMENG_MAX_MSI_ROUTES; i++) {
		CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, MSI_ADDR, 0x46, true), 0);
		CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, 0, 0, false), 0);
	}
	int fds[KVMENG_MAX_MSI_ROUTES + 1];
	unsigned n = 0;
	for (; n <= KVMENG_MAX_MSI_ROUTES; n++) {
		fds[n] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(fds[n] >= 0);
		int r = kvm_engine_ops.msi_irqfd(eng, fds[n], MSI_ADDR, 0x60 + n % 32, true);
		CHECK_EQ(r, n < KVMENG_MAX_MSI_ROUTES && 24 + n < eng->gsi_limit ? 0 : -ENOSPC);
	}
	CHECK(eng->n_msi <= KVMENG_MAX_MSI_ROUTES);
	signal_fd(fds[7]);
	CHECK(irr_soon(k, 0x67));
	for (unsigned i = 0; i < n; i++) {
		(void)kvm_engine_ops.msi_irqfd(eng, fds[i], 0, 0, false);
		close(fds[i]);
	}
	CHECK_EQ(eng->n_msi, 0);

	/* Without KVM_CAP_IRQFD: -ENOTSUP (the machine then uses KVM_SIGNAL_MSI). */
	eng->has_irqfd = false;
	CHECK_EQ(kvm_engine_ops.msi_irqfd(eng, e1, MSI_ADDR, 0x47, true), -ENOTSUP);
	eng->has_irqfd = true;
	close(e1);
	close(e2);
	kvm_machine_destroy(k);
}

CHECK_MAIN(TEST_CASE(test_bindings_follow_the_vectors), TEST_CASE(test_no_irqfd), TEST_CASE(test_snapshot),
	   TEST_CASE(test_kvm_msi_routes))
