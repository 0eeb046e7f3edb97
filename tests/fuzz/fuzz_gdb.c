/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the GDB stub (core/gdbstub.c's framing and acknowledgments,
 * gdb_cmds.c's packets, gdb_regs.c's register layouts, gdb_vcpu.c's parking)
 * on hostile debugger input. A machine of three vCPUs on the soft engine is
 * built once: two run a small guest loop (memory increments, a call) in
 * real, 32-bit protected or 64-bit mode, the third is an application
 * processor that waits for a start-up IPI (idle, as the stub shows it);
 * there are no devices. The vCPU threads are this file's, doing what
 * core/vm_cpu.c's loop does with the stub (gdb_vcpu_poll at kicks,
 * gdb_vcpu_debug_exit at breakpoints, steps and watchpoints,
 * gdb_stop_pending while waiting), but they run the guest only in slices
 * (SLICE_INSNS instructions) that the main thread hands out one at a
 * time, so that an input replays the same way (but for a slice that spins
 * without retiring instructions, cut after a millisecond of CPU time). The
 * stub is the real one
 * (gdb_stub_create); its connection is a socketpair, and the input's bytes
 * reach its receive path (conn_event, feed) as a debugger's would: raw
 * bytes, '$payload#xx' packets (the checksums made right unless the first
 * byte says otherwise, so that commands run), Ctrl-C, '+' and '-',
 * escapes, '*' run-length markers, every command letter. After each packet
 * that lets the guest go (c, s, C, S, vCont, D) and after each Ctrl-C, the
 * vCPUs run a few slices (they stop at breakpoints, watchpoints, steps).
 *
 * Checked: no crash, leak, undefined behaviour or access outside guest RAM
 * (ASan and UBSan watch in make check); no hang (the vCPUs must settle and
 * stop when the stub asks, within seconds); every byte the stub sends is a
 * '+', a '-' or a well-formed packet with the right checksum and at most
 * GDB_PACKET_MAX bytes. Between inputs the machine is stopped, the stub's
 * connection state, breakpoints and the vCPUs' registers set back, and
 * guest RAM zeroed and the guest written again: nothing is rebuilt.
 *
 * The first input byte: bits 0-1 the guest's mode (real, 32-bit protected,
 * 64-bit; 3 is 32-bit too), bits 2-3 zero: checksums as they are (mostly
 * wrong), else made right. The rest is what the debugger sends.
 *
 * Also a libFuzzer target (LLVMFuzzerTestOneInput, with -DFUZZ_NO_MAIN);
 * make check runs test_fuzz_gdb, a fixed-seed stream of random debugger
 * sessions (main below); test_fuzz_gdb FILE... replays saved inputs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/gdb_internal.h"
#include "engine/soft/soft_engine.h"
#include "fuzz_rand.h"

#define RAM (2 * MiB)
#define NCPUS 3 /* 0 and 1 run the guest; 2 waits for a start-up IPI */
#define NRUN 2
#define CODE16_GPA 0x1000ULL
#define CODE32_GPA 0x1100ULL /* the same bytes run as 32- and 64-bit code */
#define DATA_GPA 0x8000ULL /* vCPU i's counters at + 0x100 * i */
#define STACK_GPA 0x7000ULL
#define PML4_GPA 0x10000ULL
#define SLICE_INSNS 500
#define ROUNDS 2
#define SLICE_CPU_NS 1000000 /* a slice takes microseconds; one that takes this much CPU is kicked */
#define SLICE_POLL_US 200
#define CHUNK_MAX 4096 /* what the stub reads at once */
#define INPUT_MAX (64 * 1024)
#define SETTLE_S 20 /* the vCPUs settle within this or it is a hang */

/* A vCPU thread, as the main thread sees it (machine lock). */
struct hcpu {
	pthread_t thread;
	bool waiting; /* in its wait between slices */
	bool slice; /* the main thread lets it run one slice */
	bool halted; /* HLT, shutdown or an engine error: it runs no more until the debugger stops it */
};

static struct {
	struct vm vm;
	struct gdb_stub *g;
	struct hcpu cpu[NCPUS];
	bool quit;
	unsigned ready;
	evloop_fd_fn *conn_fn; /* the stub's connection callback (conn_event) */
	int client; /* the debugger's end */
	uint8_t in[INPUT_MAX];
	/* The reply stream's parser. */
	enum gdb_in_state out_state;
	size_t out_len;
	uint8_t out_sum;
	char out_cs[2];
	bool out_stop; /* the packet is a stop reply */
	unsigned inputs, packets, replies, acks, stops, reconnects, slices, kicks;
} h;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_gdb: %s\n", what);
	abort();
}

/* ---- the machine's parts the stub uses: stubs for the guest's devices ---- */

static void guest_pio(void *opaque, uint16_t port, void *data, unsigned size, bool is_write)
{
	(void)opaque;
	(void)port;
	if (!is_write)
		memset(data, 0xff, size);
}

static void guest_mmio(void *opaque, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	(void)opaque;
	(void)gpa;
	if (!is_write)
		memset(data, 0xff, size);
}

static int guest_intr_ack(void *opaque, unsigned cpu)
{
	(void)opaque;
	(void)cpu;
	return -1;
}

/* Something the main thread may wait for changed: the stub's own "stopped" condition serves. */
static void changed(void)
{
	pthread_cond_broadcast(&h.g->parked_cond);
}

/* ---- the vCPU threads ---- */

static void *cpu_thread(void *opaque)
{
	struct vm_cpu *c = opaque;
	struct vm *vm = c->vm;
	struct hcpu *hc = &h.cpu[c->index];
	char why[256];
	struct vcpu *vcpu;
	if (vm->eng_ops->vcpu_create(vm->engine, c->index, &vcpu, why, sizeof(why)) < 0)
		die(why);
	soft_vcpu_set_string_batch(vcpu, 16); /* a slice's work bounded by its instructions */
	pthread_mutex_lock(&vm->lock);
	c->vcpu = vcpu;
	c->wait_sipi = c->index >= NRUN;
	h.ready++;
	for (;;) {
		hc->waiting = true;
		changed();
		/* As vm_cpu.c's wait_for: a stop request wakes it (an AP waiting for a
		 * start-up IPI is stopped where it waits, inside gdb_stop_pending). */
		while (!h.quit && !hc->slice && !gdb_stop_pending(h.g, c))
			pthread_cond_wait(&c->wake, &vm->lock);
		hc->waiting = false;
		if (h.quit)
			break;
		bool slice = hc->slice;
		pthread_mutex_unlock(&vm->lock);
		gdb_vcpu_poll(h.g, c); /* parks when the stub asks, loads breakpoints */
		if (!slice) {
			pthread_mutex_lock(&vm->lock);
			hc->halted = false; /* it parked: the debugger may have moved it */
			continue;
		}
		soft_vcpu_set_insn_limit(vcpu, SLICE_INSNS);
		struct vcpu_exit ex;
		bool parked = false, halted = false;
		if (vm->eng_ops->run(vcpu, &ex) < 0) {
			halted = true;
		} else if (ex.reason == VCPU_EXIT_KICK) {
			gdb_vcpu_poll(h.g, c);
		} else if (ex.reason == VCPU_EXIT_DEBUG) {
			gdb_vcpu_debug_exit(h.g, c, &ex);
			parked = true;
		} else {
			halted = true; /* HLT, shutdown, an engine error: the machine would wait or end */
		}
		pthread_mutex_lock(&vm->lock);
		hc->slice = false;
		hc->halted = parked ? false : halted ? true : hc->halted;
		h.slices++;
	}
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

/* vCPU i has nothing left to do for now (lock held). */
static bool cpu_quiet(unsigned i)
{
	const struct gdb_cpu *gc = &h.g->cpu[i];
	const struct hcpu *hc = &h.cpu[i];
	if (gc->parked)
		return true;
	if (!hc->waiting || hc->slice)
		return false;
	if (h.vm.exit_requested || !(h.g->stop_requested || gc->held))
		return true;
	return h.vm.cpus[i].wait_sipi && gc->idle; /* else it wakes to stop */
}

/* Waits until every vCPU is quiet, at most us microseconds; false if one is not. */
static bool settle(int64_t us)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += us / 1000000;
	until.tv_nsec += us % 1000000 * 1000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	for (;;) {
		bool quiet = true;
		for (unsigned i = 0; i < NCPUS; i++)
			quiet &= cpu_quiet(i);
		if (quiet)
			return true;
		if (pthread_cond_timedwait(&h.g->parked_cond, &h.vm.lock, &until) == ETIMEDOUT)
			return false;
	}
}

static void wait_quiet(void)
{
	if (settle(SETTLE_S * 1000000LL))
		return;
	for (unsigned i = 0; i < NCPUS; i++)
		fprintf(stderr, "fuzz_gdb: vCPU %u: parked %d idle %d held %d, waiting %d slice %d halted %d\n", i,
			h.g->cpu[i].parked, h.g->cpu[i].idle, h.g->cpu[i].held, h.cpu[i].waiting, h.cpu[i].slice,
			h.cpu[i].halted);
	fprintf(stderr, "fuzz_gdb: stopped %d, stop requested %d, exit requested %d\n", h.g->stopped,
		h.g->stop_requested, h.vm.exit_requested);
	die("the vCPUs did not settle: a hang");
}

static int64_t cpu_ns(clockid_t cid)
{
	struct timespec ts;
	if (clock_gettime(cid, &ts) < 0)
		return INT64_MAX; /* the thread's clock: kick at once */
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The guest runs: each running vCPU a slice in turn, a few rounds, until the
 * stub stops the machine (a breakpoint, a step, a watchpoint). Lock held. */
static void run_machine(void)
{
	struct gdb_stub *g = h.g;
	wait_quiet();
	for (unsigned round = 0; round < ROUNDS; round++) {
		bool ran = false;
		for (unsigned i = 0; i < NRUN; i++) {
			if (g->stopped || g->stop_requested || h.vm.exit_requested)
				return;
			if (g->cpu[i].parked || g->cpu[i].held || h.cpu[i].halted)
				continue;
			h.cpu[i].slice = true;
			pthread_cond_broadcast(&h.vm.cpus[i].wake);
			/* A slice ends after SLICE_INSNS instructions; a guest that retires
			 * none (an exception whose delivery faults again and again, as on
			 * hardware; a REP with a huge count) is kicked once its thread has
			 * spent SLICE_CPU_NS of CPU time on it (not wall-clock time: a busy
			 * host must not cut slices), and gets no more slices until the
			 * debugger has stopped it again (as if it had halted). */
			clockid_t cid;
			int64_t t0 = pthread_getcpuclockid(h.cpu[i].thread, &cid) == 0 ? cpu_ns(cid) : INT64_MIN;
			for (int64_t waited = 0; !settle(SLICE_POLL_US); waited += SLICE_POLL_US) {
				if (waited < SETTLE_S * 1000000LL && (t0 == INT64_MIN || cpu_ns(cid) - t0 < SLICE_CPU_NS))
					continue;
				h.vm.eng_ops->kick(h.vm.cpus[i].vcpu);
				h.kicks++;
				wait_quiet();
				h.cpu[i].halted = !g->cpu[i].parked;
				break;
			}
			ran = true;
		}
		if (!ran)
			return;
	}
}

/* ---- the debugger's side of the connection ---- */

static void reply_byte(char c)
{
	switch (h.out_state) {
	case GDB_IN_IDLE:
		if (c == '$') {
			h.out_state = GDB_IN_DATA;
			h.out_len = 0;
			h.out_sum = 0;
		} else if (c == '+' || c == '-') {
			h.acks++;
		} else {
			fprintf(stderr, "fuzz_gdb: the stub sent 0x%02x between packets\n", (uint8_t)c);
			abort();
		}
		break;
	case GDB_IN_DATA:
		if (c == '#') {
			h.out_state = GDB_IN_CSUM1;
		} else if (c == '$') {
			die("the stub sent a '$' inside a packet");
		} else {
			h.out_stop = h.out_len ? h.out_stop : c == 'T';
			h.out_sum = (uint8_t)(h.out_sum + (uint8_t)c);
			if (++h.out_len > GDB_PACKET_MAX)
				die("the stub sent a packet longer than its PacketSize");
		}
		break;
	case GDB_IN_CSUM1:
		h.out_cs[0] = c;
		h.out_state = GDB_IN_CSUM2;
		break;
	case GDB_IN_CSUM2: {
		h.out_cs[1] = c;
		h.out_state = GDB_IN_IDLE;
		char want[3];
		snprintf(want, sizeof(want), "%02x", h.out_sum);
		if (memcmp(want, h.out_cs, 2))
			die("the stub sent a packet with a wrong checksum");
		h.replies++;
		h.stops += h.out_stop;
		break;
	}
	}
}

/* Reads what the stub sent, and lets it send what it queued (lock held). */
static void drain(void)
{
	static char buf[1 << 16];
	for (;;) {
		ssize_t n;
		while ((n = recv(h.client, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			for (ssize_t i = 0; i < n; i++)
				reply_byte(buf[i]);
		if (h.g->conn_fd < 0 || !h.g->out_len)
			return;
		h.conn_fn(h.g, h.g->conn_fd, EPOLLOUT); /* the event loop's EPOLLOUT */
	}
}

/* A debugger connects, as listen_event takes it (lock held). */
static void connect_debugger(void)
{
	int sv[2];
	if (h.client >= 0)
		close(h.client);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 ||
	    evloop_add_fd(&h.vm.loop, sv[0], EPOLLIN, h.conn_fn, h.g) < 0)
		die("cannot connect");
	h.client = sv[1];
	h.g->conn_fd = sv[0];
	h.g->stop_signal = 5;
	h.g->report_event = false;
	h.out_state = GDB_IN_IDLE;
	h.reconnects++;
}

/* Bytes from the debugger: the stub reads them as its event loop would have it (lock held). */
static void send_chunk(const uint8_t *p, size_t n)
{
	if (h.g->conn_fd < 0)
		connect_debugger();
	if (send(h.client, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n)
		die("the connection took less than a chunk");
	int avail = 0;
	while (h.g->conn_fd >= 0 && ioctl(h.g->conn_fd, FIONREAD, &avail) == 0 && avail > 0)
		h.conn_fn(h.g, h.g->conn_fd, EPOLLIN);
	drain();
}

/* ---- the machine between inputs ---- */

static void put(uint64_t gpa, const void *p, size_t len)
{
	if (ram_write(&h.vm.ram, gpa, p, len) < 0)
		abort();
}

/* The guest: a loop of increments, moves and a call, for 16-bit code
 * and (the same bytes) 32- and 64-bit code; ebx/rbx holds the vCPU's counters. */
static void write_guest(void)
{
	static const uint8_t code16[] = {
		0xff, 0x07, /* inc word [bx] */
		0x8b, 0x07, /* mov ax, [bx] */
		0x01, 0x47, 0x04, /* add [bx+4], ax */
		0x50, 0x59, /* push ax; pop cx */
		0xe8, 0x05, 0x00, /* call 0x11 */
		0x89, 0xc2, /* mov dx, ax */
		0xeb, 0xf0, /* jmp 0 */
		0x90,
		0x89, 0x4f, 0x08, /* 0x11: mov [bx+8], cx */
		0xc3, /* ret */
	};
	static const uint8_t code32[] = {
		0xff, 0x03, /* inc dword [ebx] */
		0x8b, 0x03, /* mov eax, [ebx] */
		0x01, 0x43, 0x04, /* add [ebx+4], eax */
		0x50, 0x59, /* push; pop */
		0xe8, 0x07, 0x00, 0x00, 0x00, /* call 0x15 */
		0x89, 0xc2, /* mov edx, eax */
		0x90, 0x90, 0x90,
		0xeb, 0xeb, /* jmp 0 */
		0x89, 0x4b, 0x08, /* 0x15: mov [ebx+8], ecx */
		0xc3, /* ret */
	};
	put(CODE16_GPA, code16, sizeof(code16));
	put(CODE32_GPA, code32, sizeof(code32));
	/* 64-bit mode: the first GiB identity-mapped with 2 MiB pages. */
	uint64_t pml4e = (PML4_GPA + 0x1000) | 7, pdpte = (PML4_GPA + 0x2000) | 7;
	put(PML4_GPA, &pml4e, 8);
	put(PML4_GPA + 0x1000, &pdpte, 8);
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t pde = i << 21 | 0x87;
		put(PML4_GPA + 0x2000 + i * 8, &pde, 8);
	}
}

static void initial_state(struct x86_cpu_state *s, unsigned mode, unsigned cpu)
{
	uint32_t code = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_CODE | SEG_TYPE_CODE_R | SEG_TYPE_ACCESSED;
	uint32_t data = SEG_ATTR_S | SEG_ATTR_P | SEG_TYPE_DATA_RW | SEG_TYPE_ACCESSED;
	if (mode == 0) {
		x86_state_reset(s);
		for (int i = 0; i < X86_NR_SREGS; i++)
			s->seg[i] = (struct x86_segment){ 0, 0, 0xffff, i == X86_CS ? code : data };
		s->rip = CODE16_GPA;
	} else {
		x86_state_flat32(s);
		s->rip = CODE32_GPA;
	}
	if (mode == 2) {
		s->cr0 |= CR0_PG;
		s->cr4 |= CR4_PAE;
		s->cr3 = PML4_GPA;
		s->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
		s->seg[X86_CS].attr = (s->seg[X86_CS].attr & ~(uint32_t)SEG_ATTR_DB) | SEG_ATTR_L;
	}
	s->gpr[X86_RBX] = DATA_GPA + 0x100 * cpu;
	s->gpr[X86_RSP] = STACK_GPA - 0x100 * cpu;
}

/* Stops the machine, forgets the last debugger's doings, puts the guest back. Lock held. */
static void reset_machine(unsigned mode)
{
	struct gdb_stub *g = h.g;
	struct vm *vm = &h.vm;
	wait_quiet();
	vm->exit_requested = false; /* k, vKill */
	vm->exit_status = 0;
	if (g->conn_fd < 0)
		connect_debugger();
	bool all = true;
	for (unsigned i = 0; i < NCPUS; i++)
		all &= g->cpu[i].parked || g->cpu[i].idle;
	if (!all)
		g->stopped = false;
	if (!gdb_ensure_parked(g))
		die("the vCPUs did not stop for the stub: a hang");
	wait_quiet();
	drain();
	if (fallocate(vm->ram.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, RAM) < 0)
		memset(vm->ram.host, 0, RAM);
	ram_note_write(&vm->ram, 0, RAM); /* the engine drops the code it decoded */
	write_guest();
	memset(&g->dbg, 0, sizeof(g->dbg));
	for (unsigned i = 0; i < NCPUS; i++) {
		struct gdb_cpu *gc = &g->cpu[i];
		if (i < NRUN) {
			initial_state(&gc->state, mode, i);
			gc->state_dirty = true;
		}
		gc->pending = false;
		gc->event = GDB_EV_NONE;
		gc->watch = -1;
		gc->skip_first = false;
		gc->code_changed = true;
		h.cpu[i].halted = false;
	}
	/* As after -S: the BSP stopped, the debugger freshly connected. */
	g->in_state = GDB_IN_IDLE;
	g->no_ack = false;
	g->last_len = 0;
	g->report = 0;
	g->first = -1;
	g->cur_g = 0;
	g->cur_c = 0;
	g->stop_signal = 5;
	g->report_event = false;
	g->reply_on_stop = false;
	g->ctrl_c = false;
	g->arch_chosen = false;
	h.out_state = GDB_IN_IDLE;
}

static void setup(void)
{
	struct vm *vm = &h.vm;
	char why[256];
	h.client = -1;
	vm->ncpus = NCPUS;
	vm->eng_ops = &soft_engine_ops;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	vclock_init(&vm->clock);
	if (ram_init(&vm->ram, RAM) < 0 || evloop_init(&vm->loop, &vm->clock, &vm->lock) < 0)
		die("cannot set up");
	struct engine_host host = { .ram = &vm->ram, .pio = guest_pio, .mmio = guest_mmio, .intr_ack = guest_intr_ack };
	host.soft.jit_threshold = 2; /* the translator too, and its invalidation when the debugger writes code */
	host.soft.jit_cache_size = 1u << 20;
	if (soft_engine_ops.create(&host, &vm->engine, why, sizeof(why)) < 0)
		die(why);
	/* The stub as --gdb tcp:127.0.0.1:0 -S makes it; one debugger connects through
	 * its listening socket, which gives its connection callback, then the
	 * connection moves to a socketpair (faster; no port to find). */
	struct debug_opts o = { .gdb = "tcp:127.0.0.1:0", .gdb_wait = true };
	int err = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC); /* not its "listening on" line */
	if (err < 0 || null < 0 || dup2(null, 2) < 0)
		die("cannot open /dev/null");
	int r = gdb_stub_create(vm, &o, &h.g, why, sizeof(why));
	if (dup2(err, 2) < 0)
		abort();
	close(err);
	close(null);
	if (r < 0)
		die(why);
	for (unsigned i = 0; i < NCPUS; i++) {
		struct vm_cpu *c = &vm->cpus[i];
		c->vm = vm;
		c->index = i;
		pthread_cond_init(&c->wake, NULL);
	}
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp < 0 || getsockname(h.g->listen_fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    connect(tcp, (struct sockaddr *)&sa, sl) < 0)
		die("cannot connect to the stub");
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < EVLOOP_MAX_FDS; i++)
		if (vm->loop.fds[i].fn && vm->loop.fds[i].fd == h.g->listen_fd)
			vm->loop.fds[i].fn(vm->loop.fds[i].opaque, h.g->listen_fd, EPOLLIN);
	for (unsigned i = 0; i < EVLOOP_MAX_FDS && h.g->conn_fd >= 0; i++)
		if (vm->loop.fds[i].fn && vm->loop.fds[i].fd == h.g->conn_fd)
			h.conn_fn = vm->loop.fds[i].fn;
	if (!h.conn_fn)
		die("the stub did not take the connection");
	evloop_del_fd(&vm->loop, h.g->conn_fd);
	close(h.g->conn_fd);
	close(tcp);
	h.g->conn_fd = -1;
	connect_debugger();
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < NCPUS; i++)
		if (pthread_create(&h.cpu[i].thread, NULL, cpu_thread, &vm->cpus[i]) != 0)
			die("cannot start a vCPU thread");
	pthread_mutex_lock(&vm->lock);
	while (h.ready < NCPUS || !cpu_quiet(0) || !cpu_quiet(1) || !cpu_quiet(2))
		pthread_cond_wait(&h.g->parked_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

/* ---- one input ---- */

static bool resumes(const uint8_t *payload, size_t len)
{
	return len && payload[0] && (strchr("cCsSD", payload[0]) || (len >= 5 && !memcmp(payload, "vCont", 5)));
}

int fuzz_gdb_one(const uint8_t *data, size_t size);
int fuzz_gdb_one(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1)
		return 0;
	unsigned mode = data[0] & 3;
	bool fix = (data[0] >> 2 & 3) != 0;
	data++;
	size--;
	if (size > INPUT_MAX)
		size = INPUT_MAX;
	memcpy(h.in, data, size);
	pthread_mutex_lock(&h.vm.lock);
	reset_machine(mode == 3 ? 1 : mode);
	h.inputs++;
	/* Chunks end after a packet that lets the guest run and after a Ctrl-C (the
	 * guest runs a little there), or at CHUNK_MAX bytes. The framing follows
	 * the stub's (feed) to find packets and, unless asked not to, put their
	 * checksums right. */
	enum gdb_in_state st = GDB_IN_IDLE;
	size_t start = 0, payload = 0;
	uint8_t sum = 0;
	for (size_t i = 0; i < size; i++) {
		uint8_t c = h.in[i];
		bool end = false;
		switch (st) {
		case GDB_IN_IDLE:
			if (c == '$') {
				st = GDB_IN_DATA;
				payload = i + 1;
				sum = 0;
			} else if (c == 0x03) {
				end = true;
			}
			break;
		case GDB_IN_DATA:
			if (c == '#') {
				st = GDB_IN_CSUM1;
				if (fix && i + 2 < size) {
					static const char hex[] = "0123456789abcdef";
					h.in[i + 1] = (uint8_t)hex[sum >> 4];
					h.in[i + 2] = (uint8_t)hex[sum & 15];
				}
			} else if (c == '$') {
				payload = i + 1;
				sum = 0;
			} else {
				sum = (uint8_t)(sum + c);
			}
			break;
		case GDB_IN_CSUM1:
			st = GDB_IN_CSUM2;
			break;
		case GDB_IN_CSUM2:
			st = GDB_IN_IDLE;
			h.packets++;
			end = resumes(h.in + payload, i - 2 - payload);
			break;
		}
		if (end || i + 1 - start == CHUNK_MAX || i + 1 == size) {
			send_chunk(h.in + start, i + 1 - start);
			start = i + 1;
			if (end)
				run_machine();
		}
	}
	run_machine();
	drain();
	pthread_mutex_unlock(&h.vm.lock);
	return 0;
}

#ifndef FUZZ_NO_MAIN
/* ---- make check: random debugger sessions ---- */

static uint64_t s;

static unsigned rnd(unsigned n)
{
	return (unsigned)(fuzz_next(&s) >> 16) % n;
}

static const char *hexs(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
	return out;
}

/* An address worth asking about: the guest's code, data and stack, page
 * tables, the end of RAM, past it, high or canonical-looking ones. */
static uint64_t addr(void)
{
	static const uint64_t at[] = { CODE16_GPA, CODE32_GPA, DATA_GPA, DATA_GPA + 0x100, STACK_GPA - 0x10,
				       PML4_GPA, RAM - 4, RAM - 0x1000, RAM, 0xfffff000, 0xffffffffffffff00ULL,
				       0x7ffffffff000ULL, 0 };
	uint64_t a = at[rnd(ARRAY_SIZE(at))];
	return rnd(4) ? a + rnd(32) : fuzz_next(&s) >> rnd(64);
}

/* One packet's payload into p (at most cap bytes, cap > 600); returns its length. */
static size_t payload(char *p, size_t cap, enum gdb_arch arch)
{
	char hex[2 * 512 + 1];
	uint8_t b[512];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)fuzz_next(&s);
	unsigned nregs = gdb_regs_count(arch), r = rnd(nregs + 2);
	unsigned bp = rnd(5), len = 1u << rnd(4);
	switch (rnd(34)) {
	case 0: return (size_t)snprintf(p, cap, "?");
	case 1: case 2: return (size_t)snprintf(p, cap, "g");
	case 3: { /* G: the right length most of the time */
		size_t n = 0;
		for (unsigned i = 0; i < nregs; i++)
			n += gdb_reg_size(arch, i);
		n = rnd(4) ? n : rnd((unsigned)n + 20);
		size_t o = (size_t)snprintf(p, cap, "G");
		for (size_t i = 0; i < n && o + 3 < cap; i++)
			o += (size_t)snprintf(p + o, cap - o, "%02x", (uint8_t)fuzz_next(&s));
		return o;
	}
	case 4: return (size_t)snprintf(p, cap, "p%x", r);
	case 5: {
		unsigned sz = r < nregs ? gdb_reg_size(arch, r) : 4;
		return (size_t)snprintf(p, cap, "P%x=%s", r, hexs(hex, b, rnd(8) ? sz : rnd(20)));
	}
	case 6: case 7: return (size_t)snprintf(p, cap, "m%" PRIx64 ",%x", addr(), rnd(3) ? rnd(64) : rnd(0x3000));
	case 8: {
		unsigned n = rnd(64);
		return (size_t)snprintf(p, cap, "M%" PRIx64 ",%x:%s", addr(), rnd(8) ? n : n + 1, hexs(hex, b, n));
	}
	case 9: { /* X: binary, with the bytes that must be escaped escaped */
		unsigned n = rnd(64);
		size_t o = (size_t)snprintf(p, cap, "X%" PRIx64 ",%x:", addr(), n);
		for (unsigned i = 0; i < n; i++) {
			uint8_t v = b[i];
			if (v == '#' || v == '$' || v == '}' || v == '*') {
				p[o++] = '}';
				v ^= 0x20;
			}
			p[o++] = (char)v;
		}
		return o;
	}
	case 10: case 11: case 12:
		return (size_t)snprintf(p, cap, "%c%u,%" PRIx64 ",%x", rnd(3) ? 'Z' : 'z', bp,
					bp < 2 && rnd(2)   ? (uint64_t)CODE32_GPA + rnd(0x19)
					: bp < 2 && rnd(2) ? (uint64_t)CODE16_GPA + rnd(0x15)
							    : addr(),
					rnd(4) ? len : rnd(20));
	case 13: case 14: return (size_t)snprintf(p, cap, "c");
	case 15: case 16: return (size_t)snprintf(p, cap, "s");
	case 17: return (size_t)snprintf(p, cap, "%c%02x%s", rnd(2) ? 'C' : 'S', rnd(256), rnd(2) ? "" : ";1100");
	case 18: return (size_t)snprintf(p, cap, "%c%" PRIx64, rnd(2) ? 'c' : 's', rnd(2) ? (uint64_t)CODE32_GPA : addr());
	case 19: case 20: {
		static const char *const v[] = { "vCont?", "vCont;c", "vCont;s", "vCont;s:1;c", "vCont;s:2;c:1",
						 "vCont;c:-1", "vCont;S05:1", "vCont;C09", "vCont;s:4", "vCont;x",
						 "vCont;s:1;s:2;c", "vCont", "vCont;", "vCont;c:0" };
		return (size_t)snprintf(p, cap, "%s", v[rnd(ARRAY_SIZE(v))]);
	}
	case 21: return (size_t)snprintf(p, cap, "H%c%d", rnd(2) ? 'g' : 'c', (int)rnd(6) - 1);
	case 22: return (size_t)snprintf(p, cap, "T%d", (int)rnd(6) - 1);
	case 23: {
		static const char *const q[] = { "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
						 "qAttached", "qC", "qfThreadInfo", "qsThreadInfo", "qOffsets",
						 "qSymbol::", "qTStatus", "QStartNoAckMode", "QNonStop:1", "vMustReplyEmpty",
						 "qThreadExtraInfo,1", "qThreadExtraInfo,3", "qThreadExtraInfo,9",
						 "qXfer:features:read:other.xml:0,10", "qXfer:threads:read::0,100", "!" };
		return (size_t)snprintf(p, cap, "%s", q[rnd(ARRAY_SIZE(q))]);
	}
	case 24: case 25:
		return (size_t)snprintf(p, cap, "qXfer:features:read:target.xml:%x,%x", rnd(3) ? rnd(0x3000) : rnd(64),
					rnd(3) ? rnd(0x1000) : 0xffffffffu);
	case 26: case 27: {
		static const char *const m[] = { "help", "regs", "info registers", "cr", "insn", "translate 0x1100",
						 "translate ffffffffffff", "xp 0x1000 0x40", "xp 1ff000 400", "xp 0x10 0x401",
						 "xp", "translate", "bogus", "" };
		char cmd[64];
		snprintf(cmd, sizeof(cmd), "%s", m[rnd(ARRAY_SIZE(m))]);
		return (size_t)snprintf(p, cap, "qRcmd,%s", hexs(hex, (const uint8_t *)cmd, strlen(cmd)));
	}
	case 28: return (size_t)snprintf(p, cap, "D");
	case 29: return (size_t)snprintf(p, cap, "%s", rnd(4) ? "qC" : rnd(2) ? "k" : "vKill");
	case 30: { /* junk of printable bytes, '*' run-length markers and escapes among them */
		size_t n = rnd(80);
		for (size_t i = 0; i < n; i++)
			p[i] = "gGmMpPzZ0123456789abcdef,:;=*}-+qvHT"[rnd(36)];
		return n;
	}
	case 31: { /* raw bytes, NUL included */
		size_t n = rnd(64);
		memcpy(p, b, n);
		return n;
	}
	case 32: { /* long: at, over or under the stub's PacketSize */
		size_t n = rnd(2) ? GDB_PACKET_MAX + rnd(3) - 1 : 1 + rnd(2000);
		n = n < cap ? n : cap;
		p[0] = 'm';
		memset(p + 1, '0', n - 1);
		return n;
	}
	default: return (size_t)snprintf(p, cap, "Hg%u", rnd(4));
	}
}

/* A session: the first byte, then packets and what goes between them. */
static size_t session(uint8_t *out, size_t cap)
{
	static char p[GDB_PACKET_MAX + 16];
	size_t o = 0;
	out[o++] = (uint8_t)(rnd(16) ? 4 | rnd(4) : rnd(4)); /* checksums right one time in 16 */
	enum gdb_arch arch = (out[0] & 3) == 2 ? GDB_ARCH_AMD64 : GDB_ARCH_I386;
	unsigned n = 1 + rnd(40);
	for (unsigned k = 0; k < n && o + sizeof(p) + 8 < cap; k++) {
		switch (rnd(24)) {
		case 0: out[o++] = 0x03; continue; /* Ctrl-C */
		case 1: out[o++] = rnd(2) ? '-' : '+'; break;
		case 2: out[o++] = (uint8_t)fuzz_next(&s); break; /* a stray byte */
		default: break;
		}
		size_t len = payload(p, sizeof(p) - 1, arch);
		out[o++] = '$';
		memcpy(out + o, p, len);
		o += len;
		if (rnd(40) == 0)
			continue; /* never ends */
		uint8_t sum = gdb_checksum(p, len);
		o += (size_t)sprintf((char *)out + o, "#%02x", rnd(16) ? sum : (uint8_t)(sum + 1 + rnd(255)));
		if (rnd(12) == 0)
			out[o++] = rnd(2) ? '-' : '+';
	}
	return o;
}

int main(int argc, char **argv)
{
	if (argc > 1 && access(argv[1], R_OK) == 0) { /* test_fuzz_gdb FILE...: saved inputs */
		static uint8_t buf[INPUT_MAX + 1];
		for (int i = 1; i < argc; i++) {
			FILE *f = fopen(argv[i], "rb");
			size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
			if (f)
				fclose(f);
			fuzz_gdb_one(buf, n);
			printf("ok - %s\n", argv[i]);
		}
		fprintf(stderr, "fuzz_gdb: %u packets, %u replies, %u guest slices (%u kicked), %u stop replies, %u connections\n",
			h.packets, h.replies, h.slices, h.kicks, h.stops, h.reconnects);
		return 0;
	}
	int n = argc > 1 ? atoi(argv[1]) : 3000;
	s = fuzz_seed(0x6a09e667f3bcc909ULL, 0x9e3779b97f4a7c15ULL, argc, argv);
	static uint8_t buf[96 * 1024];
	for (int i = 0; i < n; i++) {
		size_t len = session(buf, sizeof(buf));
		fuzz_gdb_one(buf, len);
	}
	/* The vCPU threads end with the machine. */
	pthread_mutex_lock(&h.vm.lock);
	h.quit = true;
	h.vm.exit_requested = true;
	for (unsigned i = 0; i < NCPUS; i++)
		pthread_cond_broadcast(&h.vm.cpus[i].wake);
	pthread_mutex_unlock(&h.vm.lock);
	for (unsigned i = 0; i < NCPUS; i++)
		pthread_join(h.cpu[i].thread, NULL);
	printf("ok - fuzz_gdb (%d random debugger sessions, no crash or hang; %u packets, %u replies, %u acks, "
	       "%u guest slices (%u kicked), %u stop replies, %u connections)\n",
	       n, h.packets, h.replies, h.acks, h.slices, h.kicks, h.stops, h.reconnects);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_gdb_one(data, size);
}
#endif
