/* SPDX-License-Identifier: MIT */
/*
 * 8042 keyboard controller with an MF2 keyboard, following the IBM PC/AT and
 * PS/2 Technical References (keyboard/auxiliary device controller: status
 * register, command byte, controller commands 20h..FFh, input and output
 * ports) and the keyboard command set of the same documents; where they are
 * silent, QEMU's hw/input/pckbd.c and ps2.c and what Linux's i8042 and
 * atkbd drivers probe for.
 *
 * Data paths: one output buffer (port 0x60) fed, whenever it is empty, first
 * from the controller's own replies, then from the keyboard's 16-byte buffer
 * while the keyboard interface is enabled. IRQ 1 / IRQ 12 follow "output
 * buffer full with keyboard / auxiliary data" and the interrupt enables of
 * the command byte; reading port 0x60 drops the line before the next byte
 * raises it again, so an edge-triggered PIC sees one edge per byte.
 *
 * No auxiliary device is attached: a byte sent with D4h is answered by the
 * controller with FEh as auxiliary data and the timeout bit set, what a PS/2
 * controller does when no device clocks the byte out; Linux's psmouse and
 * SeaBIOS both give up at once on it. The D3h loopback works, so Linux
 * still registers the AUX port.
 *
 * Not implemented: set 2 → set 1 translation of scancodes (XLATE is kept and
 * applied only to the keyboard's ID and scancode-set replies, as QEMU does;
 * i8042_key() bytes pass unchanged), the set 3 key-type commands F7h..FDh
 * (answered with resend), typematic repeat (the host sends repeats), the
 * key lock (never engaged), password and vendor commands, parity errors,
 * real transfer timing (IBF is never seen set), and A20 masking (the gate
 * is stored and readable only; see the header).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/input/i8042.h"

#define I8042_CTRL_QUEUE 8
#define I8042_KBD_QUEUE 16 /* an MF2 keyboard buffers 16 bytes */
#define I8042_RAM_SIZE 32 /* reachable by commands 20h..3Fh / 60h..7Fh */
#define I8042_CTR_DEFAULT (I8042_CTR_KBDINT | I8042_CTR_AUXINT)
#define I8042_OUT_DEFAULT (I8042_OUT_LINES | I8042_OUT_A20 | I8042_OUT_RESET)
#define KBD_TYPEMATIC_DEFAULT 0x2b /* 10.9 characters/s after 500 ms */
#define KBD_CMD_FIRST 0xed /* bytes from here up are commands, never arguments */

struct i8042_byte {
	uint8_t data;
	bool aux;
	bool timeout;
};

/* What the guest sees and a snapshot keeps (i8042_fields). */
struct i8042_state {
	uint8_t ram[I8042_RAM_SIZE]; /* ram[0] is the command byte */
	uint8_t outport; /* without the OBF pins, which follow the buffer */
	uint8_t pending; /* controller command awaiting its data byte, 0 if none */
	bool cmddat; /* A2 of the last write */

	struct i8042_byte obuf;
	bool obuf_full;
	struct i8042_byte ctrl_q[I8042_CTRL_QUEUE];
	uint32_t ctrl_head, ctrl_count;

	/* The keyboard. */
	uint8_t kbd_q[I8042_KBD_QUEUE];
	uint32_t kbd_head, kbd_count;
	uint8_t kbd_pending; /* command awaiting its argument, 0 if none */
	bool kbd_scanning;
	uint8_t kbd_set; /* scancode set 1..3 */
	uint8_t kbd_leds;
	uint8_t kbd_typematic;
	uint8_t kbd_last; /* last byte sent, for the resend command */

	int32_t irq1_level, irq12_level;
};

struct i8042 {
	struct device dev;
	struct irq_line irq1;
	struct irq_line irq12;
	void (*reset)(void *opaque);
	void *opaque;
	struct i8042_state s;
};

static uint8_t i8042_ctr(const struct i8042 *k)
{
	return k->s.ram[0];
}

static void i8042_drive_irqs(struct i8042 *k)
{
	int kbd = k->s.obuf_full && !k->s.obuf.aux && (i8042_ctr(k) & I8042_CTR_KBDINT);
	int aux = k->s.obuf_full && k->s.obuf.aux && (i8042_ctr(k) & I8042_CTR_AUXINT);
	if (kbd != k->s.irq1_level) {
		k->s.irq1_level = kbd;
		irq_set_level(&k->irq1, kbd);
	}
	if (aux != k->s.irq12_level) {
		k->s.irq12_level = aux;
		irq_set_level(&k->irq12, aux);
	}
}

/* Refills an empty output buffer and drives the IRQ lines. */
static void i8042_update(struct i8042 *k)
{
	if (!k->s.obuf_full && k->s.ctrl_count) {
		k->s.obuf = k->s.ctrl_q[k->s.ctrl_head];
		k->s.ctrl_head = (k->s.ctrl_head + 1) % I8042_CTRL_QUEUE;
		k->s.ctrl_count--;
		k->s.obuf_full = true;
	}
	if (!k->s.obuf_full && k->s.kbd_count && !(i8042_ctr(k) & I8042_CTR_KBDDIS)) {
		k->s.obuf = (struct i8042_byte){ .data = k->s.kbd_q[k->s.kbd_head] };
		k->s.kbd_head = (k->s.kbd_head + 1) % I8042_KBD_QUEUE;
		k->s.kbd_count--;
		k->s.obuf_full = true;
	}
	i8042_drive_irqs(k);
}

/* A byte the controller itself puts out. */
static void i8042_ctrl_out(struct i8042 *k, uint8_t data, bool aux, bool timeout)
{
	if (k->s.ctrl_count == I8042_CTRL_QUEUE) {
		/* Only a guest issuing commands without reading the replies gets here. */
		log_guest("i8042: controller output overrun, 0x%02x dropped", data);
		return;
	}
	k->s.ctrl_q[(k->s.ctrl_head + k->s.ctrl_count) % I8042_CTRL_QUEUE] =
		(struct i8042_byte){ .data = data, .aux = aux, .timeout = timeout };
	k->s.ctrl_count++;
}

/* A byte the keyboard sends; dropped when its buffer is full. */
static bool kbd_out(struct i8042 *k, uint8_t data)
{
	if (k->s.kbd_count == I8042_KBD_QUEUE)
		return false;
	k->s.kbd_q[(k->s.kbd_head + k->s.kbd_count) % I8042_KBD_QUEUE] = data;
	k->s.kbd_count++;
	k->s.kbd_last = data;
	return true;
}

static void kbd_defaults(struct i8042 *k)
{
	k->s.kbd_set = 2;
	k->s.kbd_leds = 0;
	k->s.kbd_typematic = KBD_TYPEMATIC_DEFAULT;
	k->s.kbd_pending = 0;
}

/* What the controller makes of a keyboard byte when translating (only the
 * ID and scancode-set replies pass through here; see the file comment). */
static uint8_t kbd_translated(const struct i8042 *k, uint8_t data)
{
	if (!(i8042_ctr(k) & I8042_CTR_XLATE))
		return data;
	switch (data) {
	case 0x01:
		return 0x43;
	case 0x02:
		return 0x41;
	case 0x03:
		return 0x3f;
	case KBD_ID_MF2_2:
		return 0x41;
	default:
		return data;
	}
}

static bool kbd_argument(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->s.kbd_pending;
	k->s.kbd_pending = 0;
	/* A command byte instead of the argument starts that command. */
	if (!cmd || v >= KBD_CMD_FIRST)
		return false;
	switch (cmd) {
	case KBD_CMD_SET_LEDS:
		k->s.kbd_leds = v & 0x07;
		kbd_out(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_TYPEMATIC:
		k->s.kbd_typematic = v & 0x7f;
		kbd_out(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_SCANCODE_SET:
		if (v == 0) {
			kbd_out(k, KBD_REPLY_ACK);
			kbd_out(k, kbd_translated(k, k->s.kbd_set));
		} else if (v <= 3) {
			k->s.kbd_set = v;
			kbd_out(k, KBD_REPLY_ACK);
		} else {
			kbd_out(k, KBD_REPLY_RESEND);
		}
		break;
	default:
		break;
	}
	return true;
}

/* A byte the guest sends to the keyboard. */
static void kbd_write(struct i8042 *k, uint8_t v)
{
	if (kbd_argument(k, v))
		return;
	switch (v) {
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_TYPEMATIC:
	case KBD_CMD_SCANCODE_SET:
		kbd_out(k, KBD_REPLY_ACK);
		k->s.kbd_pending = v;
		break;
	case KBD_CMD_ECHO:
		kbd_out(k, KBD_REPLY_ECHO);
		break;
	case KBD_CMD_IDENTIFY:
		kbd_out(k, KBD_REPLY_ACK);
		kbd_out(k, KBD_ID_MF2_1);
		kbd_out(k, kbd_translated(k, KBD_ID_MF2_2));
		break;
	case KBD_CMD_ENABLE:
		/* The keyboard clears its buffer, then scans. */
		k->s.kbd_count = 0;
		k->s.kbd_scanning = true;
		kbd_out(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_DISABLE:
		kbd_defaults(k);
		k->s.kbd_scanning = false;
		kbd_out(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_DEFAULTS:
		kbd_defaults(k);
		k->s.kbd_scanning = true;
		kbd_out(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_RESEND: {
		uint8_t last = k->s.kbd_last;
		kbd_out(k, last);
		break;
	}
	case KBD_CMD_RESET:
		k->s.kbd_count = 0;
		kbd_defaults(k);
		k->s.kbd_scanning = true;
		kbd_out(k, KBD_REPLY_ACK);
		kbd_out(k, KBD_REPLY_BAT_OK);
		break;
	default:
		kbd_out(k, KBD_REPLY_RESEND);
		break;
	}
}

static uint8_t i8042_output_port(const struct i8042 *k)
{
	uint8_t v = k->s.outport & ~(I8042_OUT_KBD_OBF | I8042_OUT_AUX_OBF);
	if (k->s.obuf_full)
		v |= k->s.obuf.aux ? I8042_OUT_AUX_OBF : I8042_OUT_KBD_OBF;
	return v;
}

static uint8_t i8042_status(const struct i8042 *k)
{
	uint8_t s = I8042_STR_KEYLOCK;
	if (i8042_ctr(k) & I8042_CTR_SYSFLAG)
		s |= I8042_STR_SYSFLAG;
	if (k->s.cmddat)
		s |= I8042_STR_CMDDAT;
	if (k->s.obuf_full) {
		s |= I8042_STR_OBF;
		if (k->s.obuf.aux)
			s |= I8042_STR_AUXDATA;
		if (k->s.obuf.timeout)
			s |= I8042_STR_TIMEOUT;
	}
	return s;
}

static void i8042_request_reset(struct i8042 *k)
{
	if (k->reset)
		k->reset(k->opaque);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	bool reset = false;
	k->s.cmddat = true;
	k->s.pending = 0; /* a new command abandons one still waiting for data */
	if (cmd >= I8042_CMD_READ_CTR && cmd < I8042_CMD_READ_CTR + I8042_RAM_SIZE) {
		i8042_ctrl_out(k, k->s.ram[cmd - I8042_CMD_READ_CTR], false, false);
	} else if (cmd >= I8042_CMD_WRITE_CTR && cmd < I8042_CMD_WRITE_CTR + I8042_RAM_SIZE) {
		k->s.pending = cmd;
	} else if (cmd >= I8042_CMD_PULSE) {
		/* Bit 0 low pulses the reset line; the other lines do nothing here. */
		reset = !(cmd & I8042_OUT_RESET);
	} else {
		switch (cmd) {
		case I8042_CMD_AUX_DISABLE:
			k->s.ram[0] |= I8042_CTR_AUXDIS;
			break;
		case I8042_CMD_AUX_ENABLE:
			k->s.ram[0] &= ~I8042_CTR_AUXDIS;
			break;
		case I8042_CMD_AUX_TEST:
		case I8042_CMD_KBD_TEST:
			i8042_ctrl_out(k, 0x00, false, false); /* no clock or data line stuck */
			break;
		case I8042_CMD_SELF_TEST:
			k->s.ram[0] |= I8042_CTR_SYSFLAG;
			i8042_ctrl_out(k, I8042_SELF_TEST_OK, false, false);
			break;
		case I8042_CMD_KBD_DISABLE:
			k->s.ram[0] |= I8042_CTR_KBDDIS;
			break;
		case I8042_CMD_KBD_ENABLE:
			k->s.ram[0] &= ~I8042_CTR_KBDDIS;
			break;
		case I8042_CMD_READ_INPUT:
			i8042_ctrl_out(k, I8042_INPUT_PORT, false, false);
			break;
		case I8042_CMD_READ_OUTPUT:
			i8042_ctrl_out(k, i8042_output_port(k), false, false);
			break;
		case I8042_CMD_WRITE_OUTPUT:
		case I8042_CMD_WRITE_KBD_OBUF:
		case I8042_CMD_WRITE_AUX_OBUF:
		case I8042_CMD_WRITE_AUX:
			k->s.pending = cmd;
			break;
		default:
			log_guest("i8042: unimplemented controller command 0x%02x ignored", cmd);
			break;
		}
	}
	i8042_update(k);
	/* Last: the callback may reset this device. */
	if (reset)
		i8042_request_reset(k);
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
	bool reset = false;
	uint8_t cmd = k->s.pending;
	k->s.cmddat = false;
	k->s.pending = 0;
	if (cmd >= I8042_CMD_WRITE_CTR && cmd < I8042_CMD_WRITE_CTR + I8042_RAM_SIZE) {
		k->s.ram[cmd - I8042_CMD_WRITE_CTR] = v;
	} else {
		switch (cmd) {
		case I8042_CMD_WRITE_OUTPUT:
			k->s.outport = v;
			reset = !(v & I8042_OUT_RESET);
			break;
		case I8042_CMD_WRITE_KBD_OBUF:
			i8042_ctrl_out(k, v, false, false);
			break;
		case I8042_CMD_WRITE_AUX_OBUF:
			i8042_ctrl_out(k, v, true, false);
			break;
		case I8042_CMD_WRITE_AUX:
			/* Nobody clocks the byte out: transmit timeout. */
			i8042_ctrl_out(k, KBD_REPLY_RESEND, true, true);
			break;
		default:
			/* Sending to the keyboard re-enables its interface, as the
			 * AT controller firmware (and QEMU) does. */
			k->s.ram[0] &= ~I8042_CTR_KBDDIS;
			kbd_write(k, v);
			break;
		}
	}
	i8042_update(k);
	if (reset)
		i8042_request_reset(k);
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	/* An empty buffer reads as the last byte, as the latch on real boards. */
	uint8_t v = k->s.obuf.data;
	if (k->s.obuf_full) {
		k->s.obuf_full = false;
		i8042_drive_irqs(k);
		i8042_update(k);
	}
	return v;
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)size;
	return offset == 0 ? i8042_read_data(opaque) : 0xff;
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	(void)size;
	if (offset == 0)
		i8042_data(opaque, (uint8_t)value);
}

static uint64_t i8042_command_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)size;
	return offset == 0 ? i8042_status(opaque) : 0xff;
}

static void i8042_command_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	(void)size;
	if (offset == 0)
		i8042_command(opaque, (uint8_t)value);
}

const struct bus_ops i8042_data_bus_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
	.min_size = 1,
	.max_size = 1,
};

const struct bus_ops i8042_command_bus_ops = {
	.read = i8042_command_read,
	.write = i8042_command_write,
	.min_size = 1,
	.max_size = 1,
};

int i8042_key(struct i8042 *kbd, uint8_t scancode)
{
	if (!kbd->s.kbd_scanning)
		return -EAGAIN;
	if (!kbd_out(kbd, scancode))
		return -ENOSPC;
	i8042_update(kbd);
	return 0;
}

bool i8042_a20_enabled(const struct i8042 *kbd)
{
	return kbd->s.outport & I8042_OUT_A20;
}

void i8042_reset(struct i8042 *kbd)
{
	memset(kbd->s.ram, 0, sizeof(kbd->s.ram));
	kbd->s.ram[0] = I8042_CTR_DEFAULT;
	kbd->s.outport = I8042_OUT_DEFAULT;
	kbd->s.pending = 0;
	kbd->s.cmddat = true;
	kbd->s.obuf = (struct i8042_byte){ 0 };
	kbd->s.obuf_full = false;
	memset(kbd->s.ctrl_q, 0, sizeof(kbd->s.ctrl_q));
	memset(kbd->s.kbd_q, 0, sizeof(kbd->s.kbd_q));
	kbd->s.ctrl_head = kbd->s.ctrl_count = 0;
	kbd->s.kbd_head = kbd->s.kbd_count = 0;
	kbd_defaults(kbd);
	kbd->s.kbd_scanning = true;
	kbd->s.kbd_last = 0;
	i8042_drive_irqs(kbd);
}

#define I8042_BYTE_FIELDS(member)                          \
	DEVICE_FIELD(struct i8042_state, member.data),     \
	DEVICE_BOOL(struct i8042_state, member.aux),       \
	DEVICE_BOOL(struct i8042_state, member.timeout)

static const struct device_field i8042_fields[] = {
	DEVICE_FIELD(struct i8042_state, ram),
	DEVICE_FIELD(struct i8042_state, outport),
	DEVICE_FIELD(struct i8042_state, pending),
	DEVICE_BOOL(struct i8042_state, cmddat),
	I8042_BYTE_FIELDS(obuf),
	DEVICE_BOOL(struct i8042_state, obuf_full),
	I8042_BYTE_FIELDS(ctrl_q[0]),
	I8042_BYTE_FIELDS(ctrl_q[1]),
	I8042_BYTE_FIELDS(ctrl_q[2]),
	I8042_BYTE_FIELDS(ctrl_q[3]),
	I8042_BYTE_FIELDS(ctrl_q[4]),
	I8042_BYTE_FIELDS(ctrl_q[5]),
	I8042_BYTE_FIELDS(ctrl_q[6]),
	I8042_BYTE_FIELDS(ctrl_q[7]),
	DEVICE_FIELD(struct i8042_state, ctrl_head),
	DEVICE_FIELD(struct i8042_state, ctrl_count),
	DEVICE_FIELD(struct i8042_state, kbd_q),
	DEVICE_FIELD(struct i8042_state, kbd_head),
	DEVICE_FIELD(struct i8042_state, kbd_count),
	DEVICE_FIELD(struct i8042_state, kbd_pending),
	DEVICE_BOOL(struct i8042_state, kbd_scanning),
	DEVICE_FIELD(struct i8042_state, kbd_set),
	DEVICE_FIELD(struct i8042_state, kbd_leds),
	DEVICE_FIELD(struct i8042_state, kbd_typematic),
	DEVICE_FIELD(struct i8042_state, kbd_last),
	DEVICE_FIELD(struct i8042_state, irq1_level),
	DEVICE_FIELD(struct i8042_state, irq12_level),
};
_Static_assert(I8042_CTRL_QUEUE == 8, "i8042_fields lists 8 controller queue entries");

/* A controller command that waits for its data byte (i8042_data). */
static bool i8042_pending_ok(uint8_t cmd)
{
	return cmd == 0 || (cmd >= I8042_CMD_WRITE_CTR && cmd < I8042_CMD_WRITE_CTR + I8042_RAM_SIZE) ||
	       cmd == I8042_CMD_WRITE_OUTPUT || cmd == I8042_CMD_WRITE_KBD_OBUF ||
	       cmd == I8042_CMD_WRITE_AUX_OBUF || cmd == I8042_CMD_WRITE_AUX;
}

static int i8042_post_load(struct device *dev, char *why, size_t why_len)
{
	struct i8042 *k = container_of(dev, struct i8042, dev);
	const struct i8042_state *s = &k->s;
	if (s->ctrl_head >= I8042_CTRL_QUEUE || s->ctrl_count > I8042_CTRL_QUEUE ||
	    s->kbd_head >= I8042_KBD_QUEUE || s->kbd_count > I8042_KBD_QUEUE) {
		snprintf(why, why_len, "%s: output queue out of range", dev->name);
		return -EINVAL;
	}
	/* The output buffer is refilled whenever it empties. */
	if (!s->obuf_full && (s->ctrl_count || (s->kbd_count && !(s->ram[0] & I8042_CTR_KBDDIS)))) {
		snprintf(why, why_len, "%s: bytes queued behind an empty output buffer", dev->name);
		return -EINVAL;
	}
	bool kbd_pending_ok = s->kbd_pending == 0 || s->kbd_pending == KBD_CMD_SET_LEDS ||
			      s->kbd_pending == KBD_CMD_TYPEMATIC || s->kbd_pending == KBD_CMD_SCANCODE_SET;
	if (!i8042_pending_ok(s->pending) || !kbd_pending_ok || s->kbd_set < 1 || s->kbd_set > 3 ||
	    s->kbd_leds > 0x07 || s->kbd_typematic > 0x7f) {
		snprintf(why, why_len, "%s: command state out of range", dev->name);
		return -EINVAL;
	}
	if ((s->irq1_level != 0 && s->irq1_level != 1) || (s->irq12_level != 0 && s->irq12_level != 1)) {
		snprintf(why, why_len, "%s: IRQ level out of range", dev->name);
		return -EINVAL;
	}
	return 0;
}

static void i8042_device_reset(struct device *dev)
{
	i8042_reset(container_of(dev, struct i8042, dev));
}

static void i8042_device_destroy(struct device *dev)
{
	i8042_destroy(container_of(dev, struct i8042, dev));
}

static const struct device_class i8042_class = {
	.type = "i8042",
	.version = 1,
	.fields = i8042_fields,
	.nfields = ARRAY_SIZE(i8042_fields),
	.reset = i8042_device_reset,
	.post_load = i8042_post_load,
	.destroy = i8042_device_destroy,
};

struct device *i8042_device(struct i8042 *kbd)
{
	return &kbd->dev;
}

struct i8042 *i8042_create(const struct irq_line *irq1, const struct irq_line *irq12,
			   void (*reset)(void *opaque), void *opaque)
{
	struct i8042 *kbd = calloc(1, sizeof(*kbd));
	if (!kbd)
		return NULL;
	if (irq1)
		kbd->irq1 = *irq1;
	if (irq12)
		kbd->irq12 = *irq12;
	kbd->reset = reset;
	kbd->opaque = opaque;
	device_init(&kbd->dev, &i8042_class, "i8042", &kbd->s);
	i8042_reset(kbd);
	return kbd;
}

void i8042_destroy(struct i8042 *kbd)
{
	free(kbd);
}
