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
#include <unistd.h>

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
 * sockets and terminal, KVM's VM ioctls (MSIs, interrupt lines, eventfd
 * bindings), kicking the vCPU thread, joining threads at the end. */
static const int main_calls[] = {
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(timerfd_settime),
	SCMP_SYS(ioctl), SCMP_SYS(fcntl), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown), SCMP_SYS(rt_sigaction),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(kill),
	SCMP_SYS(dup), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
};

/* The vCPU: KVM_RUN and the vCPU ioctls, device accesses (eventfds,
 * MSIs, eventfd bindings as BARs move, the entropy device), the trace and
 * perf-map files, the GDB stub when the guest stops (its replies, and its
 * connection's events in the loop), re-reading
 * images on a reset (through descriptors kept open). */
static const int vcpu_calls[] = {
	SCMP_SYS(ioctl), SCMP_SYS(fcntl), SCMP_SYS(rt_sigaction), SCMP_SYS(fallocate), SCMP_SYS(pwrite64),
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
	SCMP_SYS(shutdown), SCMP_SYS(fcntl), SCMP_SYS(ioctl), SCMP_SYS(stat), SCMP_SYS(statx),
};

/* The terminal's writer: writes and its eventfd (common calls only). */

/* The control API: its socket's connections (libmicrohttpd), and putting a
 * snapshot directory's descriptor where the vCPU thread expects it. */
static const int api_calls[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(shutdown), SCMP_SYS(fcntl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_pwait), SCMP_SYS(dup3), SCMP_SYS(ioctl), SCMP_SYS(sendfile),
};

static const char *const kind_names[] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vCPU", [SANDBOX_DISK] = "disk I/O",
	[SANDBOX_NET] = "network", [SANDBOX_CONSOLE] = "console", [SANDBOX_API] = "control API",
};

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, si->si_syscall);
	char line[200];
	int n = snprintf(line, sizeof(line),
			 "x86v: sandbox: the %s thread made a forbidden system call: %s (%d); --sandbox off allows it\n",
			 thread_name ? thread_name : "?", name ? name : "unknown", si->si_syscall);
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

/* mmap and mprotect, never with PROT_EXEC; ioctl TCGETS. Opening files fails with EACCES
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
	/* stdio asks whether stdout or stderr is a terminal on their first use. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
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

void sandbox_selftest(void)
{
	const char *t = getenv("X86V_SANDBOX_TEST");
	if (enabled && t && !strcmp(t, "forbidden-call")) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0)
			close(fd);
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
}
