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

/* Why a vCPU stopped on its own (an engine debug exit). */
enum gdb_event { GDB_EV_NONE, GDB_EV_STEP, GDB_EV_BREAK, GDB_EV_WATCH };

/* One vCPU as the debugger sees it: a thread, id index + 1. */
struct gdb_cpu {
	/* Where it is. parked: its thread sleeps in gdb_vcpu.c. idle: it waits
	 * for a start-up IPI and is stopped where it waits (its thread never
	 * comes to gdb_vcpu.c; vm_debug_stop_pending saw it). Either way state
	 * holds its registers. held: the debugger keeps it stopped; it parks at
	 * its next chance (a held idle vCPU that a start-up IPI wakes). */
	bool parked, idle, held;
	/* It turned its breakpoints off while idle: it loads them before it runs. */
	bool load_debug;
	enum gdb_resume resume; /* what the last resume let it do */
	/* It runs past a breakpoint at its address when it next runs: the
	 * debugger heard of its stop there (as the thread a stop reply named). */
	bool skip_first;

	/* Its registers while stopped, and what the debugger changed. */
	struct x86_cpu_state state;
	bool state_dirty;
	bool code_changed; /* the debugger wrote guest memory since it last ran */

	/* Its last stop of its own; pending: not reported to the debugger yet. */
	enum gdb_event event;
	bool pending;
	uint64_t event_pc; /* linear address of a breakpoint stop */
	int watch; /* watchpoint: hardware slot */
	uint64_t watch_addr;
	bool sw_bp; /* a breakpoint stop: Z0's (else a hardware one) */
};

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

	/* Run control, all-stop: when one vCPU stops every vCPU stops. */
	bool wait_at_start; /* -S: the BSP parks before its first instruction */
	bool stop_requested; /* every vCPU parks at its next chance */
	bool stopped; /* every vCPU is parked or idle: the debugger has the machine */
	int first; /* the vCPU whose stop began the current stop, or -1 */
	bool reply_on_stop; /* a resume packet awaits its stop reply */
	bool ctrl_c; /* the stop under way is an interrupt (SIGINT) */
	pthread_cond_t parked_cond; /* the main thread waits here for stopped */
	/* Held around every set_debug: kvm patches INT3 bytes into the RAM all
	 * vCPUs share, and two vCPUs must not do so at once. Taken after the
	 * machine lock when both are held. */
	pthread_mutex_t debug_lock;

	/* The last stop reply: the thread it named and its signal. */
	unsigned report;
	int stop_signal;
	bool report_event; /* it named report's own event (its gdb_cpu's fields) */

	/* Threads the debugger picked: Hg (registers, memory), Hc (c, s). */
	unsigned cur_g;
	int cur_c; /* -1: all (or any) */

	enum gdb_arch arch; /* chosen when a debugger connects and first asks */
	bool arch_chosen;

	/* Breakpoints and watchpoints, handed to every vCPU's set_debug on resume. */
	struct engine_debug dbg;

	struct gdb_cpu cpu[ENGINE_MAX_VCPUS];
};

/* gdbstub.c: queues a framed packet (payload len bytes) and tries to send. */
void gdb_send(struct gdb_stub *g, const char *payload, size_t len);
void gdb_send_str(struct gdb_stub *g, const char *payload);
/* Sends the stop reply for the last stop. */
void gdb_send_stop_reply(struct gdb_stub *g);
/* Waits (lock held, bounded) until every vCPU has stopped; false if they could not. */
bool gdb_ensure_parked(struct gdb_stub *g);
/* Lets the stopped vCPUs go, each as how[index] says (GDB_RESUME_NONE: it
 * stays stopped). A resumed vCPU with an unreported stop that still stands
 * is reported at once instead and nothing runs (when report is true: a
 * resume packet that waits for a stop reply). */
void gdb_resume(struct gdb_stub *g, const enum gdb_resume *how, bool report);
/* Lets every vCPU go with the debugger gone (detach, disconnect). */
void gdb_release_all(struct gdb_stub *g);
/* gdb_vcpu.c, lock held: if every vCPU is parked or idle, the machine is
 * stopped: picks the thread to report and answers a waiting resume. */
void gdb_check_stopped(struct gdb_stub *g);
/* Kicks every vCPU that is not parked (but except, when not NULL), so that it
 * looks at the stub's requests. */
void gdb_kick_running(struct gdb_stub *g, const struct vm_cpu *except);

/* gdb_cmds.c: one received packet (NUL-terminated, len bytes without the NUL). */
void gdb_handle_packet(struct gdb_stub *g, char *pkt, size_t len);

#endif
