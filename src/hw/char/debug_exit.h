/* SPDX-License-Identifier: MIT */
/*
 * Two tiny ISA ports test guests and firmware use:
 * - debug-exit (0xf4): a write of V ends x86v with status (V << 1) | 1, the
 *   convention of QEMU's isa-debug-exit, so a guest can report pass/fail;
 *   a byte written to 0xf5 ends x86v with exactly that status (how the Linux
 *   guest's /init hands a script's exit status to the host through /dev/port);
 * - POST (0x80): firmware progress codes, kept so a read returns the last code.
 */
#ifndef X86V_HW_CHAR_DEBUG_EXIT_H
#define X86V_HW_CHAR_DEBUG_EXIT_H

#include <stdint.h>
#include "mem/bus.h"

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_REGION_SIZE 4
#define DEBUG_EXIT_STATUS_OFFSET 1 /* port 0xf5 */
#define POST_PORT 0x80

struct debug_exit {
	void (*exit)(void *opaque, int status);
	void *opaque;
};

struct post_port {
	uint8_t last;
};

/* Region of DEBUG_EXIT_REGION_SIZE ports; writes of 1, 2 or 4 bytes at offset 0. */
extern const struct bus_ops debug_exit_bus_ops;
/* One port. */
extern const struct bus_ops post_port_bus_ops;

#endif
