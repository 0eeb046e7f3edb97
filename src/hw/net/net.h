/* SPDX-License-Identifier: MIT */
/*
 * Network backends: where a virtual NIC's Ethernet frames go. User-mode
 * networking (libslirp: a NAT, DHCP and DNS in x86v's own process, no root
 * needed; net_slirp.c) or a TAP interface of the host kernel (net_tap.c).
 *
 * Every backend runs its host I/O on a network thread of its own, never on
 * a vCPU thread or under the machine lock: the device hands frames the
 * guest sent to net_send (copied, queued, the thread wakes), and the thread
 * queues frames for the guest and signals an eventfd that the event loop
 * watches; the device's ready function, called there with the machine lock
 * held, takes them with net_rx_peek / net_rx_pop when the guest has
 * buffers. Both queues are bounded: a full transmit queue makes the device
 * stop taking the guest's frames until ready says there is room; a full
 * receive queue makes the thread stop reading (TAP) or drop what the NAT
 * produces meanwhile (slirp; TCP retransmits).
 */
#ifndef X86V_HW_NET_NET_H
#define X86V_HW_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/event_loop.h"

#define NET_MAX_FRAME 65550 /* the largest Ethernet frame either way (64 KiB payload + header) */
#define NET_MAX_HOSTFWD 8
#define NET_IFNAME_MAX 16 /* IFNAMSIZ */

/* A port forward: connections to the host's host_addr:host_port go to the guest's port. */
struct net_hostfwd {
	bool udp;
	char host_addr[16]; /* dotted IPv4; "" = any address */
	uint16_t host_port;
	char guest_addr[16]; /* "" = the address DHCP hands out (10.0.2.15) */
	uint16_t guest_port;
};

#define NET_MAX_GUESTFWD 4

/* A guest forward: the guest's connections to guest_addr:guest_port each
 * reach a new connection to a Unix socket, or a new process's stdin and
 * stdout, on the host (allowed with restrict=on too). */
struct net_guestfwd {
	char guest_addr[16]; /* dotted IPv4, in the guest's network */
	uint16_t guest_port;
	bool command; /* target is a shell command (cmd:), else a Unix socket path (unix:) */
	char target[240];
};

enum net_kind { NET_USER, NET_TAP };

struct net_options {
	enum net_kind kind;
	uint8_t mac[6];
	/* user */
	bool restrict_guest; /* restrict=on: the guest reaches only x86v's own services and forwards */
	struct net_hostfwd fwd[NET_MAX_HOSTFWD];
	unsigned nfwd;
	struct net_guestfwd gfwd[NET_MAX_GUESTFWD];
	unsigned ngfwd;
	/* tap */
	char ifname[NET_IFNAME_MAX];
};

/* Parses QEMU's hostfwd spelling, [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT.
 * 0, or -EINVAL with a one-line *why. */
int net_parse_hostfwd(const char *spec, struct net_hostfwd *out, char *why, size_t why_len) MUST_CHECK;

/* Parses [tcp]:GUESTADDR:GUESTPORT-unix:PATH or ...-cmd:COMMAND (QEMU's
 * guestfwd spelling). 0, or -EINVAL with a one-line *why. */
int net_parse_guestfwd(const char *spec, struct net_guestfwd *out, char *why, size_t why_len) MUST_CHECK;

/* A frame on its way. */
struct net_packet {
	struct net_packet *next;
	size_t len;
	uint8_t data[];
};

/* A packet with room for len bytes (len <= NET_MAX_FRAME), or NULL. */
struct net_packet *net_packet_alloc(size_t len);

struct net_backend;

/* On the event loop, machine lock held: frames wait in the receive queue,
 * or the transmit queue has room again. */
typedef void net_ready_fn(void *opaque);

/* Opens the TAP interface, or creates the NAT and its port forwards (what
 * the user got wrong, or a port in use, is found here).
 * 0, or -errno with a one-line *why. */
int net_open(const struct net_options *opt, struct net_backend **out, char *why, size_t why_len) MUST_CHECK;
/* Starts the network thread, the device's notifications going to ready on loop. 0 or -errno. */
int net_start(struct net_backend *nb, struct event_loop *loop, net_ready_fn *ready, void *opaque) MUST_CHECK;
/* Stops the thread and closes everything. NULL is ignored. */
void net_close(struct net_backend *nb);

/* The device's side, machine lock held; none of these blocks. */
/* Whether net_send takes another frame now; when not, ready is called once it can. */
bool net_tx_room(struct net_backend *nb);
/* Queues a frame the guest sent (the backend owns and frees p). */
void net_send(struct net_backend *nb, struct net_packet *p);
/* The oldest frame for the guest, or NULL. */
const struct net_packet *net_rx_peek(struct net_backend *nb);
/* Drops that frame (delivered, or not deliverable). */
void net_rx_pop(struct net_backend *nb);
/* Drops every frame for the guest (a device reset). */
void net_rx_purge(struct net_backend *nb);

#endif
