/* SPDX-License-Identifier: MIT */
/*
 * virtio-net on a real backend: a driver written here sets the device up
 * over PCI, sends an ARP request for the host (10.0.2.2) to libslirp
 * (restrict=on: nothing leaves the process) and receives its reply spread
 * over small merged buffers, published together; a frame waits while the
 * driver offers too little room; a transmit chain without a header needs a
 * reset; a snapshot after an ARP exchange loaded into a fresh machine that
 * goes on exchanging; the option parser's hostfwd and guestfwd spellings.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/event_loop.h"
#include "core/statebuf.h"
#include "hw/device.h"
#include "hw/net/net.h"
#include "hw/pci/pci.h"
#include "hw/virtio/virtio_net.h"

#define RAM (2 * MiB)
#define BAR 0xc0000000ULL
#define DEVFN PCI_DEVFN(3, 0)
#define QSIZE 16
#define RING(q) (0x10000ULL + (q) * 0x3000) /* desc; avail +0x1000; used +0x2000 */
#define RXBUF 0x40000ULL /* receive buffers, 0x100 apart */
#define TXBUF 0x80000ULL
#define HDR sizeof(struct virtio_net_hdr_v1)
#define REPLY_LEN 64 /* slirp pads its ARP replies to the shortest Ethernet frame */
#define RXLEN 20 /* small, so that header and reply (76 bytes) take four buffers */

static struct {
	struct guest_ram ram;
	struct bus mmio;
	struct pci_bus *pci;
	struct vclock clock;
	pthread_mutex_t lock;
	struct event_loop loop;
	struct vtimer deadline;
	struct virtio_kick_host kicks;
	struct virtio_net *net;
	struct net_backend *nb; /* the device's backend */
	uint16_t rx_avail, tx_avail;
	unsigned msis;
} m;

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void on_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque;
	(void)addr;
	(void)data;
	m.msis++;
	evloop_stop(&m.loop);
}

static void on_deadline(void *opaque)
{
	evloop_stop(opaque);
}

/* Runs the event loop until the device interrupts (or ms pass): whether it did. */
static bool wait_interrupt_ms(int64_t ms)
{
	unsigned before = m.msis;
	m.loop.stop = false;
	CHECK(vtimer_arm(&m.deadline, vclock_now(&m.clock) + ms * 1000000) == 0);
	pthread_mutex_unlock(&m.lock);
	evloop_run(&m.loop);
	pthread_mutex_lock(&m.lock);
	vtimer_cancel(&m.deadline);
	return m.msis != before;
}

static void wr(uint64_t off, unsigned size, uint64_t v)
{
	bus_write(&m.mmio, BAR + off, size, v);
}

static uint64_t rd(uint64_t off, unsigned size)
{
	uint64_t v = 0;
	bus_read(&m.mmio, BAR + off, size, &v);
	return v;
}

static void put(uint64_t gpa, const void *p, size_t n)
{
	CHECK(ram_write(&m.ram, gpa, p, n) == 0);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v = 0;
	CHECK(ram_read(&m.ram, gpa, &v, 2) == 0);
	return v;
}

/* Descriptor i of queue q, alone in its chain, made available. */
static void offer(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags };
	put(RING(q) + 16 * i, &d, sizeof(d));
	uint16_t *avail = q == 0 ? &m.rx_avail : &m.tx_avail;
	uint16_t head = (uint16_t)i;
	put(RING(q) + 0x1000 + 4 + 2 * (*avail % QSIZE), &head, 2);
	++*avail;
	put(RING(q) + 0x1000 + 2, avail, 2);
}

static void setup(void)
{
	memset(&m, 0, sizeof(m));
	vclock_init(&m.clock);
	pthread_mutex_init(&m.lock, NULL);
	CHECK(ram_init(&m.ram, RAM) == 0);
	CHECK(evloop_init(&m.loop, &m.clock, &m.lock) == 0);
	vtimer_init(&m.deadline, &m.clock, on_deadline, &m.loop);
	bus_init(&m.mmio, "mmio");
	m.pci = pci_bus_create();
	pci_bus_set_address_spaces(m.pci, NULL, &m.mmio);
	pci_bus_set_msi_handler(m.pci, on_msi, NULL);
	struct net_options o = { .kind = NET_USER, .restrict_guest = true };
	char why[256];
	CHECK(net_open(&o, &m.nb, why, sizeof(why)) == 0);
	m.kicks = (struct virtio_kick_host){ .loop = &m.loop }; /* the kick after a snapshot load */
	CHECK(virtio_net_create(m.pci, DEVFN, &m.ram, &m.loop, &m.kicks, m.nb, guest_mac, &m.net) == 0);
	pthread_mutex_lock(&m.lock);
}

static void teardown(void)
{
	pthread_mutex_unlock(&m.lock);
	virtio_net_destroy(m.net);
	pci_bus_destroy(m.pci);
	bus_destroy(&m.mmio);
	evloop_destroy(&m.loop);
	vclock_destroy(&m.clock);
	ram_destroy(&m.ram);
}

/* A driver's set-up: MSI-X, the features it wants of those offered, both queues. */
static void driver_init(uint64_t want)
{
	pci_config_write(m.pci, DEVFN, PCI_BASE_ADDRESS_0 + 16, (uint32_t)BAR | PCI_BAR_MEM64, 4);
	pci_config_write(m.pci, DEVFN, PCI_BASE_ADDRESS_0 + 20, 0, 4);
	pci_config_write(m.pci, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	pci_config_write(m.pci, DEVFN, 0x42, 0x8000, 2); /* MSI-X on */
	wr(0x14, 1, 0);
	wr(0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	uint64_t offered = 0;
	for (unsigned sel = 0; sel < 2; sel++) {
		wr(0x00, 4, sel);
		offered |= rd(0x04, 4) << (32 * sel);
	}
	CHECK(offered & (1ULL << VIRTIO_NET_F_MAC));
	CHECK(offered & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
	uint64_t accept = offered & (want | (1ULL << VIRTIO_F_VERSION_1));
	for (unsigned sel = 0; sel < 2; sel++) {
		wr(0x08, 4, sel);
		wr(0x0c, 4, (uint32_t)(accept >> (32 * sel)));
	}
	wr(0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(rd(0x14, 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(0x16, 2, q);
		wr(0x18, 2, QSIZE);
		wr(0x1a, 2, q);
		wr(0x20, 8, RING(q));
		wr(0x28, 8, RING(q) + 0x1000);
		wr(0x30, 8, RING(q) + 0x2000);
		wr(0x1c, 2, 1);
	}
	wr(0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
			    VIRTIO_CONFIG_S_DRIVER_OK);
	for (unsigned v = 0; v < 3; v++)
		wr(0x4000 + 16 * v + 12, 4, 0); /* unmask */
	for (unsigned i = 0; i < 6; i++) /* the MAC in the device configuration */
		CHECK_EQ(rd(0x2000 + i, 1), guest_mac[i]);
	CHECK_EQ(rd(0x2006, 2), VIRTIO_NET_S_LINK_UP);
}

/* Transmits an ARP request "who has 10.0.2.2, tell 10.0.2.15" as descriptor i. */
static void send_arp(unsigned i)
{
	uint8_t f[HDR + 42] = { 0 };
	uint8_t *e = f + HDR;
	memset(e, 0xff, 6);
	memcpy(e + 6, guest_mac, 6);
	static const uint8_t arp[] = { 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 };
	memcpy(e + 12, arp, sizeof(arp));
	memcpy(e + 22, guest_mac, 6);
	memcpy(e + 28, (uint8_t[]){ 10, 0, 2, 15 }, 4);
	memcpy(e + 38, (uint8_t[]){ 10, 0, 2, 2 }, 4);
	put(TXBUF + 0x100 * i, f, sizeof(f));
	offer(1, i, TXBUF + 0x100 * i, sizeof(f), 0);
	wr(0x3004, 2, 1); /* kick the transmit queue */
}

static void test_arp_over_merged_buffers(void)
{
	setup();
	driver_init(1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_MAC);
	/* Three 20-byte buffers: too little for 12 + 64 bytes. */
	for (unsigned i = 0; i < 3; i++)
		offer(0, i, RXBUF + 0x100 * i, RXLEN, VRING_DESC_F_WRITE);
	send_arp(0);
	CHECK(get16(RING(1) + 0x2000 + 2) == 1); /* the transmit chain came back at once */
	/* The reply arrives in the backend (slirp answers at once, on its thread)... */
	for (int k = 0; k < 500 && !net_rx_peek(m.nb); k++) {
		pthread_mutex_unlock(&m.lock);
		usleep(10000);
		pthread_mutex_lock(&m.lock);
	}
	CHECK(net_rx_peek(m.nb));
	/* ...and stays there: the device's notification from the backend finds too little room. */
	CHECK(!wait_interrupt_ms(100));
	wr(0x3000, 2, 0); /* a receive kick with too little room */
	CHECK_EQ(get16(RING(0) + 0x2000 + 2), 0);
	/* A fourth buffer: the frame goes out over all four, published at once. */
	offer(0, 3, RXBUF + 0x300, RXLEN, VRING_DESC_F_WRITE);
	unsigned before = m.msis;
	wr(0x3000, 2, 0);
	CHECK(m.msis > before);
	CHECK_EQ(get16(RING(0) + 0x2000 + 2), 4);
	uint8_t frame[4 * RXLEN];
	uint32_t total = 0;
	for (unsigned k = 0; k < 4; k++) {
		struct vring_used_elem ue;
		CHECK(ram_read(&m.ram, RING(0) + 0x2000 + 4 + 8 * k, &ue, sizeof(ue)) == 0);
		CHECK_EQ(ue.id, k);
		CHECK_EQ(ue.len, k < 3 ? RXLEN : HDR + REPLY_LEN - 3 * RXLEN);
		CHECK(ram_read(&m.ram, RXBUF + 0x100 * k, frame + total, ue.len) == 0);
		total += ue.len;
	}
	CHECK_EQ(total, HDR + REPLY_LEN);
	struct virtio_net_hdr_v1 h;
	memcpy(&h, frame, HDR);
	CHECK_EQ(h.num_buffers, 4);
	CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	const uint8_t *e = frame + HDR;
	CHECK(memcmp(e, guest_mac, 6) == 0); /* to us */
	CHECK_EQ(e[12] << 8 | e[13], 0x0806); /* ARP */
	CHECK_EQ(e[20] << 8 | e[21], 2); /* a reply */
	CHECK(memcmp(e + 28, (uint8_t[]){ 10, 0, 2, 2 }, 4) == 0); /* from the host's address */
	teardown();
}

static void test_arp_one_buffer(void)
{
	setup();
	driver_init(1ULL << VIRTIO_NET_F_MAC); /* no MRG_RXBUF: one buffer per frame */
	offer(0, 0, RXBUF, 1514 + HDR, VRING_DESC_F_WRITE);
	send_arp(0);
	CHECK(wait_interrupt_ms(5000));
	CHECK_EQ(get16(RING(0) + 0x2000 + 2), 1);
	struct vring_used_elem ue;
	CHECK(ram_read(&m.ram, RING(0) + 0x2000 + 4, &ue, sizeof(ue)) == 0);
	CHECK_EQ(ue.len, HDR + REPLY_LEN);
	struct virtio_net_hdr_v1 h;
	CHECK(ram_read(&m.ram, RXBUF, &h, sizeof(h)) == 0);
	CHECK_EQ(h.num_buffers, 1);
	teardown();
}

static void test_tx_without_header(void)
{
	setup();
	driver_init(1ULL << VIRTIO_NET_F_MAC);
	offer(1, 0, TXBUF, 4, 0); /* 4 bytes: not even the header */
	wr(0x3004, 2, 1);
	CHECK(rd(0x14, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(0x14, 1, 0); /* the reset the device asked for */
	CHECK_EQ(rd(0x14, 1), 0);
	teardown();
}

/* The ARP reply in receive buffer i (one buffer per frame) came from 10.0.2.2 to us. */
static void check_arp_reply(unsigned used, unsigned i)
{
	struct vring_used_elem ue;
	CHECK(ram_read(&m.ram, RING(0) + 0x2000 + 4 + 8 * (used % QSIZE), &ue, sizeof(ue)) == 0);
	CHECK_EQ(ue.id, i);
	CHECK_EQ(ue.len, HDR + REPLY_LEN);
	uint8_t f[HDR + REPLY_LEN];
	CHECK(ram_read(&m.ram, RXBUF + 0x800 * i, f, sizeof(f)) == 0);
	const uint8_t *e = f + HDR;
	CHECK(memcmp(e, guest_mac, 6) == 0);
	CHECK_EQ(e[20] << 8 | e[21], 2);
	CHECK(memcmp(e + 28, (uint8_t[]){ 10, 0, 2, 2 }, 4) == 0);
}

/* After an ARP exchange the NIC is saved, the machine torn down (its
 * backend with it) and a fresh one with a copy of guest RAM loads it: the
 * MAC and link status read the same, and the next exchange uses the next
 * ring entries, interrupting with the vector the driver programmed. */
static void test_snapshot(void)
{
	setup();
	driver_init(1ULL << VIRTIO_NET_F_MAC);
	offer(0, 0, RXBUF, 1514 + HDR, VRING_DESC_F_WRITE);
	send_arp(0);
	CHECK(wait_interrupt_ms(5000));
	CHECK_EQ(get16(RING(0) + 0x2000 + 2), 1);
	check_arp_reply(0, 0);
	struct statebuf sb;
	sb_init(&sb);
	CHECK_EQ(device_save(virtio_net_device(m.net), &sb), 0);
	CHECK_STR(virtio_net_device(m.net)->name, "virtio-net@03.0");
	uint8_t *ram = malloc(RAM);
	memcpy(ram, m.ram.host, RAM);
	uint16_t rx_avail = m.rx_avail, tx_avail = m.tx_avail;
	teardown();

	setup();
	memcpy(m.ram.host, ram, RAM);
	m.rx_avail = rx_avail;
	m.tx_avail = tx_avail;
	struct state_reader sr;
	sr_init(&sr, sb.data, sb.len);
	char why[256] = "";
	CHECK_EQ(device_load(virtio_net_device(m.net), &sr, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(sr.left, 0);
	CHECK_EQ(m.msis, 0);
	CHECK_EQ(rd(0x14, 1), 0x0f);
	for (unsigned i = 0; i < 6; i++)
		CHECK_EQ(rd(0x2000 + i, 1), guest_mac[i]);
	CHECK_EQ(rd(0x2006, 2), VIRTIO_NET_S_LINK_UP);
	offer(0, 1, RXBUF + 0x800, 1514 + HDR, VRING_DESC_F_WRITE);
	send_arp(1);
	CHECK_EQ(get16(RING(1) + 0x2000 + 2), 2);
	CHECK(wait_interrupt_ms(5000));
	CHECK_EQ(get16(RING(0) + 0x2000 + 2), 2);
	check_arp_reply(1, 1);
	/* Link status other than up: refused, the NIC left reset. */
	size_t at = 0;
	for (size_t i = 0; i + 11 < sb.len; i++)
		if (memcmp(sb.data + i, "\x0anet_status", 11) == 0)
			at = i + 11 + 4;
	CHECK(at != 0);
	sb.data[at] = 2;
	sr_init(&sr, sb.data, sb.len);
	CHECK_EQ(device_load(virtio_net_device(m.net), &sr, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "virtio-net@03.0: link status 0x2");
	CHECK_EQ(pci_config_read(m.pci, DEVFN, PCI_COMMAND, 2), 0);
	free(ram);
	sb_free(&sb);
	teardown();
}

static void test_hostfwd_spellings(void)
{
	struct net_hostfwd f;
	char why[256];
	CHECK(net_parse_hostfwd("tcp::2222-:22", &f, why, sizeof(why)) == 0);
	CHECK(!f.udp && !f.host_addr[0] && f.host_port == 2222 && !f.guest_addr[0] && f.guest_port == 22);
	CHECK(net_parse_hostfwd("udp:127.0.0.1:5353-10.0.2.15:53", &f, why, sizeof(why)) == 0);
	CHECK(f.udp && f.host_port == 5353 && f.guest_port == 53);
	CHECK_STR(f.host_addr, "127.0.0.1");
	CHECK_STR(f.guest_addr, "10.0.2.15");
	CHECK(net_parse_hostfwd("::8080-:80", &f, why, sizeof(why)) == 0);
	CHECK(!f.udp && f.host_port == 8080);
	static const char *const bad[] = { "tcp::2222", "tcp::0-:22", "tcp::70000-:22", "tcp:host:22-:22",
					   "tcp::22-:x", "sctp::22-:22", "", "tcp::-:22" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(net_parse_hostfwd(bad[i], &f, why, sizeof(why)) < 0);
		CHECK(strstr(why, "expected [tcp|udp]") != NULL);
	}
}

static void test_guestfwd_spellings(void)
{
	struct net_guestfwd g;
	char why[256];
	CHECK(net_parse_guestfwd("tcp:10.0.2.100:80-unix:/run/http.sock", &g, why, sizeof(why)) == 0);
	CHECK(!g.command && g.guest_port == 80);
	CHECK_STR(g.guest_addr, "10.0.2.100");
	CHECK_STR(g.target, "/run/http.sock");
	CHECK(net_parse_guestfwd(":10.0.2.5:7-cmd:cat -n", &g, why, sizeof(why)) == 0);
	CHECK(g.command && g.guest_port == 7);
	CHECK_STR(g.target, "cat -n");
	static const char *const bad[] = { "tcp::80-unix:/x", "tcp:10.0.2.100:80", "tcp:10.0.2.100:80-tcp:1.2.3.4:5",
					   "tcp:10.0.2.100:80-unix:", "udp:10.0.2.100:80-unix:/x", "tcp:10.0.2.100:0-cmd:x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(net_parse_guestfwd(bad[i], &g, why, sizeof(why)) < 0);
		CHECK(strstr(why, "expected [tcp]:GUESTADDR") != NULL);
	}
}

CHECK_MAIN(TEST_CASE(test_arp_over_merged_buffers), TEST_CASE(test_arp_one_buffer), TEST_CASE(test_tx_without_header),
	   TEST_CASE(test_snapshot), TEST_CASE(test_hostfwd_spellings), TEST_CASE(test_guestfwd_spellings))
