/* SPDX-License-Identifier: MIT */
/*
 * A small AML encoder (ACPI 6.5 §20.2: NameOp, ScopeOp, DeviceOp, PackageOp,
 * BufferOp, integers, strings, EISA IDs, package lengths) and the DSDT body
 * built with it:
 *
 *   Name (\_S5, Package () { S5, S5, 0, 0 })     SLP_TYP for PM1a/PM1b
 *   Scope (\_SB) {
 *     Device (PCI0) { _HID PNP0A03, _ADR 0, _UID 0,
 *                     _CRS: buses 0-255, CF8-CFF, I/O 0-CF7 and D00-FFFF,
 *                           memory A0000-BFFFF and the PCI hole }
 *     Device (Cnnn) { _HID "ACPI0007", _UID n }   one per CPU
 *   }
 *
 * Not emitted: _PRT (Linux then routes INTx from the interrupt line
 * register, which piix_route_defaults or the firmware fills), link devices,
 * _OSC, sleep states other than S5, methods of any kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR '\\'

/* Resource descriptors (ACPI 6.5 §6.4). */
#define AML_RES_IO 0x47
#define AML_RES_END_TAG 0x79
#define AML_RES_DWORD_ADDRESS 0x87
#define AML_RES_WORD_ADDRESS 0x88
#define AML_RES_TYPE_MEMORY 0
#define AML_RES_TYPE_IO 1
#define AML_RES_TYPE_BUS 2
#define AML_RES_MIN_MAX_FIXED 0x0c /* _MIF | _MAF, positive decode, producer */

struct aml {
	uint8_t *data;
	size_t len, cap;
	int err;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 512;
		while (cap < a->len + n)
			cap *= 2;
		uint8_t *d = realloc(a->data, cap);
		if (!d) {
			a->err = -ENOMEM;
			return;
		}
		a->data = d;
		a->cap = cap;
	}
	memcpy(a->data + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* Marks where a PkgLength-prefixed body starts; aml_close inserts the length. */
static size_t aml_open(struct aml *a)
{
	return a->len;
}

/* PkgLength (§20.2.4) counts its own bytes: 1 byte up to 63, else 2-4 bytes. */
static void aml_close(struct aml *a, size_t start)
{
	if (a->err)
		return;
	size_t body = a->len - start;
	unsigned n = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 : body + 3 <= 0xfffff ? 3 : 4;
	size_t total = body + n;
	uint8_t enc[4];
	if (total > 0xfffffff) {
		a->err = -EINVAL;
		return;
	}
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	aml_bytes(a, enc, n); /* grow first, then shift the body up */
	if (a->err)
		return;
	memmove(a->data + start + n, a->data + start, body);
	memcpy(a->data + start, enc, n);
}

/* A NameString: optional leading '\', then one 4-character segment padded with '_'. */
static void aml_name(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };
	if (*name == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		name++;
	}
	for (unsigned i = 0; i < 4 && name[i]; i++)
		seg[i] = name[i];
	aml_bytes(a, seg, 4);
}

static void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

static void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME_OP);
	aml_name(a, name);
	aml_integer(a, v);
}

uint32_t acpi_eisaid(const char *id)
{
	/* Three letters in 5 bits each, then four hex digits; stored big-endian. */
	uint32_t v = 0;
	for (unsigned i = 0; i < 3 && id[i]; i++)
		v = (v << 5) | ((uint32_t)(id[i] - 0x40) & 0x1f);
	for (unsigned i = 3; i < 7 && id[i]; i++) {
		char c = id[i];
		uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
			     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
			     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10) : 0;
		v = (v << 4) | d;
	}
	return __builtin_bswap32(v);
}

static void aml_device_begin(struct aml *a, const char *name, size_t *start)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	*start = aml_open(a);
	aml_name(a, name);
}

static void res_word_address(struct aml *a, uint8_t type, uint8_t type_flags, uint16_t min,
			     uint16_t max)
{
	aml_byte(a, AML_RES_WORD_ADDRESS);
	aml_le(a, 13, 2);
	aml_byte(a, type);
	aml_byte(a, AML_RES_MIN_MAX_FIXED);
	aml_byte(a, type_flags);
	aml_le(a, 0, 2); /* granularity */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2); /* translation */
	aml_le(a, (uint32_t)max - min + 1, 2);
}

static void res_dword_memory(struct aml *a, uint32_t min, uint32_t max)
{
	aml_byte(a, AML_RES_DWORD_ADDRESS);
	aml_le(a, 23, 2);
	aml_byte(a, AML_RES_TYPE_MEMORY);
	aml_byte(a, AML_RES_MIN_MAX_FIXED);
	aml_byte(a, 0x03); /* cacheable, read-write */
	aml_le(a, 0, 4);
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4);
	aml_le(a, (uint64_t)max - min + 1, 4);
}

/* Name (_CRS, ResourceTemplate () { ... }) of the PCI root bridge. */
static void aml_pci0_crs(struct aml *a, const struct acpi_config *cfg)
{
	struct aml res = { 0 };
	res_word_address(&res, AML_RES_TYPE_BUS, 0, 0x00, 0xff);
	/* The config mechanism ports are the bridge's own, consumed, not forwarded. */
	aml_byte(&res, AML_RES_IO);
	aml_byte(&res, 0x01); /* 16-bit decode */
	aml_le(&res, 0x0cf8, 2);
	aml_le(&res, 0x0cf8, 2);
	aml_byte(&res, 1);
	aml_byte(&res, 8);
	res_word_address(&res, AML_RES_TYPE_IO, 0x03, 0x0000, 0x0cf7); /* entire range */
	res_word_address(&res, AML_RES_TYPE_IO, 0x03, 0x0d00, 0xffff);
	res_dword_memory(&res, 0x000a0000, 0x000bffff);
	res_dword_memory(&res, cfg->pci_mmio_start, cfg->pci_mmio_end - 1);
	aml_byte(&res, AML_RES_END_TAG);
	aml_byte(&res, 0); /* checksum 0: treated as valid */
	if (res.err) {
		a->err = res.err;
		free(res.data);
		return;
	}
	aml_byte(a, AML_NAME_OP);
	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	size_t b = aml_open(a);
	aml_integer(a, res.len);
	aml_bytes(a, res.data, res.len);
	aml_close(a, b);
	free(res.data);
}

int acpi_build_dsdt_aml(const struct acpi_config *cfg, uint8_t **aml, size_t *len)
{
	struct aml a = { 0 };
	size_t pkg, scope, dev;
	*aml = NULL;
	*len = 0;

	/* \_S5: SLP_TYPa, SLP_TYPb, two reserved (§7.4.2). */
	aml_byte(&a, AML_NAME_OP);
	aml_name(&a, "\\_S5_");
	aml_byte(&a, AML_PACKAGE_OP);
	pkg = aml_open(&a);
	aml_byte(&a, 4);
	aml_integer(&a, cfg->s5_slp_typ);
	aml_integer(&a, cfg->s5_slp_typ);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_close(&a, pkg);

	aml_byte(&a, AML_SCOPE_OP);
	scope = aml_open(&a);
	aml_name(&a, "\\_SB_");

	aml_device_begin(&a, "PCI0", &dev);
	aml_byte(&a, AML_NAME_OP);
	aml_name(&a, "_HID");
	aml_byte(&a, AML_DWORD_PREFIX);
	aml_le(&a, acpi_eisaid("PNP0A03"), 4);
	aml_name_integer(&a, "_ADR", 0);
	aml_name_integer(&a, "_UID", 0);
	aml_pci0_crs(&a, cfg);
	aml_close(&a, dev);

	/* Processor devices (§8.4): UIDs match the MADT's ACPI Processor UIDs. */
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		char name[8];
		snprintf(name, sizeof(name), "C%03X", i & 0xfff);
		aml_device_begin(&a, name, &dev);
		aml_byte(&a, AML_NAME_OP);
		aml_name(&a, "_HID");
		aml_string(&a, "ACPI0007");
		aml_name_integer(&a, "_UID", i);
		aml_close(&a, dev);
	}
	aml_close(&a, scope);

	if (a.err) {
		free(a.data);
		return a.err;
	}
	*aml = a.data;
	*len = a.len;
	return 0;
}
