/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM and ROM: one memfd holds all of RAM; the PC layout places the
 * first part at guest-physical 0 and, when RAM does not fit below the PCI
 * hole, the rest at 4 GiB. A firmware ROM lives in its own read-only slot
 * at the top of 4 GiB.
 *
 * Every access the VMM makes to guest memory goes through the bounds-checked
 * helpers here; engines get the slot list to map (KVM memslots, soft TLB).
 */
#ifndef X86V_MEM_GUEST_RAM_H
#define X86V_MEM_GUEST_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"

typedef uint64_t gpa_t;

/* Start of the PCI hole: RAM above this much goes to 4 GiB and up. */
#define RAM_PCI_HOLE_START 0xC0000000ULL
#define RAM_HIGH_BASE 0x100000000ULL
#define RAM_MIN_SIZE (2 * MiB)
#define RAM_MAX_SIZE (1024 * GiB)

struct mem_slot {
	gpa_t base;
	uint64_t size;
	uint8_t *host;
	bool readonly; /* guest writes are dropped (ROM) */
	const char *name;
};

#define RAM_MAX_SLOTS 4

struct guest_ram {
	int fd; /* memfd backing RAM (not ROM) */
	bool remapped; /* RAM is now a private mapping of a snapshot's memory file, not fd */
	uint8_t *host; /* mapping of the whole memfd */
	uint64_t size; /* bytes of RAM */
	uint64_t low_size; /* bytes of RAM at gpa 0 */
	uint8_t *rom; /* firmware image, or NULL */
	uint64_t rom_size;
	struct mem_slot slots[RAM_MAX_SLOTS];
	unsigned nslots;
	/* Told about every write that does not come from a vCPU (loaders, DMA), so
	 * an engine can drop what it derived from those bytes (decoded code). */
	void (*written)(void *opaque, gpa_t gpa, uint64_t len);
	void *written_opaque;
};

/* Maps size bytes of RAM (a multiple of 4 KiB, RAM_MIN_SIZE..RAM_MAX_SIZE). 0 or -errno. */
int ram_init(struct guest_ram *ram, uint64_t size) MUST_CHECK;
void ram_destroy(struct guest_ram *ram);

/* Installs a read-only ROM image ending at 4 GiB. Replaces an earlier one. 0 or -errno. */
int ram_set_rom(struct guest_ram *ram, const void *image, uint64_t size) MUST_CHECK;

/* Host pointer for [gpa, gpa + len) when it lies entirely in one RAM or ROM slot, else NULL. */
void *ram_ptr(const struct guest_ram *ram, gpa_t gpa, uint64_t len);
/* Writable host pointer: as ram_ptr but NULL for ROM. */
void *ram_ptr_rw(const struct guest_ram *ram, gpa_t gpa, uint64_t len);
/* Copies; fail with -EFAULT when any byte is outside RAM (writes: outside writable RAM). */
int ram_read(const struct guest_ram *ram, gpa_t gpa, void *buf, size_t len) MUST_CHECK;
int ram_write(const struct guest_ram *ram, gpa_t gpa, const void *buf, size_t len) MUST_CHECK;

/* Reports a write made through a pointer from ram_ptr_rw (device DMA) to the written hook. */
void ram_note_write(const struct guest_ram *ram, gpa_t gpa, uint64_t len);

/* True when [gpa, gpa + len) is entirely writable RAM. */
bool ram_contains(const struct guest_ram *ram, gpa_t gpa, uint64_t len);

/* Parses "512M", "2G", "1048576K", "64" (MiB, as QEMU). 0 or -EINVAL. */
int ram_parse_size(const char *text, uint64_t *bytes) MUST_CHECK;

#endif
