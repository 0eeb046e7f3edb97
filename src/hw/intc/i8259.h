/* SPDX-License-Identifier: MIT */
/*
 * The PC's pair of 8259A programmable interrupt controllers: the master at
 * ports 0x20/0x21 drives the CPU's INTR pin, the slave at 0xa0/0xa1 drives
 * the master's IR2 (the cascade), and the PIIX edge/level control registers
 * (ELCR) at 0x4d0/0x4d1 choose the trigger mode of each line.
 *
 * Interrupt inputs are numbered 0..15 as the PC does: 0..7 on the master,
 * 8..15 on the slave. Input 2 is the cascade wire, driven only by the slave.
 *
 * Locking: every function here is called with the machine lock held (device
 * accesses, timer callbacks, the vCPU's INTA cycle all hold it). The
 * intr_out callback runs with that lock held too.
 */
#ifndef X86V_HW_INTC_I8259_H
#define X86V_HW_INTC_I8259_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "hw/irq.h"
#include "mem/bus.h"

struct device;
struct i8259;

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE 0xa0
#define PIC_REGION_SIZE 2
#define PIC_ELCR_BASE 0x4d0
#define PIC_ELCR_SIZE 2
#define PIC_CASCADE_IRQ 2
#define PIC_NUM_IRQS 16

/* Written to offset 0 (A0 = 0): bit 4 selects ICW1, else bit 3 selects OCW3, else OCW2. */
#define ICW1_IC4 0x01 /* ICW4 follows */
#define ICW1_SNGL 0x02 /* single 8259A, no ICW3 */
#define ICW1_ADI 0x04 /* call address interval (MCS-80 only) */
#define ICW1_LTIM 0x08 /* level-triggered inputs */
#define ICW1_INIT 0x10

#define ICW4_UPM 0x01 /* 8086/8088 mode */
#define ICW4_AEOI 0x02 /* automatic EOI */
#define ICW4_MS 0x04 /* buffered mode: master (1) / slave (0) */
#define ICW4_BUF 0x08 /* buffered mode */
#define ICW4_SFNM 0x10 /* special fully nested mode */

#define OCW2_LEVEL_MASK 0x07 /* L2..L0 */
#define OCW2_EOI 0x20
#define OCW2_SL 0x40 /* specific: acts on level L */
#define OCW2_R 0x80 /* rotate */
#define OCW2_CMD_MASK 0xe0
#define OCW2_ROTATE_AEOI_CLEAR 0x00
#define OCW2_NONSPECIFIC_EOI 0x20
#define OCW2_NOP 0x40
#define OCW2_SPECIFIC_EOI 0x60
#define OCW2_ROTATE_AEOI_SET 0x80
#define OCW2_ROTATE_NONSPECIFIC_EOI 0xa0
#define OCW2_SET_PRIORITY 0xc0
#define OCW2_ROTATE_SPECIFIC_EOI 0xe0

#define OCW3_RIS 0x01 /* with RR: read ISR (1) or IRR (0) */
#define OCW3_RR 0x02
#define OCW3_P 0x04 /* poll: the next read is an interrupt acknowledge */
#define OCW3_SEL 0x08 /* distinguishes OCW3 from OCW2 */
#define OCW3_SMM 0x20 /* with ESMM: set (1) or reset (0) special mask mode */
#define OCW3_ESMM 0x40

#define PIC_POLL_I 0x80 /* poll word: an interrupt was pending; W2..W0 = its level */

/* PIIX: ELCR bits of IRQ 0, 1, 2 (master) and 8, 13 (slave) are read-only 0. */
#define PIC_ELCR_MASTER_MASK 0xf8
#define PIC_ELCR_SLAVE_MASK 0xde

/* The master's INT output to the CPU changed to level (0 or 1). */
typedef void pic_intr_fn(void *opaque, int level);

/*
 * Creates the pair in its power-up state: not initialised, every input
 * masked (IMR 0xff), vector bases 0, all lines edge-triggered (ELCR 0), the
 * cascade wired as on the PC (master ICW3 0x04, slave ID 2). The chip's
 * power-up state is undefined; firmware and kernels always program it with
 * ICW1..ICW4, which clears IMR. intr_out may be NULL. Returns NULL only when
 * out of memory.
 */
struct i8259 *pic_create(pic_intr_fn *intr_out, void *opaque) MUST_CHECK;
/* Back to the power-up state above; input levels stay as the devices drive
 * them. Lowers INT through intr_out if it was up. */
void pic_reset(struct i8259 *pic);
/* NULL is ignored. */
void pic_destroy(struct i8259 *pic);

/* The pair as one device object (reset, snapshots), named "pic". Loading a
 * snapshot restores INT as it was last driven without calling intr_out: the
 * board reads pic_intr_level() afterwards. */
struct device *pic_device(struct i8259 *pic);

/*
 * Drives input irq (0..15) to level (0 or nonzero). Edge-triggered inputs
 * latch IRR on the rising edge and keep it when the line drops; level-
 * triggered ones (ELCR bit or ICW1_LTIM) follow the line. Input 2 is the
 * cascade and irq >= 16 does not exist: both are ignored (route the ISA
 * IRQ 2 pin to 9, as the PC does).
 */
void pic_set_irq(struct i8259 *pic, unsigned irq, int level);
/* The same as an irq_set_fn (hw/irq.h); opaque is the struct i8259. */
void pic_irq_set(void *opaque, unsigned line, int level);

/*
 * The CPU's INTA cycle. Returns the vector (0..255) and moves the request
 * from IRR to ISR (or, in auto-EOI mode, only rotates if asked to). When no
 * request is left (the line dropped or was masked since INT rose), the master
 * answers a spurious IR7: its base + 7, ISR untouched; when the master picks
 * the cascade and the slave has nothing, the slave answers its base + 7 and
 * the master's ISR bit 2 is set, as the hardware does. A slave whose ICW3 ID
 * is not 2 leaves the data bus floating: 0xff. INT is updated before return.
 */
int pic_read_irq(struct i8259 *pic);
/* The master's INT output now. */
bool pic_intr_level(const struct i8259 *pic);

/* Regions of PIC_REGION_SIZE ports at PIC_MASTER_BASE / PIC_SLAVE_BASE and of
 * PIC_ELCR_SIZE at PIC_ELCR_BASE; byte accesses; opaque is the struct i8259. */
extern const struct bus_ops pic_master_ops;
extern const struct bus_ops pic_slave_ops;
extern const struct bus_ops pic_elcr_ops;

#endif
