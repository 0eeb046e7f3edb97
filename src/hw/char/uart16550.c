/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART, following the National PC16550D datasheet (June 1995):
 * registers of Table II, interrupt identification and priorities of Table IV,
 * FIFO control (FCR0..FCR7), the line status bits (LSR0..LSR7), the FIFO
 * character timeout (4 character times), and the loopback mode of MCR4.
 * The PC's gating of INTR through MCR.OUT2 is modelled, including that in
 * loopback the OUT2 pin is forced inactive, so no IRQ reaches the PIC then.
 *
 * Not implemented: parity/framing errors and break (the host link is a byte
 * stream, so PE/FE/BI/LSR7 stay 0 and LCR.BREAK has no effect), DMA mode
 * signalling (FCR3 is accepted and ignored), and baud-rate throttling: a byte
 * written to THR leaves at once for the backend's transmit ring, so THRE and
 * TEMT are set again right after the write; only while that ring is full
 * (the host reads slower than the guest writes) does THR hold the byte, with
 * THRE and TEMT clear, until the ring has room. Host input cannot overrun
 * (uart_receive takes only what fits); an overrun arises in loopback, when the
 * guest transmits into a full receiver.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/log.h"
#include "hw/char/uart16550.h"
#include "hw/device.h"

#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)
#define UART_RESET_DIVISOR 12

/* Modem inputs while not in loopback: the host side behaves like a connected
 * modem that is ready (CTS, DSR, DCD on; no ring), as QEMU reports too. */
#define UART_MSR_HOST_INPUTS (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD)

/* What the guest sees and a snapshot keeps (uart_fields). */
struct uart_state {
	uint8_t ier; /* low 4 bits */
	uint8_t lcr;
	uint8_t mcr; /* low 5 bits */
	uint8_t lsr_errors; /* OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr_delta; /* DCTS/DDSR/TERI/DDCD, cleared by reading MSR */
	uint8_t scr;
	uint16_t divisor;
	bool fifo_enabled;
	uint8_t rx_trigger; /* bytes: 1, 4, 8 or 14 */
	uint8_t last_rbr; /* what an empty RBR reads back */

	uint8_t rx_fifo[UART_FIFO_SIZE];
	uint32_t rx_head;
	uint32_t rx_count;

	bool thre_pending; /* THRE interrupt condition (cleared by IIR read or THR write) */
	bool thr_full; /* THR holds thr: the backend's transmit ring was full */
	uint8_t thr;
	bool timeout_pending; /* character timeout indication */
	int32_t irq_level; /* last level driven on irq */
	int64_t timeout_deadline; /* the character-timeout timer's (snapshots) */
};

struct uart16550 {
	struct device dev;
	struct vclock *clock;
	struct irq_line irq;
	struct chardev *chr;
	struct vtimer timeout_timer;
	struct uart_state s;
};

static const uint8_t uart_trigger_levels[4] = { 1, 4, 8, 14 };

static unsigned uart_rx_capacity(const struct uart16550 *u)
{
	/* In 16450 mode the receiver holds one character (RBR). */
	return u->s.fifo_enabled ? UART_FIFO_SIZE : 1;
}

static uint8_t uart_msr_inputs(const struct uart16550 *u)
{
	if (!(u->s.mcr & UART_MCR_LOOP))
		return UART_MSR_HOST_INPUTS;
	/* MCR4: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD. */
	uint8_t in = 0;
	if (u->s.mcr & UART_MCR_DTR)
		in |= UART_MSR_DSR;
	if (u->s.mcr & UART_MCR_RTS)
		in |= UART_MSR_CTS;
	if (u->s.mcr & UART_MCR_OUT1)
		in |= UART_MSR_RI;
	if (u->s.mcr & UART_MCR_OUT2)
		in |= UART_MSR_DCD;
	return in;
}

/* Highest-priority pending and enabled interrupt (Table IV), or UART_IIR_NO_INT. */
static uint8_t uart_iir_id(const struct uart16550 *u)
{
	if ((u->s.ier & UART_IER_ELSI) && (u->s.lsr_errors & UART_LSR_ERRORS))
		return UART_IIR_RLS;
	if (u->s.ier & UART_IER_ERBFI) {
		unsigned level = u->s.fifo_enabled ? u->s.rx_trigger : 1;
		if (u->s.rx_count >= level)
			return UART_IIR_RDA;
		if (u->s.timeout_pending)
			return UART_IIR_CTI;
	}
	if ((u->s.ier & UART_IER_ETBEI) && u->s.thre_pending)
		return UART_IIR_THRE;
	if ((u->s.ier & UART_IER_EDSSI) && (u->s.msr_delta & UART_MSR_DELTA_MASK))
		return UART_IIR_MS;
	return UART_IIR_NO_INT;
}

static void uart_update_irq(struct uart16550 *u)
{
	/* The PC drives IRQ4 from INTR through a buffer enabled by the OUT2 pin;
	 * loopback forces that pin inactive. */
	int level = uart_iir_id(u) != UART_IIR_NO_INT && (u->s.mcr & UART_MCR_OUT2) &&
		    !(u->s.mcr & UART_MCR_LOOP);
	if (level != u->s.irq_level) {
		u->s.irq_level = level;
		irq_set_level(&u->irq, level);
	}
}

/* 4 character times at the programmed baud rate and frame format, in ns. */
static int64_t uart_timeout_ns(const struct uart16550 *u)
{
	unsigned data_bits = 5 + (u->s.lcr & UART_LCR_WLS_MASK);
	/* Count in half bits: start + data + parity + 1, 1.5 or 2 stop bits. */
	unsigned half_bits = 2 * (1 + data_bits + !!(u->s.lcr & UART_LCR_PEN));
	if (!(u->s.lcr & UART_LCR_STB))
		half_bits += 2;
	else
		half_bits += data_bits == 5 ? 3 : 4;
	/* Divisor 0 is undefined in the datasheet; treat it as the fastest rate. */
	uint64_t divisor = u->s.divisor ? u->s.divisor : 1;
	/* One bit lasts 16 * divisor clocks. */
	return (int64_t)(4ULL * half_bits * 16 * divisor * 1000000000ULL / (2ULL * UART_CLOCK_HZ));
}

/* The FIFO saw activity (a byte in or out): restart the character-timeout clock. */
static void uart_rx_activity(struct uart16550 *u)
{
	u->s.timeout_pending = false;
	if (!u->s.fifo_enabled || u->s.rx_count == 0) {
		vtimer_cancel(&u->timeout_timer);
		return;
	}
	if (vtimer_arm(&u->timeout_timer, vclock_now(u->clock) + uart_timeout_ns(u)) < 0) {
		/* Out of memory for the timer heap: signal the timeout now rather than
		 * leave bytes below the trigger level stranded. */
		log_warn("uart: cannot arm the character timeout timer");
		u->s.timeout_pending = true;
	}
}

static void uart_timeout_fire(void *opaque)
{
	struct uart16550 *u = opaque;
	if (u->s.fifo_enabled && u->s.rx_count > 0) {
		u->s.timeout_pending = true;
		uart_update_irq(u);
	}
}

static void uart_rx_clear(struct uart16550 *u)
{
	u->s.rx_head = 0;
	u->s.rx_count = 0;
	u->s.timeout_pending = false;
	vtimer_cancel(&u->timeout_timer);
}

/* A character completed in the receiver shift register. */
static void uart_rx_push(struct uart16550 *u, uint8_t byte)
{
	if (u->s.rx_count >= uart_rx_capacity(u)) {
		/* FIFO mode: the shift register is overwritten and the FIFO kept.
		 * 16450 mode: the new character replaces the unread one in RBR. */
		u->s.lsr_errors |= UART_LSR_OE;
		if (!u->s.fifo_enabled)
			u->s.rx_fifo[u->s.rx_head] = byte;
		return;
	}
	u->s.rx_fifo[(u->s.rx_head + u->s.rx_count) % UART_FIFO_SIZE] = byte;
	u->s.rx_count++;
}

size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct uart16550 *u = opaque;
	/* Loopback disconnects SIN; holding host input beats losing typed keys. */
	if (u->s.mcr & UART_MCR_LOOP)
		return 0;
	size_t room = uart_rx_capacity(u) - u->s.rx_count;
	size_t n = len < room ? len : room;
	for (size_t i = 0; i < n; i++)
		uart_rx_push(u, buf[i]);
	if (n) {
		uart_rx_activity(u);
		uart_update_irq(u);
	}
	return n;
}

/* Room freed in the receiver: let the backend deliver what it holds. */
static void uart_rx_room(struct uart16550 *u)
{
	if (u->chr && !(u->s.mcr & UART_MCR_LOOP))
		chardev_accept_more(u->chr);
}

static uint8_t uart_read_rbr(struct uart16550 *u)
{
	if (u->s.rx_count == 0)
		return u->s.last_rbr;
	uint8_t byte = u->s.rx_fifo[u->s.rx_head];
	u->s.rx_head = (u->s.rx_head + 1) % UART_FIFO_SIZE;
	u->s.rx_count--;
	u->s.last_rbr = byte;
	uart_rx_activity(u);
	uart_update_irq(u);
	uart_rx_room(u);
	return byte;
}

static void uart_write_thr(struct uart16550 *u, uint8_t byte)
{
	/* Writing THR clears the THRE interrupt; the byte then leaves at once and
	 * THRE rises again. Drop the line in between so an edge-triggered PIC
	 * sees a new edge for each byte, as with real hardware. A write while
	 * THR is still full replaces the byte in it, as on a 16450. */
	u->s.thre_pending = false;
	uart_update_irq(u);
	if (u->s.mcr & UART_MCR_LOOP) {
		uart_rx_push(u, byte);
		uart_rx_activity(u);
	} else if (chardev_write(u->chr, &byte, 1) == 0) {
		u->s.thr_full = true; /* uart_tx_space sends it */
		u->s.thr = byte;
		return;
	}
	u->s.thr_full = false;
	u->s.thre_pending = true;
	uart_update_irq(u);
}

void uart_tx_space(void *opaque)
{
	struct uart16550 *u = opaque;
	if (!u->s.thr_full || chardev_write(u->chr, &u->s.thr, 1) == 0)
		return;
	u->s.thr_full = false;
	u->s.thre_pending = true;
	uart_update_irq(u);
}

static void uart_write_ier(struct uart16550 *u, uint8_t value)
{
	uint8_t old = u->s.ier;
	u->s.ier = value & 0x0f;
	/* Enabling ETBEI while THR is empty raises THRE at once; Linux's 8250
	 * driver tests for exactly this at startup. */
	if ((u->s.ier & UART_IER_ETBEI) && !(old & UART_IER_ETBEI) && !u->s.thr_full)
		u->s.thre_pending = true;
	uart_update_irq(u);
}

static void uart_write_fcr(struct uart16550 *u, uint8_t value)
{
	bool enable = value & UART_FCR_FIFO_ENABLE;
	bool freed = false;
	if (enable != u->s.fifo_enabled) {
		/* Switching between 16450 and FIFO mode clears both FIFOs. */
		freed = u->s.rx_count > 0;
		uart_rx_clear(u);
		u->s.fifo_enabled = enable;
	}
	/* FCR1..FCR7 are programmed only together with FCR0 = 1. */
	if (enable) {
		if ((value & UART_FCR_RCVR_RESET) && u->s.rx_count) {
			uart_rx_clear(u);
			freed = true;
		}
		/* UART_FCR_XMIT_RESET: the TX FIFO is always empty (instant transmit). */
		u->s.rx_trigger = uart_trigger_levels[(value & UART_FCR_TRIGGER_MASK) >> 6];
	} else {
		u->s.rx_trigger = 1;
	}
	uart_update_irq(u);
	if (freed || enable)
		uart_rx_room(u);
}

static void uart_write_mcr(struct uart16550 *u, uint8_t value)
{
	uint8_t old_in = uart_msr_inputs(u);
	bool was_loop = u->s.mcr & UART_MCR_LOOP;
	u->s.mcr = value & UART_MCR_MASK;
	uint8_t new_in = uart_msr_inputs(u);
	uint8_t changed = old_in ^ new_in;
	if (changed & UART_MSR_CTS)
		u->s.msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->s.msr_delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		u->s.msr_delta |= UART_MSR_DDCD;
	/* TERI: trailing edge of RI only (on → off). */
	if ((old_in & UART_MSR_RI) && !(new_in & UART_MSR_RI))
		u->s.msr_delta |= UART_MSR_TERI;
	uart_update_irq(u);
	if (was_loop && !(u->s.mcr & UART_MCR_LOOP))
		uart_rx_room(u);
}

static uint8_t uart_read_lsr(struct uart16550 *u)
{
	/* THR and the shift register are empty unless the host is behind. */
	uint8_t lsr = u->s.lsr_errors | (u->s.thr_full ? 0 : UART_LSR_THRE | UART_LSR_TEMT);
	if (u->s.rx_count)
		lsr |= UART_LSR_DR;
	u->s.lsr_errors = 0;
	uart_update_irq(u);
	return lsr;
}

static uint8_t uart_read_iir(struct uart16550 *u)
{
	uint8_t id = uart_iir_id(u);
	/* Reading IIR clears THRE only when THRE is what it reports. */
	if (id == UART_IIR_THRE) {
		u->s.thre_pending = false;
		uart_update_irq(u);
	}
	return id | (u->s.fifo_enabled ? UART_IIR_FIFOS : 0);
}

static uint8_t uart_read_msr(struct uart16550 *u)
{
	uint8_t msr = uart_msr_inputs(u) | u->s.msr_delta;
	u->s.msr_delta = 0;
	uart_update_irq(u);
	return msr;
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart16550 *u = opaque;
	bool dlab = u->s.lcr & UART_LCR_DLAB;
	(void)size;
	switch (offset) {
	case UART_RBR:
		return dlab ? (uint8_t)u->s.divisor : uart_read_rbr(u);
	case UART_IER:
		return dlab ? (uint8_t)(u->s.divisor >> 8) : u->s.ier;
	case UART_IIR:
		return uart_read_iir(u);
	case UART_LCR:
		return u->s.lcr;
	case UART_MCR:
		return u->s.mcr;
	case UART_LSR:
		return uart_read_lsr(u);
	case UART_MSR:
		return uart_read_msr(u);
	case UART_SCR:
		return u->s.scr;
	default:
		return 0xff;
	}
}

static void uart_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct uart16550 *u = opaque;
	uint8_t v = (uint8_t)value;
	bool dlab = u->s.lcr & UART_LCR_DLAB;
	(void)size;
	switch (offset) {
	case UART_THR:
		if (dlab)
			u->s.divisor = (uint16_t)((u->s.divisor & 0xff00) | v);
		else
			uart_write_thr(u, v);
		break;
	case UART_IER:
		if (dlab)
			u->s.divisor = (uint16_t)((u->s.divisor & 0x00ff) | (v << 8));
		else
			uart_write_ier(u, v);
		break;
	case UART_FCR:
		uart_write_fcr(u, v);
		break;
	case UART_LCR:
		u->s.lcr = v;
		break;
	case UART_MCR:
		uart_write_mcr(u, v);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Read-only here (the datasheet reserves writes for factory test). */
		log_guest("uart: write 0x%02x to read-only %s ignored", v,
			  offset == UART_LSR ? "LSR" : "MSR");
		break;
	case UART_SCR:
		u->s.scr = v;
		break;
	default:
		break;
	}
}

const struct bus_ops uart_bus_ops = {
	.read = uart_read,
	.write = uart_write,
	.min_size = 1,
	.max_size = 1,
};

void uart_reset(struct uart16550 *u)
{
	bool held_input = u->s.rx_count > 0 || (u->s.mcr & UART_MCR_LOOP);
	uart_rx_clear(u);
	u->s.ier = 0;
	u->s.lcr = 0;
	u->s.mcr = 0;
	u->s.lsr_errors = 0;
	u->s.msr_delta = 0;
	u->s.scr = 0;
	u->s.divisor = UART_RESET_DIVISOR;
	u->s.fifo_enabled = false;
	u->s.rx_trigger = 1;
	u->s.last_rbr = 0;
	u->s.thre_pending = false;
	u->s.thr_full = false;
	uart_update_irq(u);
	/* The backend may be waiting for room that the reset just made. */
	if (held_input)
		uart_rx_room(u);
}

static const struct device_field uart_fields[] = {
	DEVICE_FIELD(struct uart_state, ier),
	DEVICE_FIELD(struct uart_state, lcr),
	DEVICE_FIELD(struct uart_state, mcr),
	DEVICE_FIELD(struct uart_state, lsr_errors),
	DEVICE_FIELD(struct uart_state, msr_delta),
	DEVICE_FIELD(struct uart_state, scr),
	DEVICE_FIELD(struct uart_state, divisor),
	DEVICE_BOOL(struct uart_state, fifo_enabled),
	DEVICE_FIELD(struct uart_state, rx_trigger),
	DEVICE_FIELD(struct uart_state, last_rbr),
	DEVICE_FIELD(struct uart_state, rx_fifo),
	DEVICE_FIELD(struct uart_state, rx_head),
	DEVICE_FIELD(struct uart_state, rx_count),
	DEVICE_BOOL(struct uart_state, thre_pending),
	DEVICE_BOOL(struct uart_state, thr_full),
	DEVICE_FIELD(struct uart_state, thr),
	DEVICE_BOOL(struct uart_state, timeout_pending),
	DEVICE_FIELD(struct uart_state, irq_level),
	DEVICE_FIELD(struct uart_state, timeout_deadline),
};

static int uart_pre_save(struct device *dev)
{
	struct uart16550 *u = container_of(dev, struct uart16550, dev);
	u->s.timeout_deadline = vtimer_deadline(&u->timeout_timer);
	return 0;
}

static int uart_post_load(struct device *dev, char *why, size_t why_len)
{
	struct uart16550 *u = container_of(dev, struct uart16550, dev);
	const struct uart_state *s = &u->s;
	bool trigger_ok = false;
	for (unsigned i = 0; i < ARRAY_SIZE(uart_trigger_levels); i++)
		trigger_ok |= s->rx_trigger == uart_trigger_levels[i];
	if (s->rx_head >= UART_FIFO_SIZE || s->rx_count > uart_rx_capacity(u) || !trigger_ok ||
	    (s->irq_level != 0 && s->irq_level != 1) || s->ier > 0x0f || s->mcr > UART_MCR_MASK) {
		snprintf(why, why_len, "%s: inconsistent state", dev->name);
		return -EINVAL;
	}
	if (vtimer_set_deadline(&u->timeout_timer, s->timeout_deadline) < 0) {
		snprintf(why, why_len, "%s: out of memory", dev->name);
		return -ENOMEM;
	}
	return 0;
}

static void uart_device_reset(struct device *dev)
{
	uart_reset(container_of(dev, struct uart16550, dev));
}

static void uart_device_destroy(struct device *dev)
{
	uart_destroy(container_of(dev, struct uart16550, dev));
}

static const struct device_class uart_class = {
	.type = "uart16550",
	.version = 1,
	.fields = uart_fields,
	.nfields = ARRAY_SIZE(uart_fields),
	.reset = uart_device_reset,
	.pre_save = uart_pre_save,
	.post_load = uart_post_load,
	.destroy = uart_device_destroy,
};

struct device *uart_device(struct uart16550 *u)
{
	return &u->dev;
}

struct uart16550 *uart_create(struct vclock *clock, const struct irq_line *irq, struct chardev *chr)
{
	struct uart16550 *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->clock = clock;
	if (irq)
		u->irq = *irq;
	u->chr = chr;
	vtimer_init(&u->timeout_timer, clock, uart_timeout_fire, u);
	device_init(&u->dev, &uart_class, "com1", &u->s);
	uart_reset(u);
	return u;
}

void uart_destroy(struct uart16550 *u)
{
	if (!u)
		return;
	vtimer_cancel(&u->timeout_timer);
	free(u);
}
