/* SPDX-License-Identifier: MIT */
/*
 * Private to the GDB stub's files: its state and the calls between the
 * protocol side (gdbstub.c, main thread), the command side (gdb_cmds.c) and
 * the vCPU side (gdb_vcpu.c). Every field is guarded by the machine lock.
 */
#ifndef X86V_CORE_GDB_INTERNAL_H
#define X86V_CORE_GDB_INTERNAL_H

#include <pthread.h>

#include "core/gdb_regs.h"
#include "core/gdbstub.h"
#include "core/vm.h"

/* Our PacketSize: the longest packet either side sends (payload bytes). */
#define GDB_PACKET_MAX 4096
/* Replies queued for a slow reader before it is dropped. */
#define GDB_OUT_MAX (64 * 1024)

enum gdb_in_state { GDB_IN_IDLE, GDB_IN_DATA, GDB_IN_CSUM1, GDB_IN_CSUM2 };
enum gdb_resume { GDB_RESUME_NONE, GDB_RESUME_CONTINUE, GDB_RESUME_STEP };

struct gdb_stub {
	struct vm *vm;
	int listen_fd;
	int conn_fd; /* -1: no debugger */

	/* Input framing. */
	enum gdb_in_state in_state;
	char in_buf[GDB_PACKET_MAX + 1];
	size_t in_len;
	bool in_overflow;
	char in_csum[2];
	bool no_ack;

	/* Output queue, and the last packet for a '-' retransmission. */
	char out[GDB_OUT_MAX];
	size_t out_len;
	char last[GDB_PACKET_MAX + 8];
	size_t last_len;

	/* Run control. */
	bool wait_at_start; /* -S */
	bool parked; /* the vCPU thread sleeps in gdb_vcpu.c; state is valid */
	bool stop_requested; /* park at the next chance (Ctrl-C, a packet needs it) */
	bool reply_on_stop; /* a resume packet awaits its stop reply */
	bool ctrl_c; /* the pending stop is an interrupt (SIGINT) */
	enum gdb_resume resume;
	pthread_cond_t parked_cond; /* the main thread waits here for a park */
	bool vcpu_gone; /* the vCPU thread ended */

	/* What the last stop was, for '?' and the stop reply. */
	int stop_signal;
	int stop_watch; /* hardware slot, or -1 */
	uint64_t stop_watch_addr;
	bool stop_sw_bp, stop_hw_bp;

	/* The parked vCPU's state and what the debugger changed. */
	struct x86_cpu_state state;
	bool state_dirty;
	bool code_changed;
	enum gdb_arch arch; /* chosen when a debugger connects and first asks */
	bool arch_chosen;

	/* Breakpoints and watchpoints, handed to set_debug on each resume. */
	struct engine_debug dbg;
};

/* gdbstub.c: queues a framed packet (payload len bytes) and tries to send. */
void gdb_send(struct gdb_stub *g, const char *payload, size_t len);
void gdb_send_str(struct gdb_stub *g, const char *payload);
/* Sends the stop reply for the last stop. */
void gdb_send_stop_reply(struct gdb_stub *g);
/* Waits (lock held, bounded) until the vCPU thread has parked; false if it could not. */
bool gdb_ensure_parked(struct gdb_stub *g);
/* Lets the parked vCPU go. */
void gdb_release(struct gdb_stub *g, enum gdb_resume how);

/* gdb_cmds.c: one received packet (NUL-terminated, len bytes without the NUL). */
void gdb_handle_packet(struct gdb_stub *g, char *pkt, size_t len);

#endif
