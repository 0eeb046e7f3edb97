/* SPDX-License-Identifier: MIT */
/*
 * i8042 register-level tests: power-on state, controller commands, the
 * command byte and its interrupt enables, output port (reset, A20), the
 * keyboard command set, the output buffer and its IRQ edges, the absent
 * mouse, the sequence Linux's i8042 driver probes with, guest garbage, and
 * snapshots (faithful, and hostile ones refused).
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/statebuf.h"
#include "hw/device.h"
#include "hw/input/i8042.h"

struct fake_irq {
	int level;
	unsigned rises;
};

static void fake_irq_set(void *opaque, unsigned line, int level)
{
	struct fake_irq *f = opaque;
	(void)line;
	if (level && !f->level)
		f->rises++;
	f->level = level;
}

struct rig {
	struct fake_irq kbd_irq, aux_irq;
	struct irq_line irq1, irq12;
	unsigned resets;
	struct i8042 *k;
};

static void on_reset(void *opaque)
{
	struct rig *r = opaque;
	r->resets++;
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->irq1 = (struct irq_line){ fake_irq_set, &r->kbd_irq, 1 };
	r->irq12 = (struct irq_line){ fake_irq_set, &r->aux_irq, 12 };
	r->k = i8042_create(&r->irq1, &r->irq12, on_reset, r);
	if (!r->k)
		abort();
}

static void rig_fini(struct rig *r)
{
	i8042_destroy(r->k);
}

static uint8_t status(struct rig *r)
{
	return (uint8_t)i8042_command_bus_ops.read(r->k, 0, 1);
}

static uint8_t data(struct rig *r)
{
	return (uint8_t)i8042_data_bus_ops.read(r->k, 0, 1);
}

static void cmd(struct rig *r, uint8_t v)
{
	i8042_command_bus_ops.write(r->k, 0, v, 1);
}

static void out(struct rig *r, uint8_t v)
{
	i8042_data_bus_ops.write(r->k, 0, v, 1);
}

/* Reads one byte, -1 if the output buffer is empty. */
static int next(struct rig *r)
{
	if (!(status(r) & I8042_STR_OBF))
		return -1;
	return data(r);
}

/* Like Linux's i8042_command(): a command, optional data, one reply. */
static int command(struct rig *r, uint8_t c, int param)
{
	cmd(r, c);
	if (param >= 0)
		out(r, (uint8_t)param);
	return next(r);
}

static void flush(struct rig *r)
{
	for (int i = 0; i < 64 && next(r) >= 0; i++)
		;
}

static void test_power_on(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(i8042_data_bus_ops.max_size, 1);
	CHECK_EQ(i8042_command_bus_ops.max_size, 1);
	CHECK_EQ(status(&r), I8042_STR_KEYLOCK | I8042_STR_CMDDAT);
	CHECK_EQ(r.kbd_irq.level, 0);
	CHECK_EQ(r.aux_irq.level, 0);
	CHECK(i8042_a20_enabled(r.k));
	cmd(&r, I8042_CMD_READ_CTR);
	CHECK_EQ(status(&r), I8042_STR_KEYLOCK | I8042_STR_CMDDAT | I8042_STR_OBF);
	CHECK_EQ(r.kbd_irq.level, 1); /* KBDINT is on */
	CHECK_EQ(data(&r), I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	CHECK_EQ(r.kbd_irq.level, 0);
	CHECK_EQ(status(&r) & I8042_STR_OBF, 0);
	/* An empty buffer reads as its last byte. */
	CHECK_EQ(data(&r), I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	CHECK_EQ(command(&r, I8042_CMD_READ_OUTPUT, -1), 0xcf);
	rig_fini(&r);
}

static void test_controller_commands(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(command(&r, I8042_CMD_SELF_TEST, -1), I8042_SELF_TEST_OK);
	CHECK(status(&r) & I8042_STR_SYSFLAG);
	CHECK_EQ(command(&r, I8042_CMD_KBD_TEST, -1), 0x00);
	CHECK_EQ(command(&r, I8042_CMD_AUX_TEST, -1), 0x00);
	CHECK_EQ(command(&r, I8042_CMD_READ_INPUT, -1), I8042_INPUT_PORT);
	/* Command byte write and read; A2 follows the last port written. */
	cmd(&r, I8042_CMD_WRITE_CTR);
	CHECK(status(&r) & I8042_STR_CMDDAT);
	out(&r, 0x45);
	CHECK_EQ(status(&r) & I8042_STR_CMDDAT, 0);
	unsigned rises = r.kbd_irq.rises;
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1), 0x45);
	CHECK_EQ(r.kbd_irq.rises, rises + 1); /* 0x45 has KBDINT */
	/* Disable/enable the interfaces: bits 4 and 5 of the command byte. */
	cmd(&r, I8042_CMD_KBD_DISABLE);
	cmd(&r, I8042_CMD_AUX_DISABLE);
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1), 0x45 | I8042_CTR_KBDDIS | I8042_CTR_AUXDIS);
	cmd(&r, I8042_CMD_KBD_ENABLE);
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1), 0x45 | I8042_CTR_AUXDIS);
	cmd(&r, I8042_CMD_AUX_ENABLE);
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1), 0x45);
	/* Controller RAM beyond the command byte. */
	CHECK_EQ(command(&r, 0x7f, 0x5a), -1);
	CHECK_EQ(command(&r, 0x3f, -1), 0x5a);
	/* The system flag follows the command byte. */
	command(&r, I8042_CMD_WRITE_CTR, 0x00);
	CHECK_EQ(status(&r) & I8042_STR_SYSFLAG, 0);
	/* No interrupt with KBDINT off. */
	rises = r.kbd_irq.rises;
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1), 0x00);
	CHECK_EQ(r.kbd_irq.rises, rises);
	/* Unknown commands are ignored. */
	CHECK_EQ(command(&r, 0xc8, -1), -1);
	CHECK_EQ(r.resets, 0);
	rig_fini(&r);
}

static void test_output_port_reset_a20(void)
{
	struct rig r;
	rig_init(&r);
	command(&r, I8042_CMD_WRITE_OUTPUT, 0xdd); /* the classic "A20 off" */
	CHECK(!i8042_a20_enabled(r.k));
	CHECK_EQ(command(&r, I8042_CMD_READ_OUTPUT, -1), 0xdd & ~0x30);
	command(&r, I8042_CMD_WRITE_OUTPUT, 0xdf);
	CHECK(i8042_a20_enabled(r.k));
	CHECK_EQ(r.resets, 0);
	/* Output port bits 4/5 show which IRQ pin the full buffer drives. */
	cmd(&r, I8042_CMD_WRITE_AUX_OBUF);
	out(&r, 0x11);
	cmd(&r, I8042_CMD_READ_OUTPUT);
	CHECK_EQ(next(&r), 0x11);
	CHECK_EQ(next(&r), 0xcf | I8042_OUT_AUX_OBF);
	/* Reset through bit 0 of the output port. */
	command(&r, I8042_CMD_WRITE_OUTPUT, 0xde);
	CHECK_EQ(r.resets, 1);
	/* Pulse commands: every even one pulses reset, 0xff none. */
	cmd(&r, 0xfe);
	CHECK_EQ(r.resets, 2);
	cmd(&r, 0xff);
	cmd(&r, 0xfd);
	CHECK_EQ(r.resets, 2);
	cmd(&r, 0xf0);
	CHECK_EQ(r.resets, 3);
	/* A pending data byte is abandoned by a new command. */
	cmd(&r, I8042_CMD_WRITE_OUTPUT);
	cmd(&r, I8042_CMD_READ_CTR);
	CHECK_EQ(next(&r), I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	out(&r, 0x00); /* goes to the keyboard: resend */
	CHECK_EQ(r.resets, 3);
	CHECK_EQ(next(&r), KBD_REPLY_RESEND);
	/* System reset restores the output port. */
	command(&r, I8042_CMD_WRITE_OUTPUT, 0x01);
	i8042_reset(r.k);
	CHECK(i8042_a20_enabled(r.k));
	rig_fini(&r);
}

static void test_aux_loop_and_no_mouse(void)
{
	struct rig r;
	rig_init(&r);
	cmd(&r, I8042_CMD_WRITE_AUX_OBUF);
	out(&r, 0x5a);
	CHECK_EQ(status(&r) & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF | I8042_STR_AUXDATA);
	CHECK_EQ(r.aux_irq.level, 1);
	CHECK_EQ(r.kbd_irq.level, 0);
	CHECK_EQ(data(&r), 0x5a);
	CHECK_EQ(r.aux_irq.level, 0);
	/* Keyboard-side fake data. */
	cmd(&r, I8042_CMD_WRITE_KBD_OBUF);
	out(&r, 0x1c);
	CHECK_EQ(status(&r) & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF);
	CHECK_EQ(r.kbd_irq.level, 1);
	CHECK_EQ(data(&r), 0x1c);
	/* A byte for the mouse: nobody there, FEh with the timeout bit. */
	cmd(&r, I8042_CMD_WRITE_AUX);
	out(&r, 0xff);
	uint8_t s = status(&r);
	CHECK_EQ(s & (I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT),
		 I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
	CHECK_EQ(r.aux_irq.level, 1);
	CHECK_EQ(data(&r), 0xfe);
	CHECK_EQ(status(&r) & I8042_STR_TIMEOUT, 0);
	/* AUXINT off: no IRQ 12. */
	command(&r, I8042_CMD_WRITE_CTR, I8042_CTR_KBDINT);
	unsigned rises = r.aux_irq.rises;
	CHECK_EQ(command(&r, I8042_CMD_WRITE_AUX_OBUF, 0x33), 0x33);
	CHECK_EQ(r.aux_irq.rises, rises);
	rig_fini(&r);
}

static void test_keyboard_commands(void)
{
	struct rig r;
	rig_init(&r);
	out(&r, KBD_CMD_RESET);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_BAT_OK);
	CHECK_EQ(next(&r), -1);
	out(&r, KBD_CMD_IDENTIFY);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), 0xab);
	CHECK_EQ(next(&r), 0x83);
	out(&r, KBD_CMD_ECHO);
	CHECK_EQ(next(&r), 0xee);
	CHECK_EQ(next(&r), -1);
	out(&r, KBD_CMD_SET_LEDS);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	out(&r, 0x07);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), -1);
	out(&r, KBD_CMD_TYPEMATIC);
	out(&r, 0x20);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	/* Scancode set: get, set, get. */
	out(&r, KBD_CMD_SCANCODE_SET);
	out(&r, 0);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), 2);
	out(&r, KBD_CMD_SCANCODE_SET);
	out(&r, 3);
	out(&r, KBD_CMD_SCANCODE_SET);
	out(&r, 0);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), 3);
	out(&r, KBD_CMD_SCANCODE_SET);
	out(&r, 9);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_RESEND);
	/* A command in place of an argument runs as a command. */
	out(&r, KBD_CMD_SET_LEDS);
	out(&r, KBD_CMD_ECHO);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), 0xee);
	/* Unknown → resend; resend repeats the last byte. */
	out(&r, 0x42);
	CHECK_EQ(next(&r), KBD_REPLY_RESEND);
	out(&r, KBD_CMD_ECHO);
	CHECK_EQ(next(&r), 0xee);
	out(&r, KBD_CMD_RESEND);
	CHECK_EQ(next(&r), 0xee);
	/* Translation changes the ID and set replies as an XT-translating 8042 does. */
	command(&r, I8042_CMD_WRITE_CTR, I8042_CTR_XLATE | I8042_CTR_KBDINT);
	out(&r, KBD_CMD_RESET);
	flush(&r);
	out(&r, KBD_CMD_IDENTIFY);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), 0xab);
	CHECK_EQ(next(&r), 0x41);
	out(&r, KBD_CMD_SCANCODE_SET);
	out(&r, 0);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(next(&r), 0x41);
	rig_fini(&r);
}

static void test_scanning_and_queue(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(i8042_key(r.k, 0x1c), 0);
	CHECK_EQ(i8042_key(r.k, 0xf0), 0);
	CHECK_EQ(i8042_key(r.k, 0x1c), 0);
	/* One edge per byte. */
	CHECK_EQ(r.kbd_irq.level, 1);
	CHECK_EQ(data(&r), 0x1c);
	CHECK_EQ(r.kbd_irq.level, 1);
	CHECK_EQ(r.kbd_irq.rises, 2);
	/* A controller reply comes before keys still in the keyboard. */
	cmd(&r, I8042_CMD_READ_CTR);
	CHECK_EQ(data(&r), 0xf0);
	CHECK_EQ(data(&r), I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	CHECK_EQ(data(&r), 0x1c);
	CHECK_EQ(next(&r), -1);
	CHECK_EQ(r.kbd_irq.level, 0);
	CHECK_EQ(r.kbd_irq.rises, 4);
	/* A disabled interface holds the keys until enabled. */
	cmd(&r, I8042_CMD_KBD_DISABLE);
	CHECK_EQ(i8042_key(r.k, 0x29), 0);
	CHECK_EQ(next(&r), -1);
	cmd(&r, I8042_CMD_KBD_ENABLE);
	CHECK_EQ(next(&r), 0x29);
	/* Writing to the keyboard re-enables its interface. */
	cmd(&r, I8042_CMD_KBD_DISABLE);
	out(&r, KBD_CMD_ECHO);
	CHECK_EQ(next(&r), 0xee);
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1), I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	/* The keyboard buffers 16 bytes. */
	for (int i = 0; i < 16; i++)
		CHECK_EQ(i8042_key(r.k, (uint8_t)(0x10 + i)), 0);
	/* One went straight into the output buffer. */
	CHECK_EQ(i8042_key(r.k, 0x20), 0);
	CHECK_EQ(i8042_key(r.k, 0x21), -ENOSPC);
	for (int i = 0; i < 17; i++)
		CHECK_EQ(next(&r), 0x10 + i);
	CHECK_EQ(next(&r), -1);
	/* Scanning off: keys are discarded; enable clears the buffer and ACKs. */
	out(&r, KBD_CMD_DISABLE);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(i8042_key(r.k, 0x1c), -EAGAIN);
	out(&r, KBD_CMD_ENABLE);
	CHECK_EQ(next(&r), KBD_REPLY_ACK);
	CHECK_EQ(i8042_key(r.k, 0x1c), 0);
	CHECK_EQ(next(&r), 0x1c);
	/* System reset empties everything and drops the lines. */
	CHECK_EQ(i8042_key(r.k, 0x1c), 0);
	CHECK_EQ(r.kbd_irq.level, 1);
	i8042_reset(r.k);
	CHECK_EQ(r.kbd_irq.level, 0);
	CHECK_EQ(next(&r), -1);
	rig_fini(&r);
}

/* What Linux's drivers/input/serio/i8042.c does at boot, in order. */
static void test_linux_probe(void)
{
	struct rig r;
	rig_init(&r);
	flush(&r);
	CHECK_EQ(command(&r, I8042_CMD_SELF_TEST, -1), 0x55);
	int ctr = command(&r, I8042_CMD_READ_CTR, -1);
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1), ctr);
	CHECK(status(&r) & I8042_STR_KEYLOCK);
	ctr = (ctr | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT;
	CHECK_EQ(command(&r, I8042_CMD_WRITE_CTR, ctr), -1);
	flush(&r);
	/* MUX detection: a plain loopback echoes A4 as well, so no MUX. */
	CHECK_EQ(command(&r, I8042_CMD_WRITE_AUX_OBUF, 0xf0), 0xf0);
	CHECK_EQ(command(&r, I8042_CMD_WRITE_AUX_OBUF, 0x56), 0x56);
	CHECK_EQ(command(&r, I8042_CMD_WRITE_AUX_OBUF, 0xa4), 0xa4);
	/* i8042_check_aux: loopback with the aux data bit, then the toggle test. */
	cmd(&r, I8042_CMD_WRITE_AUX_OBUF);
	out(&r, 0x5a);
	CHECK(status(&r) & I8042_STR_AUXDATA);
	CHECK_EQ(data(&r), 0x5a);
	command(&r, I8042_CMD_WRITE_CTR, ctr | I8042_CTR_AUXDIS);
	CHECK(command(&r, I8042_CMD_READ_CTR, -1) & I8042_CTR_AUXDIS);
	command(&r, I8042_CMD_WRITE_CTR, ctr & ~I8042_CTR_AUXDIS);
	CHECK_EQ(command(&r, I8042_CMD_READ_CTR, -1) & I8042_CTR_AUXDIS, 0);
	/* AUX IRQ delivery test. */
	command(&r, I8042_CMD_WRITE_CTR, (ctr & ~I8042_CTR_AUXDIS) | I8042_CTR_AUXINT);
	unsigned rises = r.aux_irq.rises;
	cmd(&r, I8042_CMD_WRITE_AUX_OBUF);
	out(&r, 0xa5);
	CHECK_EQ(r.aux_irq.rises, rises + 1);
	CHECK_EQ(data(&r), 0xa5);
	/* Keyboard port: enable, then atkbd's probe. */
	CHECK_EQ(command(&r, I8042_CMD_KBD_TEST, -1), 0x00);
	ctr = (ctr & ~I8042_CTR_KBDDIS) | I8042_CTR_KBDINT;
	command(&r, I8042_CMD_WRITE_CTR, ctr);
	out(&r, KBD_CMD_IDENTIFY);
	CHECK_EQ(r.kbd_irq.level, 1);
	CHECK_EQ(data(&r), KBD_REPLY_ACK);
	CHECK_EQ(data(&r), 0xab);
	CHECK_EQ(data(&r), 0x83);
	out(&r, KBD_CMD_DISABLE);
	CHECK_EQ(data(&r), KBD_REPLY_ACK);
	out(&r, KBD_CMD_ENABLE);
	CHECK_EQ(data(&r), KBD_REPLY_ACK);
	/* psmouse: every byte to the mouse times out at once. */
	cmd(&r, I8042_CMD_WRITE_AUX);
	out(&r, 0xf2);
	CHECK_EQ(status(&r) & I8042_STR_TIMEOUT, I8042_STR_TIMEOUT);
	CHECK_EQ(data(&r), 0xfe);
	CHECK_EQ(r.resets, 0);
	rig_fini(&r);
}

static void test_garbage(void)
{
	struct rig r;
	rig_init(&r);
	for (unsigned c = 0; c < 256; c++) {
		for (unsigned v = 0; v < 256; v++) {
			cmd(&r, (uint8_t)c);
			out(&r, (uint8_t)v);
			if (v % 3 == 0)
				(void)i8042_key(r.k, (uint8_t)v);
			(void)status(&r);
			if (v % 5 == 0)
				flush(&r);
			/* Offsets a bus would never send. */
			i8042_data_bus_ops.write(r.k, 1 + c, v, 1);
			i8042_command_bus_ops.write(r.k, 1 + v, c, 1);
			CHECK_EQ(i8042_data_bus_ops.read(r.k, 1 + v, 1), 0xff);
			CHECK_EQ(i8042_command_bus_ops.read(r.k, 1 + v, 1), 0xff);
		}
		for (unsigned v = 0; v < 256; v++)
			out(&r, (uint8_t)v);
		flush(&r);
		CHECK_EQ(status(&r) & I8042_STR_OBF, 0);
	}
	/* Resets came only from the documented paths; sanity after all that. */
	CHECK(r.resets > 0);
	i8042_reset(r.k);
	CHECK_EQ(command(&r, I8042_CMD_SELF_TEST, -1), 0x55);
	CHECK_EQ(r.kbd_irq.level, 0);
	rig_fini(&r);
}

static void test_unconnected(void)
{
	struct i8042 *k = i8042_create(NULL, NULL, NULL, NULL);
	CHECK(k != NULL);
	i8042_command_bus_ops.write(k, 0, 0xfe, 1);
	i8042_command_bus_ops.write(k, 0, I8042_CMD_WRITE_OUTPUT, 1);
	i8042_data_bus_ops.write(k, 0, 0x00, 1);
	CHECK_EQ(i8042_key(k, 0x1c), 0);
	CHECK_EQ(i8042_data_bus_ops.read(k, 0, 1), 0x1c);
	i8042_destroy(k);
	i8042_destroy(NULL);
}

/* Keys and controller replies queued, a keyboard command waiting for its
 * argument and a controller command waiting for its data byte: a fresh
 * controller loaded from the snapshot takes the same bytes the same way and
 * gives the same bytes back with the same interrupts. */
static void test_snapshot(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	command(&a, I8042_CMD_WRITE_CTR, I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_SYSFLAG);
	for (uint8_t key = 0x10; key < 0x15; key++)
		CHECK_EQ(i8042_key(a.k, key), 0);
	out(&a, KBD_CMD_SET_LEDS); /* ACK queued behind the keys; the argument is due */
	cmd(&a, I8042_CMD_WRITE_AUX_OBUF);
	out(&a, 0x42);
	cmd(&a, I8042_CMD_READ_CTR);
	cmd(&a, I8042_CMD_WRITE_OUTPUT); /* waits for its data byte */
	CHECK_EQ(a.kbd_irq.level, 1);
	unsigned kbd_rises = a.kbd_irq.rises, aux_rises = a.aux_irq.rises;

	struct statebuf sb;
	snap_save(i8042_device(a.k), &sb);
	char why[256];
	CHECK_EQ(snap_load(i8042_device(b.k), &sb, why, sizeof(why)), 0);
	CHECK_EQ(b.kbd_irq.level + b.kbd_irq.rises, 0); /* the load drives no line */
	b.kbd_irq.level = 1;
	CHECK_EQ(status(&b), status(&a));
	out(&a, I8042_OUT_LINES | I8042_OUT_RESET); /* A20 off, no reset */
	out(&b, I8042_OUT_LINES | I8042_OUT_RESET);
	CHECK(!i8042_a20_enabled(b.k));
	CHECK_EQ(b.resets, 0);
	out(&a, 0x05); /* the LED argument */
	out(&b, 0x05);
	for (int i = 0; i < 12; i++) {
		CHECK_EQ(status(&a), status(&b));
		CHECK_EQ(a.kbd_irq.level, b.kbd_irq.level);
		CHECK_EQ(a.aux_irq.level, b.aux_irq.level);
		CHECK_EQ(next(&a), next(&b));
	}
	CHECK_EQ(a.kbd_irq.rises - kbd_rises, b.kbd_irq.rises);
	CHECK_EQ(a.aux_irq.rises - aux_rises, b.aux_irq.rises);
	CHECK_EQ(b.aux_irq.rises, 1);
	CHECK_EQ(b.kbd_irq.rises, 7);
	CHECK_EQ(command(&b, I8042_CMD_READ_CTR, -1),
		 I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_SYSFLAG);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

static void check_is_reset(struct rig *r)
{
	CHECK_EQ(status(r), I8042_STR_KEYLOCK | I8042_STR_CMDDAT);
	CHECK(i8042_a20_enabled(r->k));
	CHECK_EQ(r->kbd_irq.level, 0);
	CHECK_EQ(r->aux_irq.level, 0);
}

/* Fields out of range are refused and leave the controller reset; records
 * of random fields either load or are refused, and a controller that loaded
 * runs a sweep of port accesses and keys without tripping ASan or UBSan. */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	rig_init(&a);
	rig_init(&b);
	for (uint8_t key = 0x20; key < 0x24; key++)
		CHECK_EQ(i8042_key(a.k, key), 0);
	cmd(&a, I8042_CMD_SELF_TEST);
	cmd(&a, I8042_CMD_AUX_TEST);
	out(&a, KBD_CMD_SCANCODE_SET);
	cmd(&a, I8042_CMD_WRITE_CTR + 5);
	struct statebuf sb;
	snap_save(i8042_device(a.k), &sb);
	char why[256];
	CHECK_EQ(snap_load(i8042_device(b.k), &sb, why, sizeof(why)), 0);

	static const struct {
		const char *field;
		uint64_t value;
	} bad[] = {
		{ "ctrl_head", 8 },
		{ "ctrl_count", 9 },
		{ "kbd_head", 16 },
		{ "kbd_count", 17 },
		{ "kbd_count", (uint64_t)-1 },
		{ "obuf_full", 0 }, /* with bytes queued */
		{ "pending", I8042_CMD_READ_CTR },
		{ "pending", 0xff },
		{ "kbd_pending", KBD_CMD_ECHO },
		{ "kbd_set", 0 },
		{ "kbd_set", 4 },
		{ "kbd_leds", 8 },
		{ "kbd_typematic", 0x80 },
		{ "irq1_level", 2 },
		{ "irq12_level", (uint64_t)-1 },
		{ "ctrl_q[3].aux", 2 }, /* not a boolean */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_refused(i8042_device(b.k), &sb, bad[i].field, bad[i].value);
		check_is_reset(&b);
	}

	uint64_t rng = 0x5851f42d4c957f2dULL;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf junk;
		sb_init(&junk);
		sb_put(&junk, sb.data, sb.len);
		snap_scramble(i8042_device(b.k), &junk, &rng);
		int r = snap_load(i8042_device(b.k), &junk, why, sizeof(why));
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0) {
			loaded++;
			for (unsigned k = 0; k < 200; k++) {
				uint64_t x = snap_rand(&rng);
				uint8_t v = (uint8_t)(x >> 8);
				switch (x % 5) {
				case 0:
					(void)status(&b);
					break;
				case 1:
					(void)data(&b);
					break;
				case 2:
					cmd(&b, v);
					break;
				case 3:
					out(&b, v);
					break;
				default:
					(void)i8042_key(b.k, v);
					break;
				}
			}
		} else {
			check_is_reset(&b);
		}
		sb_free(&junk);
	}
	if (loaded <= 10)
		printf("# only %u of 400 records loaded\n", loaded);
	CHECK(loaded > 10);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

CHECK_MAIN(TEST_CASE(test_power_on), TEST_CASE(test_controller_commands),
	   TEST_CASE(test_output_port_reset_a20), TEST_CASE(test_aux_loop_and_no_mouse),
	   TEST_CASE(test_keyboard_commands), TEST_CASE(test_scanning_and_queue),
	   TEST_CASE(test_linux_probe), TEST_CASE(test_garbage), TEST_CASE(test_unconnected),
	   TEST_CASE(test_snapshot), TEST_CASE(test_snapshot_hostile))
