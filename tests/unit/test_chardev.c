/* SPDX-License-Identifier: MIT */
/*
 * Character backend tests: the Ctrl-A console escape, pass-through, input
 * backpressure (directly and through a real event loop), end of input, the
 * file and none backends, bad specs, output to a closed or non-blocking pipe,
 * and raw terminal mode restored on close, on exit and on a fatal signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "check.h"
#include "core/chardev.h"
#include "core/event_loop.h"
#include "core/vclock.h"

struct frontend {
	uint8_t buf[4096];
	size_t len;
	size_t budget; /* bytes it will still take; SIZE_MAX: unlimited */
	unsigned calls;
	unsigned quits, dumps;
	struct event_loop *loop; /* quit stops it when set */
};

static size_t fe_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct frontend *f = opaque;
	f->calls++;
	size_t n = len < f->budget ? len : f->budget;
	if (n > sizeof(f->buf) - f->len)
		n = sizeof(f->buf) - f->len;
	memcpy(f->buf + f->len, buf, n);
	f->len += n;
	if (f->budget != SIZE_MAX)
		f->budget -= n;
	return n;
}

static void fe_quit(void *opaque)
{
	struct frontend *f = opaque;
	f->quits++;
	if (f->loop)
		evloop_stop(f->loop);
}

static void fe_dump(void *opaque)
{
	struct frontend *f = opaque;
	f->dumps++;
}

struct rig {
	int in[2];
	struct chardev *chr;
	struct frontend fe;
};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->fe.budget = SIZE_MAX;
	if (pipe(r->in) < 0)
		abort();
	char why[128];
	if (chardev_open_fds(r->in[0], -1, true, &r->chr, why, sizeof(why)) < 0)
		abort();
	chardev_set_frontend(r->chr, fe_receive, &r->fe);
	struct chardev_commands cmds = { fe_quit, fe_dump, NULL, &r->fe };
	chardev_set_commands(r->chr, &cmds);
}

static void rig_fini(struct rig *r)
{
	chardev_close(r->chr);
	close(r->in[0]);
	if (r->in[1] >= 0)
		close(r->in[1]);
}

static void feed(struct rig *r, const void *data, size_t len)
{
	if (write(r->in[1], data, len) != (ssize_t)len)
		abort();
	chardev_handle_input(r->chr);
}

#define FEED(r, s) feed((r), (s), sizeof(s) - 1)
#define FE_IS(r, s) (r.fe.len == sizeof(s) - 1 && memcmp(r.fe.buf, (s), sizeof(s) - 1) == 0)

static void test_escape_quit(void)
{
	struct rig r;
	rig_init(&r);
	FEED(&r, "ab\x01xcd");
	CHECK_EQ(r.fe.quits, 1);
	CHECK_EQ(r.fe.dumps, 0);
	CHECK(FE_IS(r, "abcd"));
	rig_fini(&r);
}

static void test_escape_double(void)
{
	struct rig r;
	rig_init(&r);
	FEED(&r, "\x01\x01");
	CHECK(FE_IS(r, "\x01"));
	/* The escape state carries across reads. */
	FEED(&r, "\x01");
	CHECK(FE_IS(r, "\x01"));
	FEED(&r, "\x01z");
	CHECK(FE_IS(r, "\x01\x01z"));
	CHECK_EQ(r.fe.quits, 0);
	rig_fini(&r);
}

static void test_escape_dump(void)
{
	struct rig r;
	rig_init(&r);
	FEED(&r, "\x01r");
	CHECK_EQ(r.fe.dumps, 1);
	CHECK_EQ(r.fe.len, 0);
	FEED(&r, "1\x01r2");
	CHECK_EQ(r.fe.dumps, 2);
	CHECK(FE_IS(r, "12"));
	rig_fini(&r);
}

static void test_escape_other_and_help(void)
{
	struct rig r;
	rig_init(&r);
	FEED(&r, "\x01qk\x01\x03m"); /* unknown commands are dropped, key and all */
	CHECK(FE_IS(r, "km"));
	FEED(&r, "\x01h"); /* help goes to stderr, nothing to the guest */
	CHECK(FE_IS(r, "km"));
	CHECK_EQ(r.fe.quits + r.fe.dumps, 0);
	/* No commands installed: Ctrl-A x is swallowed without effect. */
	chardev_set_commands(r.chr, NULL);
	FEED(&r, "\x01xy");
	CHECK(FE_IS(r, "kmy"));
	rig_fini(&r);
}

static void test_passthrough(void)
{
	struct rig r;
	uint8_t all[256], expect[255];
	size_t n = 0;
	rig_init(&r);
	for (unsigned i = 0; i < 256; i++) {
		all[i] = (uint8_t)i;
		if (i != CHARDEV_ESCAPE)
			expect[n++] = (uint8_t)i;
	}
	if (write(r.in[1], all, sizeof(all)) != (ssize_t)sizeof(all))
		abort();
	for (int i = 0; i < 16; i++) /* 64 bytes per read */
		chardev_handle_input(r.chr);
	/* 0x01 0x02 was taken as an unknown escape: 0x02 is dropped too. */
	CHECK_EQ(r.fe.len, n - 1);
	CHECK(r.fe.len == n - 1 && memcmp(r.fe.buf, expect, 1) == 0 &&
	      memcmp(r.fe.buf + 1, expect + 2, n - 2) == 0);
	/* handle_input with nothing to read must not block. */
	chardev_handle_input(r.chr);
	rig_fini(&r);
}

static void test_backpressure(void)
{
	struct rig r;
	rig_init(&r);
	r.fe.budget = 1;
	FEED(&r, "hello world");
	CHECK(FE_IS(r, "h"));
	/* While input is held nothing more is read from the fd. */
	FEED(&r, "XYZ");
	CHECK(FE_IS(r, "h"));
	unsigned guard = 0;
	while (r.fe.len < 11 && guard++ < 100) {
		r.fe.budget = 1;
		chardev_accept_more(r.chr);
	}
	CHECK(FE_IS(r, "hello world"));
	r.fe.budget = 1;
	chardev_accept_more(r.chr); /* nothing held: no-op */
	CHECK(FE_IS(r, "hello world"));
	r.fe.budget = SIZE_MAX;
	chardev_handle_input(r.chr);
	CHECK(FE_IS(r, "hello worldXYZ"));
	rig_fini(&r);
}

/* The events the loop's epoll set has armed for fd, read from /proc so that
 * looking does not consume a one-shot event; -1 if fd is not in the set. */
static long loop_fd_events(const struct event_loop *loop, int fd)
{
	char path[64], line[256];
	long events = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", loop->epoll_fd);
	FILE *f = fopen(path, "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		int tfd;
		unsigned ev;
		if (sscanf(line, "tfd: %d events: %x", &tfd, &ev) == 2 && tfd == fd)
			events = ev;
	}
	fclose(f);
	return events;
}

static bool loop_watches(const struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < EVLOOP_MAX_FDS; i++)
		if (loop->fds[i].fd == fd)
			return true;
	return false;
}

static void test_event_loop(void)
{
	struct vclock clock;
	struct event_loop loop;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct rig r;
	vclock_init(&clock);
	CHECK(evloop_init(&loop, &clock, &lock) == 0);
	rig_init(&r);
	r.fe.loop = &loop;
	CHECK(chardev_attach(r.chr, &loop) == 0);
	CHECK(loop_watches(&loop, r.in[0]));

	CHECK(write(r.in[1], "hi\x01x", 4) == 4);
	evloop_run(&loop); /* returns once Ctrl-A x called quit */
	CHECK_EQ(r.fe.quits, 1);
	CHECK(FE_IS(r, "hi"));

	/* A full frontend pauses polling until accept_more. */
	r.fe.budget = 0;
	loop.stop = false;
	CHECK(write(r.in[1], "abc\x01x", 5) == 5);
	evloop_run(&loop);
	CHECK_EQ(r.fe.quits, 2);
	CHECK(FE_IS(r, "hi"));
	CHECK(write(r.in[1], "d", 1) == 1);
	CHECK(loop_fd_events(&loop, r.in[0]) >= 0);
	CHECK(!(loop_fd_events(&loop, r.in[0]) & EPOLLIN)); /* not polled while held */
	pthread_mutex_lock(&lock);
	r.fe.budget = SIZE_MAX;
	chardev_accept_more(r.chr);
	pthread_mutex_unlock(&lock);
	CHECK(FE_IS(r, "hiabc"));
	CHECK(loop_fd_events(&loop, r.in[0]) > 0 && (loop_fd_events(&loop, r.in[0]) & EPOLLIN));
	loop.stop = false;
	CHECK(write(r.in[1], "\x01x", 2) == 2);
	evloop_run(&loop);
	CHECK(FE_IS(r, "hiabcd"));

	rig_fini(&r);
	CHECK(!loop_watches(&loop, r.in[0]));
	evloop_destroy(&loop);
	vclock_destroy(&clock);
}

static void stop_loop(void *opaque)
{
	evloop_stop(opaque);
}

static void test_eof(void)
{
	struct vclock clock;
	struct event_loop loop;
	struct vtimer t;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct rig r;
	vclock_init(&clock);
	CHECK(evloop_init(&loop, &clock, &lock) == 0);
	rig_init(&r);
	CHECK(chardev_attach(r.chr, &loop) == 0);
	CHECK(write(r.in[1], "z", 1) == 1);
	close(r.in[1]);
	r.in[1] = -1;
	/* EOF must not quit: stop the loop from a timer instead. */
	vtimer_init(&t, &clock, stop_loop, &loop);
	CHECK(vtimer_arm(&t, vclock_now(&clock) + 20000000) == 0);
	evloop_run(&loop);
	CHECK(FE_IS(r, "z"));
	CHECK_EQ(r.fe.quits, 0);
	CHECK(!loop_watches(&loop, r.in[0])); /* stopped watching at EOF */
	chardev_handle_input(r.chr); /* harmless afterwards */
	rig_fini(&r);

	/* Input held by a full frontend when the pipe closes: the loop must not
	 * spin on EPOLLHUP, and the held bytes and the EOF come after accept_more. */
	rig_init(&r);
	r.fe.budget = 0;
	CHECK(chardev_attach(r.chr, &loop) == 0);
	CHECK(write(r.in[1], "held", 4) == 4);
	close(r.in[1]);
	r.in[1] = -1;
	loop.stop = false;
	CHECK(vtimer_arm(&t, vclock_now(&clock) + 20000000) == 0);
	evloop_run(&loop);
	CHECK(r.fe.calls <= 2);
	CHECK_EQ(r.fe.len, 0);
	CHECK(loop_watches(&loop, r.in[0]));
	pthread_mutex_lock(&lock);
	r.fe.budget = SIZE_MAX;
	chardev_accept_more(r.chr);
	pthread_mutex_unlock(&lock);
	CHECK(FE_IS(r, "held"));
	loop.stop = false;
	CHECK(vtimer_arm(&t, vclock_now(&clock) + 20000000) == 0);
	evloop_run(&loop);
	CHECK(!loop_watches(&loop, r.in[0]));
	rig_fini(&r);
	evloop_destroy(&loop);
	vclock_destroy(&clock);
}

static void test_unpollable_input(void)
{
	struct vclock clock;
	struct event_loop loop;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct chardev *chr;
	char why[128];
	vclock_init(&clock);
	CHECK(evloop_init(&loop, &clock, &lock) == 0);
	int fd = open("/dev/null", O_RDONLY);
	CHECK(fd >= 0);
	CHECK(chardev_open_fds(fd, -1, true, &chr, why, sizeof(why)) == 0);
	CHECK(chardev_attach(chr, &loop) == 0); /* like stdin=/dev/null under a test runner */
	chardev_handle_input(chr);
	chardev_close(chr);
	close(fd);
	evloop_destroy(&loop);
	vclock_destroy(&clock);
}

static void test_none(void)
{
	struct vclock clock;
	struct event_loop loop;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct chardev *chr = NULL;
	char why[128];
	vclock_init(&clock);
	CHECK(evloop_init(&loop, &clock, &lock) == 0);
	CHECK(chardev_open("none", &chr, why, sizeof(why)) == 0);
	chardev_write(chr, (const uint8_t *)"dropped", 7);
	CHECK(chardev_attach(chr, &loop) == 0);
	chardev_handle_input(chr);
	chardev_accept_more(chr);
	chardev_close(chr);
	chardev_accept_more(NULL);
	chardev_close(NULL);
	evloop_destroy(&loop);
	vclock_destroy(&clock);
}

static void test_file_backend(void)
{
	char dir[] = "/tmp/x86v-chardev-XXXXXX";
	char spec[160], path[128], why[256];
	struct chardev *chr;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/serial.log", dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	CHECK(chardev_open(spec, &chr, why, sizeof(why)) == 0);
	chardev_write(chr, (const uint8_t *)"hello", 5);
	chardev_handle_input(chr); /* no input side */
	chardev_close(chr);
	CHECK(chardev_open(spec, &chr, why, sizeof(why)) == 0);
	chardev_write(chr, (const uint8_t *)" world\n", 7); /* appended */
	chardev_close(chr);
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(read(fd, buf, sizeof(buf) - 1) == 12);
	close(fd);
	CHECK_STR(buf, "hello world\n");
	unlink(path);
	rmdir(dir);
}

static void test_bad_specs(void)
{
	struct chardev *chr = NULL;
	char why[256];
	CHECK_EQ(chardev_open("bogus", &chr, why, sizeof(why)), -EINVAL);
	CHECK(strncmp(why, "--serial bogus: ", 16) == 0 && !strchr(why, '\n'));
	CHECK_EQ(chardev_open("file:", &chr, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "--serial file:: empty file name");
	CHECK_EQ(chardev_open("file:/nonexistent-x86v-dir/out.log", &chr, why, sizeof(why)),
		 -ENOENT);
	CHECK_STR(why, "--serial file:/nonexistent-x86v-dir/out.log: No such file or directory");
	CHECK_EQ(chardev_open("", &chr, why, sizeof(why)), -EINVAL);
	CHECK(!strchr(why, '\n'));
	CHECK_EQ(chardev_open("stdio:extra", &chr, why, sizeof(why)), -EINVAL);
	CHECK_EQ(chardev_open("bogus", &chr, NULL, 0), -EINVAL); /* why is optional */
	CHECK(chr == NULL);
}

struct drain {
	int fd;
	size_t total;
	bool ordered;
};

static void *drain_thread(void *opaque)
{
	struct drain *d = opaque;
	uint8_t buf[4096];
	ssize_t n;
	d->ordered = true;
	usleep(20000); /* let the writer hit a full pipe first */
	while ((n = read(d->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (uint8_t)((d->total + (size_t)i) % 251))
				d->ordered = false;
		d->total += (size_t)n;
	}
	return NULL;
}

static void test_output(void)
{
	int p[2];
	char why[128];
	struct chardev *chr;
	/* A non-blocking output fd that fills up: partial writes and EAGAIN. */
	CHECK(pipe(p) == 0);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	CHECK(chardev_open_fds(-1, p[1], false, &chr, why, sizeof(why)) == 0);
	static uint8_t big[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i % 251);
	struct drain d = { .fd = p[0] };
	pthread_t th;
	CHECK(pthread_create(&th, NULL, drain_thread, &d) == 0);
	/* More than the transmit ring holds: what does not fit waits for room. */
	size_t off = chardev_write(chr, big, sizeof(big));
	CHECK(off < sizeof(big));
	while (off < sizeof(big)) {
		chardev_flush(chr);
		off += chardev_write(chr, big + off, sizeof(big) - off);
	}
	chardev_close(chr);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	CHECK_EQ(d.total, sizeof(big));
	CHECK(d.ordered);

	/* The reader went away: output is dropped, x86v survives SIGPIPE. */
	CHECK(pipe(p) == 0);
	CHECK(chardev_open_fds(-1, p[1], false, &chr, why, sizeof(why)) == 0);
	close(p[0]);
	chardev_write(chr, (const uint8_t *)"lost", 4);
	chardev_write(chr, (const uint8_t *)"lost", 4);
	chardev_close(chr);
	close(p[1]);
}

static int open_pty(int *master, int *slave)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY);
	if (*master < 0)
		return -1;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0)
		goto fail;
	const char *name = ptsname(*master);
	if (!name)
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY);
	if (*slave < 0)
		goto fail;
	return 0;
fail:
	close(*master);
	return -1;
}

static bool same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag;
}

static void test_raw_tty(void)
{
	int master, slave;
	struct termios before, during, after;
	struct chardev *chr;
	char why[128];
	if (open_pty(&master, &slave) < 0)
		SKIP("no pseudo-terminals here");
	CHECK(tcgetattr(slave, &before) == 0);
	CHECK(before.c_lflag & ICANON);
	CHECK(chardev_open_fds(slave, slave, true, &chr, why, sizeof(why)) == 0);
	CHECK(tcgetattr(slave, &during) == 0);
	CHECK(!(during.c_lflag & (ICANON | ECHO | ISIG | IEXTEN)));
	CHECK(!(during.c_iflag & (ICRNL | IXON)));
	CHECK_EQ(during.c_oflag, before.c_oflag); /* output processing kept: "\n" renders */
	CHECK_EQ(during.c_cflag & CSIZE, CS8);
	chardev_close(chr);
	CHECK(tcgetattr(slave, &after) == 0);
	CHECK(same_termios(&before, &after));

	/* Not a terminal, or raw_tty false: termios untouched. */
	CHECK(chardev_open_fds(slave, slave, false, &chr, why, sizeof(why)) == 0);
	CHECK(tcgetattr(slave, &during) == 0);
	CHECK(same_termios(&before, &during));
	chardev_close(chr);
	close(slave);
	close(master);
}

/* In a child: raw mode on the pty, then how selects the way out. */
static void child_exit_path(int slave, int how)
{
	struct chardev *chr;
	char why[128];
	if (chardev_open_fds(slave, slave, true, &chr, why, sizeof(why)) < 0)
		_exit(99);
	if (how == 0)
		exit(3); /* atexit */
	raise(how);
	_exit(98);
}

static void test_raw_tty_restored_on_exit_paths(void)
{
	static const int hows[] = { 0, SIGTERM, SIGHUP, SIGQUIT, SIGINT };
	int master, slave;
	if (open_pty(&master, &slave) < 0)
		SKIP("no pseudo-terminals here");
	struct termios before, after;
	CHECK(tcgetattr(slave, &before) == 0);
	for (unsigned i = 0; i < ARRAY_SIZE(hows); i++) {
		fflush(stdout);
		pid_t pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			child_exit_path(slave, hows[i]);
		int status = 0;
		CHECK(waitpid(pid, &status, 0) == pid);
		if (hows[i] == 0)
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
		else
			CHECK(WIFSIGNALED(status) && WTERMSIG(status) == hows[i]);
		CHECK(tcgetattr(slave, &after) == 0);
		if (!same_termios(&before, &after)) {
			printf("# termios not restored after exit path %d\n", hows[i]);
			check_failures++;
			tcsetattr(slave, TCSANOW, &before);
		}
	}
	close(slave);
	close(master);
}

CHECK_MAIN(TEST_CASE(test_escape_quit), TEST_CASE(test_escape_double), TEST_CASE(test_escape_dump),
	   TEST_CASE(test_escape_other_and_help), TEST_CASE(test_passthrough),
	   TEST_CASE(test_backpressure), TEST_CASE(test_event_loop), TEST_CASE(test_eof),
	   TEST_CASE(test_unpollable_input), TEST_CASE(test_none), TEST_CASE(test_file_backend),
	   TEST_CASE(test_bad_specs), TEST_CASE(test_output), TEST_CASE(test_raw_tty),
	   TEST_CASE(test_raw_tty_restored_on_exit_paths))
