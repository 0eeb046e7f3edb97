/* SPDX-License-Identifier: MIT */
/*
 * PC board wiring: which device sits at which port, and which interrupt line
 * each drives. ISA IRQ n reaches the 8259 pair's input n (as on a PC, IRQ 2
 * is the cascade and a device on "IRQ 2" appears on 9). No device logic here.
 *
 *   0x20/0xa0  8259A PIC pair (ELCR 0x4d0)    0x40  8254 PIT, 0x61 port B
 *   0x80       POST                            0xf4  debug-exit
 *   0x3f8      COM1 16550A, IRQ 4
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/chardev.h"
#include "hw/char/debug_exit.h"
#include "hw/char/uart16550.h"
#include "hw/intc/i8259.h"
#include "hw/pc/board.h"
#include "hw/timer/i8254.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ 4
#define ISA_IRQS 16
#define BOARD_MAX_REGIONS 32

struct board {
	struct board_env env;
	struct irq_line isa_irq[ISA_IRQS];
	struct i8259 *pic;
	struct i8254 *pit;
	struct uart16550 *com1;
	struct debug_exit debug_exit;
	struct post_port post;
	uint64_t pio_regions[BOARD_MAX_REGIONS]; /* bases to remove on destroy */
	unsigned npio;
};

/* An ISA interrupt line changed level. */
static void board_isa_irq(void *opaque, unsigned irq, int level)
{
	struct board *b = opaque;
	if (irq == 2)
		irq = 9; /* the cascade input: ISA "IRQ 2" devices are wired to 9 */
	pic_set_irq(b->pic, irq, level);
}

static void board_pic_intr(void *opaque, int level)
{
	struct board *b = opaque;
	b->env.set_cpu_intr(b->env.opaque, 0, level);
}

static int map_pio(struct board *b, uint64_t base, uint64_t size, const struct bus_ops *ops, void *opaque,
		   const char *name)
{
	if (b->npio == BOARD_MAX_REGIONS)
		return -ENOSPC;
	int r = bus_add(b->env.pio, base, size, ops, opaque, name);
	if (r == 0)
		b->pio_regions[b->npio++] = base;
	return r;
}

int board_create(const struct board_env *env, struct board **out, char *why, size_t why_len)
{
	struct board *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	b->env = *env;
	for (unsigned i = 0; i < ISA_IRQS; i++)
		b->isa_irq[i] = (struct irq_line){ board_isa_irq, b, i };
	b->debug_exit = (struct debug_exit){ env->exit, env->opaque };

	int r = -ENOMEM;
	b->pic = pic_create(board_pic_intr, b);
	b->pit = pit_create(env->clock, &b->isa_irq[PIT_IRQ]);
	b->com1 = uart_create(env->clock, &b->isa_irq[COM1_IRQ], env->serial);
	if (!b->pic || !b->pit || !b->com1)
		goto fail;

	const struct {
		uint64_t base, size;
		const struct bus_ops *ops;
		void *opaque;
		const char *name;
	} ports[] = {
		{ PIC_MASTER_BASE, PIC_REGION_SIZE, &pic_master_ops, b->pic, "pic-master" },
		{ PIC_SLAVE_BASE, PIC_REGION_SIZE, &pic_slave_ops, b->pic, "pic-slave" },
		{ PIC_ELCR_BASE, PIC_ELCR_SIZE, &pic_elcr_ops, b->pic, "elcr" },
		{ PIT_BASE, PIT_REGION_SIZE, &pit_ops, b->pit, "pit" },
		{ PIT_PORT61, PIT_PORT61_SIZE, &pit_port61_ops, b->pit, "port61" },
		{ POST_PORT, 1, &post_port_bus_ops, &b->post, "post" },
		{ DEBUG_EXIT_PORT, DEBUG_EXIT_REGION_SIZE, &debug_exit_bus_ops, &b->debug_exit, "debug-exit" },
		{ COM1_PORT, UART_REGION_SIZE, &uart_bus_ops, b->com1, "com1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
		r = map_pio(b, ports[i].base, ports[i].size, ports[i].ops, ports[i].opaque, ports[i].name);
		if (r < 0)
			goto fail;
	}
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
	pic_reset(b->pic);
	pit_reset(b->pit);
	uart_reset(b->com1);
	b->post.last = 0;
}

int board_intr_ack(struct board *b, unsigned cpu)
{
	(void)cpu;
	if (!pic_intr_level(b->pic))
		return -1;
	return pic_read_irq(b->pic);
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
	for (unsigned i = 0; i < b->npio; i++)
		bus_remove(b->env.pio, b->pio_regions[i]);
	if (b->env.serial)
		chardev_set_frontend(b->env.serial, NULL, NULL);
	uart_destroy(b->com1);
	pit_destroy(b->pit);
	pic_destroy(b->pic);
	free(b);
}
