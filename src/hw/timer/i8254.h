/* SPDX-License-Identifier: MIT */
/*
 * The PC's 8254 programmable interval timer at ports 0x40..0x43, clocked at
 * 1.193182 MHz: channel 0's OUT drives ISA IRQ 0, channel 1 (DRAM refresh on
 * old PCs) drives nothing, channel 2's GATE and OUT reach the CPU through
 * port 0x61, "system control port B", which also feeds the speaker and
 * carries the refresh toggle. Both regions live here because port 0x61 is
 * the PIT's gate/out port.
 *
 * Time comes only from the virtual clock: counter values and OUT levels are
 * computed from elapsed virtual time on a free-running grid of clock edges
 * (edge k at ceil(k * 1e9 / PIT_CLOCK_HZ) ns); one vtimer, armed only for
 * channel 0's next OUT rising edge, pulses IRQ 0 (high then low at once), so
 * an edge-triggered PIC input latches it. Edges the host ran too late to see
 * coalesce into one pulse, as the PIC's single IRR bit would anyway.
 *
 * Locking: every function here is called with the machine lock held.
 */
#ifndef X86V_HW_TIMER_I8254_H
#define X86V_HW_TIMER_I8254_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/vclock.h"
#include "hw/irq.h"
#include "mem/bus.h"

struct device;
struct i8254;

#define PIT_BASE 0x40
#define PIT_REGION_SIZE 4
#define PIT_PORT61 0x61
#define PIT_PORT61_SIZE 1
#define PIT_CLOCK_HZ 1193182
#define PIT_IRQ 0

/* Port offsets in the PIT region. */
#define PIT_COUNTER0 0
#define PIT_COUNTER1 1
#define PIT_COUNTER2 2
#define PIT_CONTROL 3 /* write-only */

/* Control word: SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
#define PIT_CW_BCD 0x01
#define PIT_CW_MODE_MASK 0x0e
#define PIT_CW_MODE_SHIFT 1
#define PIT_CW_RW_MASK 0x30
#define PIT_CW_RW_SHIFT 4
#define PIT_CW_SC_MASK 0xc0
#define PIT_CW_SC_SHIFT 6
#define PIT_RW_LATCH 0 /* counter latch command */
#define PIT_RW_LSB 1
#define PIT_RW_MSB 2
#define PIT_RW_LSB_MSB 3
#define PIT_SC_READ_BACK 3

/* Read-back command (SC = 3): the select bits, and COUNT/STATUS active low. */
#define PIT_RB_CNT0 0x02
#define PIT_RB_CNT1 0x04
#define PIT_RB_CNT2 0x08
#define PIT_RB_NSTATUS 0x10 /* 0: latch status */
#define PIT_RB_NCOUNT 0x20 /* 0: latch count */

/* Status byte: OUT, NULL COUNT, then the control word's RW, M and BCD bits. */
#define PIT_STATUS_OUT 0x80
#define PIT_STATUS_NULL_COUNT 0x40

/* Port 0x61. Bits 0..3 are read/write, 4..7 read-only. */
#define PIT_P61_GATE2 0x01 /* channel 2 GATE */
#define PIT_P61_SPKR_DATA 0x02 /* speaker follows channel 2 OUT */
#define PIT_P61_PCK_DISABLE 0x04 /* parity check (SERR#) disable; stored only */
#define PIT_P61_IOCHK_DISABLE 0x08 /* IOCHK# disable; stored only */
#define PIT_P61_RW_MASK 0x0f
#define PIT_P61_REFRESH 0x10 /* toggles once per refresh period */
#define PIT_P61_OUT2 0x20 /* channel 2 OUT */
#define PIT_REFRESH_CLOCKS 18 /* refresh period: 18 PIT clocks, ~15.09 us */

/*
 * Creates the PIT in its reset state (see pit_reset). clock must outlive it;
 * *irq0 is copied, NULL leaves IRQ 0 unconnected. Returns NULL only when out
 * of memory.
 */
struct i8254 *pit_create(struct vclock *clock, const struct irq_line *irq0) MUST_CHECK;
/*
 * IRQ 0's host timer fires at most every PIT_MIN_INTERVAL_NS while the
 * channel runs by itself (KVM's in-kernel PIT paces its periodic timer the
 * same way, min_timer_period_us): a guest that sets a count of 2 in mode 2
 * would otherwise keep the event loop busy 600,000 times a second. The edges
 * in between coalesce into the next pulse, as when the host runs late; the
 * counter and OUT read back exactly. The first edge after a guest's write is
 * not held back. pit_set_min_interval changes it (0: every edge, for tests
 * of the chip's timing).
 */
#define PIT_MIN_INTERVAL_NS 200000
void pit_set_min_interval(struct i8254 *pit, int64_t ns);
/*
 * Every channel as after control word 0x36 (mode 3, LSB then MSB, binary) with
 * no count written yet: not counting, OUT high, so no IRQ 0 until the guest
 * programs channel 0 (the chip's power-up state is undefined and firmware
 * always programs it). Port 0x61 reads 0 in bits 0..3: channel 2's gate low.
 */
void pit_reset(struct i8254 *pit);
/* Cancels the timer and frees pit. NULL is ignored. */
void pit_destroy(struct i8254 *pit);
/* The PIT as a device object (reset, snapshots), named "pit"; port 0x61's
 * bits are part of its state. */
struct device *pit_device(struct i8254 *pit);

/* PIT_REGION_SIZE ports at PIT_BASE and PIT_PORT61_SIZE at PIT_PORT61; byte
 * accesses; opaque is the struct i8254 for both. */
extern const struct bus_ops pit_ops;
extern const struct bus_ops pit_port61_ops;

#endif
