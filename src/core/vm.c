/* SPDX-License-Identifier: MIT */
/*
 * Machine lifecycle: build (RAM, buses, clock, event loop, board, images,
 * engine), run (event loop on the main thread, a thread per vCPU in
 * core/vm_cpu.c), the callbacks through which engines and devices reach the
 * machine, and the handling of every way a run ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "boot/bios.h"
#include "boot/linux.h"
#include "boot/multiboot.h"
#include "core/chardev.h"
#include "core/log.h"
#include "core/sandbox.h"
#include "core/snapshot.h"
#include "core/vm.h"
#include "core/vm_debug.h"
#include "core/vm_internal.h"
#include "hw/block/block.h"
#include "hw/pc/board.h"

int64_t vm_host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- accesses from vCPUs --- */

static void vm_pio(void *opaque, uint16_t port, void *data, unsigned size, bool is_write)
{
	struct vm *vm = opaque;
	uint64_t v = 0;
	pthread_mutex_lock(&vm->lock);
	if (is_write) {
		memcpy(&v, data, size);
		bus_write(&vm->pio, port, size, v);
	} else {
		bus_read(&vm->pio, port, size, &v);
		memcpy(data, &v, size);
	}
	pthread_mutex_unlock(&vm->lock);
}

static void vm_mmio(void *opaque, uint64_t gpa, void *data, unsigned size, bool is_write)
{
	struct vm *vm = opaque;
	uint64_t v = 0;
	pthread_mutex_lock(&vm->lock);
	if (is_write) {
		memcpy(&v, data, size);
		bus_write(&vm->mmio, gpa, size, v);
	} else {
		bus_read(&vm->mmio, gpa, size, &v);
		memcpy(data, &v, size);
	}
	pthread_mutex_unlock(&vm->lock);
}

static int vm_intr_ack(void *opaque, unsigned cpu)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->lock);
	int vector = board_intr_ack(vm->board, cpu);
	pthread_mutex_unlock(&vm->lock);
	return vector;
}

static int vm_msr_read(void *opaque, unsigned cpu, uint32_t index, uint64_t *value)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->lock);
	int r = board_msr_read(vm->board, cpu, index, value);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static int vm_msr_write(void *opaque, unsigned cpu, uint32_t index, uint64_t value)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->lock);
	int r = board_msr_write(vm->board, cpu, index, value);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static int64_t vm_clock_ns(void *opaque)
{
	struct vm *vm = opaque;
	return vclock_now(&vm->clock);
}

/* The interrupt controllers' INTR output for a vCPU changed (lock held). */
static void vm_set_cpu_intr(void *opaque, unsigned cpu, int level)
{
	struct vm *vm = opaque;
	if (cpu >= vm->ncpus)
		return;
	struct vm_cpu *c = &vm->cpus[cpu];
	c->intr_level = level != 0;
	if (c->vcpu && vm->eng_ops->set_intr)
		vm->eng_ops->set_intr(c->vcpu, c->intr_level);
	if (level) {
		pthread_cond_broadcast(&c->wake);
		if (c->vcpu && !vm->eng_ops->intr_polled)
			vm->eng_ops->kick(c->vcpu);
	}
}

/* A local APIC accepted an NMI for the vCPU (lock held): it goes straight to
 * the engine, which takes it at the next instruction boundary. */
static void vm_raise_nmi(void *opaque, unsigned cpu)
{
	struct vm *vm = opaque;
	if (cpu >= vm->ncpus)
		return;
	struct vm_cpu *c = &vm->cpus[cpu];
	c->nmi_wake = true;
	pthread_cond_broadcast(&c->wake);
	if (!c->vcpu || !vm->eng_ops->inject_nmi)
		return;
	vm->eng_ops->kick(c->vcpu);
	if (vm->eng_ops->inject_nmi(c->vcpu) < 0)
		log_warn("an NMI could not be injected");
}

/* An INIT or start-up IPI for a vCPU (lock held): its thread takes it. */
static void vm_init_sipi(void *opaque, unsigned cpu)
{
	struct vm *vm = opaque;
	if (cpu >= vm->ncpus)
		return;
	struct vm_cpu *c = &vm->cpus[cpu];
	c->init_sipi = true;
	pthread_cond_broadcast(&c->wake);
	if (c->vcpu)
		vm->eng_ops->kick(c->vcpu);
}

static unsigned vm_board_current_cpu(void *opaque)
{
	(void)opaque;
	return vm_current_cpu();
}

/* An interrupt line for the engine's own controllers (--irqchip kernel; lock
 * held). Levels are remembered so lines raised while the board was built, before
 * the engine existed, reach it once it does. */
static void vm_set_gsi(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	if (gsi < VM_GSI_COUNT)
		vm->gsi_level[gsi] = level != 0;
	if (!vm->engine || !vm->eng_ops->set_irq)
		return;
	int r = vm->eng_ops->set_irq(vm->engine, gsi, level);
	if (r < 0 && !vm->exit_requested) {
		snprintf(vm->exit_reason, sizeof(vm->exit_reason), "cannot set interrupt line %u: %s", gsi,
			 strerror(-r));
		vm_request_exit(vm, X86V_EXIT_HOST_ERROR);
	}
}

/* A message-signalled interrupt for the engine's own local APICs (--irqchip kernel; lock held). */
static void vm_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	if (!vm->engine || !vm->eng_ops->send_msi)
		return;
	int r = vm->eng_ops->send_msi(vm->engine, addr, data);
	if (r < 0 && !vm->exit_requested) {
		snprintf(vm->exit_reason, sizeof(vm->exit_reason), "cannot deliver an MSI: %s", strerror(-r));
		vm_request_exit(vm, X86V_EXIT_HOST_ERROR);
	}
}

/* A virtio MSI-X vector's eventfd bound to its message, which the engine
 * then delivers itself on each write (--irqchip kernel; lock held). Before the
 * engine exists nothing is bound (-EAGAIN): the device binds again once the
 * machine runs. */
static int vm_msi_irqfd(void *opaque, int fd, uint64_t addr, uint32_t data, bool assign)
{
	struct vm *vm = opaque;
	if (!vm->eng_ops->msi_irqfd)
		return -ENOTSUP;
	if (!vm->engine)
		return assign ? -EAGAIN : 0;
	return vm->eng_ops->msi_irqfd(vm->engine, fd, addr, data, assign);
}

/* A virtio kick address bound to an eventfd (lock held). Remembered, so that
 * bindings made while the board was built reach the engine once it exists. */
static int vm_ioeventfd(void *opaque, uint64_t addr, unsigned len, int fd, bool assign)
{
	struct vm *vm = opaque;
	if (!vm->eng_ops->ioeventfd)
		return -ENOSYS; /* the soft engine: kicks come through the bus */
	struct vm_ioeventfd *slot = NULL;
	for (unsigned i = 0; i < VM_MAX_IOEVENTFDS && !slot; i++) {
		struct vm_ioeventfd *e = &vm->ioeventfds[i];
		if (assign ? e->fd < 0 : (e->fd == fd && e->addr == addr))
			slot = e;
	}
	if (!slot)
		return assign ? -ENOSPC : -ENOENT;
	int r = vm->engine ? vm->eng_ops->ioeventfd(vm->engine, addr, len, fd, assign) : 0;
	if (r == 0)
		*slot = assign ? (struct vm_ioeventfd){ addr, len, fd } : (struct vm_ioeventfd){ .fd = -1 };
	return r;
}

/* --- ending a run --- */

void vm_request_exit(struct vm *vm, int status)
{
	if (vm->exit_requested)
		return;
	vm->exit_requested = true;
	vm->exit_status = status;
	evloop_stop(&vm->loop);
	vm_kick_all(vm);
}

static void vm_guest_exit(void *opaque, int status)
{
	struct vm *vm = opaque;
	vm->guest_ended = true;
	vm_request_exit(vm, status);
}

static void vm_guest_poweroff(void *opaque)
{
	struct vm *vm = opaque;
	vm->guest_ended = true;
	vm_request_exit(vm, X86V_EXIT_OK);
}

/* The guest asked for a reset: the vCPU thread performs it (or ends the run
 * with --no-reboot) once it is out of the guest. Lock held. */
static void vm_guest_reset(void *opaque)
{
	struct vm *vm = opaque;
	vm->reset_requested = true;
	vm_kick_all(vm);
}

static void vm_console_quit(void *opaque)
{
	vm_request_exit(opaque, X86V_EXIT_OK);
}

static void vm_console_dump(void *opaque)
{
	struct vm *vm = opaque;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm->cpus[i].dump_requested = true;
	vm_kick_all(vm);
}

static void vm_console_snapshot(void *opaque)
{
	struct vm *vm = opaque;
	vm->snapshot_requested = true;
	vm_kick_all(vm);
}

static void vm_timeout(void *opaque)
{
	struct vm *vm = opaque;
	if (vm->exit_requested)
		return;
	snprintf(vm->exit_reason, sizeof(vm->exit_reason), "timeout: the guest ran for %g s (--timeout)",
		 vm->cfg.timeout);
	vm->dump_on_exit = true;
	vm_request_exit(vm, X86V_EXIT_TIMEOUT);
}

static void vm_report_exit(const struct vm *vm)
{
	if (vm->exit_reason[0])
		log_error("%s", vm->exit_reason);
	if (vm->exit_dump)
		fputs(vm->exit_dump, stderr);
}

/* --- loading --- */

/* A --kernel file is a bzImage when its setup header says so; otherwise
 * Multiboot. A boot sector without that header is neither. */
enum kernel_kind { KERNEL_MULTIBOOT, KERNEL_BZIMAGE, KERNEL_BOOT_SECTOR };

static enum kernel_kind kernel_kind(const char *path)
{
	uint8_t head[0x250];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return KERNEL_MULTIBOOT; /* the loader reports the open error */
	ssize_t n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n != (ssize_t)sizeof(head))
		return KERNEL_MULTIBOOT;
	if (linux_probe(head, sizeof(head)))
		return KERNEL_BZIMAGE;
	return head[0x1fe] == 0x55 && head[0x1ff] == 0xaa ? KERNEL_BOOT_SECTOR : KERNEL_MULTIBOOT;
}

int vm_load_images(struct vm *vm, char *why, size_t why_len)
{
	const char *append = vm->cfg.append ? vm->cfg.append : "";
	if (!vm->cfg.bios && !vm->cfg.kernel) {
		snprintf(why, why_len, "nothing to boot: the machine was restored from a snapshot without --bios or --kernel");
		return -ENOENT;
	}
	if (vm->cfg.bios)
		return bios_load_file(&vm->ram, vm->cfg.bios, &vm->boot_state, why, why_len);
	enum kernel_kind kind = kernel_kind(vm->cfg.kernel);
	if (kind != KERNEL_BZIMAGE) {
		int r = multiboot_load_file(&vm->ram, vm->cfg.kernel, append, vm->cfg.initrd, &vm->boot_state, why,
					    why_len);
		if (r == -ENOEXEC && kind == KERNEL_BOOT_SECTOR && strstr(why, "no Multiboot header"))
			snprintf(why, why_len,
				 "%s: not a Linux bzImage (a boot sector without the \"HdrS\" setup header) nor a "
				 "Multiboot kernel", vm->cfg.kernel);
		return r;
	}
	/* No firmware: x86v does what it would (ACPI tables, PCI resources) for the kernel. */
	struct linux_boot opts = { .entry = vm->cfg.kernel_entry };
	int r = board_prepare_direct_boot(vm->board, &opts.rsdp);
	if (r < 0) {
		snprintf(why, why_len, "cannot install the ACPI tables: %s", strerror(-r));
		return r;
	}
	return linux_load_file(&vm->ram, vm->cfg.kernel, vm->cfg.initrd, append, &opts, &vm->boot_state, why,
			       why_len);
}

/* --- build, run, destroy --- */

/* --user: the user's ids, checked before anything is set up. 0, or a status. */
static int vm_lookup_user(struct vm *vm)
{
	const char *name = vm->cfg.user;
	if (!name)
		return 0;
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		log_error("--user %s: no such user", name);
		return X86V_EXIT_USAGE;
	}
	if (geteuid() != 0 && pw->pw_uid != geteuid()) {
		log_error("--user %s: x86v must be started as root to become another user", name);
		return X86V_EXIT_USAGE;
	}
	vm->user_uid = pw->pw_uid;
	vm->user_gid = pw->pw_gid;
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	char why[256] = "";
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->started_ns = vm_host_now_ns();
	vm->cfg = *cfg;
	vm->ncpus = cfg->ncpus ? cfg->ncpus : 1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->api_cond, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		vm->cpus[i] = (struct vm_cpu){ .vm = vm, .index = i };
		pthread_cond_init(&vm->cpus[i].wake, NULL);
	}
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vclock_init(&vm->clock);
	vtimer_init(&vm->timeout_timer, &vm->clock, vm_timeout, vm);
	vm->ram.fd = -1;
	vm->snapshot_dir = -1;
	for (unsigned i = 0; i < VM_MAX_IOEVENTFDS; i++)
		vm->ioeventfds[i].fd = -1;

	vm->eng_ops = engine_find(cfg->accel);
	if (!vm->eng_ops) {
		log_error("--accel %s: this x86v has no such engine", cfg->accel);
		return X86V_EXIT_USAGE;
	}
	/* A guest that later touched RAM the host cannot back would be killed by
	 * the OOM killer mid-run: refuse it now unless asked. */
	struct sysinfo si;
	if (!cfg->overcommit && sysinfo(&si) == 0) {
		uint64_t host = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
		if (cfg->ram_size > host) {
			log_error("-m %llu MiB is more than this host's RAM and swap (%llu MiB); --overcommit allows it",
				  (unsigned long long)(cfg->ram_size / MiB), (unsigned long long)(host / MiB));
			return X86V_EXIT_USAGE;
		}
	}
	r = ram_init(&vm->ram, cfg->ram_size);
	if (r < 0) {
		log_error("cannot allocate %llu MiB of guest RAM: %s",
			  (unsigned long long)(cfg->ram_size / MiB), strerror(-r));
		return X86V_EXIT_HOST_ERROR;
	}
	r = evloop_init(&vm->loop, &vm->clock, &vm->lock);
	if (r < 0) {
		log_error("cannot create the event loop: %s", strerror(-r));
		return X86V_EXIT_HOST_ERROR;
	}
	r = vm_lookup_user(vm);
	if (r)
		return r;
	if (cfg->sandbox >= 0)
		sandbox_set_enabled(cfg->sandbox);
	sandbox_prepare(); /* before the first thread */
	if (chardev_open(cfg->serial, &vm->serial, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return X86V_EXIT_USAGE;
	}
	struct chardev_commands cmds = { vm_console_quit, vm_console_dump, vm_console_snapshot, vm };
	chardev_set_commands(vm->serial, &cmds);
	struct block_backend *disks[VM_MAX_DRIVES] = { 0 };
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		const struct vm_drive *d = &cfg->drives[i];
		struct block_options o = { .path = d->file, .nbd = d->nbd, .readonly = d->readonly, .direct = d->direct };
		if (block_open(&o, &disks[i], why, sizeof(why)) < 0) {
			log_error("%s", why);
			while (i--)
				block_close(disks[i]);
			return X86V_EXIT_USAGE;
		}
	}

	struct board_nic nics[VM_MAX_NETS] = { 0 };
	for (unsigned i = 0; i < cfg->nnets; i++) {
		memcpy(nics[i].mac, cfg->nets[i].mac, 6);
		if (net_open(&cfg->nets[i], &nics[i].backend, why, sizeof(why)) < 0) {
			log_error("%s", why);
			while (i--)
				net_close(nics[i].backend);
			for (unsigned d = 0; d < cfg->ndrives; d++)
				block_close(disks[d]);
			return X86V_EXIT_USAGE;
		}
	}

	struct board_env env = {
		.ncpus = vm->ncpus,
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.clock = &vm->clock,
		.loop = &vm->loop,
		.serial = vm->serial,
		.ram = &vm->ram,
		.set_cpu_intr = vm_set_cpu_intr,
		.raise_nmi = vm_raise_nmi,
		.init_sipi = vm_init_sipi,
		.current_cpu = vm_board_current_cpu,
		.kernel_irqchip = cfg->irqchip_kernel,
		.set_gsi = vm_set_gsi,
		.send_msi = vm_send_msi,
		.msi_irqfd = vm_msi_irqfd,
		.ioeventfd = vm_ioeventfd,
		.exit = vm_guest_exit,
		.poweroff = vm_guest_poweroff,
		.reset = vm_guest_reset,
		.disks = disks,
		.ndisks = cfg->ndrives,
		.nics = nics,
		.nnics = cfg->nnets,
		.rng = cfg->rng,
		.virtio_console = cfg->console_virtio,
		.virtio_packed = cfg->virtio_packed,
		.opaque = vm,
	};
	if (board_create(&env, &vm->board, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return X86V_EXIT_HOST_ERROR;
	}
	if (cfg->restore) {
		if (snapshot_restore(vm, cfg->restore, why, sizeof(why)) < 0) {
			log_error("%s", why);
			return X86V_EXIT_USAGE;
		}
	} else if (vm_load_images(vm, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return X86V_EXIT_USAGE;
	}
	if (snapshot_prepare(vm, vm_snapshot_path(vm), why, sizeof(why)) < 0) {
		log_error("--snapshot-on-exit %s", why);
		return X86V_EXIT_USAGE;
	}

	struct engine_host host = {
		.ram = &vm->ram,
		.pio = vm_pio,
		.mmio = vm_mmio,
		.intr_ack = vm_intr_ack,
		.msr_read = vm_msr_read,
		.msr_write = vm_msr_write,
		.clock_ns = vm_clock_ns,
		.irqchip_kernel = cfg->irqchip_kernel,
		.soft = { .interp_only = cfg->interp_only, .jit_threshold = cfg->jit_threshold,
			  .jit_cache_size = cfg->jit_cache_size, .jit_check = cfg->jit_check,
			  .jit_perf_map = cfg->jit_perf_map },
		.opaque = vm,
	};
	if (vm->eng_ops->create(&host, &vm->engine, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return X86V_EXIT_USAGE;
	}
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < VM_MAX_IOEVENTFDS; i++) {
		struct vm_ioeventfd *e = &vm->ioeventfds[i];
		if (e->fd >= 0 && vm->eng_ops->ioeventfd(vm->engine, e->addr, e->len, e->fd, true) < 0) {
			log_info("virtio kicks at %#llx exit to x86v: the engine cannot bind them to an eventfd",
				 (unsigned long long)e->addr);
			e->fd = -1; /* that queue's kicks come through the bus instead */
		}
	}
	pthread_mutex_unlock(&vm->lock);
	if (cfg->irqchip_kernel) {
		/* The board was built without controllers: an engine that cannot
		 * provide them would leave the machine with none. */
		if (!vm->eng_ops->has_irqchip || !vm->eng_ops->has_irqchip(vm->engine)) {
			log_error("--irqchip kernel: the %s engine has no interrupt controllers of its own",
				  vm->eng_ops->name);
			return X86V_EXIT_USAGE;
		}
		pthread_mutex_lock(&vm->lock);
		for (unsigned gsi = 0; gsi < VM_GSI_COUNT; gsi++)
			if (vm->gsi_level[gsi])
				vm_set_gsi(vm, gsi, 1);
		pthread_mutex_unlock(&vm->lock);
		if (vm->exit_requested)
			return X86V_EXIT_HOST_ERROR; /* vm_destroy prints the reason */
	}

	r = vm_debug_create(vm);
	if (r != 0)
		return r;
	if (cfg->timeout > 0 &&
	    vtimer_arm(&vm->timeout_timer, vclock_now(&vm->clock) + (int64_t)(cfg->timeout * 1e9)) < 0) {
		log_error("out of memory");
		return X86V_EXIT_HOST_ERROR;
	}
	return 0;
}

/* --stats: how much the guest ran, for benchmarks (soft engine: instruction
 * count, over every vCPU, then a line of engine figures per vCPU). */
static void vm_print_stats(struct vm *vm)
{
	double secs = (double)vclock_now(&vm->clock) / 1e9;
	uint64_t n = 0;
	for (unsigned i = 0; i < vm->ncpus && vm->eng_ops->insn_count; i++)
		n += vm->cpus[i].vcpu ? vm->eng_ops->insn_count(vm->cpus[i].vcpu) : 0;
	if (vm->eng_ops->insn_count)
		log_error("stats: %llu guest instructions in %.3f s: %.1f MIPS", (unsigned long long)n, secs,
			  secs > 0 ? (double)n / secs / 1e6 : 0.0);
	else
		log_error("stats: %.3f s (the %s engine does not count instructions)", secs, vm->eng_ops->name);
	for (unsigned i = 0; i < vm->ncpus && vm->eng_ops->stats; i++) {
		char line[512];
		if (!vm->cpus[i].vcpu)
			continue;
		vm->eng_ops->stats(vm->cpus[i].vcpu, line, sizeof(line));
		if (vm->ncpus > 1)
			log_error("stats: vCPU %u: %s", i, line);
		else
			log_error("stats: %s", line);
	}
}

/* --user: from here on the process is that user, with no way back. */
static int vm_drop_privileges(struct vm *vm)
{
	const char *name = vm->cfg.user;
	if (!name || geteuid() != 0)
		return 0; /* not root: already that user (vm_lookup_user) */
	if (initgroups(name, vm->user_gid) < 0 || setgid(vm->user_gid) < 0 || setuid(vm->user_uid) < 0) {
		log_error("--user %s: cannot take its ids: %s", name, strerror(errno));
		return X86V_EXIT_HOST_ERROR;
	}
	if (setuid(0) == 0 || getuid() != vm->user_uid || getegid() != vm->user_gid) {
		log_error("--user %s: the ids did not stick", name);
		return X86V_EXIT_HOST_ERROR;
	}
	log_info("running as user %s (uid %u, gid %u)", name, (unsigned)vm->user_uid, (unsigned)vm->user_gid);
	return 0;
}

int vm_run(struct vm *vm)
{
	int status = vm_drop_privileges(vm);
	if (status)
		return status;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vm_cpu *c = &vm->cpus[i];
		int r = pthread_create(&c->thread, NULL, vm_cpu_thread, c);
		if (r != 0) {
			log_error("cannot start the thread of vCPU %u: %s", i, strerror(r));
			pthread_mutex_lock(&vm->lock);
			vm_request_exit(vm, X86V_EXIT_HOST_ERROR);
			pthread_mutex_unlock(&vm->lock);
			break;
		}
		c->thread_started = true;
	}
	sandbox_enter(SANDBOX_MAIN); /* last: threads created after it would inherit it */
	sandbox_selftest();
	if (!vm->exit_requested)
		evloop_run(&vm->loop);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->cpus[i].thread_started)
			pthread_join(vm->cpus[i].thread, NULL);
		vm->cpus[i].thread_started = false;
	}
	vm_debug_finish(vm);
	if (vm->cfg.stats)
		vm_print_stats(vm);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->cpus[i].vcpu)
			vm->eng_ops->vcpu_destroy(vm->cpus[i].vcpu);
		vm->cpus[i].vcpu = NULL;
		sb_free(&vm->cpus[i].snap.platform);
	}
	if (vm->engine)
		vm->eng_ops->destroy(vm->engine);
	vm->engine = NULL;
	if (vm->board)
		board_destroy(vm->board);
	vm->board = NULL;
	vtimer_cancel(&vm->timeout_timer);
	if (vm->serial)
		chardev_close(vm->serial);
	vm->serial = NULL;
	vm_debug_destroy(vm);
	vm_report_exit(vm);
	evloop_destroy(&vm->loop);
	vclock_destroy(&vm->clock);
	bus_destroy(&vm->mmio);
	bus_destroy(&vm->pio);
	ram_destroy(&vm->ram);
	free(vm->exit_dump);
	vm->exit_dump = NULL;
	if (vm->snapshot_dir >= 0)
		close(vm->snapshot_dir);
	vm->snapshot_dir = -1;
	for (unsigned i = 0; i < vm->ncpus; i++)
		pthread_cond_destroy(&vm->cpus[i].wake);
	pthread_cond_destroy(&vm->api_cond);
	pthread_cond_destroy(&vm->stop_cond);
	pthread_mutex_destroy(&vm->lock);
}
