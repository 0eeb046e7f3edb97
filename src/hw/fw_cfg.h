/* SPDX-License-Identifier: MIT */
/*
 * QEMU's firmware configuration device (QEMU docs/specs/fw_cfg.rst), x86
 * I/O form: selector at 0x510 (16-bit write), data at 0x511 (byte reads
 * advance the offset; past the end they read 0), DMA address register at
 * 0x514 (64-bit big-endian, written as two 32-bit halves, high at 0x514
 * first; the write of the low half at 0x518 starts the transfer). Reading the
 * DMA register gives "QEMU CFG". SeaBIOS and OVMF find RAM size, CPU count,
 * the e820 map and the ACPI tables here.
 *
 * Items are read-only to the guest: DMA writes set the error bit; data port
 * writes are ignored (as in QEMU since 2.4). Item and file data are copied
 * in; the device owns its copies.
 *
 * Not implemented: the MMIO form, writable items, the legacy kernel/initrd
 * items (0x07-0x18), boot order, SMBIOS, and per-item read callbacks.
 */
#ifndef X86V_HW_FW_CFG_H
#define X86V_HW_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "boot/acpi.h"
#include "boot/e820.h"
#include "core/compiler.h"
#include "mem/bus.h"
#include "mem/guest_ram.h"

#define FW_CFG_IO_BASE 0x510 /* selector (0x510) + data (0x511) */
#define FW_CFG_IO_SIZE 2
#define FW_CFG_DMA_BASE 0x514
#define FW_CFG_DMA_SIZE 8

/* Selector keys. */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_FILE_FIRST 0x0020
#define FW_CFG_WRITE_CHANNEL 0x4000 /* selector bit 14: ignored for lookup */
#define FW_CFG_ARCH_LOCAL 0x8000
#define FW_CFG_ENTRY_MASK 0x3fff
#define FW_CFG_MAX_FILES 256

#define FW_CFG_ID_TRADITIONAL 0x01
#define FW_CFG_ID_DMA 0x02
#define FW_CFG_MAX_FILE_PATH 56
#define FW_CFG_FILE_ENTRY_SIZE 64
#define FW_CFG_DMA_SIGNATURE "QEMU CFG"

/* FWCfgDmaAccess.control bits. */
#define FW_CFG_DMA_CTL_ERROR 0x01
#define FW_CFG_DMA_CTL_READ 0x02
#define FW_CFG_DMA_CTL_SKIP 0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE 0x10
#define FW_CFG_DMA_ACCESS_SIZE 16 /* control BE32, length BE32, address BE64 */

struct device;
struct fw_cfg;

/*
 * Creates the device with FW_CFG_SIGNATURE, FW_CFG_ID (traditional | DMA) and
 * an empty FW_CFG_FILE_DIR. DMA reaches guest memory only through ram, which
 * must outlive the device. NULL only when out of memory.
 */
struct fw_cfg *fw_cfg_create(const struct guest_ram *ram) MUST_CHECK;
void fw_cfg_destroy(struct fw_cfg *fc);
/* Selector, offset and DMA address back to 0; items stay. */
void fw_cfg_reset(struct fw_cfg *fc);
/* The device object (reset, snapshots), named "fw_cfg". A snapshot keeps the
 * selector, the offset in the item and the DMA address register, not the
 * items: load it into a device that holds the same items. */
struct device *fw_cfg_device(struct fw_cfg *fc);

/* Adds or replaces the item at key (not FW_CFG_FILE_DIR, nor a file's key). 0, -EINVAL, -ENOMEM. */
int fw_cfg_add_bytes(struct fw_cfg *fc, uint16_t key, const void *data, size_t len) MUST_CHECK;
/* Little-endian integers, as QEMU stores them. */
int fw_cfg_add_i16(struct fw_cfg *fc, uint16_t key, uint16_t value) MUST_CHECK;
int fw_cfg_add_i32(struct fw_cfg *fc, uint16_t key, uint32_t value) MUST_CHECK;
int fw_cfg_add_i64(struct fw_cfg *fc, uint16_t key, uint64_t value) MUST_CHECK;
/*
 * Adds a named file at the next selector from FW_CFG_FILE_FIRST and lists it
 * in the directory (kept sorted by name). 0; -EEXIST (name taken),
 * -ENAMETOOLONG (55 characters at most), -EINVAL (empty name, data above
 * 4 GiB), -ENOSPC (FW_CFG_MAX_FILES), -ENOMEM.
 */
int fw_cfg_add_file(struct fw_cfg *fc, const char *name, const void *data, size_t len) MUST_CHECK;
/* The selector of a file, or -ENOENT. */
int fw_cfg_file_key(const struct fw_cfg *fc, const char *name);

/* The items every PC board adds: FW_CFG_RAM_SIZE (bytes), FW_CFG_NB_CPUS, FW_CFG_MAX_CPUS. */
int fw_cfg_add_machine(struct fw_cfg *fc, uint64_t ram_size, unsigned ncpus) MUST_CHECK;
/* "etc/e820": QEMU's entry format, u64 address, u64 length, u32 type (little-endian, packed). */
int fw_cfg_add_e820(struct fw_cfg *fc, const struct e820_entry *map, unsigned n) MUST_CHECK;
/* ACPI_FILE_TABLES, ACPI_FILE_RSDP and ACPI_FILE_LOADER from acpi_build_loader(). */
int fw_cfg_add_acpi(struct fw_cfg *fc, const struct acpi_tables *t) MUST_CHECK;

/* Region at FW_CFG_IO_BASE: 2-byte write at 0 selects; 1-byte reads give data. */
extern const struct bus_ops fw_cfg_io_bus_ops;
/* Region at FW_CFG_DMA_BASE: the DMA address register, 1..8-byte accesses. */
extern const struct bus_ops fw_cfg_dma_bus_ops;

#endif
