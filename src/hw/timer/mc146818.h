/* SPDX-License-Identifier: MIT */
/*
 * The MC146818A real-time clock and its CMOS RAM, as wired on a PC: index
 * port 0x70 (bit 7 of the byte written there is the NMI mask, a separate
 * latch in the chipset), data port 0x71, IRQ 8.
 *
 * Time: the clock shows the caller's base time (seconds since 1970-01-01
 * 00:00, read as the RTC's own calendar, so UTC or local time is the
 * caller's choice) at the virtual time of rtc_create() and then advances
 * with the virtual clock only (and rtc_advance_wall_clock's steps); the host
 * clock is never read.
 *
 * Locking: every function here is called with the machine lock held (device
 * accesses, timer callbacks and board calls all hold it).
 */
#ifndef X86V_HW_TIMER_MC146818_H
#define X86V_HW_TIMER_MC146818_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/compiler.h"
#include "core/vclock.h"
#include "hw/irq.h"
#include "mem/bus.h"

struct device;
struct mc146818;

#define RTC_REGION_SIZE 2 /* index (offset 0, port 0x70) and data (offset 1, port 0x71) */
#define RTC_CMOS_SIZE 128
#define RTC_INDEX_NMI_DISABLE 0x80 /* bit 7 of the index port: mask NMI */

/* Register indices (datasheet Figure 3, "Address map"). */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06 /* 1..7, Sunday = 1 */
#define RTC_DATE_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32 /* PC convention; the ACPI FADT's CENTURY field names it */

#define RTC_REG_A_UIP 0x80 /* update in progress (read-only) */
#define RTC_REG_A_DV_MASK 0x70 /* DV2..DV0: divider control */
#define RTC_REG_A_DV_32KHZ 0x20 /* the PC's 32.768 kHz time base, normal operation */
#define RTC_REG_A_DV_RESET 0x60 /* 11x: divider chain held in reset */
#define RTC_REG_A_RS_MASK 0x0f /* RS3..RS0: periodic interrupt rate */

#define RTC_REG_B_SET 0x80
#define RTC_REG_B_PIE 0x40
#define RTC_REG_B_AIE 0x20
#define RTC_REG_B_UIE 0x10
#define RTC_REG_B_SQWE 0x08
#define RTC_REG_B_DM 0x04 /* 1: binary, 0: BCD */
#define RTC_REG_B_24H 0x02 /* 1: 24-hour mode, 0: 12-hour mode with the PM bit */
#define RTC_REG_B_DSE 0x01

#define RTC_REG_C_IRQF 0x80
#define RTC_REG_C_PF 0x40
#define RTC_REG_C_AF 0x20
#define RTC_REG_C_UF 0x10

#define RTC_REG_D_VRT 0x80

#define RTC_HOURS_PM 0x80 /* 12-hour mode */
#define RTC_ALARM_DONT_CARE 0xc0 /* an alarm byte of 0xc0..0xff matches every value */

/*
 * Creates the RTC at power-on: register A 0x26 (32.768 kHz, 1024 Hz rate),
 * B 0x02 (24-hour, BCD, no interrupts), C 0, D VRT, CMOS RAM zero, NMI
 * unmasked, showing base (seconds since 1970-01-01 00:00; the board passes
 * time(NULL)). Bases outside years 1970..9999 are clamped into that range.
 * clock must outlive the RTC (its timers live on it). *irq is copied; NULL
 * leaves the RTC unconnected. Returns NULL only when out of memory.
 */
struct mc146818 *rtc_create(struct vclock *clock, const struct irq_line *irq,
			    time_t base) MUST_CHECK;
/*
 * The chip's RESET pin (datasheet "RESET"): clears PIE, AIE, UIE, SQWE and
 * register C and lowers IRQ; the time, the other registers and the CMOS RAM
 * keep their values, as on a PC whose RTC runs from its battery.
 */
void rtc_reset(struct mc146818 *rtc);
/* Cancels the timers and frees rtc. NULL is ignored. */
void rtc_destroy(struct mc146818 *rtc);
/*
 * The RTC as a device object (snapshots; its reset is rtc_reset), named
 * "rtc". A snapshot keeps the time as it relates to the virtual clock, so a
 * restored guest sees the time it saw when saved; see rtc_advance_wall_clock.
 * A record the load refuses leaves the RTC as rtc_create() made it (its base
 * time then shown as advanced since) and reset.
 */
struct device *rtc_device(struct mc146818 *rtc);
/*
 * Moves the running clock's time by seconds (after a snapshot restore: the
 * time the snapshot sat on disk), keeping the divider's phase, as if the
 * guest had written the time registers: no update-ended or alarm flags for
 * the seconds skipped; the alarm and update timers are re-armed. A clock
 * the guest stopped (SET, divider reset) keeps the time in its registers.
 */
void rtc_advance_wall_clock(struct mc146818 *rtc, int64_t seconds);

/* Port region of RTC_REGION_SIZE bytes, byte accesses only; opaque is the struct mc146818. */
extern const struct bus_ops rtc_bus_ops;

/*
 * Board side: stores value at CMOS index (0..127; larger indices are
 * ignored) exactly as a guest write through port 0x71 would, so indices
 * 0x00..0x0d and 0x32 reach the clock registers.
 */
void rtc_set_cmos(struct mc146818 *rtc, unsigned index, uint8_t value);
/* Board side: what a guest would read at CMOS index, side effects included
 * (reading register C clears it); 0xff for indices past 127. */
uint8_t rtc_get_cmos(struct mc146818 *rtc, unsigned index);

/*
 * Writes the memory-size bytes firmware reads (QEMU's layout, which SeaBIOS
 * expects): 0x15/0x16 base memory in KiB (at most 640), 0x17/0x18 and
 * 0x30/0x31 memory from 1 MiB up to low_ram_bytes in KiB (capped at 0xffff),
 * 0x34/0x35 memory from 16 MiB up to low_ram_bytes in 64 KiB units (capped at
 * 0xffff), 0x5b/0x5c/0x5d high_ram_bytes (RAM above 4 GiB) in 64 KiB units
 * (capped at 0xffffff). low_ram_bytes is the RAM below 4 GiB, from address 0.
 */
void rtc_set_memory_size(struct mc146818 *rtc, uint64_t low_ram_bytes, uint64_t high_ram_bytes);

/* Bit 7 of the last byte written to the index port: the guest asked to mask NMI. */
bool rtc_nmi_masked(const struct mc146818 *rtc);

#endif
