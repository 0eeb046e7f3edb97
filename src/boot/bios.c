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

/* Reads a whole regular file of at most limit bytes; *data is malloc'ed (NUL-padded). */
static int bios_read_file(const char *path, size_t limit, uint8_t **data, size_t *size, char *why,
			  size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		bios_why(why, why_len, "%s: cannot open firmware image: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int r = 0;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		bios_why(why, why_len, "%s: cannot stat firmware image: %s", path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		bios_why(why, why_len, "%s: firmware image is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > limit) {
		r = -EFBIG;
		bios_why(why, why_len, "%s: firmware image too large (%lld bytes, at most %zu)", path,
			 (long long)st.st_size, limit);
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len + 1);
	if (!buf) {
		r = -ENOMEM;
		bios_why(why, why_len, "%s: out of memory reading firmware image", path);
		goto out;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			bios_why(why, why_len, "%s: cannot read firmware image: %s", path,
				 n < 0 ? strerror(-r) : "file shrank while reading");
			goto out;
		}
		done += (size_t)n;
	}
	buf[len] = 0;
	*data = buf;
	*size = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int bios_load_file(struct guest_ram *ram, const char *path, struct x86_cpu_state *cpu, char *why,
		   size_t why_len)
{
	uint8_t *image = NULL;
	size_t size = 0;
	int r = bios_read_file(path, BIOS_MAX_SIZE, &image, &size, why, why_len);
	if (r < 0)
		return r;
	r = bios_load_image(ram, path, image, size, cpu, why, why_len);
	free(image);
	return r;
}
