/* SPDX-License-Identifier: MIT */
/*
 * A virtual machine: its configuration, memory, buses, clock, event loop,
 * devices (through the board) and the engine running its vCPUs, each on a
 * thread of its own (core/vm_cpu.c). One lock, the machine lock, serialises
 * every device access, timer callback and event-loop callback; vCPU threads
 * take it only around exits.
 */
#ifndef X86V_CORE_VM_H
#define X86V_CORE_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/debug_opts.h"
#include "core/event_loop.h"
#include "core/statebuf.h"
#include "core/vclock.h"
#include "cpu/x86_state.h"
#include "engine/engine.h"
#include "hw/net/net.h"
#include "mem/bus.h"
#include "mem/guest_ram.h"

/* Exit statuses. A guest's debug-exit write of V gives (V << 1) | 1, always odd;
 * x86v's own outcomes are even so the two never collide. */
enum x86v_status {
	X86V_EXIT_OK = 0, /* guest powered off, or the user quit with Ctrl-A x */
	X86V_EXIT_USAGE = 2, /* bad command line, unreadable or malformed image, unusable engine */
	X86V_EXIT_SHUTDOWN = 4, /* triple fault / shutdown with --no-reboot */
	X86V_EXIT_INTERNAL_ERROR = 6, /* the engine could not run what the guest did */
	X86V_EXIT_FAIL_ENTRY = 8, /* hardware refused to enter the guest */
	X86V_EXIT_UNKNOWN_EXIT = 10, /* an engine exit x86v does not handle */
	X86V_EXIT_TIMEOUT = 12, /* --timeout expired */
	X86V_EXIT_HOST_ERROR = 14, /* a host call failed while running */
	X86V_EXIT_HALTED = 16, /* the vCPU halted with no interrupt source */
	X86V_EXIT_RESET = 18, /* the guest reset the machine and --no-reboot was given */
};

#define VM_MAX_DRIVES 8
#define VM_MAX_NETS 4

/* A disk (--drive): a raw image file as a virtio-blk device. */
struct vm_drive {
	char file[4096];
	bool readonly; /* readonly=on */
	bool direct; /* cache=none: O_DIRECT */
	bool nbd; /* format=nbd, or an nbd:// URI: file is an NBD URI */
};

struct vm_config {
	uint64_t ram_size;
	unsigned ncpus; /* --smp: 1..ENGINE_MAX_VCPUS */
	const char *accel; /* "kvm" or "soft" ("auto" until main() resolves it) */
	const char *bios;
	const char *kernel;
	const char *initrd;
	const char *append;
	const char *serial; /* "stdio", "none" or "file:PATH" */
	bool no_reboot;
	bool stats; /* print instructions executed and MIPS at the end (stderr) */
	bool verbose; /* log_verbose: informational and expected-guest-behaviour lines */
	bool overcommit; /* allow ram_size beyond the host's RAM + swap */
	const char *user; /* --user: drop to this user's uid and gids once set up (started as root) */
	int sandbox; /* --sandbox: 1 on, 0 off, -1 the build's default (core/sandbox.h) */
	unsigned kernel_entry; /* bzImage entry: 64, 32, or 0 (64 if the kernel has it, else 32) */
	/* --irqchip kernel: the engine's own PIC/IOAPIC/LAPIC/PIT (KVM's in-kernel
	 * ones) instead of x86v's models; only engines whose has_irqchip says so. */
	bool irqchip_kernel;
	/* Soft engine tiers (engine_host.soft): --tier interp, --jit-threshold, --jit-cache. */
	bool interp_only;
	uint32_t jit_threshold;
	uint64_t jit_cache_size;
	uint64_t jit_check; /* --jit-check N */
	bool jit_perf_map; /* --jit-perf-map */
	double timeout; /* seconds; 0 = none */
	struct vm_drive drives[VM_MAX_DRIVES]; /* --drive, -hda, in order: vda, vdb... */
	unsigned ndrives;
	struct net_options nets[VM_MAX_NETS]; /* --net, -nic: virtio-net cards in order */
	unsigned nnets;
	bool rng; /* --rng: a virtio-rng device fed by getrandom() */
	bool console_virtio; /* --console virtio: the terminal's input goes to hvc0 */
	bool virtio_packed; /* --virtio-ring packed: the virtio devices offer packed virtqueues */
	const char *restore; /* --restore: start from this snapshot instead of booting */
	const char *snapshot_on_exit; /* --snapshot-on-exit: where snapshots go (also Ctrl-A s) */
	const char *api_sock; /* --api-sock: the control API's Unix socket (core/api.h) */
	const char *config_file; /* --config-file: the machine in Firecracker's JSON */
	struct debug_opts debug; /* --gdb, -S, --trace... (docs/debugging.md) */
};

/* Interrupt lines (GSIs) the machine drives: the IOAPIC's 24 pins. */
#define VM_GSI_COUNT 24
#define VM_MAX_IOEVENTFDS 32

struct chardev;
struct board;
struct gdb_stub;
struct trace;
struct vm;

/* A vCPU's part of a snapshot, taken and given back by its own thread (KVM
 * wants vCPU ioctls from there): saving fills it (vm_capture_cpus), --restore
 * fills it for the vCPU's start. */
struct vm_cpu_snap {
	struct x86_cpu_state state;
	struct statebuf platform; /* the engine's own record (engine_ops.save_platform), maybe empty */
	bool wait_sipi; /* an application processor waiting for a start-up IPI */
	int result; /* saving: 0 or -errno */
};

/* One vCPU as the machine sees it. (lock): changed with the machine lock held. */
struct vm_cpu {
	struct vm *vm;
	unsigned index; /* also its initial APIC ID; 0 is the bootstrap processor */
	struct vcpu *vcpu; /* the engine's vCPU, once its thread made it (lock) */
	pthread_t thread;
	bool thread_started;
	bool running; /* its thread is in its run loop (lock) */
	pthread_cond_t wake; /* it waits here: halted, waiting for a SIPI, parked */
	bool intr_level; /* the controllers' INTR output to it (lock) */
	bool nmi_wake; /* an NMI was raised since it last woke from a halt (lock) */
	bool init_sipi; /* an INIT or start-up IPI waits in its local APIC (lock) */
	bool dump_requested; /* Ctrl-A r: print its registers and go on (lock) */
	bool parked; /* stopped at its pause point (lock) */
	/* An application processor after INIT (and from power-on): it runs
	 * nothing until a start-up IPI. Its own thread's. */
	bool wait_sipi;
	unsigned reset_gen; /* the machine reset its state last followed (lock) */
	unsigned capture_gen; /* the state capture it last answered (lock) */
	bool exit_captured; /* it took its state into snap as its thread ended (lock) */
	bool capturing; /* its thread is writing snap: not to be read meanwhile (lock) */
	bool restoring; /* --restore: an AP starts from snap */
	struct vm_cpu_snap snap;
};

struct vm {
	struct vm_config cfg;
	pthread_mutex_t lock;
	struct guest_ram ram;
	struct bus pio;
	struct bus mmio;
	struct vclock clock;
	struct event_loop loop;
	struct chardev *serial;
	struct board *board;
	unsigned user_uid, user_gid; /* --user's ids */

	const struct engine_ops *eng_ops;
	struct engine *engine;
	unsigned ncpus;
	struct vm_cpu cpus[ENGINE_MAX_VCPUS];
	struct x86_cpu_state boot_state; /* the BSP's, as loaders built it; reset restores it */
	/* --restore: the engine's own state from the snapshot (core/snapshot.c),
	 * given to the vCPU once, after boot_state; NULL when none. */
	uint8_t *boot_platform;
	size_t boot_platform_len;
	bool bsp_restored; /* --restore: the BSP has its state, so the VM-wide chips theirs (lock) */
	unsigned nrestoring; /* --restore: APs still taking their state (lock) */
	unsigned capture_gen; /* state captures asked for (lock) */

	struct vtimer timeout_timer;
	bool gsi_level[VM_GSI_COUNT]; /* --irqchip kernel: the lines' levels (lock held) */
	/* MMIO writes bound to eventfds (virtio kicks): kept so that bindings made
	 * before the engine existed reach it (lock held). */
	struct vm_ioeventfd {
		uint64_t addr;
		unsigned len;
		int fd; /* -1: a free slot */
	} ioeventfds[VM_MAX_IOEVENTFDS];
	bool reset_requested; /* a device asked for a system reset (lock held) */
	unsigned reset_gen; /* machine resets so far (lock held) */
	bool exit_requested; /* lock held to change */
	int exit_status;
	bool snapshot_requested; /* Ctrl-A s: the vCPU thread writes a snapshot (lock held) */
	bool guest_ended; /* the guest powered off or exited: nothing to snapshot on exit */
	int snapshot_dir; /* the snapshots' directory (core/snapshot.c), or -1 */
	int64_t started_ns; /* CLOCK_MONOTONIC when vm_create began (--restore's figure) */
	/* Stopping the vCPUs (lock held). The control API's pause
	 * (core/vm_control.c): every vCPU thread parks at its next exit, the
	 * clock stands still, and a snapshot asked for meanwhile is written by
	 * the parked BSP thread. A vCPU thread that needs the others stopped (a
	 * machine reset) is the stopper while it works. */
	bool pause_requested;
	unsigned nrunning; /* vCPU threads in their run loops */
	unsigned nparked; /* of those, parked */
	unsigned nstuck; /* of those, waiting for what only an NMI, INIT or SIPI ends */
	struct vm_cpu *stopper;
	pthread_cond_t stop_cond; /* waiters for nparked to change */
	const char *api_snapshot; /* state file to write while paused, or NULL */
	const char *api_snapshot_mem; /* its memory file's name (NULL: PATH.mem-ID) */
	bool api_snapshot_done;
	int api_snapshot_result;
	char api_snapshot_why[320];
	pthread_cond_t api_cond; /* the API thread waits here for the vCPU thread */
	bool dump_on_exit; /* capture the registers when the vCPU stops */
	char exit_reason[320]; /* one line, printed after the terminal is restored */
	char *exit_dump; /* register dump for an abnormal end, or NULL */
	struct gdb_stub *gdb; /* --gdb, or NULL (core/vm_debug.c) */
	struct trace *trace; /* --trace, or NULL */
};

/* Builds the whole machine from cfg. On failure prints a one-line error and returns the status to exit with. */
int vm_create(struct vm *vm, const struct vm_config *cfg) MUST_CHECK;
/* Runs the machine until the guest or the user ends it; returns the exit status. */
int vm_run(struct vm *vm);
/* Tears the machine down; once the console is restored, prints the reason and register
 * dump of an abnormal end on stderr. */
void vm_destroy(struct vm *vm);

/* Ends the run with status (first request wins). Lock held. */
void vm_request_exit(struct vm *vm, int status);
/* Wakes every waiting vCPU thread and kicks every vCPU out of the guest, so
 * that each looks at the machine's requests (lock held). */
void vm_kick_all(struct vm *vm);
/* The vCPU whose thread calls (its index), or 0 on any other thread. */
unsigned vm_current_cpu(void);

/* The control API (core/vm_control.c), from any thread but the vCPU's, lock
 * not held. vm_pause returns once the vCPU is parked, vm_resume once it runs. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* While paused: the vCPU thread writes a snapshot to path (memory file mem,
 * a plain name in path's directory, or NULL). 0 or -errno with why. */
int vm_snapshot_paused(struct vm *vm, const char *path, const char *mem, char *why, size_t why_len) MUST_CHECK;
/* Presses Ctrl+Alt+Del on the keyboard. 0 or -errno. */
int vm_ctrl_alt_del(struct vm *vm) MUST_CHECK;
/* A vCPU thread, between runs: parks while a pause is asked for or another
 * vCPU has the machine stopped. Lock held. */
void vm_pause_point(struct vm_cpu *c);
/* A vCPU thread: stops every other vCPU at its pause point (they park), and
 * lets them go again. Lock held throughout; two vCPUs asking at once take
 * turns. */
void vm_stop_others(struct vm_cpu *c);
void vm_start_others(struct vm_cpu *c);
/* The BSP's thread, the other vCPUs parked or ended: each vCPU's thread takes
 * its state into its snap (an ended one did as it ended, with
 * --snapshot-on-exit). Lock held (dropped while waiting). 0 or the first
 * failure's -errno, with the vCPU in *failed. */
int vm_capture_cpus(struct vm *vm, unsigned *failed);

/* The vCPU thread (core/vm_cpu.c). */
void *vm_cpu_thread(void *opaque);
/* Ctrl-A r's and --timeout's dumps: the vCPU's registers into a string (free it). */
char *vm_cpu_dump(struct vm_cpu *c);

#endif
