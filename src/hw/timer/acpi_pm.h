/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed-hardware PM registers (ACPI 6.5 §4.8.3): the PM1a event block
 * (PM1_STS, PM1_EN), the PM1a control block (PM1_CNT) and the power
 * management timer, at the PIIX4-style I/O layout QEMU's pc machine uses:
 *
 *   ACPI_PM_BASE + 0  PM1a_EVT_BLK  PM1_STS (2 bytes), PM1_EN (2 bytes)
 *   ACPI_PM_BASE + 4  PM1a_CNT_BLK  PM1_CNT (2 bytes)
 *   ACPI_PM_BASE + 8  PM_TMR_BLK    PM_TMR (4 bytes, read-only)
 *
 * One port region of ACPI_PM_REGION_SIZE bytes covers all three. The timer
 * counts at 3.579545 MHz from virtual time, 24 bits wide (FADT TMR_VAL_EXT
 * clear); TMR_STS is set each time bit 23 changes, with an SCI when TMR_EN.
 * SLP_EN written with the S5 SLP_TYP calls the power-off callback.
 *
 * SMI_CMD is absent (FADT SMI_CMD = 0): the system is always in ACPI mode,
 * so SCI_EN reads 1 from reset. Not implemented: PM1b blocks, PM2, GPE
 * blocks, sleep states other than S5 (logged and ignored), RTC alarm wake.
 */
#ifndef X86V_HW_TIMER_ACPI_PM_H
#define X86V_HW_TIMER_ACPI_PM_H

#include <stdint.h>

#include "core/compiler.h"
#include "core/vclock.h"
#include "hw/irq.h"
#include "mem/bus.h"

#define ACPI_PM_BASE 0x600
#define ACPI_PM1A_EVT_BLK (ACPI_PM_BASE + 0)
#define ACPI_PM1A_CNT_BLK (ACPI_PM_BASE + 4)
#define ACPI_PM_TMR_BLK (ACPI_PM_BASE + 8)
#define ACPI_PM_REGION_SIZE 12
#define ACPI_PM_SCI_IRQ 9
#define ACPI_PM_TIMER_HZ 3579545ULL
/* SLP_TYP for S5, as on the PIIX4 (SUS_TYP 000 = soft off) and QEMU; the DSDT's \_S5 says the same. */
#define ACPI_PM_SLP_TYP_S5 0

/* Register offsets within the region. */
#define ACPI_PM1_STS 0
#define ACPI_PM1_EN 2
#define ACPI_PM1_CNT 4
#define ACPI_PM_TMR 8

/* PM1_STS / PM1_EN bits (ACPI 6.5 Tables 4.16, 4.17). */
#define ACPI_PM1_TMR_STS 0x0001
#define ACPI_PM1_BM_STS 0x0010
#define ACPI_PM1_GBL_STS 0x0020
#define ACPI_PM1_PWRBTN_STS 0x0100
#define ACPI_PM1_SLPBTN_STS 0x0200
#define ACPI_PM1_RTC_STS 0x0400
#define ACPI_PM1_WAK_STS 0x8000
#define ACPI_PM1_TMR_EN 0x0001
#define ACPI_PM1_GBL_EN 0x0020
#define ACPI_PM1_PWRBTN_EN 0x0100
#define ACPI_PM1_SLPBTN_EN 0x0200
#define ACPI_PM1_RTC_EN 0x0400

/* PM1_CNT bits (Table 4.18). */
#define ACPI_PM1_SCI_EN 0x0001
#define ACPI_PM1_BM_RLD 0x0002
#define ACPI_PM1_GBL_RLS 0x0004
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK 0x1c00
#define ACPI_PM1_SLP_EN 0x2000

struct acpi_pm;
struct device;

/*
 * Creates the block in its reset state. clock must outlive it; *sci is copied
 * (NULL: unconnected). poweroff(opaque) runs when the guest enters S5; it may
 * be NULL. Returns NULL only when out of memory.
 */
struct acpi_pm *acpi_pm_create(struct vclock *clock, const struct irq_line *sci,
			       void (*poweroff)(void *opaque), void *opaque) MUST_CHECK;
void acpi_pm_reset(struct acpi_pm *pm);
/* Cancels its timer and frees. NULL is ignored. */
void acpi_pm_destroy(struct acpi_pm *pm);
/* The block as a device object (reset, snapshots), named "acpi-pm". */
struct device *acpi_pm_device(struct acpi_pm *pm);

/* Host side: the power button was pressed (sets PWRBTN_STS; SCI if enabled). */
void acpi_pm_power_button(struct acpi_pm *pm);
/* The current 24-bit PM timer value. */
uint32_t acpi_pm_timer_value(const struct acpi_pm *pm);

/* The region at ACPI_PM_BASE, 1..4-byte accesses; opaque is the struct acpi_pm. */
extern const struct bus_ops acpi_pm_bus_ops;

#endif
