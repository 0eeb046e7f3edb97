/* SPDX-License-Identifier: MIT */
/*
 * PCI tests: configuration mechanism #1 through the port regions, the
 * i440FX/PIIX3 identities, read-only fields, BAR sizing and decoding with the
 * map callback and automatic bus registration, INTx swizzle and PIIX3 PIRQ
 * routing, the 0xCF9 pass-through, BAR placement, a garbage sweep, and
 * snapshots of the bus, the chipset and a function's configuration space.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "core/statebuf.h"
#include "hw/device.h"
#include "hw/pci/pci.h"
#include "hw/pci/piix.h"

struct fake_isa {
	int level[16];
	unsigned changes;
};

static void fake_isa_set(void *opaque, unsigned line, int level)
{
	struct fake_isa *f = opaque;
	if (line < 16) {
		f->level[line] = level;
		f->changes++;
	}
}

struct map_log {
	unsigned calls;
	unsigned bar;
	uint64_t old_addr, new_addr;
};

static void fake_map(void *opaque, struct pci_device *dev, unsigned bar, uint64_t old_addr,
		     uint64_t new_addr)
{
	struct map_log *m = opaque;
	(void)dev;
	m->calls++;
	m->bar = bar;
	m->old_addr = old_addr;
	m->new_addr = new_addr;
}

static uint64_t dummy_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)size;
	return 0x40 + offset;
}

static void dummy_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	uint64_t *last = opaque;
	(void)offset;
	(void)size;
	*last = value;
}

static const struct bus_ops dummy_ops = { dummy_read, dummy_write, 1, 4 };

struct rig {
	struct pci_bus *bus;
	struct piix *piix;
	struct fake_isa isa;
	struct bus pio, mmio;
	struct map_log map;
};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->bus = pci_bus_create();
	if (!r->bus)
		abort();
	struct piix_config cfg = { .set_isa_irq = fake_isa_set, .isa_opaque = &r->isa };
	if (piix_create(r->bus, &cfg, &r->piix) < 0)
		abort();
	bus_init(&r->pio, "pio");
	bus_init(&r->mmio, "mmio");
	if (bus_add(&r->pio, PCI_CONFIG_ADDRESS_PORT, PCI_HOST_REGION_SIZE, &pci_host_addr_bus_ops,
		    r->bus, "pci-addr") < 0 ||
	    bus_add(&r->pio, PCI_CONFIG_DATA_PORT, PCI_HOST_REGION_SIZE, &pci_host_data_bus_ops,
		    r->bus, "pci-data") < 0)
		abort();
	pci_bus_set_bar_map(r->bus, fake_map, &r->map);
}

static void rig_fini(struct rig *r)
{
	piix_destroy(r->piix);
	pci_bus_destroy(r->bus);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

static uint64_t inp(struct rig *r, uint16_t port, unsigned size)
{
	uint64_t v = 0;
	bus_read(&r->pio, port, size, &v);
	return v;
}

static void outp(struct rig *r, uint16_t port, unsigned size, uint64_t v)
{
	bus_write(&r->pio, port, size, v);
}

static uint32_t cfg_rd(struct rig *r, unsigned devfn, unsigned off, unsigned size)
{
	outp(r, PCI_CONFIG_ADDRESS_PORT, 4, PCI_CONFIG_ENABLE | devfn << 8 | (off & 0xfc));
	return (uint32_t)inp(r, (uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), size);
}

static void cfg_wr(struct rig *r, unsigned devfn, unsigned off, unsigned size, uint32_t v)
{
	outp(r, PCI_CONFIG_ADDRESS_PORT, 4, PCI_CONFIG_ENABLE | devfn << 8 | (off & 0xfc));
	outp(r, (uint16_t)(PCI_CONFIG_DATA_PORT + (off & 3)), size, v);
}

static void test_identities(void)
{
	struct rig r;
	rig_init(&r);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(0, 0), 0, 4), 0x12378086);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(0, 0), PCI_CLASS_DEVICE, 2), 0x0600);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(0, 0), PCI_HEADER_TYPE, 1), 0);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), 0, 4), 0x70008086);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PCI_REVISION_ID, 4) >> 8, 0x060100);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1), 0x80);
	/* Word and byte reads at every lane of CONFIG_DATA. */
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(0, 0), 2, 2), 0x1237);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(0, 0), 3, 1), 0x12);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(0, 0), 1, 2), 0x3780); /* unaligned word inside the dword */
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC + i, 1), 0x80);
	rig_fini(&r);
}

static void test_config_mechanism(void)
{
	struct rig r;
	rig_init(&r);
	/* Linux's pci_check_type1(): CONFIG_ADDRESS reads back what was written. */
	outp(&r, PCI_CONFIG_ADDRESS_PORT, 4, 0x80000000);
	CHECK_EQ(inp(&r, PCI_CONFIG_ADDRESS_PORT, 4), 0x80000000);
	outp(&r, PCI_CONFIG_ADDRESS_PORT, 4, 0xffffffff);
	CHECK_EQ(inp(&r, PCI_CONFIG_ADDRESS_PORT, 4), 0x80fffffc);
	/* Byte/word accesses to 0xCF8 are not CONFIG_ADDRESS. */
	outp(&r, PCI_CONFIG_ADDRESS_PORT, 4, 0x80000000);
	outp(&r, PCI_CONFIG_ADDRESS_PORT, 1, 0x12);
	outp(&r, PCI_CONFIG_ADDRESS_PORT + 2, 2, 0x3456);
	CHECK_EQ(inp(&r, PCI_CONFIG_ADDRESS_PORT, 4), 0x80000000);
	CHECK_EQ(inp(&r, PCI_CONFIG_ADDRESS_PORT, 2), 0xffff);
	/* Enable bit clear, other buses, absent slots and functions: all-ones. */
	outp(&r, PCI_CONFIG_ADDRESS_PORT, 4, 0);
	CHECK_EQ(inp(&r, PCI_CONFIG_DATA_PORT, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(5, 0), 0, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 3), 0, 2), 0xffff);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(0, 1), 0, 1), 0xff);
	outp(&r, PCI_CONFIG_ADDRESS_PORT, 4, PCI_CONFIG_ENABLE | 1 << 16);
	CHECK_EQ(inp(&r, PCI_CONFIG_DATA_PORT, 4), 0xffffffff);
	outp(&r, PCI_CONFIG_DATA_PORT, 4, 0); /* a write to bus 1 goes nowhere */
	CHECK_EQ(cfg_rd(&r, 0, 0, 4), 0x12378086);
	/* Host-side access rejects odd sizes and dword-crossing offsets. */
	CHECK_EQ(pci_config_read(r.bus, 0, 3, 2), 0xffff);
	CHECK_EQ(pci_config_read(r.bus, 0, 0, 3), 0xffffff);
	CHECK_EQ(pci_config_read(r.bus, 0, 256, 1), 0xff);
	CHECK_EQ(pci_config_read(r.bus, 999, 0, 4), 0xffffffff);
	rig_fini(&r);
}

static void test_read_only_fields(void)
{
	struct rig r;
	rig_init(&r);
	cfg_wr(&r, 0, PCI_VENDOR_ID, 4, 0xdeadbeef);
	CHECK_EQ(cfg_rd(&r, 0, 0, 4), 0x12378086);
	cfg_wr(&r, 0, PCI_REVISION_ID, 4, 0);
	CHECK_EQ(cfg_rd(&r, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	cfg_wr(&r, PCI_DEVFN(1, 0), PCI_INTERRUPT_PIN, 1, 3);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PCI_INTERRUPT_PIN, 1), 0);
	/* Interrupt line, latency and PIRQRC (reserved bits 6:4) are writable. */
	cfg_wr(&r, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1, 0x0b);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1), 0x0b);
	cfg_wr(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC, 4), 0x8f8f8f8f);
	/* BARs of the bridges are not implemented: they read 0 after sizing. */
	cfg_wr(&r, 0, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(&r, 0, PCI_BASE_ADDRESS_0, 4), 0);
	/* Status error bits are write-1-to-clear. */
	struct pci_device *isa = piix_isa_bridge(r.piix);
	isa->config[PCI_STATUS + 1] = 0xf9;
	cfg_wr(&r, PCI_DEVFN(1, 0), PCI_STATUS, 2, 0x0800);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PCI_STATUS, 2), 0xf100);
	rig_fini(&r);
}

static void test_bar_sizing_and_mapping(void)
{
	struct rig r;
	struct pci_device dev;
	uint64_t last = 0;
	rig_init(&r);
	pci_device_init(&dev, 0x1af4, 0x1000, 0x020000, 0, 0);
	CHECK_EQ(pci_device_set_bar(&dev, 0, PCI_BAR_IO, 32, &dummy_ops, &last), 0);
	CHECK_EQ(pci_device_set_bar(&dev, 1, PCI_BAR_MEM32, 4096, &dummy_ops, &last), 0);
	CHECK_EQ(pci_device_set_bar(&dev, 2, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, 1 << 20, &dummy_ops,
				    &last),
		 0);
	CHECK(pci_device_set_bar(&dev, 5, PCI_BAR_MEM64, 4096, NULL, NULL) < 0);
	CHECK(pci_device_set_bar(&dev, 4, PCI_BAR_IO, 24, NULL, NULL) < 0);
	CHECK(pci_device_set_bar(&dev, 6, PCI_BAR_IO, 16, NULL, NULL) < 0);
	pci_bus_set_address_spaces(r.bus, &r.pio, &r.mmio);
	unsigned fn = PCI_DEVFN(3, 0);
	CHECK_EQ(pci_bus_add_device(r.bus, &dev, fn), 0);
	CHECK(pci_bus_add_device(r.bus, &dev, PCI_DEVFN(4, 0)) < 0);

	CHECK_EQ(cfg_rd(&r, fn, 0x10, 4), PCI_BASE_ADDRESS_SPACE_IO);
	cfg_wr(&r, fn, 0x10, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(&r, fn, 0x10, 4), 0xffffffe1);
	cfg_wr(&r, fn, 0x14, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(&r, fn, 0x14, 4), 0xfffff000);
	cfg_wr(&r, fn, 0x18, 4, 0xffffffff);
	cfg_wr(&r, fn, 0x1c, 4, 0xffffffff);
	CHECK_EQ(cfg_rd(&r, fn, 0x18, 4), 0xfff0000c);
	CHECK_EQ(cfg_rd(&r, fn, 0x1c, 4), 0xffffffff);
	CHECK_EQ(r.map.calls, 0);

	/* Sizing with decoding on must not map the all-ones pattern. */
	cfg_wr(&r, fn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_EQ(r.map.calls, 0);
	CHECK_EQ(pci_bar_address(&dev, 1), PCI_BAR_UNMAPPED);
	cfg_wr(&r, fn, PCI_COMMAND, 2, 0);

	cfg_wr(&r, fn, 0x10, 4, 0xc040);
	cfg_wr(&r, fn, 0x14, 4, 0xfebf1000);
	cfg_wr(&r, fn, 0x18, 4, 0x00000000);
	cfg_wr(&r, fn, 0x1c, 4, 0x00000008);
	CHECK_EQ(r.map.calls, 0);
	cfg_wr(&r, fn, PCI_COMMAND, 2, PCI_COMMAND_IO);
	CHECK_EQ(r.map.calls, 1);
	CHECK_EQ(r.map.bar, 0);
	CHECK_EQ(r.map.old_addr, PCI_BAR_UNMAPPED);
	CHECK_EQ(r.map.new_addr, 0xc040);
	CHECK_EQ(inp(&r, 0xc045, 1), 0x45);
	cfg_wr(&r, fn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	CHECK_EQ(r.map.calls, 3);
	CHECK_EQ(pci_bar_address(&dev, 1), 0xfebf1000);
	CHECK_EQ(pci_bar_address(&dev, 2), 0x800000000ULL);
	uint64_t v = 0;
	CHECK(bus_read(&r.mmio, 0xfebf1004, 4, &v));
	CHECK_EQ(v, 0x44);
	CHECK(bus_write(&r.mmio, 0x800000010ULL, 4, 0x1234));
	CHECK_EQ(last, 0x1234);
	/* Moving a BAR moves the region. */
	cfg_wr(&r, fn, 0x10, 4, 0xc080);
	CHECK_EQ(r.map.old_addr, 0xc040);
	CHECK_EQ(r.map.new_addr, 0xc080);
	CHECK_EQ(inp(&r, 0xc045, 1), 0xff);
	CHECK_EQ(inp(&r, 0xc081, 1), 0x41);
	/* An I/O BAR past 64 KiB or at 0 does not decode. */
	cfg_wr(&r, fn, 0x10, 4, 0xfffe0);
	CHECK_EQ(pci_bar_address(&dev, 0), PCI_BAR_UNMAPPED);
	/* Overlap with an existing region: left off the bus, no crash. */
	cfg_wr(&r, fn, 0x10, 4, 0xce0);
	CHECK_EQ(pci_bar_address(&dev, 0), 0xce0);
	CHECK_EQ(inp(&r, 0xcf8, 4), PCI_CONFIG_ENABLE | fn << 8 | 0x10);
	cfg_wr(&r, fn, PCI_COMMAND, 2, 0);
	CHECK_EQ(pci_bar_address(&dev, 1), PCI_BAR_UNMAPPED);
	CHECK(!bus_read(&r.mmio, 0xfebf1004, 4, &v));
	/* Reset clears BAR addresses. */
	cfg_wr(&r, fn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_bus_reset(r.bus);
	CHECK_EQ(cfg_rd(&r, fn, 0x14, 4), 0);
	CHECK_EQ(cfg_rd(&r, fn, 0x18, 4), 0x0c);
	CHECK_EQ(pci_bar_address(&dev, 1), PCI_BAR_UNMAPPED);
	CHECK_EQ(r.mmio.count, 0);
	pci_bus_remove_device(r.bus, &dev);
	CHECK_EQ(cfg_rd(&r, fn, 0, 4), 0xffffffff);
	rig_fini(&r);
}

static void test_intx_routing(void)
{
	struct rig r;
	struct pci_device a, b;
	rig_init(&r);
	CHECK_EQ(pci_swizzle(0, 1), 0);
	CHECK_EQ(pci_swizzle(1, 1), 1);
	CHECK_EQ(pci_swizzle(3, 2), 0);
	CHECK_EQ(pci_swizzle(6, 4), 1);
	pci_device_init(&a, 0x1af4, 0x1001, 0x010000, 0, 0);
	pci_device_init(&b, 0x1af4, 0x1001, 0x010000, 0, 0);
	pci_device_set_intx_pin(&a, 1);
	pci_device_set_intx_pin(&b, 1);
	CHECK_EQ(pci_bus_add_device(r.bus, &a, PCI_DEVFN(2, 0)), 0); /* INTA -> PIRQC */
	CHECK_EQ(pci_bus_add_device(r.bus, &b, PCI_DEVFN(3, 0)), 0); /* INTA -> PIRQD */
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(2, 0), PCI_INTERRUPT_PIN, 1), 1);

	/* Unrouted (reset value 0x80): nothing reaches the ISA side. */
	pci_set_irq(&a, 1);
	CHECK_EQ(r.isa.changes, 0);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(2, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
		 PCI_STATUS_INTERRUPT);
	/* Routing an asserted PIRQ raises the IRQ at once. */
	cfg_wr(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC + 2, 1, 11);
	CHECK_EQ(r.isa.level[11], 1);
	CHECK_EQ(piix_pirq_to_irq(r.piix, 2), 11);
	/* PIRQD shares IRQ 11: wired-OR. */
	cfg_wr(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC + 3, 1, 11);
	pci_set_irq(&b, 1);
	pci_set_irq(&a, 0);
	CHECK_EQ(r.isa.level[11], 1);
	pci_set_irq(&b, 0);
	CHECK_EQ(r.isa.level[11], 0);
	/* INTx disable masks the pin; status still shows it. */
	pci_set_irq(&a, 1);
	CHECK_EQ(r.isa.level[11], 1);
	cfg_wr(&r, PCI_DEVFN(2, 0), PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	CHECK_EQ(r.isa.level[11], 0);
	cfg_wr(&r, PCI_DEVFN(2, 0), PCI_COMMAND, 2, 0);
	CHECK_EQ(r.isa.level[11], 1);
	/* Rerouting moves the level; reserved IRQs and IRQEN# unroute. */
	cfg_wr(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC + 2, 1, 10);
	CHECK_EQ(r.isa.level[11], 0);
	CHECK_EQ(r.isa.level[10], 1);
	cfg_wr(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC + 2, 1, 2);
	CHECK_EQ(r.isa.level[10], 0);
	CHECK_EQ(r.isa.level[2], 0);
	CHECK_EQ(piix_pirq_to_irq(r.piix, 2), -1);
	cfg_wr(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC + 2, 1, 0x85);
	CHECK_EQ(r.isa.level[5], 0);
	/* Removing an asserting device drops its contribution. */
	cfg_wr(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC + 2, 1, 5);
	CHECK_EQ(r.isa.level[5], 1);
	pci_bus_remove_device(r.bus, &a);
	CHECK_EQ(r.isa.level[5], 0);
	/* Firmware-less defaults: PIRQ A-D -> 10,10,11,11 and interrupt lines. */
	piix_route_defaults(r.piix);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(1, 0), PIIX_PIRQRC, 4), 0x0b0b0a0a);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 1), 11);
	/* Chipset reset unroutes and drops what it drove. */
	pci_set_irq(&b, 1);
	CHECK_EQ(r.isa.level[11], 1);
	piix_reset(r.piix);
	CHECK_EQ(r.isa.level[11], 0);
	pci_bus_remove_device(r.bus, &b);
	rig_fini(&r);
}

struct cf9_dev {
	uint8_t value;
	unsigned writes;
};

static uint64_t cf9_read(void *opaque, uint64_t offset, unsigned size)
{
	struct cf9_dev *d = opaque;
	(void)offset;
	(void)size;
	return d->value;
}

static void cf9_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct cf9_dev *d = opaque;
	(void)offset;
	(void)size;
	d->value = (uint8_t)value;
	d->writes++;
}

static const struct bus_ops cf9_ops = { cf9_read, cf9_write, 1, 1 };

static void test_cf9_passthrough(void)
{
	struct rig r;
	struct cf9_dev d = { 0 };
	rig_init(&r);
	CHECK_EQ(inp(&r, 0xcf9, 1), 0xff);
	pci_host_set_cf9(r.bus, &cf9_ops, &d);
	outp(&r, 0xcf9, 1, 0x06);
	CHECK_EQ(d.writes, 1);
	CHECK_EQ(d.value, 0x06);
	CHECK_EQ(inp(&r, 0xcf9, 1), 0x06);
	outp(&r, 0xcf8, 4, 0x80000000); /* a dword at 0xCF8 is not an RCR write */
	CHECK_EQ(d.writes, 1);
	rig_fini(&r);
}

static void test_assign_resources(void)
{
	struct rig r;
	struct pci_device a, b;
	rig_init(&r);
	pci_device_init(&a, 0x1af4, 0x1000, 0x020000, 0, 0);
	pci_device_init(&b, 0x1af4, 0x1001, 0x010000, 0, 0);
	CHECK_EQ(pci_device_set_bar(&a, 0, PCI_BAR_IO, 32, NULL, NULL), 0);
	CHECK_EQ(pci_device_set_bar(&a, 1, PCI_BAR_MEM32, 4096, NULL, NULL), 0);
	CHECK_EQ(pci_device_set_bar(&b, 0, PCI_BAR_IO, 64, NULL, NULL), 0);
	CHECK_EQ(pci_device_set_bar(&b, 4, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, 16384, NULL, NULL), 0);
	CHECK_EQ(pci_bus_add_device(r.bus, &a, PCI_DEVFN(2, 0)), 0);
	CHECK_EQ(pci_bus_add_device(r.bus, &b, PCI_DEVFN(3, 0)), 0);
	CHECK_EQ(pci_bus_assign_resources(r.bus), 0);
	CHECK_EQ(pci_bar_address(&b, 4), 0xc0000000);
	CHECK_EQ(pci_bar_address(&a, 1), 0xc0004000);
	CHECK_EQ(pci_bar_address(&b, 0), 0xc000);
	CHECK_EQ(pci_bar_address(&a, 0), 0xc040);
	CHECK_EQ(cfg_rd(&r, PCI_DEVFN(2, 0), PCI_COMMAND, 2),
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* The bridges have no BARs and keep their command registers. */
	CHECK_EQ(cfg_rd(&r, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_bus_remove_device(r.bus, &a);
	pci_bus_remove_device(r.bus, &b);
	rig_fini(&r);
}

static void test_garbage_sweep(void)
{
	struct rig r;
	struct pci_device dev;
	rig_init(&r);
	pci_device_init(&dev, 0x1af4, 0x1000, 0x020000, 0, 0);
	CHECK_EQ(pci_device_set_bar(&dev, 0, PCI_BAR_IO, 32, &dummy_ops, NULL), 0);
	CHECK_EQ(pci_device_set_bar(&dev, 1, PCI_BAR_MEM64, 1 << 16, &dummy_ops, NULL), 0);
	pci_device_set_intx_pin(&dev, 2);
	pci_bus_set_address_spaces(r.bus, &r.pio, &r.mmio);
	CHECK_EQ(pci_bus_add_device(r.bus, &dev, PCI_DEVFN(7, 0)), 0);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (unsigned i = 0; i < 200000; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		unsigned devfn = (seed & 1) ? PCI_DEVFN(7, 0) : (unsigned)(seed >> 8) & 0x0f;
		unsigned size = 1u << ((seed >> 16) & 3);
		uint16_t port = (uint16_t)(0xcf8 + ((seed >> 20) & 7));
		if (size > 4)
			size = 4;
		outp(&r, PCI_CONFIG_ADDRESS_PORT, 4,
		     PCI_CONFIG_ENABLE | devfn << 8 | ((seed >> 24) & 0xff) |
			     ((seed >> 40) & 1) << 16);
		if ((seed >> 33) & 1)
			outp(&r, port, size, seed >> 32);
		else
			(void)inp(&r, port, size);
		if (((seed >> 50) & 0xff) == 0)
			pci_set_irq(&dev, (seed >> 60) & 1);
	}
	CHECK_EQ(pci_config_read(r.bus, PCI_DEVFN(7, 0), 0, 4), 0x10001af4);
	CHECK_EQ(pci_config_read(r.bus, 0, 0, 4), 0x12378086);
	CHECK_EQ(pci_config_read(r.bus, PCI_DEVFN(7, 0), PCI_INTERRUPT_PIN, 1), 2);
	pci_bus_remove_device(r.bus, &dev);
	CHECK_EQ(r.mmio.count, 0);
	for (unsigned irq = 0; irq < 16; irq++)
		CHECK_EQ(r.isa.level[irq], 0);
	rig_fini(&r);
}

/* The function test_snapshot moves between buses: three BARs and INTA#. */
static void snap_function(struct pci_device *dev, uint64_t *last, uint64_t mem_size)
{
	pci_device_init(dev, 0x1af4, 0x1000, 0x020000, 0, 0);
	CHECK_EQ(pci_device_set_bar(dev, 0, PCI_BAR_IO, 32, &dummy_ops, last), 0);
	CHECK_EQ(pci_device_set_bar(dev, 1, PCI_BAR_MEM32, mem_size, &dummy_ops, last), 0);
	CHECK_EQ(pci_device_set_bar(dev, 2, PCI_BAR_MEM64, 1 << 20, &dummy_ops, last), 0);
	pci_device_set_intx_pin(dev, 1);
}

/* Where the bytes of field name start in a device record, or 0. */
static size_t field_at(const struct statebuf *sb, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + 1 + n + 4 <= sb->len; i++)
		if (sb->data[i] == n && memcmp(sb->data + i + 1, name, n) == 0)
			return i + 1 + n + 4;
	return 0;
}

/*
 * A bus with the chipset and a function whose BARs the guest placed and
 * enabled, whose interrupt line it wrote and whose INTA# (PIRQD) it routed
 * to IRQ 11 while the function asserts it: saved, then loaded into a fresh
 * bus. The BARs decode at the same addresses, the registers read the same,
 * no IRQ is driven while loading, and the router knows IRQ 11 is high.
 * Configuration spaces of another function, and chipset levels that do not
 * follow from the routing, are refused.
 */
static void test_snapshot(void)
{
	struct rig a, b;
	struct pci_device fa, fb, other;
	uint64_t last_a = 0, last_b = 0;
	unsigned fn = PCI_DEVFN(3, 0);
	rig_init(&a);
	rig_init(&b);
	snap_function(&fa, &last_a, 4096);
	snap_function(&fb, &last_b, 4096);
	pci_bus_set_address_spaces(a.bus, &a.pio, &a.mmio);
	pci_bus_set_address_spaces(b.bus, &b.pio, &b.mmio);
	CHECK_EQ(pci_bus_add_device(a.bus, &fa, fn), 0);
	CHECK_EQ(pci_bus_add_device(b.bus, &fb, fn), 0);
	cfg_wr(&a, fn, 0x10, 4, 0xc040);
	cfg_wr(&a, fn, 0x14, 4, 0xfebf1000);
	cfg_wr(&a, fn, 0x18, 4, 0);
	cfg_wr(&a, fn, 0x1c, 4, 8);
	cfg_wr(&a, fn, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_wr(&a, fn, PCI_INTERRUPT_LINE, 1, 11);
	cfg_wr(&a, PIIX_PIIX3_DEVFN, PIIX_PIRQRC + 3, 1, 11);
	pci_set_irq(&fa, 1);
	CHECK_EQ(a.isa.level[11], 1);
	outp(&a, PCI_CONFIG_ADDRESS_PORT, 4, PCI_CONFIG_ENABLE | fn << 8 | PCI_INTERRUPT_LINE);

	struct statebuf sb;
	uint8_t config[PCI_CONFIG_SPACE_SIZE];
	sb_init(&sb);
	CHECK_EQ(device_save(pci_bus_device(a.bus), &sb), 0);
	CHECK_EQ(device_save(piix_device(a.piix), &sb), 0);
	pci_device_save_config(&fa, config);

	char why[256] = "";
	struct state_reader sr;
	sr_init(&sr, sb.data, sb.len);
	unsigned changes = b.isa.changes;
	CHECK_EQ(device_load(pci_bus_device(b.bus), &sr, why, sizeof(why)), 0);
	CHECK_EQ(device_load(piix_device(b.piix), &sr, why, sizeof(why)), 0);
	CHECK_EQ(pci_device_load_config(&fb, config, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_EQ(sr.left, 0);
	CHECK_EQ(b.isa.changes, changes); /* the controllers keep their own state */
	CHECK_EQ(inp(&b, PCI_CONFIG_ADDRESS_PORT, 4), PCI_CONFIG_ENABLE | fn << 8 | PCI_INTERRUPT_LINE);
	CHECK_EQ(inp(&b, PCI_CONFIG_DATA_PORT, 1), 11);
	CHECK_EQ(cfg_rd(&b, fn, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK_EQ(cfg_rd(&b, fn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
	CHECK_EQ(cfg_rd(&b, PIIX_PIIX3_DEVFN, PIIX_PIRQRC, 4), 0x0b808080);
	CHECK_EQ(piix_pirq_to_irq(b.piix, 3), 11);
	for (unsigned n = 0; n < 3; n++)
		CHECK_EQ(pci_bar_address(&fb, n), pci_bar_address(&fa, n));
	CHECK_EQ(pci_bar_address(&fb, 2), 0x800000000ULL);
	CHECK_EQ(b.map.new_addr, 0x800000000ULL); /* the board's map callback heard of it */
	CHECK_EQ(inp(&b, 0xc045, 1), 0x45);
	uint64_t v = 0;
	CHECK(bus_read(&b.mmio, 0xfebf1008, 4, &v));
	CHECK_EQ(v, 0x48);
	CHECK(bus_write(&b.mmio, 0x800000010ULL, 4, 0x5678));
	CHECK_EQ(last_b, 0x5678);
	CHECK_EQ(b.mmio.count, a.mmio.count);
	/* The router kept IRQ 11 high: the function dropping INTA# lowers it. */
	pci_set_irq(&fb, 0);
	CHECK_EQ(b.isa.changes, changes + 1);
	CHECK_EQ(b.isa.level[11], 0);

	/* Another function's space (a BAR of another size; another device ID) is refused. */
	snap_function(&other, &last_b, 8192);
	CHECK_EQ(pci_bus_add_device(b.bus, &other, PCI_DEVFN(4, 0)), 0);
	CHECK_EQ(pci_device_load_config(&other, config, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "another function's") != NULL);
	CHECK_EQ(pci_bar_address(&other, 0), PCI_BAR_UNMAPPED);
	uint8_t wrong[PCI_CONFIG_SPACE_SIZE];
	memcpy(wrong, config, sizeof(wrong));
	wrong[PCI_DEVICE_ID] ^= 1;
	CHECK_EQ(pci_device_load_config(&fb, wrong, why, sizeof(why)), -EINVAL);
	pci_bus_remove_device(b.bus, &other);

	/* The chipset: IRQ 11 low while PIRQD is high and routed there. */
	size_t at = field_at(&sb, "isa_level");
	CHECK(at != 0);
	sb.data[at + 11] = 0;
	sr_init(&sr, sb.data, sb.len);
	CHECK_EQ(device_load(pci_bus_device(b.bus), &sr, why, sizeof(why)), 0);
	CHECK_EQ(device_load(piix_device(b.piix), &sr, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "piix: IRQ 11 at level 0, but its PIRQs say 1");
	CHECK_EQ(cfg_rd(&b, PIIX_PIIX3_DEVFN, PIIX_PIRQRC + 3, 1), 0x80); /* left reset */
	/* CONFIG_ADDRESS with reserved bits. */
	at = field_at(&sb, "config_address");
	CHECK(at != 0);
	sb.data[at] |= 1;
	sr_init(&sr, sb.data, sb.len);
	CHECK_EQ(device_load(pci_bus_device(b.bus), &sr, why, sizeof(why)), -EINVAL);
	CHECK_EQ(inp(&b, PCI_CONFIG_ADDRESS_PORT, 4), 0);
	sb_free(&sb);
	pci_bus_remove_device(a.bus, &fa);
	pci_bus_remove_device(b.bus, &fb);
	rig_fini(&a);
	rig_fini(&b);
}

CHECK_MAIN(TEST_CASE(test_identities), TEST_CASE(test_config_mechanism),
	   TEST_CASE(test_read_only_fields), TEST_CASE(test_bar_sizing_and_mapping),
	   TEST_CASE(test_intx_routing), TEST_CASE(test_cf9_passthrough),
	   TEST_CASE(test_assign_resources), TEST_CASE(test_garbage_sweep), TEST_CASE(test_snapshot))
