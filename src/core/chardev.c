/* SPDX-License-Identifier: MIT */
/*
 * Character backends for serial ports: stdio (raw terminal), none, file:PATH,
 * and raw fd pairs. Terminal handling follows POSIX termios (XBD §11,
 * tcsetattr/tcgetattr); the console escape follows QEMU's -nographic mux
 * (Ctrl-A x / r / h / Ctrl-A).
 *
 * Not implemented: input from regular files (epoll cannot poll them, so such
 * input counts as closed), sockets, and sending a break to the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "core/chardev.h"
#include "core/chardev_tx.h"
#include "core/event_loop.h"
#include "core/log.h"

#define CHARDEV_READ_SIZE 64

struct chardev {
	int in_fd; /* -1: no input, or input ended */
	int out_fd; /* -1: output dropped */
	int owned_fd; /* an fd chardev_open opened and closes, or -1 */
	struct chardev_tx *tx; /* output ring and its writer (NULL without output) */
	bool raw_tty; /* this chardev put the terminal in raw mode */
	chardev_tx_space_fn *tx_space;
	void *tx_space_opaque;
	bool space_watching; /* the ring's space fd is registered with loop */

	chardev_receive_fn *receive;
	void *receive_opaque;
	struct chardev_commands cmds;

	struct event_loop *loop;
	bool watching; /* in_fd is registered with loop */
	bool armed; /* its one-shot EPOLLIN is armed */
	bool delivering; /* guards against re-entry from the frontend */

	bool escape_pending; /* the last input byte was Ctrl-A */
	uint8_t held[CHARDEV_READ_SIZE]; /* input the frontend did not take yet */
	size_t held_off, held_len;
};

/*
 * The terminal we put in raw mode. This is process-wide state by nature (one
 * controlling terminal; signal handlers and atexit cannot carry a pointer),
 * so it is the one static here. Fields are written before `active` is set and
 * read by a signal handler, hence volatile sig_atomic_t for the flag.
 */
static const int chardev_fatal_signals[] = { SIGTERM, SIGHUP, SIGQUIT, SIGINT };

static struct {
	volatile sig_atomic_t active;
	int fd;
	struct termios saved;
	bool installed[4]; /* our handler replaced SIG_DFL for chardev_fatal_signals[i] */
	bool atexit_registered;
} chardev_term = { .fd = -1 };

static void chardev_term_restore(void)
{
	/* tcsetattr is async-signal-safe; TCSANOW so a stuck output queue cannot hang us. */
	if (chardev_term.active) {
		tcsetattr(chardev_term.fd, TCSANOW, &chardev_term.saved);
		chardev_term.active = 0;
	}
}

void chardev_terminal_restore(void)
{
	chardev_term_restore();
}

static void chardev_fatal_signal(int sig)
{
	int saved_errno = errno;
	chardev_term_restore();
	/* SA_RESETHAND put back the default action; re-raise so we die of sig
	 * (the exit status the parent expects). It is delivered on return. */
	raise(sig);
	errno = saved_errno;
}

static void chardev_install_signals(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(chardev_fatal_signals); i++) {
		struct sigaction old, sa;
		int sig = chardev_fatal_signals[i];
		if (sigaction(sig, NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue; /* the program handles or ignores it itself */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = chardev_fatal_signal;
		sa.sa_flags = SA_RESETHAND;
		sigemptyset(&sa.sa_mask);
		chardev_term.installed[i] = sigaction(sig, &sa, NULL) == 0;
	}
}

static void chardev_uninstall_signals(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(chardev_fatal_signals); i++) {
		struct sigaction cur;
		if (!chardev_term.installed[i])
			continue;
		chardev_term.installed[i] = false;
		/* Leave a handler someone set after us alone. */
		if (sigaction(chardev_fatal_signals[i], NULL, &cur) == 0 &&
		    cur.sa_handler == chardev_fatal_signal)
			signal(chardev_fatal_signals[i], SIG_DFL);
	}
}

/* Raw input like cfmakeraw(), but output processing is left as the user had
 * it (normally OPOST|ONLCR), as QEMU's stdio backend does: guests that print a
 * bare "\n" (firmware, small test guests) still return the carriage, and
 * Linux's "\r\n" becomes "\r\r\n", which renders the same. ISIG is off so
 * Ctrl-C reaches the guest; Ctrl-A x is the way out. */
static int chardev_make_raw(int fd)
{
	struct termios raw;
	if (chardev_term.active)
		return 0; /* another chardev already owns the terminal */
	if (tcgetattr(fd, &chardev_term.saved) < 0)
		return -errno;
	raw = chardev_term.saved;
	raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	chardev_term.fd = fd;
	if (!chardev_term.atexit_registered)
		chardev_term.atexit_registered = atexit(chardev_term_restore) == 0;
	chardev_install_signals();
	chardev_term.active = 1;
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		int e = -errno;
		chardev_term.active = 0;
		chardev_uninstall_signals();
		return e;
	}
	return 1;
}

static struct chardev *chardev_alloc(void)
{
	struct chardev *chr = calloc(1, sizeof(*chr));
	if (!chr)
		return NULL;
	chr->in_fd = chr->out_fd = chr->owned_fd = -1;
	return chr;
}

static void chardev_why(char *why, size_t why_len, const char *spec, const char *problem)
{
	if (why && why_len)
		snprintf(why, why_len, "--serial %s: %s", spec, problem);
}

int chardev_open_fds(int in_fd, int out_fd, bool raw_tty, struct chardev **out, char *why,
		     size_t why_len)
{
	struct chardev *chr = chardev_alloc();
	if (!chr) {
		if (why && why_len)
			snprintf(why, why_len, "serial backend: out of memory");
		return -ENOMEM;
	}
	chr->in_fd = in_fd;
	chr->out_fd = out_fd;
	if (out_fd >= 0) {
		struct sigaction old;
		if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
		    !(old.sa_flags & SA_SIGINFO))
			signal(SIGPIPE, SIG_IGN);
		int r = chardev_tx_start(out_fd, &chr->tx);
		if (r < 0) {
			if (why && why_len)
				snprintf(why, why_len, "serial backend: cannot start the output writer: %s", strerror(-r));
			free(chr);
			return r;
		}
	}
	if (raw_tty && in_fd >= 0 && isatty(in_fd)) {
		int r = chardev_make_raw(in_fd);
		if (r < 0) {
			if (why && why_len)
				snprintf(why, why_len, "serial backend: cannot set the terminal to raw mode: %s",
					 strerror(-r));
			chardev_tx_stop(chr->tx);
			free(chr);
			return r;
		}
		chr->raw_tty = r > 0;
	}
	*out = chr;
	return 0;
}

int chardev_open(const char *spec, struct chardev **out, char *why, size_t why_len)
{
	if (!spec)
		spec = "";
	if (strcmp(spec, "stdio") == 0)
		return chardev_open_fds(STDIN_FILENO, STDOUT_FILENO, true, out, why, why_len);
	if (strcmp(spec, "none") == 0)
		return chardev_open_fds(-1, -1, false, out, why, why_len);
	if (strncmp(spec, "file:", 5) == 0) {
		const char *path = spec + 5;
		if (!*path) {
			chardev_why(why, why_len, spec, "empty file name");
			return -EINVAL;
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0) {
			int e = errno;
			chardev_why(why, why_len, spec, strerror(e));
			return -e;
		}
		int r = chardev_open_fds(-1, fd, false, out, why, why_len);
		if (r < 0) {
			close(fd);
			return r;
		}
		(*out)->owned_fd = fd;
		return 0;
	}
	chardev_why(why, why_len, spec, "unknown serial backend (expected stdio, none or file:PATH)");
	return -EINVAL;
}

static void chardev_unwatch(struct chardev *chr)
{
	if (chr->watching)
		evloop_del_fd(chr->loop, chr->in_fd);
	chr->watching = false;
	chr->armed = false;
}

void chardev_close(struct chardev *chr)
{
	if (!chr)
		return;
	chardev_unwatch(chr);
	if (chr->space_watching)
		evloop_del_fd(chr->loop, chardev_tx_space_fd(chr->tx));
	chardev_tx_stop(chr->tx); /* what the guest wrote reaches the host first */
	if (chr->raw_tty) {
		chardev_term_restore();
		chardev_uninstall_signals();
	}
	if (chr->owned_fd >= 0)
		close(chr->owned_fd);
	free(chr);
}

size_t chardev_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
	if (!chr || !chr->tx)
		return len; /* no output: everything leaves at once, into nothing */
	return chardev_tx_put(chr->tx, buf, len);
}

void chardev_set_tx_space(struct chardev *chr, chardev_tx_space_fn *fn, void *opaque)
{
	chr->tx_space = fn;
	chr->tx_space_opaque = opaque;
}

/* The writer made room after a write that did not fit: tell the frontend. */
static void chardev_space_ready(void *opaque, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	struct chardev *chr = opaque;
	chardev_tx_space_ack(chr->tx);
	if (chr->tx_space)
		chr->tx_space(chr->tx_space_opaque);
}

void chardev_flush(struct chardev *chr)
{
	if (!chr || !chr->tx)
		return;
	chardev_tx_flush(chr->tx);
	struct pollfd p = { .fd = chardev_tx_space_fd(chr->tx), .events = POLLIN };
	if (poll(&p, 1, 0) == 1)
		chardev_space_ready(chr, p.fd, POLLIN);
}

void chardev_set_frontend(struct chardev *chr, chardev_receive_fn *receive, void *opaque)
{
	chr->receive = receive;
	chr->receive_opaque = opaque;
}

void chardev_set_commands(struct chardev *chr, const struct chardev_commands *cmds)
{
	if (cmds)
		chr->cmds = *cmds;
	else
		memset(&chr->cmds, 0, sizeof(chr->cmds));
}

/*
 * Input is watched with EPOLLONESHOT: the kernel disarms it after each event
 * and it is re-armed only while nothing is held, which is how backpressure
 * stops reading. Pausing with an empty event mask would not do: epoll reports
 * EPOLLHUP whatever the mask, so a closed pipe would spin the loop for as long
 * as the guest leaves its receiver full.
 */
#define CHARDEV_POLL_EVENTS (EPOLLIN | EPOLLONESHOT)

static void chardev_rearm(struct chardev *chr)
{
	if (!chr->watching || chr->armed || chr->held_len)
		return;
	int r = evloop_mod_fd(chr->loop, chr->in_fd, CHARDEV_POLL_EVENTS);
	if (r < 0) {
		log_warn("serial input: cannot resume polling: %s", strerror(-r));
		return;
	}
	chr->armed = true;
}

/* Offers held input to the frontend until it is all taken or the frontend is full. */
static void chardev_deliver(struct chardev *chr)
{
	if (chr->delivering)
		return;
	chr->delivering = true;
	while (chr->held_len) {
		if (!chr->receive) {
			chr->held_len = 0; /* nobody listens: drop */
			break;
		}
		size_t n = chr->receive(chr->receive_opaque, chr->held + chr->held_off,
					chr->held_len);
		if (n == 0)
			break;
		if (n > chr->held_len)
			n = chr->held_len;
		chr->held_off += n;
		chr->held_len -= n;
	}
	if (chr->held_len == 0)
		chr->held_off = 0;
	chr->delivering = false;
	chardev_rearm(chr);
}

void chardev_accept_more(struct chardev *chr)
{
	if (!chr || chr->delivering)
		return;
	chardev_deliver(chr);
}

static void chardev_help(void)
{
	static const char help[] =
		"\nC-a h    print this help\n"
		"C-a x    exit x86v\n"
		"C-a r    dump machine state\n"
		"C-a s    write a snapshot (--snapshot-on-exit PATH, else ./x86v.snap)\n"
		"C-a C-a  send C-a to the guest\n";
	ssize_t r = write(STDERR_FILENO, help, sizeof(help) - 1);
	(void)r;
}

/* Runs the console escape over raw input; what goes to the guest lands in held. */
static void chardev_escape(struct chardev *chr, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (!chr->escape_pending) {
			if (c == CHARDEV_ESCAPE)
				chr->escape_pending = true;
			else
				chr->held[chr->held_len++] = c;
			continue;
		}
		chr->escape_pending = false;
		switch (c) {
		case CHARDEV_ESCAPE:
			chr->held[chr->held_len++] = c;
			break;
		case 'x':
			if (chr->cmds.quit)
				chr->cmds.quit(chr->cmds.opaque);
			break;
		case 'r':
			if (chr->cmds.dump)
				chr->cmds.dump(chr->cmds.opaque);
			break;
		case 's':
			if (chr->cmds.snapshot)
				chr->cmds.snapshot(chr->cmds.opaque);
			break;
		case 'h':
			chardev_help();
			break;
		default:
			break; /* unknown command: dropped */
		}
	}
}

static void chardev_input_ended(struct chardev *chr)
{
	chardev_unwatch(chr);
	chr->in_fd = -1;
}

void chardev_handle_input(struct chardev *chr)
{
	if (!chr || chr->in_fd < 0)
		return;
	if (chr->held_len) {
		chardev_deliver(chr);
		return;
	}
	/* Input fds stay blocking (stdin often shares its file description with
	 * stdout, and O_NONBLOCK there would break output), so make sure one read
	 * cannot block. */
	struct pollfd p = { .fd = chr->in_fd, .events = POLLIN };
	int pr = poll(&p, 1, 0);
	if (pr <= 0)
		return;
	if (p.revents & POLLNVAL) {
		chardev_input_ended(chr);
		return;
	}
	uint8_t buf[CHARDEV_READ_SIZE];
	ssize_t n = read(chr->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* End of input (or a hung-up terminal): the guest keeps running. */
		if (n < 0)
			log_warn("serial input: %s; no more input", strerror(errno));
		chardev_input_ended(chr);
		return;
	}
	/* held is empty here and escape output is never longer than its input. */
	chr->held_off = 0;
	chardev_escape(chr, buf, (size_t)n);
	chardev_deliver(chr);
}

static void chardev_fd_ready(void *opaque, int fd, uint32_t events)
{
	struct chardev *chr = opaque;
	(void)fd;
	(void)events;
	chr->armed = false; /* one-shot: the kernel disarmed it */
	chardev_handle_input(chr);
	chardev_rearm(chr);
}

int chardev_attach(struct chardev *chr, struct event_loop *loop)
{
	chardev_unwatch(chr);
	if (chr->space_watching)
		evloop_del_fd(chr->loop, chardev_tx_space_fd(chr->tx));
	chr->space_watching = false;
	chr->loop = loop;
	if (chr->tx) {
		int r = evloop_add_fd(loop, chardev_tx_space_fd(chr->tx), EPOLLIN, chardev_space_ready, chr);
		if (r < 0)
			return r;
		chr->space_watching = true;
	}
	if (chr->in_fd < 0)
		return 0;
	int r = evloop_add_fd(loop, chr->in_fd, CHARDEV_POLL_EVENTS, chardev_fd_ready, chr);
	if (r == -EPERM) {
		/* A regular file or /dev/null: nothing epoll can wait on. */
		log_info("serial input cannot be polled; ignoring it");
		chr->in_fd = -1;
		return 0;
	}
	if (r < 0)
		return r;
	/* Armed even with input held: the event then only retries delivery. */
	chr->watching = true;
	chr->armed = true;
	return 0;
}
