/* SPDX-License-Identifier: MIT */
/*
 * memfd-backed guest RAM with the PC's PCI hole, plus the firmware ROM slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/guest_ram.h"

static void ram_rebuild_slots(struct guest_ram *ram)
{
	unsigned n = 0;
	ram->slots[n++] = (struct mem_slot){ 0, ram->low_size, ram->host, false, "ram-low" };
	if (ram->size > ram->low_size)
		ram->slots[n++] = (struct mem_slot){ RAM_HIGH_BASE, ram->size - ram->low_size,
						     ram->host + ram->low_size, false, "ram-high" };
	if (ram->rom)
		ram->slots[n++] = (struct mem_slot){ RAM_HIGH_BASE - ram->rom_size, ram->rom_size,
						     ram->rom, true, "rom" };
	ram->nslots = n;
}

int ram_init(struct guest_ram *ram, uint64_t size)
{
	memset(ram, 0, sizeof(*ram));
	ram->fd = -1;
	if (size < RAM_MIN_SIZE || size > RAM_MAX_SIZE || size % (4 * KiB))
		return -EINVAL;
	int fd = memfd_create("x86v-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	/* MAP_NORESERVE: a large guest only costs what it touches. */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	ram->fd = fd;
	ram->host = p;
	ram->size = size;
	ram->low_size = size < RAM_PCI_HOLE_START ? size : RAM_PCI_HOLE_START;
	ram_rebuild_slots(ram);
	return 0;
}

void ram_destroy(struct guest_ram *ram)
{
	if (ram->host)
		munmap(ram->host, ram->size);
	if (ram->rom)
		munmap(ram->rom, ram->rom_size);
	if (ram->fd >= 0)
		close(ram->fd);
	memset(ram, 0, sizeof(*ram));
	ram->fd = -1;
}

int ram_set_rom(struct guest_ram *ram, const void *image, uint64_t size)
{
	if (size == 0 || size % (4 * KiB) || size > 16 * MiB)
		return -EINVAL;
	if (ram->rom && ram->rom_size == size) {
		/* Same size (a reset reloading it): keep the mapping engines already map. */
		memcpy(ram->rom, image, size);
		return 0;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	memcpy(p, image, size);
	if (ram->rom)
		munmap(ram->rom, ram->rom_size);
	ram->rom = p;
	ram->rom_size = size;
	ram_rebuild_slots(ram);
	return 0;
}

static const struct mem_slot *ram_slot(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	if (len == 0 || gpa + len < gpa)
		return NULL;
	for (unsigned i = 0; i < ram->nslots; i++) {
		const struct mem_slot *s = &ram->slots[i];
		if (gpa >= s->base && gpa - s->base <= s->size && len <= s->size - (gpa - s->base))
			return s;
	}
	return NULL;
}

void *ram_ptr(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	const struct mem_slot *s = ram_slot(ram, gpa, len);
	return s ? s->host + (gpa - s->base) : NULL;
}

void *ram_ptr_rw(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	const struct mem_slot *s = ram_slot(ram, gpa, len);
	return s && !s->readonly ? s->host + (gpa - s->base) : NULL;
}

bool ram_contains(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	return ram_ptr_rw(ram, gpa, len) != NULL;
}

int ram_read(const struct guest_ram *ram, gpa_t gpa, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	const void *p = ram_ptr(ram, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int ram_write(const struct guest_ram *ram, gpa_t gpa, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	void *p = ram_ptr_rw(ram, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	ram_note_write(ram, gpa, len);
	return 0;
}

void ram_note_write(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	if (ram->written && len)
		ram->written(ram->written_opaque, gpa, len);
}

int ram_parse_size(const char *text, uint64_t *bytes)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || text[0] == '-')
		return -EINVAL;
	uint64_t unit = MiB;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': unit = KiB; end++; break;
	case 'm': case 'M': unit = MiB; end++; break;
	case 'g': case 'G': unit = GiB; end++; break;
	case 't': case 'T': unit = 1024 * GiB; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B') /* accept "512MiB" and "512MB" */
		end += (end[0] == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end != '\0' || v > UINT64_MAX / unit)
		return -EINVAL;
	*bytes = v * unit;
	return 0;
}
