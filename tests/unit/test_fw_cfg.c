/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg tests: signature and ID through the I/O ports, the file directory
 * (big-endian, sorted by name), named files, the standard machine items and
 * etc/e820, the ACPI files, the DMA interface including every way a guest
 * can hand it bad addresses and lengths, and snapshots (faithful, and
 * hostile ones refused).
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "snapshot_check.h"
#include "core/statebuf.h"
#include "hw/device.h"
#include "hw/fw_cfg.h"
#include "hw/pc/board.h"

struct rig {
	struct guest_ram ram;
	struct fw_cfg *fc;
	struct bus pio;
};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	if (ram_init(&r->ram, 4 * MiB) < 0)
		abort();
	r->fc = fw_cfg_create(&r->ram);
	if (!r->fc)
		abort();
	bus_init(&r->pio, "pio");
	if (bus_add(&r->pio, FW_CFG_IO_BASE, FW_CFG_IO_SIZE, &fw_cfg_io_bus_ops, r->fc, "fw_cfg") < 0 ||
	    bus_add(&r->pio, FW_CFG_DMA_BASE, FW_CFG_DMA_SIZE, &fw_cfg_dma_bus_ops, r->fc,
		    "fw_cfg-dma") < 0)
		abort();
}

static void rig_fini(struct rig *r)
{
	fw_cfg_destroy(r->fc);
	bus_destroy(&r->pio);
	ram_destroy(&r->ram);
}

static void sel(struct rig *r, uint16_t key)
{
	bus_write(&r->pio, FW_CFG_IO_BASE, 2, key);
}

static void rd(struct rig *r, void *buf, size_t n)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;
		bus_read(&r->pio, FW_CFG_IO_BASE + 1, 1, &v);
		p[i] = (uint8_t)v;
	}
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void test_signature_and_id(void)
{
	struct rig r;
	char sig[5] = { 0 };
	uint8_t id[4], past[2];
	rig_init(&r);
	sel(&r, FW_CFG_SIGNATURE);
	rd(&r, sig, 4);
	CHECK_STR(sig, "QEMU");
	rd(&r, past, 2);
	CHECK(past[0] == 0 && past[1] == 0); /* past the end reads 0 */
	sel(&r, FW_CFG_ID | FW_CFG_WRITE_CHANNEL); /* bit 14 does not change the item */
	rd(&r, id, 4);
	CHECK_EQ(id[0], FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	sel(&r, 0x1234); /* missing item: zeros */
	rd(&r, id, 4);
	CHECK_EQ(be32(id), 0);
	uint64_t v = 0;
	CHECK(bus_read(&r.pio, FW_CFG_DMA_BASE, 4, &v));
	CHECK_EQ(v, 0x554d4551); /* "QEMU" in port order */
	CHECK(bus_read(&r.pio, FW_CFG_DMA_BASE + 4, 4, &v));
	CHECK_EQ(v, 0x47464320); /* " CFG" */
	CHECK_EQ(__builtin_bswap64(fw_cfg_dma_bus_ops.read(r.fc, 0, 8)), 0x51454d5520434647ULL);
	/* Data port writes are ignored. */
	bus_write(&r.pio, FW_CFG_IO_BASE + 1, 1, 0x55);
	sel(&r, FW_CFG_SIGNATURE);
	rd(&r, sig, 4);
	CHECK_STR(sig, "QEMU");
	rig_fini(&r);
}

static void test_files_and_directory(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(fw_cfg_add_file(r.fc, "opt/zeta", "zz", 2), 0);
	CHECK_EQ(fw_cfg_add_file(r.fc, "etc/alpha", "hello", 5), 0);
	CHECK_EQ(fw_cfg_add_file(r.fc, "etc/alpha", "x", 1), -EEXIST);
	CHECK_EQ(fw_cfg_add_file(r.fc, "", "x", 1), -EINVAL);
	char longname[80];
	memset(longname, 'a', sizeof(longname));
	longname[56] = 0;
	CHECK_EQ(fw_cfg_add_file(r.fc, longname, "x", 1), -ENAMETOOLONG);
	longname[55] = 0;
	CHECK_EQ(fw_cfg_add_file(r.fc, longname, "x", 1), 0);
	CHECK_EQ(fw_cfg_file_key(r.fc, "opt/zeta"), 0x20);
	CHECK_EQ(fw_cfg_file_key(r.fc, "etc/alpha"), 0x21);
	CHECK_EQ(fw_cfg_file_key(r.fc, "nope"), -ENOENT);
	CHECK_EQ(fw_cfg_add_bytes(r.fc, 0x21, "x", 1), -EINVAL);
	CHECK_EQ(fw_cfg_add_bytes(r.fc, FW_CFG_FILE_DIR, "x", 1), -EINVAL);

	uint8_t dir[4 + 3 * 64];
	sel(&r, FW_CFG_FILE_DIR);
	rd(&r, dir, sizeof(dir));
	CHECK_EQ(be32(dir), 3);
	/* Sorted by name: "aaa...", "etc/alpha", "opt/zeta". */
	CHECK_EQ(dir[4 + 8], 'a');
	CHECK_STR((char *)dir + 4 + 64 + 8, "etc/alpha");
	CHECK_EQ(be32(dir + 4 + 64), 5);
	CHECK_EQ(dir[4 + 64 + 4] << 8 | dir[4 + 64 + 5], 0x21);
	CHECK_STR((char *)dir + 4 + 128 + 8, "opt/zeta");
	char buf[6] = { 0 };
	sel(&r, 0x21);
	rd(&r, buf, 5);
	CHECK_STR(buf, "hello");
	rig_fini(&r);
}

static void test_machine_items(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(fw_cfg_add_machine(r.fc, 512 * MiB, 4), 0);
	uint8_t b[8];
	sel(&r, FW_CFG_RAM_SIZE);
	rd(&r, b, 8);
	CHECK_EQ(b[3], 0x20); /* 0x20000000 little-endian */
	sel(&r, FW_CFG_NB_CPUS);
	rd(&r, b, 2);
	CHECK_EQ(b[0] | b[1] << 8, 4);
	sel(&r, FW_CFG_MAX_CPUS);
	rd(&r, b, 2);
	CHECK_EQ(b[0] | b[1] << 8, 4);
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(&r.ram, map, E820_MAX_ENTRIES);
	CHECK_EQ(fw_cfg_add_e820(r.fc, map, n), 0);
	int key = fw_cfg_file_key(r.fc, "etc/e820");
	CHECK(key >= 0x20);
	uint8_t e[20];
	sel(&r, (uint16_t)key);
	rd(&r, e, 20);
	CHECK_EQ(e[16], E820_RAM);
	CHECK_EQ(e[8] | e[9] << 8 | e[10] << 16, E820_EBDA_START);

	struct acpi_config cfg;
	struct acpi_tables t;
	board_acpi_description(&cfg, 2);
	CHECK_EQ(acpi_build(&cfg, &t), 0);
	CHECK_EQ(fw_cfg_add_acpi(r.fc, &t), 0);
	CHECK(fw_cfg_file_key(r.fc, ACPI_FILE_TABLES) >= 0);
	CHECK(fw_cfg_file_key(r.fc, ACPI_FILE_RSDP) >= 0);
	key = fw_cfg_file_key(r.fc, ACPI_FILE_LOADER);
	CHECK(key >= 0);
	uint8_t cmd[4];
	sel(&r, (uint16_t)key);
	rd(&r, cmd, 4);
	CHECK_EQ(cmd[0], ACPI_LOADER_ALLOCATE);
	acpi_tables_free(&t);
	rig_fini(&r);
}

/* Writes a descriptor at desc and starts it with two 32-bit big-endian halves. */
static uint32_t dma(struct rig *r, uint64_t desc, uint32_t control, uint32_t length, uint64_t addr)
{
	uint8_t d[16];
	put_be32(d, control);
	put_be32(d + 4, length);
	put_be32(d + 8, (uint32_t)(addr >> 32));
	put_be32(d + 12, (uint32_t)addr);
	if (ram_write(&r->ram, desc, d, sizeof(d)) < 0)
		return 0xdead;
	bus_write(&r->pio, FW_CFG_DMA_BASE, 4, __builtin_bswap32((uint32_t)(desc >> 32)));
	bus_write(&r->pio, FW_CFG_DMA_BASE + 4, 4, __builtin_bswap32((uint32_t)desc));
	uint8_t out[4];
	if (ram_read(&r->ram, desc, out, 4) < 0)
		return 0xdead;
	return be32(out);
}

static void test_dma(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(fw_cfg_add_file(r.fc, "etc/blob", "0123456789", 10), 0);
	uint16_t key = (uint16_t)fw_cfg_file_key(r.fc, "etc/blob");
	const uint64_t desc = 0x1000, buf = 0x2000;
	uint8_t out[16];
	memset(out, 0xaa, sizeof(out));
	CHECK_EQ(ram_write(&r.ram, buf, out, sizeof(out)), 0);
	/* Select + read 4, then read on, past the end: zero-filled. */
	CHECK_EQ(dma(&r, desc, (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
		     buf),
		 0);
	CHECK_EQ(dma(&r, desc, FW_CFG_DMA_CTL_SKIP, 2, 0), 0);
	CHECK_EQ(dma(&r, desc, FW_CFG_DMA_CTL_READ, 8, buf + 4), 0);
	CHECK_EQ(ram_read(&r.ram, buf, out, sizeof(out)), 0);
	CHECK(memcmp(out, "01236789\0\0\0\0", 12) == 0);
	CHECK_EQ(out[12], 0xaa);
	/* The byte interface continues from the DMA offset (at the end now). */
	uint8_t b = 1;
	rd(&r, &b, 1);
	CHECK_EQ(b, 0);
	/* Writes are rejected: items are read-only. */
	CHECK_EQ(dma(&r, desc, (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4,
		     buf),
		 FW_CFG_DMA_CTL_ERROR);
	/* Destination outside RAM, wrapping, or partly outside: error, nothing written. */
	CHECK_EQ(dma(&r, desc, (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
		     0xfee00000ULL),
		 FW_CFG_DMA_CTL_ERROR);
	CHECK_EQ(dma(&r, desc, FW_CFG_DMA_CTL_READ, 0x10, 0xfffffffffffffff8ULL),
		 FW_CFG_DMA_CTL_ERROR);
	CHECK_EQ(dma(&r, desc, FW_CFG_DMA_CTL_READ, 0xffffffff, 4 * MiB - 4),
		 FW_CFG_DMA_CTL_ERROR);
	CHECK_EQ(dma(&r, desc, FW_CFG_DMA_CTL_READ, 0x100, 4 * MiB - 0x10), FW_CFG_DMA_CTL_ERROR);
	/* A large zero fill inside RAM works. */
	CHECK_EQ(dma(&r, desc, FW_CFG_DMA_CTL_READ, 1 * MiB, 2 * MiB), 0);
	/* Descriptor outside RAM: ignored, no crash. A plain 32-bit trigger works too. */
	bus_write(&r.pio, FW_CFG_DMA_BASE + 4, 4, __builtin_bswap32(0xfff00000));
	bus_write(&r.pio, FW_CFG_DMA_BASE, 8, 0xffffffffffffffffULL);
	/* No operation bits: nothing happens, success. */
	CHECK_EQ(dma(&r, desc, 0, 100, buf), 0);
	/* Garbage sweep of the DMA register and the selector. */
	uint64_t seed = 12345;
	for (unsigned i = 0; i < 5000; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t ctl = (uint32_t)(seed >> 32);
		(void)dma(&r, 0x3000 + (seed & 0xff0), ctl & 0xffff001f,
			  (uint32_t)(seed >> 8) & 0xffff, (seed >> 16) & 0x7fffff);
		sel(&r, (uint16_t)seed);
	}
	rig_fini(&r);
}

/* The items a board adds, the same on every device of the test. */
static void add_items(struct rig *r, uint8_t *blob, size_t len)
{
	for (size_t i = 0; i < len; i++)
		blob[i] = (uint8_t)(i * 7 + 3);
	CHECK_EQ(fw_cfg_add_machine(r->fc, 4 * MiB, 1), 0);
	CHECK_EQ(fw_cfg_add_file(r->fc, "etc/blob", blob, len), 0);
	CHECK_EQ(fw_cfg_add_file(r->fc, "etc/other", "xyz", 3), 0);
}

/* Mid-read of a file through the data port with the DMA address register's
 * high half written: a fresh device with the same items, loaded from the
 * snapshot, gives the rest of the file and runs the DMA transfer the low
 * half starts exactly as the first. */
static void test_snapshot(void)
{
	struct rig a, b;
	uint8_t blob[100], got_a[80], got_b[80];
	rig_init(&a);
	rig_init(&b);
	add_items(&a, blob, sizeof(blob));
	add_items(&b, blob, sizeof(blob));
	uint16_t key = (uint16_t)fw_cfg_file_key(a.fc, "etc/blob");
	sel(&a, key | FW_CFG_WRITE_CHANNEL);
	rd(&a, got_a, 37);
	CHECK(memcmp(got_a, blob, 37) == 0);
	/* A descriptor at 0x1000 (read 20 bytes to 0x2000) in both RAMs. */
	uint8_t d[16] = { 0 };
	put_be32(d, FW_CFG_DMA_CTL_READ);
	put_be32(d + 4, 20);
	put_be32(d + 12, 0x2000);
	CHECK_EQ(ram_write(&a.ram, 0x1000, d, sizeof(d)), 0);
	CHECK_EQ(ram_write(&b.ram, 0x1000, d, sizeof(d)), 0);
	bus_write(&a.pio, FW_CFG_DMA_BASE, 4, 0); /* the high half */

	struct statebuf sb;
	snap_save(fw_cfg_device(a.fc), &sb);
	char why[256];
	CHECK_EQ(snap_load(fw_cfg_device(b.fc), &sb, why, sizeof(why)), 0);
	rd(&a, got_a, 13);
	rd(&b, got_b, 13);
	CHECK(memcmp(got_b, blob + 37, 13) == 0);
	CHECK(memcmp(got_a, got_b, 13) == 0);
	bus_write(&a.pio, FW_CFG_DMA_BASE + 4, 4, __builtin_bswap32(0x1000));
	bus_write(&b.pio, FW_CFG_DMA_BASE + 4, 4, __builtin_bswap32(0x1000));
	CHECK_EQ(ram_read(&a.ram, 0x2000, got_a, 20), 0);
	CHECK_EQ(ram_read(&b.ram, 0x2000, got_b, 20), 0);
	CHECK(memcmp(got_b, blob + 50, 20) == 0);
	CHECK(memcmp(got_a, got_b, 20) == 0);
	rd(&a, got_a, 40);
	rd(&b, got_b, 40);
	CHECK(memcmp(got_b, blob + 70, 30) == 0);
	CHECK(memcmp(got_a, got_b, 40) == 0); /* zeros past the end */
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

/* What a reset device gives: the signature, from offset 0. */
static void check_is_reset(struct rig *r)
{
	char sig[5] = { 0 };
	rd(r, sig, 4);
	CHECK_STR(sig, "QEMU");
}

/* A selector with the write-channel bit, or an offset beyond the item (or
 * any offset on a key with no item), is refused and leaves the device reset;
 * records of random fields either load or are refused, and a device that
 * loaded runs a sweep of port reads and DMA without tripping ASan or UBSan. */
static void test_snapshot_hostile(void)
{
	struct rig a, b;
	uint8_t blob[100];
	rig_init(&a);
	rig_init(&b);
	add_items(&a, blob, sizeof(blob));
	add_items(&b, blob, sizeof(blob));
	uint16_t key = (uint16_t)fw_cfg_file_key(a.fc, "etc/other");
	sel(&a, key);
	uint8_t byte;
	rd(&a, &byte, 1);
	struct statebuf sb;
	snap_save(fw_cfg_device(a.fc), &sb);
	char why[256];
	CHECK_EQ(snap_load(fw_cfg_device(b.fc), &sb, why, sizeof(why)), 0);
	rd(&b, &byte, 1);
	CHECK_EQ(byte, 'y');

	static const struct {
		const char *field;
		uint64_t value;
	} bad[] = {
		{ "offset", 4 }, /* "xyz" has 3 bytes */
		{ "offset", 0xffffffff },
		{ "selector", FW_CFG_WRITE_CHANNEL | FW_CFG_ID },
		{ "selector", 0x1234 }, /* no item there, offset 1 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_refused(fw_cfg_device(b.fc), &sb, bad[i].field, bad[i].value);
		check_is_reset(&b);
	}
	/* The end of an item is a place a reader can be. */
	struct statebuf end;
	sb_init(&end);
	sb_put(&end, sb.data, sb.len);
	snap_poke(&end, "offset", 3);
	CHECK_EQ(snap_load(fw_cfg_device(b.fc), &end, why, sizeof(why)), 0);
	byte = 0xaa;
	rd(&b, &byte, 1);
	CHECK_EQ(byte, 0);
	sb_free(&end);

	uint64_t rng = 0xbb67ae8584caa73bULL;
	unsigned loaded = 0;
	for (unsigned round = 0; round < 400; round++) {
		struct statebuf junk;
		sb_init(&junk);
		sb_put(&junk, sb.data, sb.len);
		snap_scramble(fw_cfg_device(b.fc), &junk, &rng);
		int r = snap_load(fw_cfg_device(b.fc), &junk, why, sizeof(why));
		CHECK(r == 0 || r == -EINVAL);
		if (r == 0) {
			loaded++;
			uint8_t buf[8];
			for (unsigned k = 0; k < 50; k++) {
				uint64_t x = snap_rand(&rng);
				switch (x % 4) {
				case 0:
					rd(&b, buf, (x >> 8) % 8);
					break;
				case 1:
					(void)dma(&b, 0x3000, (uint32_t)(x >> 16) & 0xffff001f,
						  (uint32_t)(x >> 32) & 0xfff, 0x4000);
					break;
				case 2:
					/* Whatever the DMA register holds completes to some address. */
					bus_write(&b.pio, FW_CFG_DMA_BASE + 4, 4, (uint32_t)(x >> 8));
					break;
				default:
					sel(&b, (uint16_t)(x >> 8));
					break;
				}
			}
		} else {
			check_is_reset(&b);
		}
		sb_free(&junk);
	}
	if (loaded <= 10)
		printf("# only %u of 400 records loaded\n", loaded);
	CHECK(loaded > 10);
	sb_free(&sb);
	rig_fini(&a);
	rig_fini(&b);
}

CHECK_MAIN(TEST_CASE(test_signature_and_id), TEST_CASE(test_files_and_directory),
	   TEST_CASE(test_machine_items), TEST_CASE(test_dma), TEST_CASE(test_snapshot),
	   TEST_CASE(test_snapshot_hostile))
