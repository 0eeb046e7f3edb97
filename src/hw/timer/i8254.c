/* SPDX-License-Identifier: MIT */
/*
 * 8254 programmable interval timer, following the Intel 8254 datasheet
 * (order 231164): the six modes, LSB / MSB / LSB-then-MSB access, binary and
 * BCD counting, the counter latch and read-back commands, the status byte with
 * NULL COUNT, and GATE (channel 2's from port 0x61; channels 0 and 1 have it
 * tied high). Port 0x61 follows the PIIX "NMI status and control register"
 * (82371AB §4.1.17) minus the NMI sources.
 *
 * The counting element is not ticked: each channel holds a "phase" (the CLK
 * edge at which the CE was loaded, the count, for mode 3 the position in the
 * period) and computes CE and OUT for any later edge. As the datasheet says,
 * a count written is loaded on the next CLK edge. A count rewritten during
 * counting in modes 2 and 3 becomes a pending phase that starts at the next
 * reload (mode 2) or half-cycle boundary (mode 3).
 *
 * Not modelled: sub-clock GATE sampling, the CE of modes 1/5 before their
 * first trigger and after a control word (it reads the value it held), the
 * counting of invalid BCD digits (they count as their binary weight), the
 * speaker itself, and port 0x61's IOCHK/SERR status (bits 6, 7 read 0).
 * Counts of 1 in mode 2 and 3 (illegal per datasheet) leave OUT constant.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/timer/i8254.h"

#define PIT_CHANNELS 3
#define PIT_NSEC 1000000000LL
#define PIT_NEVER INT64_MAX

struct pit_channel {
	uint8_t mode_bits; /* M2..M0 as written, for the status byte */
	uint8_t mode; /* 0..5 (6 and 7 are 2 and 3) */
	uint8_t access; /* PIT_RW_LSB, PIT_RW_MSB or PIT_RW_LSB_MSB */
	bool bcd;
	bool gate;
	uint16_t cr; /* count register */
	bool cr_valid; /* a whole count was written since the control word */
	bool write_msb; /* LSB_MSB: the LSB is written, the MSB comes next */
	uint8_t write_lsb;
	bool read_msb; /* LSB_MSB: the next unlatched read returns the MSB */
	bool count_latched;
	bool latch_msb;
	uint16_t latch; /* output latch */
	bool status_latched;
	uint8_t status;

	/* The CE: it counts by the phase while running; otherwise, and before
	 * phase_edge, it holds hold_value and OUT holds hold_out. */
	bool running;
	int64_t phase_edge; /* CLK edge at which the CE is loaded */
	uint32_t phase_count; /* modes 0, 1, 4, 5: CE at phase_edge; 2, 3: the period */
	uint32_t phase_offset; /* mode 3: clocks into the period at phase_edge */
	bool tc_done; /* modes 0, 4: terminal count passed before this phase */
	uint32_t hold_value;
	bool hold_out;
	bool pending; /* modes 2, 3: a new phase starts at pending_edge */
	int64_t pending_edge;
	uint32_t pending_count;
	uint32_t pending_offset;
	int64_t load_edge; /* NULL COUNT is 1 until this edge */
};

/* What the guest sees and a snapshot keeps (pit_fields). Every edge is a
 * count of CLK edges since virtual time 0, so the state keeps its meaning on
 * a clock set back to the same virtual time. */
struct pit_state {
	struct pit_channel ch[PIT_CHANNELS];
	uint8_t port61; /* bits 0..3 */
	int64_t irq_edge; /* the edge the timer is armed for, or PIT_NEVER */
};

struct i8254 {
	struct device dev;
	struct vclock *clock;
	struct irq_line irq0;
	struct vtimer timer; /* armed for irq_edge (snapshots recompute it) */
	struct pit_state s;
	int64_t min_interval_ns; /* between two firings of the timer (pit_set_min_interval) */
	int64_t last_fire_ns; /* when it last fired */
};

static int64_t pit_edge_at(int64_t ns)
{
	if (ns < 0)
		return 0;
	return (int64_t)((unsigned __int128)ns * PIT_CLOCK_HZ / PIT_NSEC);
}

static int64_t pit_edge_time(int64_t edge)
{
	unsigned __int128 t = ((unsigned __int128)edge * PIT_NSEC + PIT_CLOCK_HZ - 1) / PIT_CLOCK_HZ;
	return t > (unsigned __int128)INT64_MAX ? VCLOCK_NEVER : (int64_t)t;
}

static int64_t pit_now(const struct i8254 *pit)
{
	return pit_edge_at(vclock_now(pit->clock));
}

static uint32_t pit_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint16_t pit_bcd_encode(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* The count N the CR stands for: 1..modulus (0 means the modulus). */
static uint32_t pit_count(const struct pit_channel *c)
{
	uint32_t n = c->cr;
	if (c->bcd)
		n = (n >> 12 & 15) * 1000 + (n >> 8 & 15) * 100 + (n >> 4 & 15) * 10 + (n & 15);
	return n ? n : pit_modulus(c);
}

static uint32_t pit_value_at(const struct pit_channel *c, int64_t e)
{
	if (!c->running || e < c->phase_edge)
		return c->hold_value;
	int64_t k = e - c->phase_edge;
	uint32_t n = c->phase_count, m = pit_modulus(c);
	switch (c->mode) {
	case 2:
		return (n - (uint32_t)(k % n)) % m;
	case 3: {
		/* Decrements by 2; an odd count loads N - 1 (datasheet mode 3). */
		uint32_t j = (uint32_t)((k + c->phase_offset) % n);
		uint32_t high = n - n / 2;
		if (j >= high)
			j -= high;
		return ((n & ~1u) - 2 * j) % m;
	}
	default:
		return (uint32_t)(((int64_t)n - k % m + m) % m);
	}
}

static bool pit_out_at(const struct pit_channel *c, int64_t e)
{
	if (!c->running || e < c->phase_edge)
		return c->hold_out;
	int64_t k = e - c->phase_edge;
	int64_t n = c->phase_count;
	switch (c->mode) {
	case 0:
		return c->tc_done || k >= n;
	case 1:
		return k >= n;
	case 2:
		return k % n != n - 1;
	case 3:
		return (k + c->phase_offset) % n < n - n / 2;
	case 4:
		return c->tc_done || k != n;
	default:
		return k != n;
	}
}

/* The first OUT rising edge after edge from (>= phase_edge) inside this phase. */
static int64_t pit_rise_in_phase(const struct pit_channel *c, int64_t from)
{
	int64_t k = from - c->phase_edge;
	int64_t n = c->phase_count;
	switch (c->mode) {
	case 0:
		return c->tc_done || k >= n ? PIT_NEVER : c->phase_edge + n;
	case 1:
		return k >= n ? PIT_NEVER : c->phase_edge + n;
	case 4:
		return c->tc_done || k > n ? PIT_NEVER : c->phase_edge + n + 1;
	case 5:
		return k > n ? PIT_NEVER : c->phase_edge + n + 1;
	case 2:
		return n < 2 ? PIT_NEVER : c->phase_edge + (k / n + 1) * n;
	default:
		if (n < 2)
			return PIT_NEVER;
		return from + (n - (k + c->phase_offset) % n);
	}
}

/* A pending phase whose edge has come becomes the phase. */
static void pit_settle(struct pit_channel *c, int64_t e)
{
	if (!c->pending || e < c->pending_edge)
		return;
	int64_t p = c->pending_edge;
	c->hold_value = pit_value_at(c, p - 1);
	c->hold_out = pit_out_at(c, p - 1);
	c->phase_edge = p;
	c->phase_count = c->pending_count;
	c->phase_offset = c->pending_offset;
	c->tc_done = false;
	c->pending = false;
}

/* The first OUT rising edge after edge e, PIT_NEVER if none is due. */
static int64_t pit_next_rise(const struct pit_channel *c, int64_t e)
{
	if (!c->running)
		return PIT_NEVER;
	int64_t r;
	if (e < c->phase_edge) {
		if (!c->hold_out && pit_out_at(c, c->phase_edge))
			r = c->phase_edge;
		else
			r = pit_rise_in_phase(c, c->phase_edge);
	} else {
		r = pit_rise_in_phase(c, e);
	}
	if (c->pending && r >= c->pending_edge) {
		struct pit_channel next = *c;
		pit_settle(&next, c->pending_edge);
		return pit_next_rise(&next, c->pending_edge - 1);
	}
	return r;
}

/* The CE is loaded with count on the next CLK edge; hold_* stay until then. */
static void pit_start(struct pit_channel *c, int64_t e, uint32_t count, uint32_t offset, bool tc_done)
{
	c->running = true;
	c->phase_edge = e + 1;
	c->phase_count = count;
	c->phase_offset = offset;
	c->tc_done = tc_done;
	c->pending = false;
	if (c->load_edge > e + 1)
		c->load_edge = e + 1;
}

/* Stops the CE: it and OUT keep their values at edge e. */
static void pit_freeze(struct pit_channel *c, int64_t e)
{
	if (c->running) {
		if (e < c->phase_edge) {
			/* The load on the next edge happens whatever GATE does. */
			c->hold_value = c->phase_count % pit_modulus(c);
		} else {
			if (e - c->phase_edge >= c->phase_count)
				c->tc_done = true;
			c->hold_value = pit_value_at(c, e);
			c->hold_out = pit_out_at(c, e);
		}
	}
	c->running = false;
	c->pending = false;
}

/* Modes 2 and 3: a count written while counting waits for the period (2) or
 * half-cycle (3) boundary. */
static void pit_defer_count(struct pit_channel *c, int64_t e, uint32_t n)
{
	int64_t k = e - c->phase_edge;
	int64_t old = c->phase_count;
	c->pending = true;
	c->pending_count = n;
	c->pending_offset = 0;
	if (c->mode == 2) {
		c->pending_edge = c->phase_edge + (k / old + 1) * old;
	} else {
		int64_t j = (k + c->phase_offset) % old, high = old - old / 2;
		if (old < 2) {
			c->pending_edge = e + 1;
		} else if (j < high) {
			c->pending_edge = e + (high - j);
			c->pending_offset = n - n / 2; /* the new count starts low */
		} else {
			c->pending_edge = e + (old - j);
		}
	}
	c->load_edge = c->pending_edge;
}

/* A whole count went into the CR (datasheet "Write Operations", per mode). */
static void pit_count_written(struct pit_channel *c, int64_t e)
{
	uint32_t n = pit_count(c);
	c->cr_valid = true;
	switch (c->mode) {
	case 0:
	case 4:
		pit_freeze(c, e);
		if (c->mode == 0)
			c->hold_out = false;
		c->tc_done = false;
		c->load_edge = e + 1;
		if (c->gate)
			pit_start(c, e, n, 0, false);
		else
			c->hold_value = n % pit_modulus(c);
		break;
	case 1:
	case 5:
		c->load_edge = PIT_NEVER; /* the next trigger loads it */
		break;
	default:
		if (c->running && e >= c->phase_edge) {
			pit_defer_count(c, e, n);
		} else if (c->running) {
			c->phase_count = n; /* not loaded yet: the load takes the new CR */
			c->load_edge = c->phase_edge;
		} else if (c->gate) {
			c->load_edge = PIT_NEVER;
			pit_start(c, e, n, 0, false);
		} else {
			c->load_edge = PIT_NEVER; /* loaded when GATE rises */
		}
		break;
	}
}

static void pit_set_gate(struct pit_channel *c, bool gate, int64_t e)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->cr_valid)
		return;
	switch (c->mode) {
	case 0:
	case 4:
		if (!gate) {
			pit_freeze(c, e);
		} else if (!c->running && !(c->mode == 0 && c->write_msb)) {
			uint32_t v = c->hold_value % pit_modulus(c);
			pit_start(c, e, v ? v : pit_modulus(c), 0, c->tc_done);
		}
		break;
	case 2:
	case 3:
		if (!gate) {
			if (c->pending)
				c->load_edge = PIT_NEVER;
			pit_freeze(c, e);
			c->hold_out = true; /* GATE low forces OUT high at once */
		} else {
			pit_start(c, e, pit_count(c), 0, false);
		}
		break;
	default:
		/* Modes 1, 5: the rising edge triggers (and retriggers). */
		if (gate) {
			c->hold_value = pit_value_at(c, e);
			c->hold_out = pit_out_at(c, e);
			pit_start(c, e, pit_count(c), 0, false);
		}
		break;
	}
}

static uint16_t pit_read_value(const struct pit_channel *c, int64_t e)
{
	uint32_t v = pit_value_at(c, e);
	return c->bcd ? pit_bcd_encode(v) : (uint16_t)v;
}

static void pit_latch_count(struct pit_channel *c, int64_t e)
{
	/* A second latch before the first is read is ignored. */
	if (c->count_latched)
		return;
	c->latch = pit_read_value(c, e);
	c->count_latched = true;
	c->latch_msb = false;
}

static void pit_latch_status(struct pit_channel *c, int64_t e)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((pit_out_at(c, e) ? PIT_STATUS_OUT : 0) |
			      (e < c->load_edge ? PIT_STATUS_NULL_COUNT : 0) |
			      c->access << PIT_CW_RW_SHIFT | c->mode_bits << PIT_CW_MODE_SHIFT |
			      (c->bcd ? PIT_CW_BCD : 0));
	c->status_latched = true;
}

static void pit_control(struct i8254 *pit, uint8_t v, int64_t e)
{
	unsigned sc = (v & PIT_CW_SC_MASK) >> PIT_CW_SC_SHIFT;
	unsigned rw = (v & PIT_CW_RW_MASK) >> PIT_CW_RW_SHIFT;
	if (sc == PIT_SC_READ_BACK) {
		if (v & 0x01)
			log_guest("pit: read-back command 0x%02x with reserved bit 0 set", v);
		for (unsigned i = 0; i < PIT_CHANNELS; i++) {
			if (!(v & (PIT_RB_CNT0 << i)))
				continue;
			if (!(v & PIT_RB_NCOUNT))
				pit_latch_count(&pit->s.ch[i], e);
			if (!(v & PIT_RB_NSTATUS))
				pit_latch_status(&pit->s.ch[i], e);
		}
		return;
	}
	struct pit_channel *c = &pit->s.ch[sc];
	if (rw == PIT_RW_LATCH) {
		pit_latch_count(c, e);
		return;
	}
	/* "All Control Logic is immediately reset and OUT goes to a known
	 * initial state": low in mode 0, high in every other mode. */
	pit_freeze(c, e);
	c->access = (uint8_t)rw;
	c->mode_bits = (v & PIT_CW_MODE_MASK) >> PIT_CW_MODE_SHIFT;
	c->mode = c->mode_bits >= 6 ? c->mode_bits - 4 : c->mode_bits;
	c->bcd = v & PIT_CW_BCD;
	c->hold_out = c->mode != 0;
	c->tc_done = false;
	c->cr_valid = false;
	c->write_msb = false;
	c->read_msb = false;
	c->count_latched = false;
	c->status_latched = false;
	c->load_edge = PIT_NEVER;
}

static uint8_t pit_counter_read(struct pit_channel *c, int64_t e)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		if (c->access == PIT_RW_LSB_MSB && !c->latch_msb) {
			c->latch_msb = true;
			return (uint8_t)c->latch;
		}
		c->count_latched = false;
		return (uint8_t)(c->access == PIT_RW_LSB ? c->latch : c->latch >> 8);
	}
	uint16_t v = pit_read_value(c, e);
	switch (c->access) {
	case PIT_RW_LSB:
		return (uint8_t)v;
	case PIT_RW_MSB:
		return (uint8_t)(v >> 8);
	default:
		c->read_msb = !c->read_msb;
		return (uint8_t)(c->read_msb ? v : v >> 8);
	}
}

static void pit_counter_write(struct pit_channel *c, uint8_t v, int64_t e)
{
	switch (c->access) {
	case PIT_RW_LSB:
		c->cr = v;
		break;
	case PIT_RW_MSB:
		c->cr = (uint16_t)(v << 8);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
			/* Mode 0: the first byte stops counting and sets OUT low. */
			if (c->mode == 0) {
				pit_freeze(c, e);
				c->hold_out = false;
			}
			return;
		}
		c->write_msb = false;
		c->cr = (uint16_t)(c->write_lsb | v << 8);
		break;
	}
	pit_count_written(c, e);
}

/* Arms the timer for channel 0's next OUT rising edge after edge e; after
 * a firing (paced), no sooner than min_interval_ns after it: the edges
 * between then coalesce into one pulse, as when the host runs late. */
static void pit_arm(struct i8254 *pit, int64_t e, bool paced)
{
	int64_t r = pit_next_rise(&pit->s.ch[0], e);
	pit->s.irq_edge = r;
	int64_t t = r == PIT_NEVER ? VCLOCK_NEVER : pit_edge_time(r);
	if (t == VCLOCK_NEVER) {
		vtimer_cancel(&pit->timer);
		return;
	}
	if (paced && t - pit->last_fire_ns < pit->min_interval_ns)
		t = pit->last_fire_ns + pit->min_interval_ns;
	if (vtimer_arm(&pit->timer, t) < 0) {
		log_warn("pit: cannot arm the channel 0 timer; IRQ 0 stops");
		pit->s.irq_edge = PIT_NEVER;
	}
}

static void pit_timer_fire(void *opaque)
{
	struct i8254 *pit = opaque;
	int64_t e = pit_now(pit);
	pit->last_fire_ns = vclock_now(pit->clock);
	pit_settle(&pit->s.ch[0], e);
	irq_pulse(&pit->irq0);
	pit_arm(pit, e, true);
}

static uint64_t pit_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *pit = opaque;
	(void)size;
	if (offset >= PIT_CONTROL)
		return 0xff; /* the control register is write-only: the bus floats */
	int64_t e = pit_now(pit);
	struct pit_channel *c = &pit->s.ch[offset];
	pit_settle(c, e);
	return pit_counter_read(c, e);
}

static void pit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8254 *pit = opaque;
	(void)size;
	if (offset > PIT_CONTROL)
		return;
	int64_t e = pit_now(pit);
	for (unsigned i = 0; i < PIT_CHANNELS; i++)
		pit_settle(&pit->s.ch[i], e);
	bool out0 = pit_out_at(&pit->s.ch[0], e);
	/* A rising edge whose timer has not run yet must not be lost to the re-arm. */
	bool due = pit->s.irq_edge <= e;
	if (offset == PIT_CONTROL)
		pit_control(pit, (uint8_t)value, e);
	else
		pit_counter_write(&pit->s.ch[offset], (uint8_t)value, e);
	/* A write that takes OUT from low to high (a control word ending mode 0,
	 * say) is an edge the PIC sees, as on real hardware. */
	if (due || (!out0 && pit_out_at(&pit->s.ch[0], e)))
		irq_pulse(&pit->irq0);
	pit_arm(pit, e, false);
}

static uint64_t pit_port61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *pit = opaque;
	(void)offset;
	(void)size;
	int64_t e = pit_now(pit);
	struct pit_channel *c = &pit->s.ch[2];
	pit_settle(c, e);
	uint8_t v = pit->s.port61 & PIT_P61_RW_MASK;
	if ((e / PIT_REFRESH_CLOCKS) & 1)
		v |= PIT_P61_REFRESH;
	if (pit_out_at(c, e))
		v |= PIT_P61_OUT2;
	return v;
}

static void pit_port61_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8254 *pit = opaque;
	(void)offset;
	(void)size;
	int64_t e = pit_now(pit);
	struct pit_channel *c = &pit->s.ch[2];
	pit_settle(c, e);
	pit->s.port61 = value & PIT_P61_RW_MASK;
	pit_set_gate(c, value & PIT_P61_GATE2, e);
}

const struct bus_ops pit_ops = {
	.read = pit_read,
	.write = pit_write,
	.min_size = 1,
	.max_size = 1,
};

const struct bus_ops pit_port61_ops = {
	.read = pit_port61_read,
	.write = pit_port61_write,
	.min_size = 1,
	.max_size = 1,
};

void pit_reset(struct i8254 *pit)
{
	vtimer_cancel(&pit->timer);
	pit->s.irq_edge = PIT_NEVER;
	pit->s.port61 = 0;
	for (unsigned i = 0; i < PIT_CHANNELS; i++) {
		struct pit_channel *c = &pit->s.ch[i];
		memset(c, 0, sizeof(*c));
		c->mode_bits = 3;
		c->mode = 3;
		c->access = PIT_RW_LSB_MSB;
		c->hold_out = true;
		c->gate = i != 2; /* channel 2's GATE is port 0x61 bit 0 */
		c->load_edge = PIT_NEVER;
	}
}

#define PIT_CHANNEL_FIELDS(i)                                    \
	DEVICE_FIELD(struct pit_state, ch[i].mode_bits),         \
	DEVICE_FIELD(struct pit_state, ch[i].mode),              \
	DEVICE_FIELD(struct pit_state, ch[i].access),            \
	DEVICE_BOOL(struct pit_state, ch[i].bcd),                \
	DEVICE_BOOL(struct pit_state, ch[i].gate),               \
	DEVICE_FIELD(struct pit_state, ch[i].cr),                \
	DEVICE_BOOL(struct pit_state, ch[i].cr_valid),           \
	DEVICE_BOOL(struct pit_state, ch[i].write_msb),          \
	DEVICE_FIELD(struct pit_state, ch[i].write_lsb),         \
	DEVICE_BOOL(struct pit_state, ch[i].read_msb),           \
	DEVICE_BOOL(struct pit_state, ch[i].count_latched),      \
	DEVICE_BOOL(struct pit_state, ch[i].latch_msb),          \
	DEVICE_FIELD(struct pit_state, ch[i].latch),             \
	DEVICE_BOOL(struct pit_state, ch[i].status_latched),     \
	DEVICE_FIELD(struct pit_state, ch[i].status),            \
	DEVICE_BOOL(struct pit_state, ch[i].running),            \
	DEVICE_FIELD(struct pit_state, ch[i].phase_edge),        \
	DEVICE_FIELD(struct pit_state, ch[i].phase_count),       \
	DEVICE_FIELD(struct pit_state, ch[i].phase_offset),      \
	DEVICE_BOOL(struct pit_state, ch[i].tc_done),            \
	DEVICE_FIELD(struct pit_state, ch[i].hold_value),        \
	DEVICE_BOOL(struct pit_state, ch[i].hold_out),           \
	DEVICE_BOOL(struct pit_state, ch[i].pending),            \
	DEVICE_FIELD(struct pit_state, ch[i].pending_edge),      \
	DEVICE_FIELD(struct pit_state, ch[i].pending_count),     \
	DEVICE_FIELD(struct pit_state, ch[i].pending_offset),    \
	DEVICE_FIELD(struct pit_state, ch[i].load_edge)

static const struct device_field pit_fields[] = {
	PIT_CHANNEL_FIELDS(0),
	PIT_CHANNEL_FIELDS(1),
	PIT_CHANNEL_FIELDS(2),
	DEVICE_FIELD(struct pit_state, port61),
	DEVICE_FIELD(struct pit_state, irq_edge),
};

/* Edges beyond any virtual time (pit_edge_at(INT64_MAX) is about 2^53) yet
 * far enough from INT64_MAX that edge + count arithmetic cannot overflow. */
#define PIT_EDGE_LIMIT (1LL << 60)

static bool pit_edge_ok(int64_t e)
{
	return e >= 0 && e < PIT_EDGE_LIMIT;
}

/* What pit_value_at and friends divide by and add up: the counts of a phase
 * within 1..65536 (BCD counts with invalid digits exceed 9999), offsets
 * within the period, edges in range, a pending phase only after the current
 * one in modes 2 and 3. */
static bool pit_channel_ok(const struct pit_channel *c)
{
	uint8_t mode = c->mode_bits >= 6 ? c->mode_bits - 4 : c->mode_bits;
	if (c->mode_bits > 7 || c->mode != mode || c->access < PIT_RW_LSB || c->access > PIT_RW_LSB_MSB)
		return false;
	if (c->hold_value > 0xffff || c->phase_count > 65536 || c->phase_offset > c->phase_count ||
	    !pit_edge_ok(c->phase_edge) || (c->running && c->phase_count == 0))
		return false;
	if (c->load_edge != PIT_NEVER && !pit_edge_ok(c->load_edge))
		return false;
	if (!c->pending)
		return true;
	return c->running && (c->mode == 2 || c->mode == 3) && c->pending_count >= 1 &&
	       c->pending_count <= 65536 && c->pending_offset <= c->pending_count &&
	       pit_edge_ok(c->pending_edge) && c->pending_edge > c->phase_edge;
}

static int pit_post_load(struct device *dev, char *why, size_t why_len)
{
	struct i8254 *pit = container_of(dev, struct i8254, dev);
	const struct pit_state *s = &pit->s;
	for (unsigned i = 0; i < PIT_CHANNELS; i++) {
		if (!pit_channel_ok(&s->ch[i])) {
			snprintf(why, why_len, "%s: channel %u state out of range", dev->name, i);
			return -EINVAL;
		}
	}
	/* GATE 0 and 1 are tied high; GATE 2 is port 0x61 bit 0. */
	if (s->port61 > PIT_P61_RW_MASK || !s->ch[0].gate || !s->ch[1].gate ||
	    s->ch[2].gate != (s->port61 & PIT_P61_GATE2)) {
		snprintf(why, why_len, "%s: port 0x61 or GATE inconsistent", dev->name);
		return -EINVAL;
	}
	if (s->irq_edge != PIT_NEVER && !pit_edge_ok(s->irq_edge)) {
		snprintf(why, why_len, "%s: IRQ 0 edge out of range", dev->name);
		return -EINVAL;
	}
	/* The timer is armed for irq_edge's time, as pit_arm left it; an edge
	 * already due fires at once, as it would have without the snapshot. */
	int64_t t = s->irq_edge == PIT_NEVER ? VCLOCK_NEVER : pit_edge_time(s->irq_edge);
	if (vtimer_set_deadline(&pit->timer, t) < 0) {
		snprintf(why, why_len, "%s: out of memory", dev->name);
		return -ENOMEM;
	}
	return 0;
}

static void pit_device_reset(struct device *dev)
{
	pit_reset(container_of(dev, struct i8254, dev));
}

static void pit_device_destroy(struct device *dev)
{
	pit_destroy(container_of(dev, struct i8254, dev));
}

static const struct device_class pit_class = {
	.type = "i8254",
	.version = 1,
	.fields = pit_fields,
	.nfields = ARRAY_SIZE(pit_fields),
	.reset = pit_device_reset,
	.post_load = pit_post_load,
	.destroy = pit_device_destroy,
};

struct device *pit_device(struct i8254 *pit)
{
	return &pit->dev;
}

void pit_set_min_interval(struct i8254 *pit, int64_t ns)
{
	pit->min_interval_ns = ns;
}

struct i8254 *pit_create(struct vclock *clock, const struct irq_line *irq0)
{
	struct i8254 *pit = calloc(1, sizeof(*pit));
	if (!pit)
		return NULL;
	pit->clock = clock;
	if (irq0)
		pit->irq0 = *irq0;
	pit->min_interval_ns = PIT_MIN_INTERVAL_NS;
	vtimer_init(&pit->timer, clock, pit_timer_fire, pit);
	device_init(&pit->dev, &pit_class, "pit", &pit->s);
	pit_reset(pit);
	return pit;
}

void pit_destroy(struct i8254 *pit)
{
	if (!pit)
		return;
	vtimer_cancel(&pit->timer);
	free(pit);
}
