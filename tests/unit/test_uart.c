/* SPDX-License-Identifier: MIT */
/*
 * 16550A register-level tests: the datasheet's reset values, divisor latch,
 * transmit, interrupt identification and priorities, FIFOs and trigger levels,
 * character timeout on the virtual clock, overrun (through loopback), modem
 * status, the PC's OUT2 gate, backpressure towards the chardev, and a sweep of
 * guest garbage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/chardev.h"
#include "core/chardev_tx.h"
#include "core/log.h"
#include "core/vclock.h"
#include "hw/char/uart16550.h"
#include "hw/device.h"

struct fake_irq {
	int level;
	unsigned rises;
	unsigned changes;
};

static void fake_irq_set(void *opaque, unsigned line, int level)
{
	struct fake_irq *f = opaque;
	(void)line;
	if (level != f->level)
		f->changes++;
	if (level && !f->level)
		f->rises++;
	f->level = level;
}

struct rig {
	struct vclock clock;
	struct fake_irq irq_state;
	struct irq_line irq;
	int out_pipe[2]; /* guest output: [0] read by the test */
	int in_pipe[2]; /* host input: [1] written by the test */
	struct chardev *chr;
	struct uart16550 *u;
	int64_t t0;
};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	vclock_init(&r->clock);
	vclock_pause(&r->clock); /* time moves only through vclock_run_expired */
	r->t0 = vclock_now(&r->clock);
	r->irq = (struct irq_line){ fake_irq_set, &r->irq_state, 4 };
	if (pipe(r->out_pipe) < 0 || pipe(r->in_pipe) < 0)
		abort();
	fcntl(r->out_pipe[0], F_SETFL, O_NONBLOCK);
	char why[256];
	if (chardev_open_fds(r->in_pipe[0], r->out_pipe[1], false, &r->chr, why, sizeof(why)) < 0)
		abort();
	r->u = uart_create(&r->clock, &r->irq, r->chr);
	if (!r->u)
		abort();
	chardev_set_frontend(r->chr, uart_receive, r->u);
}

static void rig_fini(struct rig *r)
{
	uart_destroy(r->u);
	chardev_close(r->chr);
	close(r->out_pipe[0]);
	close(r->out_pipe[1]);
	close(r->in_pipe[0]);
	close(r->in_pipe[1]);
	vclock_destroy(&r->clock);
}

static uint8_t rd(struct rig *r, unsigned off)
{
	return (uint8_t)uart_bus_ops.read(r->u, off, 1);
}

static void wr(struct rig *r, unsigned off, uint8_t v)
{
	uart_bus_ops.write(r->u, off, v, 1);
}

static size_t rx(struct rig *r, const char *s)
{
	return uart_receive(r->u, (const uint8_t *)s, strlen(s));
}

static size_t out_read(struct rig *r, char *buf, size_t cap)
{
	chardev_flush(r->chr); /* the transmit ring's writer thread has written it */
	ssize_t n = read(r->out_pipe[0], buf, cap - 1);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	return (size_t)n;
}

static void test_reset_values(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(uart_bus_ops.min_size, 1);
	CHECK_EQ(uart_bus_ops.max_size, 1);
	CHECK_EQ(rd(&r, UART_IER), 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(rd(&r, UART_LCR), 0);
	CHECK_EQ(rd(&r, UART_MCR), 0);
	CHECK_EQ(rd(&r, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	CHECK_EQ(rd(&r, UART_SCR), 0);
	CHECK_EQ(rd(&r, UART_RBR), 0);
	wr(&r, UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(rd(&r, UART_DLL), 12);
	CHECK_EQ(rd(&r, UART_DLM), 0);
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);

	/* uart_reset brings a dirtied UART back to the same values and drops the IRQ. */
	wr(&r, UART_DLL, 0x34);
	wr(&r, UART_LCR, 0x1b);
	wr(&r, UART_FCR, 0xc7);
	wr(&r, UART_IER, 0x0f);
	wr(&r, UART_MCR, 0x0b);
	wr(&r, UART_SCR, 0x55);
	CHECK(rx(&r, "xyz") == 3);
	CHECK_EQ(r.irq_state.level, 1);
	uart_reset(r.u);
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(rd(&r, UART_IER), 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(rd(&r, UART_LCR), 0);
	CHECK_EQ(rd(&r, UART_MCR), 0);
	CHECK_EQ(rd(&r, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&r, UART_MSR), 0xb0);
	CHECK_EQ(rd(&r, UART_SCR), 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	rig_fini(&r);
}

static void test_divisor_latch(void)
{
	struct rig r;
	char buf[64];
	rig_init(&r);
	wr(&r, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(&r, UART_DLL, 0x01);
	wr(&r, UART_DLM, 0x02);
	CHECK_EQ(rd(&r, UART_DLL), 0x01);
	CHECK_EQ(rd(&r, UART_DLM), 0x02);
	CHECK_EQ(rd(&r, UART_LCR), 0x83);
	CHECK_EQ(out_read(&r, buf, sizeof(buf)), 0); /* DLL write is not a THR write */
	wr(&r, UART_LCR, 0x03);
	CHECK_EQ(rd(&r, UART_IER), 0); /* IER untouched by the DLM write */
	wr(&r, UART_IER, 0xff);
	CHECK_EQ(rd(&r, UART_IER), 0x0f); /* bits 4-7 are always 0 */
	wr(&r, UART_LCR, 0x83);
	CHECK_EQ(rd(&r, UART_DLM), 0x02);
	CHECK_EQ(rd(&r, UART_DLL), 0x01);
	/* IIR/FCR, LCR..SCR do not depend on DLAB. */
	wr(&r, UART_SCR, 0x5a);
	CHECK_EQ(rd(&r, UART_SCR), 0x5a);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_THRE, UART_LSR_THRE);
	rig_fini(&r);
}

static void test_thr_output(void)
{
	struct rig r;
	char buf[64];
	rig_init(&r);
	const char *msg = "Hello, 16550!\r\n";
	for (const char *p = msg; *p; p++) {
		wr(&r, UART_THR, (uint8_t)*p);
		CHECK_EQ(rd(&r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
	}
	CHECK_EQ(out_read(&r, buf, sizeof(buf)), strlen(msg));
	CHECK_STR(buf, msg);
	/* With FIFOs on it is the same. */
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE | UART_FCR_XMIT_RESET);
	wr(&r, UART_THR, 'Q');
	CHECK_EQ(out_read(&r, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "Q");
	rig_fini(&r);
}

static void test_thre_interrupt(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_IER, UART_IER_ETBEI); /* enabling with THR empty raises THRE at once */
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRE);
	CHECK_EQ(r.irq_state.level, 0); /* the IIR read that reported THRE cleared it */
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);

	/* Each THR write gives a fresh edge. */
	unsigned rises = r.irq_state.rises;
	wr(&r, UART_THR, 'a');
	CHECK_EQ(r.irq_state.level, 1);
	wr(&r, UART_THR, 'b');
	CHECK_EQ(r.irq_state.rises, rises + 2);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRE);
	CHECK_EQ(r.irq_state.level, 0);

	/* Re-enabling ETBEI re-raises THRE (Linux's UART_BUG_THRE probe expects it). */
	wr(&r, UART_IER, 0);
	wr(&r, UART_IER, UART_IER_ETBEI);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRE);

	/* An IIR read reporting a higher-priority source leaves THRE pending. */
	wr(&r, UART_THR, 'c');
	wr(&r, UART_IER, UART_IER_ETBEI | UART_IER_ERBFI);
	CHECK(rx(&r, "z") == 1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_RDA);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_RDA);
	CHECK_EQ(rd(&r, UART_RBR), 'z');
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRE);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(r.irq_state.level, 0);
	rig_fini(&r);
}

static void test_rx_interrupt(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	CHECK(rx(&r, "A") == 1);
	CHECK_EQ(r.irq_state.level, 0); /* ERBFI still off */
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	wr(&r, UART_IER, UART_IER_ERBFI);
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_RDA);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	/* 16450 mode holds one byte: the next is refused, not overrun. */
	CHECK(rx(&r, "BC") == 0);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_OE, 0);
	CHECK_EQ(rd(&r, UART_RBR), 'A');
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	CHECK(rx(&r, "B") == 1);
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(rd(&r, UART_RBR), 'B');
	CHECK_EQ(rd(&r, UART_RBR), 'B'); /* empty RBR reads the last byte again */
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER); /* no timeout without FIFOs */
	rig_fini(&r);
}

static void test_fifo_trigger_levels(void)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };
	for (unsigned t = 0; t < 4; t++) {
		struct rig r;
		rig_init(&r);
		wr(&r, UART_MCR, UART_MCR_OUT2);
		wr(&r, UART_IER, UART_IER_ERBFI);
		wr(&r, UART_FCR, (uint8_t)(UART_FCR_FIFO_ENABLE | (t << 6)));
		CHECK_EQ(rd(&r, UART_IIR), UART_IIR_FIFOS | UART_IIR_NO_INT);
		for (unsigned n = 1; n <= UART_FIFO_SIZE; n++) {
			char c[2] = { (char)('a' + n - 1), 0 };
			CHECK(rx(&r, c) == 1);
			uint8_t iir = rd(&r, UART_IIR);
			if (n >= levels[t]) {
				CHECK_EQ(iir, UART_IIR_FIFOS | UART_IIR_RDA);
				CHECK_EQ(r.irq_state.level, 1);
			} else {
				CHECK_EQ(iir, UART_IIR_FIFOS | UART_IIR_NO_INT);
				CHECK_EQ(r.irq_state.level, 0);
			}
		}
		CHECK(rx(&r, "q") == 0); /* full */
		CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_OE, 0);
		for (unsigned n = 0; n < UART_FIFO_SIZE; n++)
			CHECK_EQ(rd(&r, UART_RBR), 'a' + n);
		CHECK_EQ(r.irq_state.level, 0);
		CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
		rig_fini(&r);
	}
	/* uart_receive takes exactly the room left. */
	struct rig r;
	rig_init(&r);
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE);
	CHECK(rx(&r, "0123456789") == 10);
	CHECK(rx(&r, "ABCDEFGHIJ") == 6);
	rig_fini(&r);
}

/* 8N1: 10 bits of 16 * divisor clocks at 1.8432 MHz, times four. */
static int64_t timeout_8n1(unsigned divisor)
{
	return (int64_t)(4ULL * 10 * 16 * divisor * 1000000000ULL / UART_CLOCK_HZ);
}

static void test_char_timeout(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, UART_LCR, UART_LCR_DLAB);
	wr(&r, UART_DLL, 1);
	wr(&r, UART_LCR, 0x03); /* 8N1 */
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_IER, UART_IER_ERBFI);
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE | 0xc0); /* trigger 14 */
	CHECK(rx(&r, "abc") == 3);
	CHECK_EQ(r.irq_state.level, 0);
	int64_t t = timeout_8n1(1);
	CHECK_EQ(vclock_next_deadline(&r.clock), r.t0 + t);
	vclock_run_expired(&r.clock, r.t0 + t - 1);
	CHECK_EQ(r.irq_state.level, 0);
	vclock_run_expired(&r.clock, r.t0 + t);
	CHECK_EQ(r.irq_state.level, 1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_FIFOS | UART_IIR_CTI);
	/* Reading a byte clears the timeout and restarts the timer. */
	CHECK_EQ(rd(&r, UART_RBR), 'a');
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_FIFOS | UART_IIR_NO_INT);
	CHECK(vclock_next_deadline(&r.clock) != VCLOCK_NEVER);
	vclock_run_expired(&r.clock, vclock_next_deadline(&r.clock));
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_FIFOS | UART_IIR_CTI);
	CHECK_EQ(rd(&r, UART_RBR), 'b');
	CHECK_EQ(rd(&r, UART_RBR), 'c');
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER); /* empty: nothing to time out */
	CHECK_EQ(r.irq_state.level, 0);

	/* The timeout scales with the divisor. */
	wr(&r, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(&r, UART_DLL, 12);
	wr(&r, UART_LCR, 0x03);
	CHECK(rx(&r, "d") == 1);
	CHECK_EQ(vclock_next_deadline(&r.clock), r.t0 + timeout_8n1(12));
	/* Disabling the FIFOs drops the timer with the data. */
	wr(&r, UART_FCR, 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	rig_fini(&r);
}

static void test_overrun(void)
{
	struct rig r;
	char buf[64];
	rig_init(&r);
	/* Host input cannot overrun (uart_receive refuses); the guest can, by
	 * transmitting into a full receiver in loopback. */
	wr(&r, UART_MCR, UART_MCR_LOOP);
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE);
	wr(&r, UART_IER, UART_IER_ELSI | UART_IER_ERBFI);
	for (unsigned i = 0; i < UART_FIFO_SIZE + 1; i++)
		wr(&r, UART_THR, (uint8_t)('A' + i));
	CHECK_EQ(out_read(&r, buf, sizeof(buf)), 0); /* loopback: nothing on the wire */
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_FIFOS | UART_IIR_RLS); /* priority over RDA */
	CHECK_EQ(rd(&r, UART_LSR), UART_LSR_DR | UART_LSR_OE | UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&r, UART_LSR), UART_LSR_DR | UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_FIFOS | UART_IIR_RDA);
	for (unsigned i = 0; i < UART_FIFO_SIZE; i++) /* the 17th byte was lost */
		CHECK_EQ(rd(&r, UART_RBR), 'A' + i);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);

	/* 16450 mode: the new character replaces the unread one. */
	wr(&r, UART_FCR, 0);
	wr(&r, UART_THR, '1');
	wr(&r, UART_THR, '2');
	CHECK_EQ(rd(&r, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_RBR), '2');
	CHECK_EQ(rd(&r, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), 0);
	rig_fini(&r);
}

static void test_loopback(void)
{
	struct rig r;
	char buf[64];
	rig_init(&r);
	wr(&r, UART_MCR, UART_MCR_LOOP);
	wr(&r, UART_THR, 'Z');
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_RBR), 'Z');
	CHECK_EQ(out_read(&r, buf, sizeof(buf)), 0);
	/* Outputs looped to inputs: Linux's probe writes LOOP|RTS|OUT2 and wants 0x90. */
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, 0x90);
	wr(&r, UART_MCR, 0x1f);
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, 0xf0);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, UART_MSR_DSR);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, UART_MSR_RI);
	wr(&r, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, 0);

	/* Host input waits (held by the chardev) while SIN is disconnected. */
	CHECK(write(r.in_pipe[1], "Q", 1) == 1);
	chardev_handle_input(r.chr);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	wr(&r, UART_MCR, 0); /* leaving loopback lets the backend deliver */
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_RBR), 'Q');
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, 0xb0);
	wr(&r, UART_THR, 'W');
	CHECK_EQ(out_read(&r, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "W");
	rig_fini(&r);
}

static void test_out2_gate(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, UART_IER, UART_IER_ETBEI);
	CHECK_EQ(r.irq_state.level, 0); /* INTR is asserted, but OUT2 is off */
	wr(&r, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(r.irq_state.level, 1);
	wr(&r, UART_MCR, 0);
	CHECK_EQ(r.irq_state.level, 0);
	wr(&r, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP); /* loopback forces the OUT2 pin off */
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRE); /* the UART itself still flags it */
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_THR, 'x');
	CHECK_EQ(r.irq_state.level, 1);
	rig_fini(&r);
}

static void test_msr_deltas(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, UART_IER, UART_IER_EDSSI);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	/* Entering loopback with OUT2 only: CTS and DSR fall, DCD stays. */
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_MS);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCD | UART_MSR_DCTS | UART_MSR_DDSR);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCD); /* reading cleared the deltas */
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	/* RI rising is no TERI; falling is. */
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_OUT1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCD | UART_MSR_RI);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCD | UART_MSR_TERI);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCD | UART_MSR_CTS | UART_MSR_DCTS);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCD | UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DDSR);
	wr(&r, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	/* Modem status is the lowest priority and reaches the PIC through OUT2. */
	wr(&r, UART_MCR, UART_MCR_OUT2); /* leaving loopback: CTS, DSR, DCD rise */
	CHECK_EQ(r.irq_state.level, 1);
	wr(&r, UART_IER, UART_IER_EDSSI | UART_IER_ETBEI);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRE);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_MS);
	CHECK_EQ(rd(&r, UART_MSR), 0xb0 | UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	CHECK_EQ(r.irq_state.level, 0);
	rig_fini(&r);
}

static void test_scratch(void)
{
	struct rig r;
	rig_init(&r);
	for (unsigned v = 0; v < 256; v++) {
		wr(&r, UART_SCR, (uint8_t)v);
		CHECK_EQ(rd(&r, UART_SCR), v);
	}
	rig_fini(&r);
}

static void test_fcr_resets(void)
{
	struct rig r;
	rig_init(&r);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_IER, UART_IER_ERBFI);
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE);
	CHECK(rx(&r, "hello") == 5);
	CHECK_EQ(r.irq_state.level, 1);
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE | UART_FCR_RCVR_RESET);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(r.irq_state.level, 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	/* The reset bit self-clears: the next write without it keeps data. */
	CHECK(rx(&r, "ab") == 2);
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE | 0x40);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_FIFOS | UART_IIR_NO_INT); /* 2 < trigger 4 */
	/* FCR1..7 are ignored unless FCR0 is set in the same write; clearing FCR0 clears FIFOs. */
	wr(&r, UART_FCR, UART_FCR_RCVR_RESET);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	rig_fini(&r);
}

/* Host input flows through the chardev into the UART as the guest drains it. */
static void test_backpressure(void)
{
	struct rig r;
	rig_init(&r);
	const char *msg = "the quick brown fox jumps over the lazy dog";
	CHECK(write(r.in_pipe[1], msg, strlen(msg)) == (ssize_t)strlen(msg));
	chardev_handle_input(r.chr); /* one byte fits in 16450 mode */
	char got[64] = { 0 };
	size_t n = 0;
	while (n < sizeof(got) - 1 && (rd(&r, UART_LSR) & UART_LSR_DR))
		got[n++] = (char)rd(&r, UART_RBR);
	CHECK_STR(got, msg);
	/* And with FIFOs, 16 at a time. */
	wr(&r, UART_FCR, UART_FCR_FIFO_ENABLE);
	CHECK(write(r.in_pipe[1], msg, strlen(msg)) == (ssize_t)strlen(msg));
	chardev_handle_input(r.chr);
	memset(got, 0, sizeof(got));
	n = 0;
	while (n < sizeof(got) - 1 && (rd(&r, UART_LSR) & UART_LSR_DR))
		got[n++] = (char)rd(&r, UART_RBR);
	CHECK_STR(got, msg);
	rig_fini(&r);
}

static uint32_t lcg_next(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static void check_invariants(struct rig *r)
{
	uint8_t lcr = rd(r, UART_LCR);
	if (!(lcr & UART_LCR_DLAB))
		CHECK_EQ(rd(r, UART_IER) & 0xf0, 0);
	uint8_t iir = rd(r, UART_IIR);
	CHECK_EQ(iir & 0x30, 0);
	CHECK((iir & 0xc0) == 0 || (iir & 0xc0) == 0xc0);
	uint8_t id = iir & 0x0f;
	CHECK(id == 1 || id == 6 || id == 4 || id == 0xc || id == 2 || id == 0);
	uint8_t mcr = rd(r, UART_MCR);
	CHECK_EQ(mcr & 0xe0, 0);
	uint8_t lsr = rd(r, UART_LSR);
	CHECK_EQ(lsr & (UART_LSR_PE | UART_LSR_FE | UART_LSR_BI | UART_LSR_RXFE), 0);
	CHECK_EQ(lsr & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
	if (r->irq_state.level)
		CHECK((mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) == UART_MCR_OUT2);
	CHECK_EQ(uart_bus_ops.read(r->u, 8, 1), 0xff);
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r);
	/* Output goes nowhere: a pipe would fill up. */
	chardev_close(r.chr);
	char why[128];
	CHECK(chardev_open("none", &r.chr, why, sizeof(why)) == 0);
	uart_destroy(r.u);
	r.u = uart_create(&r.clock, &r.irq, r.chr);
	if (!r.u)
		abort();
	chardev_set_frontend(r.chr, uart_receive, r.u);

	int saved_failures = check_failures;
	for (unsigned off = 0; off < UART_REGION_SIZE + 2; off++) {
		for (unsigned v = 0; v < 256; v++) {
			wr(&r, off, (uint8_t)v);
			check_invariants(&r);
			for (unsigned o2 = 0; o2 < UART_REGION_SIZE; o2++)
				(void)rd(&r, o2);
		}
	}
	uint32_t seed = 12345;
	int64_t now = r.t0;
	for (unsigned i = 0; i < 200000 && check_failures == saved_failures; i++) {
		uint32_t x = lcg_next(&seed);
		unsigned off = x & 7;
		uint8_t v = (uint8_t)(x >> 3);
		switch ((x >> 11) % 6) {
		case 0:
		case 1:
			wr(&r, off, v);
			break;
		case 2:
		case 3:
			(void)rd(&r, off);
			break;
		case 4: {
			uint8_t bytes[20];
			for (unsigned k = 0; k < sizeof(bytes); k++)
				bytes[k] = (uint8_t)lcg_next(&seed);
			size_t len = (x >> 14) % sizeof(bytes);
			CHECK(uart_receive(r.u, bytes, len) <= len);
			break;
		}
		default:
			now += (x >> 14) % 2000000;
			vclock_run_expired(&r.clock, now);
			break;
		}
		if ((i & 255) == 0)
			check_invariants(&r);
	}
	rig_fini(&r);
}

/* A host that stops reading: the transmit ring fills, THR keeps the next
 * byte with THRE and TEMT clear (no THRE interrupt), nothing blocks; once
 * the host reads again the byte leaves, THRE rises with its interrupt, and
 * every byte arrives in order. */
static void test_stalled_host(void)
{
	struct rig r;
	rig_init(&r);
	chardev_set_tx_space(r.chr, uart_tx_space, r.u);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_IER, UART_IER_ETBEI);
	(void)rd(&r, UART_IIR); /* clears the THRE indication ETBEI raised */
	size_t sent = 0;
	while (sent < 4 * CHARDEV_TX_RING) {
		wr(&r, UART_THR, (uint8_t)(sent % 251));
		sent++;
		if (!(rd(&r, UART_LSR) & UART_LSR_THRE))
			break;
		(void)rd(&r, UART_IIR);
	}
	CHECK(sent < 4 * CHARDEV_TX_RING); /* the ring and the pipe filled */
	CHECK_EQ(rd(&r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), 0);
	CHECK_EQ(rd(&r, UART_IIR) & 0x0f, UART_IIR_NO_INT);
	size_t got = 0;
	bool ordered = true;
	char buf[4096];
	for (int idle = 0; idle < 200 && got < sent; idle++) {
		ssize_t n = read(r.out_pipe[0], buf, sizeof(buf));
		if (n <= 0) {
			usleep(1000);
			chardev_flush(r.chr); /* runs uart_tx_space as the event loop would */
			continue;
		}
		for (ssize_t i = 0; i < n; i++)
			ordered &= (uint8_t)buf[i] == (uint8_t)((got + (size_t)i) % 251);
		got += (size_t)n;
		idle = 0;
	}
	CHECK_EQ(got, sent);
	CHECK(ordered);
	CHECK_EQ(rd(&r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&r, UART_IIR) & 0x0f, UART_IIR_THRE);
	rig_fini(&r);
}

/* A snapshot of a UART with bytes waiting and the character timeout armed,
 * loaded into a fresh one: the same registers, the same bytes, the timeout
 * firing at the same virtual time. A state that breaks an invariant is
 * refused and leaves the UART reset. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	wr(&a, UART_LCR, UART_LCR_DLAB);
	wr(&a, UART_DLL, 1);
	wr(&a, UART_LCR, 0x03);
	wr(&a, UART_MCR, UART_MCR_OUT2);
	wr(&a, UART_IER, UART_IER_ERBFI);
	wr(&a, UART_FCR, UART_FCR_FIFO_ENABLE | 0xc0);
	wr(&a, UART_SCR, 0x5a);
	CHECK_EQ(rx(&a, "xyz"), 3);
	CHECK_EQ(rd(&a, UART_RBR), 'x');

	struct statebuf sb;
	sb_init(&sb);
	CHECK_EQ(device_save(uart_device(a.u), &sb), 0);
	struct state_reader sr;
	sr_init(&sr, sb.data, sb.len);
	char why[256] = "";
	vclock_set_now(&b.clock, vclock_now(&a.clock));
	CHECK_EQ(device_load(uart_device(b.u), &sr, why, sizeof(why)), 0);
	CHECK_EQ(sr.left, 0);
	CHECK_EQ(rd(&b, UART_SCR), 0x5a);
	CHECK_EQ(rd(&b, UART_LCR), 0x03);
	CHECK_EQ(rd(&b, UART_IIR), UART_IIR_NO_INT | UART_IIR_FIFOS);
	vclock_run_expired(&b.clock, a.t0 + timeout_8n1(1) + 1);
	CHECK_EQ(rd(&b, UART_IIR), UART_IIR_CTI | UART_IIR_FIFOS);
	CHECK_EQ(rd(&b, UART_RBR), 'y');
	CHECK_EQ(rd(&b, UART_RBR), 'z');
	CHECK_EQ(rd(&b, UART_LSR) & UART_LSR_DR, 0);

	/* rx_count beyond the FIFO: refused, the UART left in its reset state. */
	size_t at = 0;
	for (size_t i = 0; i + 8 < sb.len; i++)
		if (memcmp(sb.data + i, "\x08rx_count", 9) == 0)
			at = i + 9 + 4;
	CHECK(at != 0);
	sb.data[at] = 17;
	sr_init(&sr, sb.data, sb.len);
	CHECK(device_load(uart_device(b.u), &sr, why, sizeof(why)) < 0);
	CHECK_STR(why, "com1: inconsistent state");
	CHECK_EQ(rd(&b, UART_SCR), 0);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

CHECK_MAIN(TEST_CASE(test_reset_values), TEST_CASE(test_divisor_latch), TEST_CASE(test_thr_output),
	   TEST_CASE(test_thre_interrupt), TEST_CASE(test_rx_interrupt),
	   TEST_CASE(test_fifo_trigger_levels), TEST_CASE(test_char_timeout),
	   TEST_CASE(test_overrun), TEST_CASE(test_loopback), TEST_CASE(test_out2_gate),
	   TEST_CASE(test_msr_deltas), TEST_CASE(test_scratch), TEST_CASE(test_fcr_resets),
	   TEST_CASE(test_backpressure), TEST_CASE(test_stalled_host), TEST_CASE(test_garbage), TEST_CASE(test_snapshot))
