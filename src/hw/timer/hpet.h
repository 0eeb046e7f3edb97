/* SPDX-License-Identifier: MIT */
/*
 * High Precision Event Timer (IA-PC HPET Specification 1.0a): a 64-bit main
 * counter at 100 MHz (10 ns period, as QEMU's) on the virtual clock, and
 * HPET_TIMERS comparators, each one-shot or periodic, 64- or 32-bit, edge or
 * level triggered, routed to an IOAPIC input of its Tn_INT_ROUTE_CAP (20..23)
 * or, in legacy replacement mode (LEG_RT_CNF), timer 0 to IRQ 0 and timer 1
 * to IRQ 8 in place of the PIT and the RTC. The 1 KiB register block sits
 * at HPET_BASE and is described to the guest by the ACPI HPET table.
 *
 * Not implemented: FSB (MSI-style) interrupt delivery (Tn_FSB_INT_DEL_CAP is
 * 0, so guests do not use it).
 */
#ifndef X86V_HW_TIMER_HPET_H
#define X86V_HW_TIMER_HPET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/vclock.h"
#include "hw/irq.h"
#include "mem/bus.h"

#define HPET_BASE 0xFED00000ULL
#define HPET_REGION_SIZE 0x400
#define HPET_TIMERS 3
#define HPET_PERIOD_FS 10000000u /* 10 ns: 100 MHz */
#define HPET_VENDOR_ID 0x8086u
/* IOAPIC inputs a timer may be routed to outside legacy replacement mode. */
#define HPET_ROUTE_CAP 0x00F00000u

/* Registers (offsets in the block). */
#define HPET_GCAP_ID 0x000
#define HPET_GEN_CONF 0x010
#define HPET_GINTR_STA 0x020
#define HPET_MAIN_CNT 0x0F0
#define HPET_TIMER_BASE(n) (0x100 + 0x20 * (n))
#define HPET_TN_CONF 0x00 /* within a timer's 32 bytes */
#define HPET_TN_CMP 0x08
#define HPET_TN_FSB 0x10

/* GEN_CONF bits. */
#define HPET_CONF_ENABLE 0x1
#define HPET_CONF_LEGACY 0x2

/* Tn_CONF_CAP bits. */
#define HPET_TN_LEVEL (1u << 1)
#define HPET_TN_ENABLE (1u << 2)
#define HPET_TN_PERIODIC (1u << 3)
#define HPET_TN_PERIODIC_CAP (1u << 4)
#define HPET_TN_SIZE_CAP (1u << 5) /* 64-bit comparator */
#define HPET_TN_SETVAL (1u << 6)
#define HPET_TN_32BIT (1u << 8)
#define HPET_TN_ROUTE_SHIFT 9
#define HPET_TN_ROUTE_MASK (0x1fu << HPET_TN_ROUTE_SHIFT)

struct device;
struct hpet;

struct hpet_wiring {
	/* Legacy replacement outputs: timer 0 (IRQ 0) and timer 1 (IRQ 8). */
	struct irq_line legacy[2];
	/* IOAPIC inputs: line = the input number (Tn_INT_ROUTE_CNF). */
	irq_set_fn *ioapic;
	void *ioapic_opaque;
	/* Legacy replacement mode switched on or off: the PIT's and the RTC's
	 * interrupt outputs are to be disconnected while it is on. */
	void (*legacy_changed)(void *opaque, bool on);
	void *opaque;
};

/* The block in its reset state; clock must outlive it; *wiring is copied.
 * NULL only when out of memory. */
struct hpet *hpet_create(struct vclock *clock, const struct hpet_wiring *wiring) MUST_CHECK;
/* A periodic timer's host timer fires at most every HPET_MIN_INTERVAL_NS (as
 * the PIT's, i8254.h): a period of one tick would keep the event loop busy
 * 100 million times a second. The periods in between coalesce into the next
 * interrupt, the comparator skipping them as when the host runs late.
 * hpet_set_min_interval changes it (0: every match, for tests). */
#define HPET_MIN_INTERVAL_NS 200000
void hpet_set_min_interval(struct hpet *h, int64_t ns);
void hpet_reset(struct hpet *h);
/* Cancels its timers and frees. NULL is ignored. */
void hpet_destroy(struct hpet *h);
/* The HPET as a device object (reset, snapshots), named "hpet". Loading a
 * snapshot with legacy replacement mode on calls legacy_changed(opaque, true)
 * (the reset before it calls it with false if it was on). */
struct device *hpet_device(struct hpet *h);
/* Bits 31:0 of GCAP_ID: what the ACPI HPET table's Event Timer Block ID says. */
uint32_t hpet_block_id(void);
/* Whether legacy replacement mode is on. */
bool hpet_legacy_mode(const struct hpet *h);

/* MMIO at HPET_BASE, HPET_REGION_SIZE bytes; 4- and 8-byte accesses. */
extern const struct bus_ops hpet_bus_ops;

#endif
