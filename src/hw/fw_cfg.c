/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg device (QEMU docs/specs/fw_cfg.rst: "Selector (Control) Register",
 * "Data Register", "File Directory", "Guest-side DMA Interface"). See
 * fw_cfg.h for the ports and what is not implemented.
 *
 * Every DMA descriptor, address and length comes from the guest: guest
 * memory is touched only through ram_read/ram_write, a transfer that would
 * leave RAM sets the error bit and moves nothing further.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/fw_cfg.h"

#define FW_CFG_ZERO_CHUNK 4096

struct fw_cfg_item {
	uint16_t key;
	uint8_t *data;
	uint32_t len;
};

struct fw_cfg_file {
	char name[FW_CFG_MAX_FILE_PATH];
	uint16_t key;
	uint32_t size;
};

/* What the guest sees and a snapshot keeps (fw_cfg_fields). The items are
 * not part of it: the board adds the same ones to the device a snapshot is
 * loaded into. */
struct fw_cfg_state {
	uint16_t selector; /* normalised: write-channel bit dropped */
	uint32_t offset;
	uint8_t dma_addr[FW_CFG_DMA_SIZE]; /* big-endian, as the guest wrote it */
};

struct fw_cfg {
	struct device dev;
	const struct guest_ram *ram;
	struct fw_cfg_item *items;
	size_t nitems, items_cap;
	struct fw_cfg_file files[FW_CFG_MAX_FILES];
	size_t nfiles;
	struct fw_cfg_state s;
};

static uint16_t fw_cfg_key(uint16_t selector)
{
	return selector & (FW_CFG_ARCH_LOCAL | FW_CFG_ENTRY_MASK);
}

static struct fw_cfg_item *fw_cfg_find(const struct fw_cfg *fc, uint16_t key)
{
	for (size_t i = 0; i < fc->nitems; i++)
		if (fc->items[i].key == key)
			return &fc->items[i];
	return NULL;
}

/* Stores a copy of data at key, replacing what was there. */
static int fw_cfg_set(struct fw_cfg *fc, uint16_t key, const void *data, size_t len)
{
	if (len > UINT32_MAX)
		return -EINVAL;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	struct fw_cfg_item *it = fw_cfg_find(fc, key);
	if (!it) {
		if (fc->nitems == fc->items_cap) {
			size_t cap = fc->items_cap ? fc->items_cap * 2 : 32;
			struct fw_cfg_item *n = realloc(fc->items, cap * sizeof(*n));
			if (!n) {
				free(copy);
				return -ENOMEM;
			}
			fc->items = n;
			fc->items_cap = cap;
		}
		it = &fc->items[fc->nitems++];
		it->key = key;
		it->data = NULL;
	}
	free(it->data);
	it->data = copy;
	it->len = (uint32_t)len;
	return 0;
}

static void put_be(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * (size - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v = (v << 8) | p[i];
	return v;
}

static int fw_cfg_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fw_cfg_file *)a)->name, ((const struct fw_cfg_file *)b)->name);
}

/* FWCfgFiles: count (BE32), then 64-byte entries sorted by name. */
static int fw_cfg_rebuild_dir(struct fw_cfg *fc)
{
	struct fw_cfg_file sorted[FW_CFG_MAX_FILES];
	size_t len = 4 + fc->nfiles * FW_CFG_FILE_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);
	if (!dir)
		return -ENOMEM;
	memcpy(sorted, fc->files, fc->nfiles * sizeof(sorted[0]));
	qsort(sorted, fc->nfiles, sizeof(sorted[0]), fw_cfg_file_cmp);
	put_be(dir, fc->nfiles, 4);
	for (size_t i = 0; i < fc->nfiles; i++) {
		uint8_t *e = dir + 4 + i * FW_CFG_FILE_ENTRY_SIZE;
		put_be(e, sorted[i].size, 4);
		put_be(e + 4, sorted[i].key, 2);
		memcpy(e + 8, sorted[i].name, FW_CFG_MAX_FILE_PATH);
	}
	int r = fw_cfg_set(fc, FW_CFG_FILE_DIR, dir, len);
	free(dir);
	return r;
}

static const struct device_field fw_cfg_fields[] = {
	DEVICE_FIELD(struct fw_cfg_state, selector),
	DEVICE_FIELD(struct fw_cfg_state, offset),
	DEVICE_FIELD(struct fw_cfg_state, dma_addr),
};

static int fw_cfg_post_load(struct device *dev, char *why, size_t why_len)
{
	struct fw_cfg *fc = container_of(dev, struct fw_cfg, dev);
	/* A key the guest selected may name no item; the offset never moves then. */
	const struct fw_cfg_item *it = fw_cfg_find(fc, fc->s.selector);
	if (fc->s.selector != fw_cfg_key(fc->s.selector) || fc->s.offset > (it ? it->len : 0)) {
		snprintf(why, why_len, "%s: selector or offset beyond its item", dev->name);
		return -EINVAL;
	}
	return 0;
}

static void fw_cfg_device_reset(struct device *dev)
{
	fw_cfg_reset(container_of(dev, struct fw_cfg, dev));
}

static void fw_cfg_device_destroy(struct device *dev)
{
	fw_cfg_destroy(container_of(dev, struct fw_cfg, dev));
}

static const struct device_class fw_cfg_class = {
	.type = "fw_cfg",
	.version = 1,
	.fields = fw_cfg_fields,
	.nfields = ARRAY_SIZE(fw_cfg_fields),
	.reset = fw_cfg_device_reset,
	.post_load = fw_cfg_post_load,
	.destroy = fw_cfg_device_destroy,
};

struct device *fw_cfg_device(struct fw_cfg *fc)
{
	return &fc->dev;
}

struct fw_cfg *fw_cfg_create(const struct guest_ram *ram)
{
	struct fw_cfg *fc = calloc(1, sizeof(*fc));
	if (!fc)
		return NULL;
	fc->ram = ram;
	device_init(&fc->dev, &fw_cfg_class, "fw_cfg", &fc->s);
	if (fw_cfg_set(fc, FW_CFG_SIGNATURE, "QEMU", 4) < 0 ||
	    fw_cfg_add_i32(fc, FW_CFG_ID, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA) < 0 ||
	    fw_cfg_rebuild_dir(fc) < 0) {
		fw_cfg_destroy(fc);
		return NULL;
	}
	return fc;
}

void fw_cfg_destroy(struct fw_cfg *fc)
{
	if (!fc)
		return;
	for (size_t i = 0; i < fc->nitems; i++)
		free(fc->items[i].data);
	free(fc->items);
	free(fc);
}

void fw_cfg_reset(struct fw_cfg *fc)
{
	fc->s.selector = 0;
	fc->s.offset = 0;
	memset(fc->s.dma_addr, 0, sizeof(fc->s.dma_addr));
}

static bool fw_cfg_is_file_key(const struct fw_cfg *fc, uint16_t key)
{
	return key >= FW_CFG_FILE_FIRST && key < FW_CFG_FILE_FIRST + fc->nfiles;
}

int fw_cfg_add_bytes(struct fw_cfg *fc, uint16_t key, const void *data, size_t len)
{
	if (key != fw_cfg_key(key) || key == FW_CFG_FILE_DIR || fw_cfg_is_file_key(fc, key))
		return -EINVAL;
	return fw_cfg_set(fc, key, data, len);
}

int fw_cfg_add_i16(struct fw_cfg *fc, uint16_t key, uint16_t value)
{
	uint8_t b[2] = { (uint8_t)value, (uint8_t)(value >> 8) };
	return fw_cfg_add_bytes(fc, key, b, sizeof(b));
}

int fw_cfg_add_i32(struct fw_cfg *fc, uint16_t key, uint32_t value)
{
	uint8_t b[4];
	for (unsigned i = 0; i < 4; i++)
		b[i] = (uint8_t)(value >> (8 * i));
	return fw_cfg_add_bytes(fc, key, b, sizeof(b));
}

int fw_cfg_add_i64(struct fw_cfg *fc, uint16_t key, uint64_t value)
{
	uint8_t b[8];
	for (unsigned i = 0; i < 8; i++)
		b[i] = (uint8_t)(value >> (8 * i));
	return fw_cfg_add_bytes(fc, key, b, sizeof(b));
}

int fw_cfg_file_key(const struct fw_cfg *fc, const char *name)
{
	for (size_t i = 0; i < fc->nfiles; i++)
		if (strcmp(fc->files[i].name, name) == 0)
			return fc->files[i].key;
	return -ENOENT;
}

int fw_cfg_add_file(struct fw_cfg *fc, const char *name, const void *data, size_t len)
{
	size_t nlen = strlen(name);
	if (nlen == 0 || len > UINT32_MAX)
		return -EINVAL;
	if (nlen >= FW_CFG_MAX_FILE_PATH)
		return -ENAMETOOLONG;
	if (fw_cfg_file_key(fc, name) >= 0)
		return -EEXIST;
	if (fc->nfiles >= FW_CFG_MAX_FILES)
		return -ENOSPC;
	uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + fc->nfiles);
	int r = fw_cfg_set(fc, key, data, len);
	if (r < 0)
		return r;
	struct fw_cfg_file *f = &fc->files[fc->nfiles++];
	memset(f->name, 0, sizeof(f->name));
	memcpy(f->name, name, nlen);
	f->key = key;
	f->size = (uint32_t)len;
	r = fw_cfg_rebuild_dir(fc);
	if (r < 0) {
		/* Keep directory and items consistent: forget the file again. */
		fc->nfiles--;
		struct fw_cfg_item *it = fw_cfg_find(fc, key);
		if (it) {
			free(it->data);
			*it = fc->items[--fc->nitems];
		}
	}
	return r;
}

int fw_cfg_add_machine(struct fw_cfg *fc, uint64_t ram_size, unsigned ncpus)
{
	if (ncpus == 0 || ncpus > UINT16_MAX)
		return -EINVAL;
	int r = fw_cfg_add_i64(fc, FW_CFG_RAM_SIZE, ram_size);
	if (r == 0)
		r = fw_cfg_add_i16(fc, FW_CFG_NB_CPUS, (uint16_t)ncpus);
	if (r == 0)
		r = fw_cfg_add_i16(fc, FW_CFG_MAX_CPUS, (uint16_t)ncpus);
	return r;
}

int fw_cfg_add_e820(struct fw_cfg *fc, const struct e820_entry *map, unsigned n)
{
	enum { ENTRY = 20 };
	uint8_t *buf = calloc(n ? n : 1, ENTRY);
	if (!buf)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = buf + (size_t)i * ENTRY;
		for (unsigned b = 0; b < 8; b++) {
			e[b] = (uint8_t)(map[i].addr >> (8 * b));
			e[8 + b] = (uint8_t)(map[i].size >> (8 * b));
		}
		for (unsigned b = 0; b < 4; b++)
			e[16 + b] = (uint8_t)(map[i].type >> (8 * b));
	}
	int r = fw_cfg_add_file(fc, "etc/e820", buf, (size_t)n * ENTRY);
	free(buf);
	return r;
}

int fw_cfg_add_acpi(struct fw_cfg *fc, const struct acpi_tables *t)
{
	uint8_t *tables, *script;
	uint8_t rsdp[ACPI_RSDP_SIZE];
	size_t script_len;
	int r = acpi_build_loader(t, &tables, rsdp, &script, &script_len);
	if (r < 0)
		return r;
	r = fw_cfg_add_file(fc, ACPI_FILE_TABLES, tables, t->len);
	if (r == 0)
		r = fw_cfg_add_file(fc, ACPI_FILE_RSDP, rsdp, sizeof(rsdp));
	if (r == 0)
		r = fw_cfg_add_file(fc, ACPI_FILE_LOADER, script, script_len);
	free(tables);
	free(script);
	return r;
}

static void fw_cfg_select(struct fw_cfg *fc, uint16_t selector)
{
	fc->s.selector = fw_cfg_key(selector);
	fc->s.offset = 0;
}

/* Next data byte; 0 past the end or for a missing item. */
static uint8_t fw_cfg_read_byte(struct fw_cfg *fc)
{
	const struct fw_cfg_item *it = fw_cfg_find(fc, fc->s.selector);
	if (!it || fc->s.offset >= it->len)
		return 0;
	return it->data[fc->s.offset++];
}

static uint64_t fw_cfg_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fw_cfg *fc = opaque;
	uint64_t v = 0;
	(void)offset;
	/* Wider reads of the data register return the next bytes in order (memcpy-like). */
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)fw_cfg_read_byte(fc) << (8 * i);
	return v;
}

static void fw_cfg_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct fw_cfg *fc = opaque;
	if (offset == 0 && size == 2)
		fw_cfg_select(fc, (uint16_t)value);
	else
		log_guest("fw_cfg: %u-byte write 0x%llx at port 0x%llx ignored (items are read-only)",
			  size, (unsigned long long)value,
			  (unsigned long long)(FW_CFG_IO_BASE + offset));
}

const struct bus_ops fw_cfg_io_bus_ops = {
	.read = fw_cfg_io_read,
	.write = fw_cfg_io_write,
	.min_size = 1,
	.max_size = 2,
};

/* Fills [gpa, gpa + len) with zeros; the caller checked the range is RAM. */
static int fw_cfg_dma_zero(struct fw_cfg *fc, uint64_t gpa, uint64_t len)
{
	static const uint8_t zeros[FW_CFG_ZERO_CHUNK];
	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		int r = ram_write(fc->ram, gpa, zeros, n);
		if (r < 0)
			return r;
		gpa += n;
		len -= n;
	}
	return 0;
}

/* One FWCfgDmaAccess; returns the error bit to store back (0 = success). */
static uint32_t fw_cfg_dma_run(struct fw_cfg *fc, uint32_t control, uint32_t length,
			       uint64_t address)
{
	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(fc, (uint16_t)(control >> 16));
	const struct fw_cfg_item *it = fw_cfg_find(fc, fc->s.selector);
	uint32_t avail = it && fc->s.offset < it->len ? it->len - fc->s.offset : 0;
	uint32_t n = length < avail ? length : avail;

	if (control & FW_CFG_DMA_CTL_READ) {
		/* Check the whole destination first so a bad range moves nothing. */
		if (length && (address + length < address || !ram_contains(fc->ram, address, length)))
			return FW_CFG_DMA_CTL_ERROR;
		if (n && ram_write(fc->ram, address, it->data + fc->s.offset, n) < 0)
			return FW_CFG_DMA_CTL_ERROR;
		/* Past the end of the item the transfer reads zeros. */
		if (length > n && fw_cfg_dma_zero(fc, address + n, length - n) < 0)
			return FW_CFG_DMA_CTL_ERROR;
		fc->s.offset += n;
		return 0;
	}
	if (control & FW_CFG_DMA_CTL_WRITE) {
		if (length)
			log_guest("fw_cfg: DMA write to read-only item 0x%04x rejected", fc->s.selector);
		return length ? FW_CFG_DMA_CTL_ERROR : 0;
	}
	if (control & FW_CFG_DMA_CTL_SKIP)
		fc->s.offset += n;
	return 0;
}

static void fw_cfg_dma_start(struct fw_cfg *fc, uint64_t desc)
{
	uint8_t d[FW_CFG_DMA_ACCESS_SIZE];
	if (!fc->ram || ram_read(fc->ram, desc, d, sizeof(d)) < 0) {
		log_guest("fw_cfg: DMA descriptor at 0x%llx is not in RAM", (unsigned long long)desc);
		return;
	}
	uint32_t control = (uint32_t)get_be(d, 4);
	uint32_t length = (uint32_t)get_be(d + 4, 4);
	uint64_t address = get_be(d + 8, 8);
	uint8_t result[4];
	put_be(result, fw_cfg_dma_run(fc, control, length, address), 4);
	/* The descriptor may sit in ROM or have vanished: nothing more to report then. */
	if (ram_write(fc->ram, desc, result, sizeof(result)) < 0)
		log_guest("fw_cfg: cannot write DMA status at 0x%llx", (unsigned long long)desc);
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	uint64_t v = 0;
	/* The register reads as "QEMU CFG" in byte order (big-endian 0x51454d5520434647). */
	for (unsigned i = 0; i < size && offset + i < FW_CFG_DMA_SIZE; i++)
		v |= (uint64_t)(uint8_t)FW_CFG_DMA_SIGNATURE[offset + i] << (8 * i);
	return v;
}

static void fw_cfg_dma_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct fw_cfg *fc = opaque;
	for (unsigned i = 0; i < size && offset + i < FW_CFG_DMA_SIZE; i++)
		fc->s.dma_addr[offset + i] = (uint8_t)(value >> (8 * i));
	/* Writing the low half (ending at byte 7) starts the transfer. */
	if (offset + size != FW_CFG_DMA_SIZE)
		return;
	uint64_t desc = get_be(fc->s.dma_addr, 8);
	memset(fc->s.dma_addr, 0, sizeof(fc->s.dma_addr));
	fw_cfg_dma_start(fc, desc);
}

const struct bus_ops fw_cfg_dma_bus_ops = {
	.read = fw_cfg_dma_read,
	.write = fw_cfg_dma_write,
	.min_size = 1,
	.max_size = 8,
};
