/* SPDX-License-Identifier: MIT */
/*
 * The one vCPU interface both engines implement. The machine hands an engine
 * its guest RAM and two access callbacks (port I/O, MMIO); the engine runs
 * vCPUs until something only the machine can handle, and loads/saves the
 * full architectural state in engine-neutral form (cpu/x86_state.h).
 *
 * Threading: each vCPU runs on its own host thread, several at once; run()
 * and the other per-vCPU calls come from that thread. kick() may be called
 * from any thread (and from a signal handler); it makes run() return
 * VCPU_EXIT_KICK soon. The access callbacks take the machine lock
 * themselves; callbacks that name a cpu get the vCPU's index (vcpu_create).
 */
#ifndef X86V_ENGINE_ENGINE_H
#define X86V_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"
#include "cpu/x86_state.h"
#include "mem/guest_ram.h"

/* vCPUs per machine (indices 0..ENGINE_MAX_VCPUS-1; index = initial APIC ID). */
#define ENGINE_MAX_VCPUS 64

struct engine_host {
	struct guest_ram *ram;
	/* data holds size (1, 2, 4) bytes, little-endian; reads fill it. */
	void (*pio)(void *opaque, uint16_t port, void *data, unsigned size, bool is_write);
	/* data holds size (1..8) bytes; reads fill it. */
	void (*mmio)(void *opaque, uint64_t gpa, void *data, unsigned size, bool is_write);
	/* The INTA cycle: the vector of the maskable interrupt the controllers present
	 * to vCPU cpu, now in service; -1 if the request went away. Engines call it
	 * when the INTR line is up and the vCPU can take an interrupt. */
	int (*intr_ack)(void *opaque, unsigned cpu);
	/* MSRs the machine owns (local APIC): 0, or -EINVAL when the access must #GP. */
	int (*msr_read)(void *opaque, unsigned cpu, uint32_t index, uint64_t *value);
	int (*msr_write)(void *opaque, unsigned cpu, uint32_t index, uint64_t value);
	/* The machine's virtual clock in ns (any thread, no lock): the time base
	 * of the devices' timers, for an engine that keeps guest time itself. */
	int64_t (*clock_ns)(void *opaque);
	/* --irqchip kernel: the engine emulates the PIC pair, IOAPIC, local APICs and
	 * PIT itself (create fails when it cannot). The machine then has none of its
	 * own: it drives interrupt lines with set_irq and never gets intr_ack, the
	 * local APIC MSRs, or VCPU_EXIT_HALT (the engine waits for interrupts itself). */
	bool irqchip_kernel;
	/* Soft engine tiers (0 = the default): the interpreter alone, or the
	 * translator for blocks run jit_threshold times, with a code cache of
	 * jit_cache_size bytes. */
	struct {
		bool interp_only;
		uint32_t jit_threshold;
		uint64_t jit_cache_size;
		uint64_t jit_check; /* lockstep-check this many translated block runs */
		bool jit_perf_map; /* name translations in /tmp/perf-PID.map */
	} soft;
	void *opaque;
};

enum vcpu_exit_reason {
	VCPU_EXIT_KICK, /* kick() was called: the machine wants the thread back */
	VCPU_EXIT_SHUTDOWN, /* triple fault or shutdown cycle */
	VCPU_EXIT_HALT, /* HLT: the vCPU waits for an interrupt (run again once INTR is up) */
	VCPU_EXIT_INTERNAL_ERROR, /* the engine could not emulate what the guest did */
	VCPU_EXIT_FAIL_ENTRY, /* hardware refused to enter the guest */
	VCPU_EXIT_UNKNOWN, /* an exit this VMM does not know how to handle */
	VCPU_EXIT_DEBUG, /* a breakpoint, watchpoint or single step of set_debug() */
};

struct vcpu_exit {
	enum vcpu_exit_reason reason;
	char detail[256]; /* one line, for the user */
	/* VCPU_EXIT_DEBUG: the linear address of the next instruction to run, and the
	 * hardware slot (0..3) of the watchpoint that hit with the address it watches,
	 * or debug_watch = -1 (breakpoint or step). */
	uint64_t debug_pc;
	int debug_watch;
	uint64_t debug_watch_addr;
};

/*
 * Guest debugging (engine_ops.set_debug), the union of what GDB asks for.
 * Addresses are linear (segment base applied, before paging). Software
 * breakpoints stop before the instruction at the address runs; hardware
 * breakpoints likewise; watchpoints stop after the accessing instruction.
 */
enum engine_hw_bp_type { ENGINE_HW_EXEC, ENGINE_HW_WRITE, ENGINE_HW_READ, ENGINE_HW_ACCESS };
#define ENGINE_MAX_SW_BP 64
#define ENGINE_MAX_HW_BP 4

struct engine_hw_bp {
	bool enabled;
	enum engine_hw_bp_type type;
	uint64_t addr;
	unsigned len; /* 1, 2, 4, 8; addr aligned to len */
};

struct engine_debug {
	bool enabled; /* false: no debugging, every field below ignored */
	bool single_step; /* stop after one instruction (interrupts held off meanwhile) */
	/* The first instruction after this call ignores breakpoints at its address,
	 * so continuing from a breakpoint does not stop at once (the RF flag's job). */
	bool skip_first;
	/* The debugger wrote guest memory: drop what was derived from the old bytes. */
	bool code_changed;
	unsigned n_sw;
	uint64_t sw_bp[ENGINE_MAX_SW_BP];
	struct engine_hw_bp hw[ENGINE_MAX_HW_BP];
};

/* Per-instruction trace hook (engines that can trace: soft). want() is asked
 * before each instruction (cheap filter); when it says yes, insn() follows
 * with the state before and after it (fault: the vector it raised, else -1).
 * Both run on the vCPU thread. */
struct engine_trace {
	bool (*want)(void *opaque, const struct x86_cpu_state *s);
	void (*insn)(void *opaque, const struct x86_cpu_state *before, const struct x86_cpu_state *after,
		     int fault_vector);
	void *opaque;
};

#define ENGINE_BRANCH_HISTORY 16
struct engine_branch {
	uint64_t from, to; /* RIP values (offsets in CS; linear in flat modes) */
};

struct engine;
struct vcpu;
struct statebuf; /* core/statebuf.h */
struct state_reader;

struct engine_ops {
	const char *name;
	/* Creates the VM-wide part. On failure fills why (one line) and returns -errno. */
	int (*create)(const struct engine_host *host, struct engine **out, char *why, size_t why_len);
	void (*destroy)(struct engine *eng);
	/* vCPU index (< ENGINE_MAX_VCPUS, each at most once), on the thread that
	 * will run it. Its CPUID reports index as its initial APIC ID. */
	int (*vcpu_create)(struct engine *eng, unsigned index, struct vcpu **out, char *why, size_t why_len);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* Runs until an exit the machine must handle. 0 with *exit filled, or -errno (host failure). */
	int (*run)(struct vcpu *vcpu, struct vcpu_exit *exit);
	void (*kick)(struct vcpu *vcpu);
	int (*get_state)(struct vcpu *vcpu, struct x86_cpu_state *state);
	int (*set_state)(struct vcpu *vcpu, const struct x86_cpu_state *state);
	/* Drives input gsi (ISA IRQ n = gsi n) of the engine's own interrupt
	 * controllers (--irqchip kernel). 0 or -errno; NULL when it has none. */
	int (*set_irq)(struct engine *eng, unsigned gsi, int level);
	/* Delivers a message-signalled interrupt (a PCI device's MSI-X write of
	 * data to addr) through the engine's own local APICs. 0 or -errno; NULL
	 * when it has no interrupt controllers. */
	int (*send_msi)(struct engine *eng, uint64_t addr, uint32_t data);
	/* Binds eventfd fd to the message-signalled interrupt (addr, data) for the
	 * engine's own local APICs (assign): from then on a write to fd delivers
	 * it, with no call into the engine and no ioctl. Called again for a bound
	 * fd it changes the message; !assign unbinds fd (addr and data ignored).
	 * Any thread; the caller serialises calls for one fd. 0 or -errno:
	 * -ENOTSUP when the engine cannot (the caller then uses send_msi),
	 * -ENOSPC when it has no room for another. NULL: the engine has no such
	 * thing. */
	int (*msi_irqfd)(struct engine *eng, int fd, uint64_t addr, uint32_t data, bool assign);
	/* Makes a guest write of len bytes to MMIO address addr signal eventfd fd
	 * instead of exiting (assign), or stops that. 0 or -errno; NULL: the engine
	 * has no such thing, every MMIO write exits. */
	int (*ioeventfd)(struct engine *eng, uint64_t addr, unsigned len, int fd, bool assign);
	/* Whether the engine runs its own interrupt controllers (engine_host.irqchip_kernel
	 * was granted). NULL: never. */
	bool (*has_irqchip)(const struct engine *eng);
	/* Machine reset: the platform parts the engine emulates back to their
	 * power-on state: the in-kernel PIC, IOAPIC and PIT with vCPU 0, each
	 * vCPU's local APIC, an application processor waiting for a start-up IPI
	 * again. Called on every vCPU's thread while all are stopped. NULL: none. */
	int (*platform_reset)(struct vcpu *vcpu);
	/* Snapshots (core/snapshot.c): state the engine keeps of its own beyond the
	 * engine-neutral x86_cpu_state, as one versioned record of the engine's
	 * format: kvm's in-kernel PIC pair, IOAPIC, PIT and local APIC (with the
	 * vCPU's MP state and TSC deadline) under --irqchip kernel, and XSAVE
	 * components the neutral state lacks (AVX-512...). save_platform appends
	 * the record to out, or nothing when there is nothing of the kind (0 or
	 * -errno). load_platform applies one to a vCPU that has just been given its
	 * state with set_state; the record is untrusted input: one of another
	 * version or size, or one the engine cannot apply, is refused with one line
	 * in why (-EINVAL; other -errno: a host failure, also with why). vCPU
	 * thread, between runs. NULL: the engine has nothing of its own. */
	int (*save_platform)(struct vcpu *vcpu, struct statebuf *out);
	int (*load_platform)(struct vcpu *vcpu, struct state_reader *in, char *why, size_t why_len);
	/* The level of the vCPU's INTR input (a maskable interrupt is waiting in the
	 * user-space controllers). Any thread; a running vCPU notices soon. */
	void (*set_intr)(struct vcpu *vcpu, bool level);
	/* set_intr alone reaches a running vCPU (the engine polls the line between
	 * blocks): no kick, so an interrupt does not take it out of run(). */
	bool intr_polled;
	int (*inject_nmi)(struct vcpu *vcpu);
	/* Debugging (vCPU thread, between runs). NULL: the engine cannot. 0 or -errno. */
	int (*set_debug)(struct vcpu *vcpu, const struct engine_debug *dbg);
	/* Installs (or, with NULL, removes) a trace hook. NULL op: the engine cannot trace. */
	int (*set_trace)(struct vcpu *vcpu, const struct engine_trace *trace);
	/* The last taken branches, oldest first, into out[ENGINE_BRANCH_HISTORY];
	 * returns how many. NULL op: the engine keeps none. vCPU thread. */
	unsigned (*branch_history)(struct vcpu *vcpu, struct engine_branch *out);
	/* Guest instructions retired so far, or NULL when the engine cannot count them (kvm). */
	uint64_t (*insn_count)(struct vcpu *vcpu);
	/* One line of engine statistics for --stats (no newline), or NULL op. */
	void (*stats)(struct vcpu *vcpu, char *buf, size_t len);
};

extern const struct engine_ops kvm_engine_ops;
extern const struct engine_ops soft_engine_ops;
/* Every engine built into x86v, NULL-terminated. */
extern const struct engine_ops *const engine_list[];

/* The engine named name ("kvm", "soft"), or NULL if x86v has no such engine. */
const struct engine_ops *engine_find(const char *name);

#endif
