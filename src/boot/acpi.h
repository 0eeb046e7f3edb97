/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for the PC board (ACPI 6.5): RSDP (revision 2), RSDT, XSDT,
 * FADT (revision 6), FACS, MADT, HPET (when the board has one) and a DSDT
 * whose AML is emitted by hand (acpi_aml.c). acpi_build() lays every table
 * but the RSDP out in one blob:
 *
 *   FACS (64-byte aligned, offset 0) | DSDT | FADT | MADT | HPET | RSDT | XSDT
 *
 * Pointer fields between tables (and in the RSDP) hold the target's offset
 * in the blob; the list of them lets the same blob be installed either
 *   - directly at a guest-physical address (kernels booted without firmware):
 *     acpi_relocate()/acpi_install() add the base and redo the checksums, or
 *   - by firmware through fw_cfg: acpi_build_loader() writes QEMU's
 *     linker/loader script ("etc/table-loader") whose ALLOCATE, ADD_POINTER
 *     and ADD_CHECKSUM commands make SeaBIOS/OVMF do the same.
 *
 * Not produced: MCFG (no ECAM), SRAT/SLIT (no NUMA), SSDTs, processor
 * performance/idle objects, sleep states other than S5.
 */
#ifndef X86V_BOOT_ACPI_H
#define X86V_BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "mem/guest_ram.h"

#define ACPI_MAX_CPUS 255 /* xAPIC IDs 0..254; 255 is the broadcast ID */
#define ACPI_MAX_ISOS 16
#define ACPI_MAX_TABLES 8
#define ACPI_MAX_POINTERS 16
#define ACPI_RSDP_SIZE 36
#define ACPI_TABLE_HEADER_SIZE 36

/* MPS INTI flags of an interrupt source override (ACPI 6.5 Table 5.26). */
#define ACPI_MADT_POLARITY_CONFORMS 0x0
#define ACPI_MADT_POLARITY_ACTIVE_HIGH 0x1
#define ACPI_MADT_POLARITY_ACTIVE_LOW 0x3
#define ACPI_MADT_TRIGGER_CONFORMS 0x0
#define ACPI_MADT_TRIGGER_EDGE 0x4
#define ACPI_MADT_TRIGGER_LEVEL 0xc

/* FADT Flags (ACPI 6.5 Table 5.10) and IAPC_BOOT_ARCH (Table 5.11). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PROC_C1 (1u << 2)
#define ACPI_FADT_SLP_BUTTON (1u << 5)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)

/* FADT field offsets used by tests and the loader (Table 5.9). */
#define ACPI_FADT_FIRMWARE_CTRL 36
#define ACPI_FADT_DSDT 40
#define ACPI_FADT_SCI_INT 46
#define ACPI_FADT_SMI_CMD 48
#define ACPI_FADT_PM1A_EVT_BLK 56
#define ACPI_FADT_PM1A_CNT_BLK 64
#define ACPI_FADT_PM_TMR_BLK 76
#define ACPI_FADT_PM1_EVT_LEN 88
#define ACPI_FADT_PM1_CNT_LEN 89
#define ACPI_FADT_PM_TMR_LEN 91
#define ACPI_FADT_CENTURY 108
#define ACPI_FADT_IAPC_BOOT_ARCH 109
#define ACPI_FADT_FLAGS 112
#define ACPI_FADT_RESET_REG 116
#define ACPI_FADT_RESET_VALUE 128
#define ACPI_FADT_MINOR_VERSION 131
#define ACPI_FADT_X_FIRMWARE_CTRL 132
#define ACPI_FADT_X_DSDT 140
#define ACPI_FADT_X_PM1A_EVT_BLK 148
#define ACPI_FADT_X_PM1A_CNT_BLK 172
#define ACPI_FADT_X_PM_TMR_BLK 208
#define ACPI_FADT_SIZE 276

/* fw_cfg file names of the firmware path (what QEMU uses, so SeaBIOS/OVMF find them). */
#define ACPI_FILE_TABLES "etc/acpi/tables"
#define ACPI_FILE_RSDP "etc/acpi/rsdp"
#define ACPI_FILE_LOADER "etc/table-loader"

struct acpi_iso {
	uint8_t source; /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags; /* ACPI_MADT_POLARITY_* | ACPI_MADT_TRIGGER_* */
};

struct acpi_config {
	unsigned ncpus; /* processors with APIC IDs and UIDs 0..ncpus-1 */
	uint32_t lapic_addr;
	uint32_t ioapic_addr;
	uint8_t ioapic_id;
	uint32_t ioapic_gsi_base;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	unsigned niso;
	uint16_t sci_irq;
	uint16_t pm1a_evt_blk; /* 4-byte block: PM1_STS, PM1_EN */
	uint16_t pm1a_cnt_blk; /* 2 bytes */
	uint16_t pm_tmr_blk; /* 4 bytes */
	uint8_t s5_slp_typ; /* the SLP_TYP the PM1 control emulation treats as S5 */
	uint16_t reset_port; /* FADT RESET_REG (System I/O) */
	uint8_t reset_value;
	uint8_t rtc_century; /* CMOS index of the century, 0: none */
	bool hpet; /* an HPET table for the block at hpet_addr */
	uint64_t hpet_addr;
	uint32_t hpet_block_id; /* the block's GCAP_ID bits 31:0 */
	uint32_t pci_mmio_start; /* PCI0 _CRS memory window [start, end) */
	uint32_t pci_mmio_end;
};

/* One pointer field to patch: at offset in the blob (or in the RSDP), size 4 or 8. */
struct acpi_pointer {
	uint32_t offset;
	uint8_t size;
	bool in_rsdp;
	uint32_t target; /* offset in the blob */
};

struct acpi_table_ref {
	char signature[5];
	uint32_t offset; /* in the blob */
	uint32_t length;
	bool checksummed; /* false for the FACS */
};

struct acpi_tables {
	uint8_t *blob; /* owned; pointers hold blob offsets, checksums valid for that */
	size_t len;
	uint8_t rsdp[ACPI_RSDP_SIZE];
	struct acpi_table_ref tables[ACPI_MAX_TABLES];
	unsigned ntables;
	struct acpi_pointer pointers[ACPI_MAX_POINTERS];
	unsigned npointers;
};

/*
 * Builds the tables. 0; -EINVAL for a config it cannot describe (ncpus 0 or
 * above ACPI_MAX_CPUS, too many overrides, hpet set, empty PCI window);
 * -ENOMEM. On success out owns a blob for acpi_tables_free.
 */
int acpi_build(const struct acpi_config *cfg, struct acpi_tables *out) MUST_CHECK;
void acpi_tables_free(struct acpi_tables *t);

/* The blob offset of the table with this 4-character signature, or -1. */
long acpi_find_table(const struct acpi_tables *t, const char *signature);

/*
 * Copies the tables as they look installed at tables_addr (blob_out holds
 * t->len bytes) with absolute pointers and recomputed checksums; rsdp_out gets
 * the matching RSDP. 0, or -EINVAL if tables_addr + len exceeds 4 GiB (the
 * RSDT and FADT hold 32-bit pointers).
 */
int acpi_relocate(const struct acpi_tables *t, uint64_t tables_addr, uint8_t *blob_out,
		  uint8_t rsdp_out[ACPI_RSDP_SIZE]) MUST_CHECK;
/*
 * acpi_relocate into guest RAM: the blob at tables_gpa (64-byte aligned),
 * the RSDP at rsdp_gpa (16-byte aligned; Linux without EFI looks in
 * 0xE0000-0xFFFFF, or boot_params.acpi_rsdp_addr). The caller reserves both
 * ranges in the e820 map. 0, -EINVAL (alignment), -EFAULT (not RAM), -ENOMEM.
 */
int acpi_install(const struct acpi_tables *t, const struct guest_ram *ram, gpa_t tables_gpa,
		 gpa_t rsdp_gpa) MUST_CHECK;

/*
 * The firmware form: *tables (t->len bytes) and rsdp are the blob and RSDP
 * with checksum bytes zeroed (OVMF stores the checksum rather than adding to
 * it), *script the linker/loader commands (128 bytes each) that allocate
 * ACPI_FILE_TABLES (64-byte aligned, high memory) and ACPI_FILE_RSDP (FSEG),
 * add the pointers and set every checksum. Caller frees *tables and *script.
 * 0 or -ENOMEM.
 */
int acpi_build_loader(const struct acpi_tables *t, uint8_t **tables, uint8_t rsdp[ACPI_RSDP_SIZE],
		      uint8_t **script, size_t *script_len) MUST_CHECK;

/* Linker/loader format (QEMU hw/acpi/bios-linker-loader.c). */
#define ACPI_LOADER_ENTRY_SIZE 128
#define ACPI_LOADER_FILESZ 56
#define ACPI_LOADER_ALLOCATE 1
#define ACPI_LOADER_ADD_POINTER 2
#define ACPI_LOADER_ADD_CHECKSUM 3
#define ACPI_LOADER_ZONE_HIGH 1
#define ACPI_LOADER_ZONE_FSEG 2

/* Sum of bytes, mod 256 (0 for a valid ACPI checksum). */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/* --- acpi_aml.c --- */

/* The DSDT's AML body (no table header) for cfg: \_S5, \_SB.PCI0 with _CRS, CPU devices. */
int acpi_build_dsdt_aml(const struct acpi_config *cfg, uint8_t **aml, size_t *len) MUST_CHECK;
/* The 32-bit EISA ID encoding of a 7-character ID like "PNP0A03". */
uint32_t acpi_eisaid(const char *id);

#endif
