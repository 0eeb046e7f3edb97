/* SPDX-License-Identifier: MIT */
/*
 * Firmware ROM loader (see bios.h). The reset state itself comes from
 * x86_state_reset() (SDM Vol. 3A §9.1.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/bios.h"
#include "boot/image_file.h"

static void bios_why(char *why, size_t why_len, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void bios_why(char *why, size_t why_len, const char *fmt, ...)
{
	if (!why || why_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

int bios_load_image(struct guest_ram *ram, const char *name, const uint8_t *image, size_t size,
		    struct x86_cpu_state *cpu, char *why, size_t why_len)
{
	if (size == 0) {
		bios_why(why, why_len, "%s: firmware image is empty", name);
		return -EINVAL;
	}
	if (size < BIOS_MIN_SIZE) {
		bios_why(why, why_len, "%s: firmware image too small (%zu bytes, at least %llu)", name,
			 size, (unsigned long long)BIOS_MIN_SIZE);
		return -EINVAL;
	}
	if (size > BIOS_MAX_SIZE) {
		bios_why(why, why_len, "%s: firmware image too large (%zu bytes, at most %llu)", name,
			 size, (unsigned long long)BIOS_MAX_SIZE);
		return -EFBIG;
	}
	if (size % BIOS_SIZE_ALIGN) {
		bios_why(why, why_len, "%s: firmware image size %zu is not a multiple of 4 KiB", name,
			 size);
		return -EINVAL;
	}
	size_t shadow = size < BIOS_SHADOW_MAX ? size : (size_t)BIOS_SHADOW_MAX;
	gpa_t shadow_base = BIOS_SHADOW_END - shadow;
	if (!ram_contains(ram, shadow_base, shadow)) {
		bios_why(why, why_len, "%s: guest RAM does not cover the BIOS area [0x%llx, 0x%llx)",
			 name, (unsigned long long)shadow_base, (unsigned long long)BIOS_SHADOW_END);
		return -ENOSPC;
	}
	int r = ram_set_rom(ram, image, size);
	if (r < 0) {
		bios_why(why, why_len, "%s: cannot map the firmware ROM: %s", name, strerror(-r));
		return r;
	}
	r = ram_write(ram, shadow_base, image + size - shadow, shadow);
	if (r < 0) {
		bios_why(why, why_len, "%s: cannot copy the firmware below 1 MiB: %s", name,
			 strerror(-r));
		return r;
	}
	x86_state_reset(cpu);
	return 0;
}


int bios_load_file(struct guest_ram *ram, const char *path, struct x86_cpu_state *cpu, char *why,
		   size_t why_len)
{
	uint8_t *image = NULL;
	size_t size = 0;
	int r = boot_read_file(path, "firmware image", BIOS_MAX_SIZE, &image, &size, why, why_len);
	if (r < 0)
		return r;
	r = bios_load_image(ram, path, image, size, cpu, why, why_len);
	free(image);
	return r;
}
