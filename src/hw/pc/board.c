/* SPDX-License-Identifier: MIT */
/*
 * PC board wiring: COM1 (16550A at 0x3f8, IRQ 4), the debug-exit port 0xf4
 * and the POST port 0x80. Interrupt controllers, timers, RTC, PCI and the
 * rest of the platform plug in here as they are written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "hw/char/debug_exit.h"
#include "hw/char/uart16550.h"
#include "hw/pc/board.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ 4

struct board {
	struct board_env env;
	struct irq_line com1_irq;
	struct uart16550 *com1;
	struct debug_exit debug_exit;
	struct post_port post;
};

int board_create(const struct board_env *env, struct board **out, char *why, size_t why_len)
{
	struct board *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	b->env = *env;
	b->com1_irq = (struct irq_line){ env->set_isa_irq, env->opaque, COM1_IRQ };
	b->com1 = uart_create(env->clock, &b->com1_irq, env->serial);
	b->debug_exit = (struct debug_exit){ env->exit, env->opaque };
	int r = -ENOMEM;
	if (!b->com1)
		goto fail;
	r = bus_add(env->pio, COM1_PORT, UART_REGION_SIZE, &uart_bus_ops, b->com1, "com1");
	if (r == 0)
		r = bus_add(env->pio, DEBUG_EXIT_PORT, DEBUG_EXIT_REGION_SIZE, &debug_exit_bus_ops,
			    &b->debug_exit, "debug-exit");
	if (r == 0)
		r = bus_add(env->pio, POST_PORT, 1, &post_port_bus_ops, &b->post, "post");
	if (r < 0)
		goto fail;
	if (env->serial) {
		chardev_set_frontend(env->serial, uart_receive, b->com1);
		r = chardev_attach(env->serial, env->loop);
		if (r < 0)
			goto fail;
	}
	*out = b;
	return 0;
fail:
	snprintf(why, why_len, "cannot build the PC board: %s", strerror(-r));
	board_destroy(b);
	return r;
}

void board_reset(struct board *b)
{
	uart_reset(b->com1);
	b->post.last = 0;
}

int board_intr_ack(struct board *b, unsigned cpu)
{
	(void)b;
	(void)cpu;
	return -1; /* no interrupt controller yet */
}

int board_msr_read(struct board *b, unsigned cpu, uint32_t index, uint64_t *value)
{
	(void)b;
	(void)cpu;
	(void)index;
	(void)value;
	return -EINVAL;
}

int board_msr_write(struct board *b, unsigned cpu, uint32_t index, uint64_t value)
{
	(void)b;
	(void)cpu;
	(void)index;
	(void)value;
	return -EINVAL;
}

void board_destroy(struct board *b)
{
	if (!b)
		return;
	bus_remove(b->env.pio, POST_PORT);
	bus_remove(b->env.pio, DEBUG_EXIT_PORT);
	bus_remove(b->env.pio, COM1_PORT);
	if (b->env.serial)
		chardev_set_frontend(b->env.serial, NULL, NULL);
	if (b->com1)
		uart_destroy(b->com1);
	free(b);
}
