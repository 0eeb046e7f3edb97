/* SPDX-License-Identifier: MIT */
/*
 * Firmware ROM loading: the image is mapped read-only so that it ends at
 * 4 GiB (where the reset vector, physical 0xFFFFFFF0, lies), and its last
 * 128 KiB are copied into RAM ending at 0xFFFFF, the "shadowed" BIOS area
 * real-mode code runs from once its first far jump reloads CS (SDM Vol. 3A
 * §9.1.4). Not implemented: PAM register control of the shadow area (it is
 * plain writable RAM), option ROMs, flash writes.
 */
#ifndef X86V_BOOT_BIOS_H
#define X86V_BOOT_BIOS_H

#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"
#include "cpu/x86_state.h"
#include "mem/guest_ram.h"

#define BIOS_MIN_SIZE (64 * KiB)
#define BIOS_MAX_SIZE (16 * MiB)
#define BIOS_SIZE_ALIGN (4 * KiB)
/* How much of the image's tail is copied below 1 MiB, and where that copy ends (exclusive). */
#define BIOS_SHADOW_MAX (128 * KiB)
#define BIOS_SHADOW_END 0x100000ULL

/*
 * Loads a firmware ROM of BIOS_MIN_SIZE..BIOS_MAX_SIZE bytes, a multiple of
 * 4 KiB: mapped read-only ending at 4 GiB (ram_set_rom, replacing an earlier
 * ROM), its last BIOS_SHADOW_MAX bytes (the whole image if smaller) also
 * copied into RAM ending at 0xFFFFF. Sets *cpu to the reset state (F000:FFF0,
 * first fetch at 0xFFFFFFF0). image is only read; name is used in messages.
 * Returns 0 or -errno; on error why (if why_len > 0) holds one line naming
 * the image and the problem, and *cpu is untouched.
 */
int bios_load_image(struct guest_ram *ram, const char *name, const uint8_t *image, size_t size,
		    struct x86_cpu_state *cpu, char *why, size_t why_len) MUST_CHECK;

/*
 * As bios_load_image() for the regular file at path; the size is checked
 * before anything is read, so a huge file or a device is refused cheaply.
 */
int bios_load_file(struct guest_ram *ram, const char *path, struct x86_cpu_state *cpu, char *why,
		   size_t why_len) MUST_CHECK;

#endif
