/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART (National PC16550D / TI TL16C550 register set), as wired on a
 * PC: COM1 at port 0x3f8, IRQ 4, the IRQ output passing to the interrupt
 * controller only while MCR.OUT2 is set.
 *
 * Host side: bytes the guest transmits go straight to a struct chardev (no
 * baud-rate throttling); host input arrives through uart_receive(), which
 * takes only what the receiver has room for, so host input never overruns.
 *
 * Locking: every function here is called with the machine lock held (device
 * accesses, timer callbacks, event-loop callbacks all hold it).
 */
#ifndef X86V_HW_CHAR_UART16550_H
#define X86V_HW_CHAR_UART16550_H

#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/vclock.h"
#include "hw/irq.h"
#include "mem/bus.h"

struct chardev;
struct device;
struct uart16550;

#define UART_REGION_SIZE 8
#define UART_FIFO_SIZE 16
#define UART_CLOCK_HZ 1843200 /* the PC's 1.8432 MHz crystal: baud = 115200 / divisor */

/* Register offsets (datasheet Table II); DLL/DLM replace RBR/THR/IER while LCR.DLAB is set. */
#define UART_RBR 0 /* read */
#define UART_THR 0 /* write */
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_ERBFI 0x01 /* received data available (and character timeout) */
#define UART_IER_ETBEI 0x02 /* transmitter holding register empty */
#define UART_IER_ELSI 0x04 /* receiver line status */
#define UART_IER_EDSSI 0x08 /* modem status */

#define UART_IIR_NO_INT 0x01 /* bit 0 is 0 while an interrupt is pending */
#define UART_IIR_ID_MASK 0x0e
#define UART_IIR_RLS 0x06 /* priority 1: receiver line status */
#define UART_IIR_RDA 0x04 /* priority 2: received data available */
#define UART_IIR_CTI 0x0c /* priority 2: character timeout */
#define UART_IIR_THRE 0x02 /* priority 3: THR empty */
#define UART_IIR_MS 0x00 /* priority 4: modem status */
#define UART_IIR_FIFOS 0xc0 /* both set while FCR.FIFO_ENABLE */

#define UART_FCR_FIFO_ENABLE 0x01
#define UART_FCR_RCVR_RESET 0x02
#define UART_FCR_XMIT_RESET 0x04
#define UART_FCR_DMA_MODE 0x08
#define UART_FCR_TRIGGER_MASK 0xc0 /* RX trigger level: 1, 4, 8, 14 bytes */

#define UART_LCR_WLS_MASK 0x03 /* word length 5..8 */
#define UART_LCR_STB 0x04 /* 2 stop bits (1.5 with 5-bit words) */
#define UART_LCR_PEN 0x08
#define UART_LCR_EPS 0x10
#define UART_LCR_STICK 0x20
#define UART_LCR_BREAK 0x40
#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* on the PC: enables the IRQ driver */
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_RXFE 0x80 /* error in RCVR FIFO */

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTA_MASK 0x0f
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

/*
 * Creates a UART in its reset state. clock must outlive the UART (the
 * character-timeout timer lives on it). *irq is copied; NULL or an irq with
 * set == NULL leaves the UART unconnected. chr may be NULL: output is dropped
 * and no input arrives; the UART does not own chr. Returns NULL only when out
 * of memory.
 */
struct uart16550 *uart_create(struct vclock *clock, const struct irq_line *irq,
			      struct chardev *chr) MUST_CHECK;
/* Master reset (datasheet "Reset" table); DLL/DLM, undefined there, become 12 (9600 baud). */
void uart_reset(struct uart16550 *u);
/* Cancels the timer and frees u. NULL is ignored. */
void uart_destroy(struct uart16550 *u);

/* The UART as a device object (reset, snapshots), named "com1". */
struct device *uart_device(struct uart16550 *u);

/* Port region of UART_REGION_SIZE bytes, byte accesses only; opaque is the struct uart16550. */
extern const struct bus_ops uart_bus_ops;

/*
 * Host → guest: puts up to len bytes into the receiver and returns how many it
 * took (the room in the RX FIFO, or in the holding register when the FIFOs are
 * off; 0 in loopback mode, where the serial input is disconnected). When it
 * takes fewer than len, the UART calls chardev_accept_more() on its chardev
 * once room frees up. Matches chardev_receive_fn; opaque is the struct uart16550.
 */
size_t uart_receive(void *opaque, const uint8_t *buf, size_t len);
/* chardev_tx_space_fn: the backend's transmit ring has room again, for a
 * byte THR held (opaque: the struct uart16550). */
void uart_tx_space(void *opaque);

#endif
