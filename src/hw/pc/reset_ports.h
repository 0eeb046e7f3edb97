/* SPDX-License-Identifier: MIT */
/*
 * The PC's two chipset reset ports:
 *  - port 0x92, System Control Port A ("fast A20 and reset", PS/2 and every
 *    chipset since): bit 0 fast reset, a 0 → 1 transition resets the system;
 *    bit 1 A20 gate; the other bits are stored and read back;
 *  - port 0xcf9, the PIIX3 Reset Control register (Intel 82371SB datasheet,
 *    "RC - Reset Control Register"; ICH's RST_CNT keeps the layout): bit 1
 *    SRST (hard reset), bit 2 RCPU (reset now), bit 3 full reset on ICH.
 * Reset requests call the callback given at creation. The A20 gate is kept
 * and readable only: x86v never masks address line 20 (guest RAM is always
 * reached unmasked), so the gate starts enabled.
 *
 * Port 0xcf9 lies inside 0xcf8..0xcfb, the PCI configuration address
 * register. A PCI host bridge that claims those four ports forwards byte
 * accesses at 0xcf9 to reset_cf9_bus_ops (offset 0) instead of this region
 * being added to the bus; the bus refuses overlapping regions.
 *
 * Locking: every function here is called with the machine lock held.
 */
#ifndef X86V_HW_PC_RESET_PORTS_H
#define X86V_HW_PC_RESET_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mem/bus.h"

struct device;
struct reset_ports;

#define RESET_PORT92 0x92
#define RESET_PORT_CF9 0xcf9

#define RESET_PORT92_FAST_RESET 0x01 /* ALT_RESET */
#define RESET_PORT92_A20 0x02 /* ALT_GATE_A20 */

#define RESET_CF9_SRST 0x02 /* system (hard) reset rather than CPU INIT */
#define RESET_CF9_RCPU 0x04 /* writing 1 starts the reset */
#define RESET_CF9_FULL_RST 0x08 /* ICH: full power cycle */
#define RESET_CF9_MASK (RESET_CF9_SRST | RESET_CF9_RCPU | RESET_CF9_FULL_RST)

/*
 * Creates both ports at power-on: port 0x92 reads RESET_PORT92_A20, 0xcf9
 * reads 0. reset(opaque) is called from inside the guest's port write: it
 * must only request the reset (this device is still in use when it returns);
 * it may be NULL. Hard and soft resets both reach it. Returns NULL only when
 * out of memory.
 */
struct reset_ports *reset_ports_create(void (*reset)(void *opaque), void *opaque) MUST_CHECK;
/* System reset: clears the fast-reset bit of port 0x92 (A20 and the rest
 * keep their values, as QEMU does) and the whole of 0xcf9. */
void reset_ports_reset(struct reset_ports *rp);
/* Frees rp. NULL is ignored. */
void reset_ports_destroy(struct reset_ports *rp);
/* Both ports as a device object (reset, snapshots), named "reset-ports". */
struct device *reset_ports_device(struct reset_ports *rp);

/* One-byte regions, byte accesses only; opaque is the struct reset_ports. */
extern const struct bus_ops reset_port92_bus_ops;
extern const struct bus_ops reset_cf9_bus_ops;

/* The A20 gate of port 0x92 (always enabled in effect; see above). */
bool reset_a20_enabled(const struct reset_ports *rp);

#endif
