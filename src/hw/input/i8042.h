/* SPDX-License-Identifier: MIT */
/*
 * The 8042 keyboard controller of the PC/AT and PS/2 (data port 0x60,
 * command/status port 0x64, keyboard IRQ 1, auxiliary-device IRQ 12) with
 * an MF2 keyboard attached and no PS/2 mouse.
 *
 * The controller's output port carries the system reset line (bit 0) and the
 * A20 gate (bit 1). A reset request calls the callback given at creation. The
 * A20 state is kept and readable, but x86v does not mask address line 20:
 * guest RAM is always reached unmasked, as with A20 enabled, so the gate
 * starts enabled.
 *
 * Locking: every function here is called with the machine lock held.
 */
#ifndef X86V_HW_INPUT_I8042_H
#define X86V_HW_INPUT_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "hw/irq.h"
#include "mem/bus.h"

struct device;
struct i8042;

#define I8042_DATA_PORT 0x60
#define I8042_COMMAND_PORT 0x64 /* reads: status */
#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12

/* Status register (port 0x64 read). */
#define I8042_STR_OBF 0x01 /* output buffer full */
#define I8042_STR_IBF 0x02 /* input buffer full: always 0, writes are taken at once */
#define I8042_STR_SYSFLAG 0x04 /* the command byte's system flag */
#define I8042_STR_CMDDAT 0x08 /* A2: the last write went to port 0x64 */
#define I8042_STR_KEYLOCK 0x10 /* 1: keyboard not inhibited by the key lock */
#define I8042_STR_AUXDATA 0x20 /* the output buffer holds auxiliary-device data */
#define I8042_STR_TIMEOUT 0x40
#define I8042_STR_PARITY 0x80

/* Command byte (controller RAM byte 0). */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYSFLAG 0x04
#define I8042_CTR_IGNKEYLOCK 0x08
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

/* Output port (commands 0xd0/0xd1). */
#define I8042_OUT_RESET 0x01 /* 0 holds the system in reset */
#define I8042_OUT_A20 0x02
#define I8042_OUT_LINES 0xcc /* aux and keyboard clock/data lines, idle high */
#define I8042_OUT_KBD_OBF 0x10 /* IRQ1 pin */
#define I8042_OUT_AUX_OBF 0x20 /* IRQ12 pin */

/* Controller commands (port 0x64 write). */
#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_AUX_TEST 0xa9
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_KBD_TEST 0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_READ_INPUT 0xc0
#define I8042_CMD_READ_OUTPUT 0xd0
#define I8042_CMD_WRITE_OUTPUT 0xd1
#define I8042_CMD_WRITE_KBD_OBUF 0xd2
#define I8042_CMD_WRITE_AUX_OBUF 0xd3 /* Linux's "AUX loopback" */
#define I8042_CMD_WRITE_AUX 0xd4
/* 0xf0..0xff: pulse output port bits 3..0 where the command's bit is 0 (even ones pulse reset) */
#define I8042_CMD_PULSE 0xf0

#define I8042_SELF_TEST_OK 0x55
#define I8042_INPUT_PORT 0x80 /* keyboard not inhibited */

/* Keyboard commands and replies (port 0x60 write, no controller command pending). */
#define KBD_CMD_SET_LEDS 0xed
#define KBD_CMD_ECHO 0xee
#define KBD_CMD_SCANCODE_SET 0xf0
#define KBD_CMD_IDENTIFY 0xf2
#define KBD_CMD_TYPEMATIC 0xf3
#define KBD_CMD_ENABLE 0xf4
#define KBD_CMD_DISABLE 0xf5 /* and restore defaults */
#define KBD_CMD_DEFAULTS 0xf6
#define KBD_CMD_RESEND 0xfe
#define KBD_CMD_RESET 0xff
#define KBD_REPLY_BAT_OK 0xaa
#define KBD_REPLY_ECHO 0xee
#define KBD_REPLY_ACK 0xfa
#define KBD_REPLY_RESEND 0xfe
#define KBD_ID_MF2_1 0xab
#define KBD_ID_MF2_2 0x83 /* 0x41 when the controller translates */

/*
 * Creates the controller and keyboard at power-on: command byte KBDINT |
 * AUXINT (no translation), output port with reset inactive and A20 enabled,
 * keyboard scanning in set 2. *irq1 and *irq12 are copied; NULL leaves a
 * line unconnected. reset(opaque) is called from inside a guest port write
 * whenever the guest asks for a system reset: it must only request the
 * reset (the device is still in use when it returns), and may be NULL.
 * Returns NULL only when out of memory.
 */
struct i8042 *i8042_create(const struct irq_line *irq1, const struct irq_line *irq12,
			   void (*reset)(void *opaque), void *opaque) MUST_CHECK;
/* System reset: the state of i8042_create(), queues emptied, IRQs lowered. */
void i8042_reset(struct i8042 *kbd);
/* Frees kbd. NULL is ignored. */
void i8042_destroy(struct i8042 *kbd);
/* The controller and keyboard as a device object (reset, snapshots), named "i8042". */
struct device *i8042_device(struct i8042 *kbd);

/* One-byte port regions, byte accesses only; opaque is the struct i8042.
 * Data at port 0x60, command/status at port 0x64 (0x61..0x63 belong to
 * other devices). */
extern const struct bus_ops i8042_data_bus_ops;
extern const struct bus_ops i8042_command_bus_ops;

/*
 * Host → guest: a byte from the keyboard, queued behind what the keyboard
 * already sent. The byte is delivered as given: the controller's set 2 → set
 * 1 translation (command byte XLATE) is not applied to injected bytes, so the
 * caller supplies the set the guest reads. Returns 0, -EAGAIN while the
 * guest has disabled scanning (the keyboard discards keys then), or -ENOSPC
 * when the keyboard's 16-byte buffer is full.
 */
int i8042_key(struct i8042 *kbd, uint8_t scancode);

/* The A20 gate of the output port (always enabled in effect; see above). */
bool i8042_a20_enabled(const struct i8042 *kbd);

#endif
