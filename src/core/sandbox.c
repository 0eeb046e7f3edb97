/* SPDX-License-Identifier: MIT */
/*
 * Seccomp filters per thread kind (see sandbox.h). The lists are the calls
 * each kind makes after its set-up, glibc's own included (malloc's mmap,
 * munmap, madvise and mprotect; futex for locks; the vDSO's fallbacks for
 * clocks). No thread may map or protect memory as executable after set-up:
 * the translator's code cache is mapped before its filter goes in.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/termbits.h> /* struct termios2, for TCGETS2 and TCSETS2 (no <termios.h> here) */
#include <linux/kvm.h>

#include "core/chardev.h"
#include "core/log.h"
#include "core/sandbox.h"
#include "core/vm.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_DEFAULT false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_DEFAULT false
#endif
#endif
#ifndef SANDBOX_DEFAULT
#define SANDBOX_DEFAULT true
#endif

static bool enabled = SANDBOX_DEFAULT;
static int files_dir = -1; /* sandbox_allow_files_in */
static __thread const char *thread_name; /* for the SIGSYS message */

void sandbox_allow_files_in(int dirfd)
{
	files_dir = dirfd;
}

void sandbox_set_enabled(bool on)
{
	enabled = on;
}

bool sandbox_enabled(void)
{
	return enabled;
}

/* Every thread: memory, locks, clocks, signals, exiting, logging. */
static const int common_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(futex), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(clock_getres), SCMP_SYS(munmap), SCMP_SYS(madvise),
	SCMP_SYS(brk), SCMP_SYS(mremap), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(sigaltstack), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(tgkill), SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield), SCMP_SYS(getrandom),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(rseq), SCMP_SYS(set_robust_list), SCMP_SYS(membarrier),
	/* --user: glibc makes every thread take the new ids (threads filtered before the
	 * drop); once they are a user's, these calls cannot give anything back. */
	SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setgroups),
};

/* The event loop: epoll and its fds, the GDB stub's and the console's
 * sockets and terminal, kicking the vCPU threads, joining threads at the
 * end (its ioctl requests: ioctl_rules). */
static const int main_calls[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(timerfd_settime),
	SCMP_SYS(fcntl), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown), SCMP_SYS(rt_sigaction),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(kill),
	SCMP_SYS(dup), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
};

/* The vCPU: device accesses (eventfds, the entropy device; its ioctl
 * requests, KVM_RUN and the rest: ioctl_rules), the trace and
 * perf-map files, the GDB stub when the guest stops (its replies, and its
 * connection's events in the loop), re-reading
 * images on a reset (through descriptors kept open). */
static const int vcpu_calls[] = {
	SCMP_SYS(fcntl), SCMP_SYS(rt_sigaction), SCMP_SYS(fallocate), SCMP_SYS(pwrite64),
	SCMP_SYS(pread64), SCMP_SYS(fsync), SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(recvmsg), SCMP_SYS(epoll_ctl), SCMP_SYS(ftruncate), SCMP_SYS(fdatasync),
};

/* A disk worker: file I/O, or libnbd's socket. */
static const int disk_calls[] = {
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(fdatasync),
	SCMP_SYS(fsync), SCMP_SYS(fallocate), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(fcntl), SCMP_SYS(shutdown),
};

/* A network thread: TAP's descriptor, libslirp's sockets (connections the
 * guest opens, forwards it accepts, DNS it relays; it re-reads
 * /etc/resolv.conf when that changes). */
static const int net_calls[] = {
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept),
	SCMP_SYS(accept4), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(shutdown), SCMP_SYS(fcntl), SCMP_SYS(stat), SCMP_SYS(statx),
};

/* The terminal's writer: writes and its eventfd (common calls only). */

/* The control API: its socket's connections (libmicrohttpd), putting a
 * snapshot directory's descriptor where the vCPU thread expects it, and
 * Ctrl+Alt+Del's keys (their interrupts: ioctl_rules). */
static const int api_calls[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(shutdown), SCMP_SYS(fcntl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_pwait), SCMP_SYS(dup3), SCMP_SYS(sendfile),
};

/*
 * ioctl, by request number (its second argument) and kind of thread: the
 * requests each kind makes after its set-up, found by reading the callers
 * and by tracing the tests (strace -f -e trace=ioctl). The descriptor is not
 * checked; the kernel uses the request's low 32 bits (an unsigned int), so
 * only those are compared. Set-up's requests (KVM_CREATE_VM, KVM_CREATE_VCPU,
 * KVM_SET_USER_MEMORY_REGION, KVM_SET_CPUID2, KVM_CHECK_EXTENSION, TUNSETIFF,
 * making the terminal raw...) are made before any filter and allowed nowhere.
 */
#define K_MAIN (1u << SANDBOX_MAIN)
#define K_VCPU (1u << SANDBOX_VCPU)
#define K_API (1u << SANDBOX_API)
#define K_NET (1u << SANDBOX_NET)
#define K_ALL ((1u << (SANDBOX_API + 1)) - 1) /* every kind of thread (SANDBOX_API is the last) */
/* The threads that run device models under the machine lock: the loop (timers,
 * terminal input, disk and network completions, the GDB stub), each vCPU (its
 * port and MMIO accesses, its local APIC's IPIs), the control API (the keys of
 * Ctrl+Alt+Del). Their interrupts reach KVM's controllers (--irqchip kernel),
 * and an NMI (a guest may program any MSI, IOAPIC pin or IPI as one) goes
 * straight to the target vCPU's descriptor (--irqchip user). */
#define K_DEVICES (K_MAIN | K_VCPU | K_API)

struct ioctl_rule {
	unsigned long request;
	const char *name;
	unsigned kinds; /* bit (1 << enum sandbox_thread) */
};
#define IOCTL_RULE(req, kinds) { (unsigned long)(req), #req, kinds }

static const struct ioctl_rule ioctl_rules[] = {
	/* isatty(): stdio on a stream's first use, the log's colours, glib's log
	 * (libslirp's messages). glibc 2.42 and later ask with TCGETS2. */
	IOCTL_RULE(TCGETS, K_ALL),
	IOCTL_RULE(TCGETS2, K_ALL),
	/* Putting the terminal back (tcsetattr TCSANOW, chardev_terminal_restore):
	 * at exit, and on a fatal signal or a forbidden call, which land on any
	 * thread. glibc 2.42 and later set it with TCSETS2. */
	IOCTL_RULE(TCSETS, K_ALL),
	IOCTL_RULE(TCSETS2, K_ALL),
	/* Device models' interrupts (K_DEVICES). */
	IOCTL_RULE(KVM_IRQ_LINE, K_DEVICES),
	IOCTL_RULE(KVM_SIGNAL_MSI, K_DEVICES),
	IOCTL_RULE(KVM_NMI, K_DEVICES),
	/* Binding virtio kick addresses to eventfds as BARs move (a vCPU's config
	 * writes; the loop's device resets). */
	IOCTL_RULE(KVM_IOEVENTFD, K_MAIN | K_VCPU),
	/* Binding virtio MSI-X vectors' eventfds to their messages (--irqchip
	 * kernel): an MSI route of their own and the irqfd on it, as the driver
	 * programs, masks and unmasks vectors or resets the device (a vCPU's
	 * MMIO and config writes, machine resets), and once a restored machine
	 * runs (the loop). The interrupts themselves are writes to the eventfds. */
	IOCTL_RULE(KVM_IRQFD, K_MAIN | K_VCPU),
	IOCTL_RULE(KVM_SET_GSI_ROUTING, K_MAIN | K_VCPU),
	/* Running a vCPU and its state: on its own thread (every vCPU thread
	 * with --smp N): runs, resets, INIT/SIPI, snapshots, GDB's registers. */
	IOCTL_RULE(KVM_RUN, K_VCPU),
	IOCTL_RULE(KVM_GET_REGS, K_VCPU),
	IOCTL_RULE(KVM_SET_REGS, K_VCPU),
	IOCTL_RULE(KVM_GET_SREGS, K_VCPU),
	IOCTL_RULE(KVM_SET_SREGS, K_VCPU),
	IOCTL_RULE(KVM_GET_FPU, K_VCPU),
	IOCTL_RULE(KVM_SET_FPU, K_VCPU),
	IOCTL_RULE(KVM_GET_XSAVE, K_VCPU),
	IOCTL_RULE(KVM_GET_XSAVE2, K_VCPU),
	IOCTL_RULE(KVM_SET_XSAVE, K_VCPU),
	IOCTL_RULE(KVM_GET_XCRS, K_VCPU),
	IOCTL_RULE(KVM_SET_XCRS, K_VCPU),
	IOCTL_RULE(KVM_GET_MSRS, K_VCPU),
	IOCTL_RULE(KVM_SET_MSRS, K_VCPU),
	IOCTL_RULE(KVM_GET_DEBUGREGS, K_VCPU),
	IOCTL_RULE(KVM_SET_DEBUGREGS, K_VCPU),
	IOCTL_RULE(KVM_GET_VCPU_EVENTS, K_VCPU),
	IOCTL_RULE(KVM_SET_VCPU_EVENTS, K_VCPU),
	IOCTL_RULE(KVM_GET_MP_STATE, K_VCPU),
	IOCTL_RULE(KVM_SET_MP_STATE, K_VCPU),
	IOCTL_RULE(KVM_GET_LAPIC, K_VCPU),
	IOCTL_RULE(KVM_SET_LAPIC, K_VCPU),
	IOCTL_RULE(KVM_INTERRUPT, K_VCPU),
	/* GDB's breakpoints: on the vCPU thread; the main thread's vcpu_destroy
	 * takes them out of a machine that ended while they were in. */
	IOCTL_RULE(KVM_SET_GUEST_DEBUG, K_VCPU | K_MAIN),
	/* The machine-wide state of --irqchip kernel (reset, snapshots) and
	 * kvmclock's (snapshots), from the vCPU threads. */
	IOCTL_RULE(KVM_GET_IRQCHIP, K_VCPU),
	IOCTL_RULE(KVM_SET_IRQCHIP, K_VCPU),
	IOCTL_RULE(KVM_GET_PIT2, K_VCPU),
	IOCTL_RULE(KVM_SET_PIT2, K_VCPU),
	IOCTL_RULE(KVM_GET_CLOCK, K_VCPU),
	IOCTL_RULE(KVM_SET_CLOCK, K_VCPU),
	/* libslirp: the size of the datagram waiting on a UDP socket. */
	IOCTL_RULE(FIONREAD, K_NET),
};

static const char *const kind_names[] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vCPU", [SANDBOX_DISK] = "disk I/O",
	[SANDBOX_NET] = "network", [SANDBOX_CONSOLE] = "console", [SANDBOX_API] = "control API",
};
_Static_assert(ARRAY_SIZE(kind_names) == SANDBOX_API + 1, "K_ALL counts on SANDBOX_API being the last kind");

/* " 0xREQUEST" (and the request's name when a rule names it) of a forbidden
 * ioctl, from the registers at the call; "" for other calls. */
static void describe_request(int nr, const void *uc, char *out, size_t len)
{
	out[0] = '\0';
#if defined(__x86_64__)
	if (nr != SCMP_SYS(ioctl) || !uc)
		return;
	const ucontext_t *ctx = uc;
	unsigned req = (unsigned)ctx->uc_mcontext.gregs[REG_RSI]; /* the second argument */
	const char *known = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(ioctl_rules) && !known; i++)
		if ((unsigned)ioctl_rules[i].request == req)
			known = ioctl_rules[i].name;
	snprintf(out, len, " %#x%s%s", req, known ? " " : "", known ? known : "");
#else
	(void)nr;
	(void)uc;
	(void)len;
#endif
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, si->si_syscall);
	char request[64];
	describe_request(si->si_syscall, uc, request, sizeof(request));
	char line[240];
	int n = snprintf(line, sizeof(line),
			 "x86v: sandbox: the %s thread made a forbidden system call: %s%s (%d); --sandbox off allows it\n",
			 thread_name ? thread_name : "?", name ? name : "unknown", request, si->si_syscall);
	chardev_terminal_restore();
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		(void)w;
	}
	_exit(X86V_EXIT_HOST_ERROR);
}

static int allow_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Snapshots (the vCPU thread): files in the one directory given, named
 * relative to its descriptor. */
static int allow_files_in(scmp_filter_ctx ctx, int dir)
{
	const int calls[] = { SCMP_SYS(openat), SCMP_SYS(renameat), SCMP_SYS(unlinkat) };
	int r = 0;
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(calls); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)(unsigned)dir));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(renameat2), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)(unsigned)dir));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				     SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)(unsigned)dir));
	return r;
}

/* mmap and mprotect, never with PROT_EXEC. Opening files fails with EACCES
 * rather than trapping (glibc's malloc reads /proc/sys/vm/overcommit_memory
 * when it first shrinks a heap, and copes without), except that the network
 * thread may open to read (O_RDONLY, no O_CREAT) and the vCPU thread may
 * open files in the snapshot directory (files_in >= 0). */
static int allow_restricted(scmp_filter_ctx ctx, bool open_read, int files_in)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (files_in >= 0)
		return r ? r : allow_files_in(ctx, files_in);
	if (files_in == -2) { /* the API thread: directories by O_PATH only, which grants no access */
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
					     SCMP_A2(SCMP_CMP_MASKED_EQ, O_PATH, O_PATH));
		return r ? r : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
						SCMP_A2(SCMP_CMP_MASKED_EQ, O_PATH, 0));
	}
	if (!open_read)
		return r ? r : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	/* Allowed when (flags & (O_ACCMODE | O_CREAT)) == O_RDONLY; each other case refused. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT, O_RDONLY));
	static const unsigned long refused[][2] = { { O_ACCMODE, O_WRONLY }, { O_ACCMODE, O_RDWR }, { O_CREAT, O_CREAT } };
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(refused); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, refused[i][0], refused[i][1]));
	return r;
}

/* ioctl with the requests ioctl_rules gives this kind. */
static int allow_ioctls(scmp_filter_ctx ctx, enum sandbox_thread kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(ioctl_rules); i++) {
		if (!(ioctl_rules[i].kinds & (1u << kind)))
			continue;
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctl_rules[i].request & 0xffffffffu));
		if (r < 0)
			return r;
	}
	return 0;
}

static void *wait_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

void sandbox_prepare(void)
{
	pthread_t t;
	if (!enabled || pthread_create(&t, NULL, wait_forever, NULL))
		return;
	pthread_cancel(t); /* glibc loads libgcc_s here, for the unwinding */
	pthread_join(t, NULL);
}

/* The item of X86V_SANDBOX_TEST (comma-separated items) after the one at p,
 * or its first with p NULL; NULL after the last. */
static const char *next_test_item(const char *p)
{
	if (!p)
		p = getenv("X86V_SANDBOX_TEST");
	else if ((p = strchr(p, ',')))
		p++;
	return p && *p ? p : NULL;
}

/* Whether X86V_SANDBOX_TEST holds item. */
static bool test_item(const char *item)
{
	size_t n = strlen(item);
	for (const char *p = next_test_item(NULL); p; p = next_test_item(p))
		if (!strncmp(p, item, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

void sandbox_selftest(void)
{
	if (enabled && test_item("forbidden-call")) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0)
			close(fd);
	}
}

/* X86V_SANDBOX_TEST items "ioctl:KIND:REQUEST" (KIND: main, vcpu, disk, net,
 * console, api; REQUEST as strtoul reads it, base 0, all 64 bits): a thread
 * of that kind makes ioctl(-1, REQUEST) right after its filter is in. An
 * allowed request fails with EBADF and the run goes on; a forbidden one is
 * reported. */
static void test_ioctls(enum sandbox_thread kind)
{
	static const char *const tokens[] = {
		[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu", [SANDBOX_DISK] = "disk",
		[SANDBOX_NET] = "net", [SANDBOX_CONSOLE] = "console", [SANDBOX_API] = "api",
	};
	size_t n = strlen(tokens[kind]);
	for (const char *p = next_test_item(NULL); p; p = next_test_item(p)) {
		if (strncmp(p, "ioctl:", 6) || strncmp(p + 6, tokens[kind], n) || p[6 + n] != ':')
			continue;
		unsigned long req = strtoul(p + 7 + n, NULL, 0);
		int r = ioctl(-1, req, NULL);
		(void)r;
	}
}

static int enter(enum sandbox_thread kind)
{
	thread_name = kind_names[kind];
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	int r = allow_all(ctx, common_calls, ARRAY_SIZE(common_calls));
	if (r == 0)
		r = allow_ioctls(ctx, kind);
	if (r == 0)
		r = allow_restricted(ctx, kind == SANDBOX_NET,
				     kind == SANDBOX_VCPU ? files_dir : kind == SANDBOX_API ? -2 : -1);
	if (r == 0) {
		switch (kind) {
		case SANDBOX_MAIN: r = allow_all(ctx, main_calls, ARRAY_SIZE(main_calls)); break;
		case SANDBOX_VCPU: r = allow_all(ctx, vcpu_calls, ARRAY_SIZE(vcpu_calls)); break;
		case SANDBOX_DISK: r = allow_all(ctx, disk_calls, ARRAY_SIZE(disk_calls)); break;
		case SANDBOX_NET: r = allow_all(ctx, net_calls, ARRAY_SIZE(net_calls)); break;
		case SANDBOX_CONSOLE: break;
		case SANDBOX_API: r = allow_all(ctx, api_calls, ARRAY_SIZE(api_calls)); break;
		}
	}
	if (r == 0)
		r = seccomp_load(ctx); /* with no_new_privs, libseccomp's default */
	seccomp_release(ctx);
	return r;
}

void sandbox_enter(enum sandbox_thread kind)
{
	if (!enabled)
		return;
	int r = enter(kind);
	if (r < 0) {
		log_error("sandbox: cannot install the %s thread's seccomp filter: %s (--sandbox off runs without)",
			  kind_names[kind], strerror(-r));
		chardev_terminal_restore();
		_exit(X86V_EXIT_HOST_ERROR);
	}
	test_ioctls(kind);
}
