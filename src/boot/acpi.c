/* SPDX-License-Identifier: MIT */
/*
 * ACPI table builder (ACPI 6.5 §5.2): RSDP (§5.2.5), RSDT (§5.2.7), XSDT
 * (§5.2.8), FADT revision 6 (§5.2.9), FACS (§5.2.10), MADT (§5.2.12) and the
 * DSDT (§5.2.11.1, AML from acpi_aml.c); plus relocation for direct installs
 * and QEMU's linker/loader script for firmware. See acpi.h for the layout and
 * what is not produced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"

#define ACPI_OEM_ID "X86V  "
#define ACPI_OEM_TABLE_ID "X86V    "
#define ACPI_CREATOR_ID "X86V"
#define ACPI_FACS_SIZE 64
#define ACPI_GAS_SYSTEM_IO 1

#define ACPI_MADT_LOCAL_APIC 0
#define ACPI_MADT_IO_APIC 1
#define ACPI_MADT_ISO 2
#define ACPI_MADT_LAPIC_NMI 4
#define ACPI_MADT_PCAT_COMPAT 1u
#define ACPI_MADT_LAPIC_ENABLED 1u

struct acpi_buf {
	uint8_t *data;
	size_t len, cap;
	int err;
};

static uint8_t *buf_grow(struct acpi_buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->data, cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		memset(p + b->cap, 0, cap - b->cap);
		b->data = p;
		b->cap = cap;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

static void put_le(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

static void acpi_fix_checksum(uint8_t *p, size_t len, size_t at)
{
	p[at] = 0;
	p[at] = (uint8_t)-acpi_checksum(p, len);
}

struct acpi_builder {
	struct acpi_buf buf;
	struct acpi_tables *out;
	int err;
};

/* Starts a table with its header; returns its offset. */
static size_t table_begin(struct acpi_builder *b, const char *sig, uint8_t revision)
{
	size_t off = b->buf.len;
	uint8_t *h = buf_grow(&b->buf, ACPI_TABLE_HEADER_SIZE);
	if (!h)
		return off;
	memcpy(h, sig, 4);
	h[8] = revision;
	memcpy(h + 10, ACPI_OEM_ID, 6);
	memcpy(h + 16, ACPI_OEM_TABLE_ID, 8);
	put_le(h + 24, 1, 4);
	memcpy(h + 28, ACPI_CREATOR_ID, 4);
	put_le(h + 32, 1, 4);
	return off;
}

static void table_record(struct acpi_builder *b, const char *sig, size_t off, size_t len,
			 bool checksummed)
{
	struct acpi_tables *t = b->out;
	if (t->ntables >= ACPI_MAX_TABLES) {
		b->err = -EINVAL;
		return;
	}
	struct acpi_table_ref *r = &t->tables[t->ntables++];
	memcpy(r->signature, sig, 4);
	r->signature[4] = 0;
	r->offset = (uint32_t)off;
	r->length = (uint32_t)len;
	r->checksummed = checksummed;
}

static void table_end(struct acpi_builder *b, size_t off)
{
	if (b->buf.err)
		return;
	uint8_t *h = b->buf.data + off;
	size_t len = b->buf.len - off;
	put_le(h + 4, len, 4);
	char sig[5] = { 0 };
	memcpy(sig, h, 4);
	table_record(b, sig, off, len, true);
}

static void add_pointer(struct acpi_builder *b, size_t at, unsigned size, bool in_rsdp,
			size_t target)
{
	struct acpi_tables *t = b->out;
	if (t->npointers >= ACPI_MAX_POINTERS) {
		b->err = -EINVAL;
		return;
	}
	t->pointers[t->npointers++] = (struct acpi_pointer){
		.offset = (uint32_t)at, .size = (uint8_t)size, .in_rsdp = in_rsdp,
		.target = (uint32_t)target
	};
	uint8_t *base = in_rsdp ? t->rsdp : b->buf.data;
	if (base && (in_rsdp || !b->buf.err))
		put_le(base + at, target, size);
}

static void align_to(struct acpi_builder *b, size_t align)
{
	size_t pad = (align - b->buf.len % align) % align;
	(void)buf_grow(&b->buf, pad);
}

static void put_gas_io(uint8_t *p, unsigned bit_width, unsigned access_size, uint64_t addr)
{
	p[0] = ACPI_GAS_SYSTEM_IO;
	p[1] = (uint8_t)bit_width;
	p[2] = 0;
	p[3] = (uint8_t)access_size;
	put_le(p + 4, addr, 8);
}

static size_t build_facs(struct acpi_builder *b)
{
	size_t off = b->buf.len;
	uint8_t *f = buf_grow(&b->buf, ACPI_FACS_SIZE);
	if (f) {
		memcpy(f, "FACS", 4);
		put_le(f + 4, ACPI_FACS_SIZE, 4);
		f[32] = 2; /* Version (ACPI 6.5 Table 5.14) */
	}
	table_record(b, "FACS", off, ACPI_FACS_SIZE, false);
	return off;
}

static size_t build_dsdt(struct acpi_builder *b, const struct acpi_config *cfg)
{
	uint8_t *aml = NULL;
	size_t aml_len = 0;
	size_t off = table_begin(b, "DSDT", 2); /* revision 2: 64-bit AML integers */
	int r = acpi_build_dsdt_aml(cfg, &aml, &aml_len);
	if (r < 0) {
		b->err = r;
		return off;
	}
	uint8_t *p = buf_grow(&b->buf, aml_len);
	if (p)
		memcpy(p, aml, aml_len);
	free(aml);
	table_end(b, off);
	return off;
}

static size_t build_fadt(struct acpi_builder *b, const struct acpi_config *cfg, size_t facs,
			 size_t dsdt)
{
	size_t off = table_begin(b, "FACP", 6);
	uint8_t *f = buf_grow(&b->buf, ACPI_FADT_SIZE - ACPI_TABLE_HEADER_SIZE);
	if (!f)
		return off;
	f = b->buf.data + off;
	put_le(f + ACPI_FADT_SCI_INT, cfg->sci_irq, 2);
	/* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE stay 0: always in ACPI mode. */
	put_le(f + ACPI_FADT_PM1A_EVT_BLK, cfg->pm1a_evt_blk, 4);
	put_le(f + ACPI_FADT_PM1A_CNT_BLK, cfg->pm1a_cnt_blk, 4);
	put_le(f + ACPI_FADT_PM_TMR_BLK, cfg->pm_tmr_blk, 4);
	f[ACPI_FADT_PM1_EVT_LEN] = 4;
	f[ACPI_FADT_PM1_CNT_LEN] = 2;
	f[ACPI_FADT_PM_TMR_LEN] = 4;
	/* C2/C3 latencies above 100/1000 us mean "not supported" (Table 5.9). */
	put_le(f + 96, 0x0fff, 2);
	put_le(f + 98, 0x0fff, 2);
	f[ACPI_FADT_CENTURY] = cfg->rtc_century;
	put_le(f + ACPI_FADT_IAPC_BOOT_ARCH, ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042, 2);
	/* TMR_VAL_EXT clear: acpi_pm's timer is 24 bits wide. */
	uint32_t flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON |
			 ACPI_FADT_RESET_REG_SUP;
	put_le(f + ACPI_FADT_FLAGS, flags, 4);
	put_gas_io(f + ACPI_FADT_RESET_REG, 8, 1, cfg->reset_port);
	f[ACPI_FADT_RESET_VALUE] = cfg->reset_value;
	f[ACPI_FADT_MINOR_VERSION] = 5;
	/* Access size 0 ("legacy") as QEMU writes it: ACPICA then splits PM1
	 * into its 16-bit status/enable halves itself. */
	put_gas_io(f + ACPI_FADT_X_PM1A_EVT_BLK, 32, 0, cfg->pm1a_evt_blk);
	put_gas_io(f + ACPI_FADT_X_PM1A_CNT_BLK, 16, 0, cfg->pm1a_cnt_blk);
	put_gas_io(f + ACPI_FADT_X_PM_TMR_BLK, 32, 0, cfg->pm_tmr_blk);
	memcpy(f + 268, "X86V\0\0\0\0", 8); /* Hypervisor Vendor Identity */
	add_pointer(b, off + ACPI_FADT_FIRMWARE_CTRL, 4, false, facs);
	add_pointer(b, off + ACPI_FADT_DSDT, 4, false, dsdt);
	add_pointer(b, off + ACPI_FADT_X_FIRMWARE_CTRL, 8, false, facs);
	add_pointer(b, off + ACPI_FADT_X_DSDT, 8, false, dsdt);
	table_end(b, off);
	return off;
}

static size_t build_madt(struct acpi_builder *b, const struct acpi_config *cfg)
{
	size_t off = table_begin(b, "APIC", 5);
	uint8_t *p = buf_grow(&b->buf, 8);
	if (p) {
		put_le(p, cfg->lapic_addr, 4);
		put_le(p + 4, ACPI_MADT_PCAT_COMPAT, 4);
	}
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		p = buf_grow(&b->buf, 8);
		if (!p)
			break;
		p[0] = ACPI_MADT_LOCAL_APIC;
		p[1] = 8;
		p[2] = (uint8_t)i; /* ACPI Processor UID */
		p[3] = (uint8_t)i; /* APIC ID */
		put_le(p + 4, ACPI_MADT_LAPIC_ENABLED, 4);
	}
	p = buf_grow(&b->buf, 12);
	if (p) {
		p[0] = ACPI_MADT_IO_APIC;
		p[1] = 12;
		p[2] = cfg->ioapic_id;
		put_le(p + 4, cfg->ioapic_addr, 4);
		put_le(p + 8, cfg->ioapic_gsi_base, 4);
	}
	for (unsigned i = 0; i < cfg->niso; i++) {
		p = buf_grow(&b->buf, 10);
		if (!p)
			break;
		p[0] = ACPI_MADT_ISO;
		p[1] = 10;
		p[2] = 0; /* bus: ISA */
		p[3] = cfg->isos[i].source;
		put_le(p + 4, cfg->isos[i].gsi, 4);
		put_le(p + 8, cfg->isos[i].flags, 2);
	}
	/* LINT1 of every processor is the NMI input, as on PC/AT boards. */
	p = buf_grow(&b->buf, 6);
	if (p) {
		p[0] = ACPI_MADT_LAPIC_NMI;
		p[1] = 6;
		p[2] = 0xff; /* all processors */
		put_le(p + 3, ACPI_MADT_POLARITY_CONFORMS | ACPI_MADT_TRIGGER_CONFORMS, 2);
		p[5] = 1; /* LINT1 */
	}
	table_end(b, off);
	return off;
}

/* IA-PC HPET Specification 1.0a §3.2.4: the HPET description table. */
static size_t build_hpet(struct acpi_builder *b, const struct acpi_config *cfg)
{
	size_t off = table_begin(b, "HPET", 1);
	uint8_t *p = buf_grow(&b->buf, 20);
	if (p) {
		put_le(p, cfg->hpet_block_id, 4);
		p[4] = 0; /* Base Address: a GAS in system memory */
		p[5] = 64;
		put_le(p + 8, cfg->hpet_addr, 8);
		p[16] = 0; /* HPET number */
		put_le(p + 17, 0x80, 2); /* minimum clock ticks in periodic mode */
		p[19] = 0; /* no page protection */
	}
	table_end(b, off);
	return off;
}

static size_t build_sdt(struct acpi_builder *b, const char *sig, unsigned entry_size,
			const size_t *targets, unsigned n)
{
	size_t off = table_begin(b, sig, 1);
	for (unsigned i = 0; i < n; i++) {
		size_t at = b->buf.len;
		if (!buf_grow(&b->buf, entry_size))
			break;
		add_pointer(b, at, entry_size, false, targets[i]);
	}
	table_end(b, off);
	return off;
}

static void build_rsdp(struct acpi_builder *b, size_t rsdt, size_t xsdt)
{
	uint8_t *r = b->out->rsdp;
	memset(r, 0, ACPI_RSDP_SIZE);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2; /* Revision: ACPI 2.0+ (XSDT present) */
	put_le(r + 20, ACPI_RSDP_SIZE, 4);
	add_pointer(b, 16, 4, true, rsdt);
	add_pointer(b, 24, 8, true, xsdt);
	acpi_fix_checksum(r, 20, 8);
	acpi_fix_checksum(r, ACPI_RSDP_SIZE, 32);
}

static int acpi_config_check(const struct acpi_config *cfg)
{
	if (cfg->ncpus == 0 || cfg->ncpus > ACPI_MAX_CPUS || cfg->niso > ACPI_MAX_ISOS)
		return -EINVAL;
	if (cfg->pci_mmio_end <= cfg->pci_mmio_start)
		return -EINVAL;
	return 0;
}

int acpi_build(const struct acpi_config *cfg, struct acpi_tables *out)
{
	struct acpi_builder b = { .out = out };
	memset(out, 0, sizeof(*out));
	int r = acpi_config_check(cfg);
	if (r < 0)
		return r;
	size_t facs = build_facs(&b); /* at 0: 64-byte aligned when the blob is */
	size_t dsdt = build_dsdt(&b, cfg);
	align_to(&b, 8);
	size_t fadt = build_fadt(&b, cfg, facs, dsdt);
	align_to(&b, 8);
	size_t madt = build_madt(&b, cfg);
	size_t sdt_targets[3] = { fadt, madt };
	unsigned nsdt = 2;
	if (cfg->hpet) {
		align_to(&b, 8);
		sdt_targets[nsdt++] = build_hpet(&b, cfg);
	}
	align_to(&b, 8);
	size_t rsdt = build_sdt(&b, "RSDT", 4, sdt_targets, nsdt);
	align_to(&b, 8);
	size_t xsdt = build_sdt(&b, "XSDT", 8, sdt_targets, nsdt);
	build_rsdp(&b, rsdt, xsdt);
	r = b.err ? b.err : b.buf.err;
	if (r < 0) {
		free(b.buf.data);
		memset(out, 0, sizeof(*out));
		return r;
	}
	for (unsigned i = 0; i < out->ntables; i++)
		if (out->tables[i].checksummed)
			acpi_fix_checksum(b.buf.data + out->tables[i].offset, out->tables[i].length, 9);
	out->blob = b.buf.data;
	out->len = b.buf.len;
	return 0;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->blob);
	t->blob = NULL;
	t->len = 0;
}

long acpi_find_table(const struct acpi_tables *t, const char *signature)
{
	for (unsigned i = 0; i < t->ntables; i++)
		if (memcmp(t->tables[i].signature, signature, 4) == 0)
			return t->tables[i].offset;
	return -1;
}

static void acpi_fix_all_checksums(const struct acpi_tables *t, uint8_t *blob,
				   uint8_t rsdp[ACPI_RSDP_SIZE])
{
	for (unsigned i = 0; i < t->ntables; i++)
		if (t->tables[i].checksummed)
			acpi_fix_checksum(blob + t->tables[i].offset, t->tables[i].length, 9);
	acpi_fix_checksum(rsdp, 20, 8);
	acpi_fix_checksum(rsdp, ACPI_RSDP_SIZE, 32);
}

int acpi_relocate(const struct acpi_tables *t, uint64_t tables_addr, uint8_t *blob_out,
		  uint8_t rsdp_out[ACPI_RSDP_SIZE])
{
	if (tables_addr + t->len > 0x100000000ULL || tables_addr + t->len < tables_addr)
		return -EINVAL;
	memcpy(blob_out, t->blob, t->len);
	memcpy(rsdp_out, t->rsdp, ACPI_RSDP_SIZE);
	for (unsigned i = 0; i < t->npointers; i++) {
		const struct acpi_pointer *p = &t->pointers[i];
		uint8_t *base = p->in_rsdp ? rsdp_out : blob_out;
		put_le(base + p->offset, tables_addr + p->target, p->size);
	}
	acpi_fix_all_checksums(t, blob_out, rsdp_out);
	return 0;
}

int acpi_install(const struct acpi_tables *t, const struct guest_ram *ram, gpa_t tables_gpa,
		 gpa_t rsdp_gpa)
{
	uint8_t rsdp[ACPI_RSDP_SIZE];
	if (tables_gpa % 64 || rsdp_gpa % 16)
		return -EINVAL;
	uint8_t *blob = malloc(t->len);
	if (!blob)
		return -ENOMEM;
	int r = acpi_relocate(t, tables_gpa, blob, rsdp);
	if (r == 0)
		r = ram_write(ram, tables_gpa, blob, t->len);
	if (r == 0)
		r = ram_write(ram, rsdp_gpa, rsdp, sizeof(rsdp));
	free(blob);
	return r;
}

static uint8_t *loader_entry(struct acpi_buf *s, uint32_t command)
{
	uint8_t *e = buf_grow(s, ACPI_LOADER_ENTRY_SIZE);
	if (e) {
		memset(e, 0, ACPI_LOADER_ENTRY_SIZE);
		put_le(e, command, 4);
	}
	return e;
}

static void loader_allocate(struct acpi_buf *s, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = loader_entry(s, ACPI_LOADER_ALLOCATE);
	if (!e)
		return;
	strncpy((char *)e + 4, file, ACPI_LOADER_FILESZ - 1);
	put_le(e + 4 + ACPI_LOADER_FILESZ, align, 4);
	e[4 + ACPI_LOADER_FILESZ + 4] = zone;
}

static void loader_add_pointer(struct acpi_buf *s, const char *dest, const char *src,
			       uint32_t offset, uint8_t size)
{
	uint8_t *e = loader_entry(s, ACPI_LOADER_ADD_POINTER);
	if (!e)
		return;
	strncpy((char *)e + 4, dest, ACPI_LOADER_FILESZ - 1);
	strncpy((char *)e + 4 + ACPI_LOADER_FILESZ, src, ACPI_LOADER_FILESZ - 1);
	put_le(e + 4 + 2 * ACPI_LOADER_FILESZ, offset, 4);
	e[4 + 2 * ACPI_LOADER_FILESZ + 4] = size;
}

static void loader_add_checksum(struct acpi_buf *s, const char *file, uint32_t offset,
				uint32_t start, uint32_t length)
{
	uint8_t *e = loader_entry(s, ACPI_LOADER_ADD_CHECKSUM);
	if (!e)
		return;
	strncpy((char *)e + 4, file, ACPI_LOADER_FILESZ - 1);
	put_le(e + 4 + ACPI_LOADER_FILESZ, offset, 4);
	put_le(e + 4 + ACPI_LOADER_FILESZ + 4, start, 4);
	put_le(e + 4 + ACPI_LOADER_FILESZ + 8, length, 4);
}

int acpi_build_loader(const struct acpi_tables *t, uint8_t **tables, uint8_t rsdp[ACPI_RSDP_SIZE],
		      uint8_t **script, size_t *script_len)
{
	struct acpi_buf s = { 0 };
	*tables = NULL;
	*script = NULL;
	*script_len = 0;
	uint8_t *blob = malloc(t->len ? t->len : 1);
	if (!blob)
		return -ENOMEM;
	memcpy(blob, t->blob, t->len);
	memcpy(rsdp, t->rsdp, ACPI_RSDP_SIZE);
	/* Every ALLOCATE precedes the commands naming its file (QEMU's rule). */
	loader_allocate(&s, ACPI_FILE_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
	loader_allocate(&s, ACPI_FILE_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
	for (unsigned i = 0; i < t->npointers; i++) {
		const struct acpi_pointer *p = &t->pointers[i];
		loader_add_pointer(&s, p->in_rsdp ? ACPI_FILE_RSDP : ACPI_FILE_TABLES, ACPI_FILE_TABLES,
				   p->offset, p->size);
	}
	for (unsigned i = 0; i < t->ntables; i++) {
		const struct acpi_table_ref *r = &t->tables[i];
		if (!r->checksummed)
			continue;
		blob[r->offset + 9] = 0;
		loader_add_checksum(&s, ACPI_FILE_TABLES, r->offset + 9, r->offset, r->length);
	}
	/* The 20-byte ACPI 1.0 checksum first: the extended one covers it. */
	rsdp[8] = 0;
	rsdp[32] = 0;
	loader_add_checksum(&s, ACPI_FILE_RSDP, 8, 0, 20);
	loader_add_checksum(&s, ACPI_FILE_RSDP, 32, 0, ACPI_RSDP_SIZE);
	if (s.err) {
		free(blob);
		free(s.data);
		return s.err;
	}
	*tables = blob;
	*script = s.data;
	*script_len = s.len;
	return 0;
}
