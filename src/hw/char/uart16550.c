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
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "core/log.h"
#include "hw/char/uart16550.h"

#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)
#define UART_RESET_DIVISOR 12

/* Modem inputs while not in loopback: the host side behaves like a connected
 * modem that is ready (CTS, DSR, DCD on; no ring), as QEMU reports too. */
#define UART_MSR_HOST_INPUTS (UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD)

struct uart16550 {
	struct vclock *clock;
	struct irq_line irq;
	struct chardev *chr;
	struct vtimer timeout_timer;

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
	unsigned rx_head;
	unsigned rx_count;

	bool thre_pending; /* THRE interrupt condition (cleared by IIR read or THR write) */
	bool thr_full; /* THR holds thr: the backend's transmit ring was full */
	uint8_t thr;
	bool timeout_pending; /* character timeout indication */
	int irq_level; /* last level driven on irq */
};

static const uint8_t uart_trigger_levels[4] = { 1, 4, 8, 14 };

static unsigned uart_rx_capacity(const struct uart16550 *u)
{
	/* In 16450 mode the receiver holds one character (RBR). */
	return u->fifo_enabled ? UART_FIFO_SIZE : 1;
}

static uint8_t uart_msr_inputs(const struct uart16550 *u)
{
	if (!(u->mcr & UART_MCR_LOOP))
		return UART_MSR_HOST_INPUTS;
	/* MCR4: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD. */
	uint8_t in = 0;
	if (u->mcr & UART_MCR_DTR)
		in |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_RTS)
		in |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_OUT1)
		in |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2)
		in |= UART_MSR_DCD;
	return in;
}

/* Highest-priority pending and enabled interrupt (Table IV), or UART_IIR_NO_INT. */
static uint8_t uart_iir_id(const struct uart16550 *u)
{
	if ((u->ier & UART_IER_ELSI) && (u->lsr_errors & UART_LSR_ERRORS))
		return UART_IIR_RLS;
	if (u->ier & UART_IER_ERBFI) {
		unsigned level = u->fifo_enabled ? u->rx_trigger : 1;
		if (u->rx_count >= level)
			return UART_IIR_RDA;
		if (u->timeout_pending)
			return UART_IIR_CTI;
	}
	if ((u->ier & UART_IER_ETBEI) && u->thre_pending)
		return UART_IIR_THRE;
	if ((u->ier & UART_IER_EDSSI) && (u->msr_delta & UART_MSR_DELTA_MASK))
		return UART_IIR_MS;
	return UART_IIR_NO_INT;
}

static void uart_update_irq(struct uart16550 *u)
{
	/* The PC drives IRQ4 from INTR through a buffer enabled by the OUT2 pin;
	 * loopback forces that pin inactive. */
	int level = uart_iir_id(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2) &&
		    !(u->mcr & UART_MCR_LOOP);
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set_level(&u->irq, level);
	}
}

/* 4 character times at the programmed baud rate and frame format, in ns. */
static int64_t uart_timeout_ns(const struct uart16550 *u)
{
	unsigned data_bits = 5 + (u->lcr & UART_LCR_WLS_MASK);
	/* Count in half bits: start + data + parity + 1, 1.5 or 2 stop bits. */
	unsigned half_bits = 2 * (1 + data_bits + !!(u->lcr & UART_LCR_PEN));
	if (!(u->lcr & UART_LCR_STB))
		half_bits += 2;
	else
		half_bits += data_bits == 5 ? 3 : 4;
	/* Divisor 0 is undefined in the datasheet; treat it as the fastest rate. */
	uint64_t divisor = u->divisor ? u->divisor : 1;
	/* One bit lasts 16 * divisor clocks. */
	return (int64_t)(4ULL * half_bits * 16 * divisor * 1000000000ULL / (2ULL * UART_CLOCK_HZ));
}

/* The FIFO saw activity (a byte in or out): restart the character-timeout clock. */
static void uart_rx_activity(struct uart16550 *u)
{
	u->timeout_pending = false;
	if (!u->fifo_enabled || u->rx_count == 0) {
		vtimer_cancel(&u->timeout_timer);
		return;
	}
	if (vtimer_arm(&u->timeout_timer, vclock_now(u->clock) + uart_timeout_ns(u)) < 0) {
		/* Out of memory for the timer heap: signal the timeout now rather than
		 * leave bytes below the trigger level stranded. */
		log_warn("uart: cannot arm the character timeout timer");
		u->timeout_pending = true;
	}
}

static void uart_timeout_fire(void *opaque)
{
	struct uart16550 *u = opaque;
	if (u->fifo_enabled && u->rx_count > 0) {
		u->timeout_pending = true;
		uart_update_irq(u);
	}
}

static void uart_rx_clear(struct uart16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->timeout_pending = false;
	vtimer_cancel(&u->timeout_timer);
}

/* A character completed in the receiver shift register. */
static void uart_rx_push(struct uart16550 *u, uint8_t byte)
{
	if (u->rx_count >= uart_rx_capacity(u)) {
		/* FIFO mode: the shift register is overwritten and the FIFO kept.
		 * 16450 mode: the new character replaces the unread one in RBR. */
		u->lsr_errors |= UART_LSR_OE;
		if (!u->fifo_enabled)
			u->rx_fifo[u->rx_head] = byte;
		return;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
}

size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct uart16550 *u = opaque;
	/* Loopback disconnects SIN; holding host input beats losing typed keys. */
	if (u->mcr & UART_MCR_LOOP)
		return 0;
	size_t room = uart_rx_capacity(u) - u->rx_count;
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
	if (u->chr && !(u->mcr & UART_MCR_LOOP))
		chardev_accept_more(u->chr);
}

static uint8_t uart_read_rbr(struct uart16550 *u)
{
	if (u->rx_count == 0)
		return u->last_rbr;
	uint8_t byte = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	u->last_rbr = byte;
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
	u->thre_pending = false;
	uart_update_irq(u);
	if (u->mcr & UART_MCR_LOOP) {
		uart_rx_push(u, byte);
		uart_rx_activity(u);
	} else if (chardev_write(u->chr, &byte, 1) == 0) {
		u->thr_full = true; /* uart_tx_space sends it */
		u->thr = byte;
		return;
	}
	u->thr_full = false;
	u->thre_pending = true;
	uart_update_irq(u);
}

void uart_tx_space(void *opaque)
{
	struct uart16550 *u = opaque;
	if (!u->thr_full || chardev_write(u->chr, &u->thr, 1) == 0)
		return;
	u->thr_full = false;
	u->thre_pending = true;
	uart_update_irq(u);
}

static void uart_write_ier(struct uart16550 *u, uint8_t value)
{
	uint8_t old = u->ier;
	u->ier = value & 0x0f;
	/* Enabling ETBEI while THR is empty raises THRE at once; Linux's 8250
	 * driver tests for exactly this at startup. */
	if ((u->ier & UART_IER_ETBEI) && !(old & UART_IER_ETBEI) && !u->thr_full)
		u->thre_pending = true;
	uart_update_irq(u);
}

static void uart_write_fcr(struct uart16550 *u, uint8_t value)
{
	bool enable = value & UART_FCR_FIFO_ENABLE;
	bool freed = false;
	if (enable != u->fifo_enabled) {
		/* Switching between 16450 and FIFO mode clears both FIFOs. */
		freed = u->rx_count > 0;
		uart_rx_clear(u);
		u->fifo_enabled = enable;
	}
	/* FCR1..FCR7 are programmed only together with FCR0 = 1. */
	if (enable) {
		if ((value & UART_FCR_RCVR_RESET) && u->rx_count) {
			uart_rx_clear(u);
			freed = true;
		}
		/* UART_FCR_XMIT_RESET: the TX FIFO is always empty (instant transmit). */
		u->rx_trigger = uart_trigger_levels[(value & UART_FCR_TRIGGER_MASK) >> 6];
	} else {
		u->rx_trigger = 1;
	}
	uart_update_irq(u);
	if (freed || enable)
		uart_rx_room(u);
}

static void uart_write_mcr(struct uart16550 *u, uint8_t value)
{
	uint8_t old_in = uart_msr_inputs(u);
	bool was_loop = u->mcr & UART_MCR_LOOP;
	u->mcr = value & UART_MCR_MASK;
	uint8_t new_in = uart_msr_inputs(u);
	uint8_t changed = old_in ^ new_in;
	if (changed & UART_MSR_CTS)
		u->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->msr_delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		u->msr_delta |= UART_MSR_DDCD;
	/* TERI: trailing edge of RI only (on → off). */
	if ((old_in & UART_MSR_RI) && !(new_in & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;
	uart_update_irq(u);
	if (was_loop && !(u->mcr & UART_MCR_LOOP))
		uart_rx_room(u);
}

static uint8_t uart_read_lsr(struct uart16550 *u)
{
	/* THR and the shift register are empty unless the host is behind. */
	uint8_t lsr = u->lsr_errors | (u->thr_full ? 0 : UART_LSR_THRE | UART_LSR_TEMT);
	if (u->rx_count)
		lsr |= UART_LSR_DR;
	u->lsr_errors = 0;
	uart_update_irq(u);
	return lsr;
}

static uint8_t uart_read_iir(struct uart16550 *u)
{
	uint8_t id = uart_iir_id(u);
	/* Reading IIR clears THRE only when THRE is what it reports. */
	if (id == UART_IIR_THRE) {
		u->thre_pending = false;
		uart_update_irq(u);
	}
	return id | (u->fifo_enabled ? UART_IIR_FIFOS : 0);
}

static uint8_t uart_read_msr(struct uart16550 *u)
{
	uint8_t msr = uart_msr_inputs(u) | u->msr_delta;
	u->msr_delta = 0;
	uart_update_irq(u);
	return msr;
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart16550 *u = opaque;
	bool dlab = u->lcr & UART_LCR_DLAB;
	(void)size;
	switch (offset) {
	case UART_RBR:
		return dlab ? (uint8_t)u->divisor : uart_read_rbr(u);
	case UART_IER:
		return dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
	case UART_IIR:
		return uart_read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return uart_read_lsr(u);
	case UART_MSR:
		return uart_read_msr(u);
	case UART_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

static void uart_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct uart16550 *u = opaque;
	uint8_t v = (uint8_t)value;
	bool dlab = u->lcr & UART_LCR_DLAB;
	(void)size;
	switch (offset) {
	case UART_THR:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0xff00) | v);
		else
			uart_write_thr(u, v);
		break;
	case UART_IER:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | (v << 8));
		else
			uart_write_ier(u, v);
		break;
	case UART_FCR:
		uart_write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
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
		u->scr = v;
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
	bool held_input = u->rx_count > 0 || (u->mcr & UART_MCR_LOOP);
	uart_rx_clear(u);
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr_errors = 0;
	u->msr_delta = 0;
	u->scr = 0;
	u->divisor = UART_RESET_DIVISOR;
	u->fifo_enabled = false;
	u->rx_trigger = 1;
	u->last_rbr = 0;
	u->thre_pending = false;
	u->thr_full = false;
	uart_update_irq(u);
	/* The backend may be waiting for room that the reset just made. */
	if (held_input)
		uart_rx_room(u);
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
