/* SPDX-License-Identifier: MIT */
/*
 * The PCI bus and configuration mechanism #1 (PCI Local Bus Specification
 * 3.0 §3.2.2.3.2), configuration space write masks (§6.1-§6.2), BAR sizing and
 * decoding (§6.2.5.1), INTx wire-OR onto PIRQ A-D, BAR placement for
 * firmware-less boots, and configuration spaces in snapshots. See pci.h for
 * the contract and what is not modelled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/pci/pci.h"

#define PCI_NUM_PIRQS 4
/* CONFIG_ADDRESS: enable, bus, device, function, dword register; 30:24 and 1:0 read 0. */
#define PCI_CONFIG_ADDRESS_MASK 0x80fffffcu

/* What a snapshot keeps of the host bridge (pci_host_fields). */
struct pci_host_state {
	uint32_t config_address;
};

struct pci_bus {
	struct device dev;
	struct pci_host_state s;
	struct pci_device *devs[PCI_MAX_DEVFN];
	pci_bar_map_fn *map_fn;
	void *map_opaque;
	pci_pirq_fn *pirq_fn;
	void *pirq_opaque;
	pci_msi_fn *msi_fn;
	void *msi_opaque;
	unsigned pirq_count[PCI_NUM_PIRQS]; /* asserted INTx pins per PIRQ (wire-OR) */
	struct bus *pio;
	struct bus *mmio;
	const struct bus_ops *cf9_ops;
	void *cf9_opaque;
};

static uint32_t cfg_get(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void cfg_put(uint8_t *p, uint32_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t pci_command(const struct pci_device *dev)
{
	return (uint16_t)cfg_get(&dev->config[PCI_COMMAND], 2);
}

unsigned pci_swizzle(unsigned slot, unsigned pin)
{
	if (pin == 0)
		return 0;
	return (slot + pin - 1) % PCI_NUM_PIRQS;
}

void pci_device_init(struct pci_device *dev, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint8_t header_type)
{
	memset(dev, 0, sizeof(*dev));
	cfg_put(&dev->config[PCI_VENDOR_ID], vendor, 2);
	cfg_put(&dev->config[PCI_DEVICE_ID], device, 2);
	dev->config[PCI_REVISION_ID] = revision;
	cfg_put(&dev->config[PCI_CLASS_PROG], class_code & 0xffffff, 3);
	dev->config[PCI_HEADER_TYPE] = header_type;
	cfg_put(&dev->config[PCI_SUBSYSTEM_VENDOR_ID], vendor, 2);
	cfg_put(&dev->config[PCI_SUBSYSTEM_ID], device, 2);
	cfg_put(&dev->wmask[PCI_COMMAND],
		PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
			PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE,
		2);
	cfg_put(&dev->w1cmask[PCI_STATUS], PCI_STATUS_W1C, 2);
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	dev->wmask[PCI_LATENCY_TIMER] = 0xff;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		dev->bars[n].mapped = PCI_BAR_UNMAPPED;
}

static bool pci_is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int pci_device_set_bar(struct pci_device *dev, unsigned n, uint8_t kind, uint64_t size,
		       const struct bus_ops *ops, void *opaque)
{
	bool io = kind & PCI_BAR_IO;
	bool is64 = !io && (kind & PCI_BAR_MEM64);
	if (dev->bus || n >= PCI_NUM_BARS || (is64 && n + 1 >= PCI_NUM_BARS) || !pci_is_pow2(size))
		return -EINVAL;
	if (kind & ~(PCI_BAR_IO | PCI_BAR_MEM64 | PCI_BAR_PREFETCH) || (io && kind != PCI_BAR_IO))
		return -EINVAL;
	if (io ? (size < 4 || size > 256) : (size < 16 || (!is64 && size > 2 * GiB)))
		return -EINVAL;
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint64_t addr_mask = ~(size - 1) & (io ? ~3ULL : ~15ULL);
	dev->bars[n] = (struct pci_bar){ .size = size, .kind = kind, .ops = ops, .opaque = opaque,
					 .mapped = PCI_BAR_UNMAPPED };
	cfg_put(&dev->config[off], kind, 4);
	cfg_put(&dev->wmask[off], (uint32_t)addr_mask, 4);
	if (is64) {
		dev->bars[n + 1] = (struct pci_bar){ .mapped = PCI_BAR_UNMAPPED };
		cfg_put(&dev->config[off + 4], 0, 4);
		cfg_put(&dev->wmask[off + 4], (uint32_t)(addr_mask >> 32), 4);
	}
	return 0;
}

void pci_device_set_intx_pin(struct pci_device *dev, uint8_t pin)
{
	dev->config[PCI_INTERRUPT_PIN] = pin <= 4 ? pin : 0;
}

/* Where BAR n decodes given the command register and the BAR value (§6.2.5.1). */
static uint64_t pci_bar_decode(const struct pci_device *dev, unsigned n)
{
	const struct pci_bar *b = &dev->bars[n];
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint16_t cmd = pci_command(dev);
	if (!b->size)
		return PCI_BAR_UNMAPPED;
	if (b->kind & PCI_BAR_IO) {
		if (!(cmd & PCI_COMMAND_IO))
			return PCI_BAR_UNMAPPED;
		uint64_t a = cfg_get(&dev->config[off], 4) & ~3u;
		/* Port 0 and ranges past 64 KiB cannot decode on the PC's port bus. */
		if (a == 0 || a + b->size > 0x10000)
			return PCI_BAR_UNMAPPED;
		return a;
	}
	if (!(cmd & PCI_COMMAND_MEMORY))
		return PCI_BAR_UNMAPPED;
	uint64_t a = cfg_get(&dev->config[off], 4) & ~15u;
	if (b->kind & PCI_BAR_MEM64)
		a |= (uint64_t)cfg_get(&dev->config[off + 4], 4) << 32;
	uint64_t last = a + b->size - 1;
	/* Address 0 and a range touching the top of the space are what a BAR holds
	 * while being sized (all-ones written): never decode those. */
	if (a == 0 || last < a || last == UINT64_MAX)
		return PCI_BAR_UNMAPPED;
	if (!(b->kind & PCI_BAR_MEM64) && last >= 0xffffffffULL)
		return PCI_BAR_UNMAPPED;
	return a;
}

static void pci_bar_set_mapping(struct pci_device *dev, unsigned n, uint64_t addr)
{
	struct pci_bar *b = &dev->bars[n];
	struct pci_bus *bus = dev->bus;
	uint64_t old = b->mapped;
	if (addr == old)
		return;
	struct bus *space = bus ? ((b->kind & PCI_BAR_IO) ? bus->pio : bus->mmio) : NULL;
	if (b->on_bus && space)
		(void)bus_remove(space, old);
	b->on_bus = false;
	b->mapped = addr;
	if (addr != PCI_BAR_UNMAPPED && space && b->ops) {
		int r = bus_add(space, addr, b->size, b->ops, b->opaque, "pci-bar");
		if (r == 0)
			b->on_bus = true;
		else
			log_guest("pci %02x.%x: BAR%u at 0x%llx (size 0x%llx) not mapped: %s",
				  PCI_SLOT(dev->devfn), PCI_FUNC(dev->devfn), n,
				  (unsigned long long)addr, (unsigned long long)b->size, strerror(-r));
	}
	if (bus && bus->map_fn)
		bus->map_fn(bus->map_opaque, dev, n, old, addr);
	if (dev->bar_moved)
		dev->bar_moved(dev, n, b->on_bus || !b->ops ? addr : PCI_BAR_UNMAPPED);
}

static void pci_update_mappings(struct pci_device *dev)
{
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		if (dev->bars[n].size)
			pci_bar_set_mapping(dev, n, dev->bus ? pci_bar_decode(dev, n) : PCI_BAR_UNMAPPED);
}

uint64_t pci_bar_address(const struct pci_device *dev, unsigned n)
{
	return n < PCI_NUM_BARS ? dev->bars[n].mapped : PCI_BAR_UNMAPPED;
}

static void pci_bus_pirq_change(struct pci_bus *bus, unsigned pirq, bool up)
{
	if (up) {
		if (bus->pirq_count[pirq]++ == 0 && bus->pirq_fn)
			bus->pirq_fn(bus->pirq_opaque, pirq, 1);
	} else if (bus->pirq_count[pirq] > 0) {
		if (--bus->pirq_count[pirq] == 0 && bus->pirq_fn)
			bus->pirq_fn(bus->pirq_opaque, pirq, 0);
	}
}

static void pci_update_intx(struct pci_device *dev)
{
	uint8_t pin = dev->config[PCI_INTERRUPT_PIN];
	bool asserted = dev->bus && pin && dev->intx_level &&
			!(pci_command(dev) & PCI_COMMAND_INTX_DISABLE);
	if (asserted == dev->intx_asserted)
		return;
	dev->intx_asserted = asserted;
	pci_bus_pirq_change(dev->bus, pci_swizzle(PCI_SLOT(dev->devfn), pin), asserted);
}

void pci_set_irq(struct pci_device *dev, int level)
{
	dev->intx_level = level != 0;
	/* Status.Interrupt shows the pin's state even while INTx is disabled. */
	if (dev->intx_level)
		dev->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	pci_update_intx(dev);
}

void pci_msi_send(struct pci_device *dev, uint64_t addr, uint32_t data)
{
	if (dev->bus && dev->bus->msi_fn && (pci_command(dev) & PCI_COMMAND_MASTER))
		dev->bus->msi_fn(dev->bus->msi_opaque, addr, data);
}

void pci_device_reset(struct pci_device *dev)
{
	cfg_put(&dev->config[PCI_COMMAND], 0, 2);
	dev->config[PCI_STATUS] &= (uint8_t)~dev->w1cmask[PCI_STATUS];
	dev->config[PCI_STATUS + 1] &= (uint8_t)~dev->w1cmask[PCI_STATUS + 1];
	dev->config[PCI_CACHE_LINE_SIZE] = 0;
	dev->config[PCI_LATENCY_TIMER] = 0;
	dev->config[PCI_INTERRUPT_LINE] = 0;
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		unsigned off = PCI_BASE_ADDRESS_0 + 4 * n;
		uint32_t v = cfg_get(&dev->config[off], 4);
		cfg_put(&dev->config[off], v & ~cfg_get(&dev->wmask[off], 4), 4);
	}
	pci_update_mappings(dev);
	pci_update_intx(dev);
}

void pci_device_save_config(const struct pci_device *dev, uint8_t out[PCI_CONFIG_SPACE_SIZE])
{
	memcpy(out, dev->config, PCI_CONFIG_SPACE_SIZE);
}

int pci_device_load_config(struct pci_device *dev, const uint8_t config[PCI_CONFIG_SPACE_SIZE], char *why,
			   size_t why_len)
{
	for (unsigned o = 0; o < PCI_CONFIG_SPACE_SIZE; o++) {
		/* Status.Interrupt is read-only to the guest but the function's own. */
		uint8_t fixed = (uint8_t)~(dev->wmask[o] | dev->w1cmask[o] | (o == PCI_STATUS ? PCI_STATUS_INTERRUPT : 0));
		if ((config[o] ^ dev->config[o]) & fixed) {
			snprintf(why, why_len,
				 "pci %02x.%x: the saved configuration space is another function's (byte 0x%02x: 0x%02x, not 0x%02x)",
				 PCI_SLOT(dev->devfn), PCI_FUNC(dev->devfn), o, config[o], dev->config[o]);
			return -EINVAL;
		}
	}
	bool level = config[PCI_STATUS] & PCI_STATUS_INTERRUPT;
	if (level && !config[PCI_INTERRUPT_PIN]) {
		snprintf(why, why_len, "pci %02x.%x: an interrupt pending on a function without an interrupt pin",
			 PCI_SLOT(dev->devfn), PCI_FUNC(dev->devfn));
		return -EINVAL;
	}
	memcpy(dev->config, config, PCI_CONFIG_SPACE_SIZE);
	dev->intx_level = level;
	pci_update_mappings(dev);
	pci_update_intx(dev);
	return 0;
}

/* ---- the bus as a device object ---- */

static const struct device_field pci_host_fields[] = {
	DEVICE_FIELD(struct pci_host_state, config_address),
};

static void pci_host_reset(struct device *dev)
{
	struct pci_bus *bus = container_of(dev, struct pci_bus, dev);
	bus->s.config_address = 0;
}

static int pci_host_post_load(struct device *dev, char *why, size_t why_len)
{
	struct pci_bus *bus = container_of(dev, struct pci_bus, dev);
	if (bus->s.config_address & ~PCI_CONFIG_ADDRESS_MASK) {
		snprintf(why, why_len, "%s: CONFIG_ADDRESS 0x%08x has reserved bits set", dev->name,
			 bus->s.config_address);
		return -EINVAL;
	}
	return 0;
}

static void pci_host_destroy(struct device *dev)
{
	pci_bus_destroy(container_of(dev, struct pci_bus, dev));
}

static const struct device_class pci_host_class = {
	.type = "pci-host",
	.version = 1,
	.fields = pci_host_fields,
	.nfields = ARRAY_SIZE(pci_host_fields),
	.reset = pci_host_reset,
	.post_load = pci_host_post_load,
	.destroy = pci_host_destroy,
};

struct device *pci_bus_device(struct pci_bus *bus)
{
	return &bus->dev;
}

bool pci_bus_pirq_level(const struct pci_bus *bus, unsigned pirq)
{
	return pirq < PCI_NUM_PIRQS && bus->pirq_count[pirq] > 0;
}

struct pci_bus *pci_bus_create(void)
{
	struct pci_bus *bus = calloc(1, sizeof(struct pci_bus));
	if (bus)
		device_init(&bus->dev, &pci_host_class, "pci", &bus->s);
	return bus;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++)
		if (bus->devs[i])
			pci_bus_remove_device(bus, bus->devs[i]);
	free(bus);
}

int pci_bus_add_device(struct pci_bus *bus, struct pci_device *dev, unsigned devfn)
{
	if (devfn >= PCI_MAX_DEVFN)
		return -EINVAL;
	if (bus->devs[devfn] || dev->bus)
		return -EEXIST;
	bus->devs[devfn] = dev;
	dev->bus = bus;
	dev->devfn = (uint8_t)devfn;
	pci_update_mappings(dev);
	pci_update_intx(dev);
	return 0;
}

void pci_bus_remove_device(struct pci_bus *bus, struct pci_device *dev)
{
	if (dev->bus != bus || bus->devs[dev->devfn] != dev)
		return;
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		if (dev->bars[n].size)
			pci_bar_set_mapping(dev, n, PCI_BAR_UNMAPPED);
	if (dev->intx_asserted) {
		dev->intx_asserted = false;
		pci_bus_pirq_change(bus, pci_swizzle(PCI_SLOT(dev->devfn),
						     dev->config[PCI_INTERRUPT_PIN]), false);
	}
	bus->devs[dev->devfn] = NULL;
	dev->bus = NULL;
}

struct pci_device *pci_bus_find(const struct pci_bus *bus, unsigned devfn)
{
	return devfn < PCI_MAX_DEVFN ? bus->devs[devfn] : NULL;
}

void pci_bus_reset(struct pci_bus *bus)
{
	bus->s.config_address = 0;
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++)
		if (bus->devs[i])
			pci_device_reset(bus->devs[i]);
}

void pci_bus_set_bar_map(struct pci_bus *bus, pci_bar_map_fn *fn, void *opaque)
{
	bus->map_fn = fn;
	bus->map_opaque = opaque;
}

void pci_bus_set_pirq_handler(struct pci_bus *bus, pci_pirq_fn *fn, void *opaque)
{
	bus->pirq_fn = fn;
	bus->pirq_opaque = opaque;
}

void pci_bus_set_msi_handler(struct pci_bus *bus, pci_msi_fn *fn, void *opaque)
{
	bus->msi_fn = fn;
	bus->msi_opaque = opaque;
}

void pci_bus_set_address_spaces(struct pci_bus *bus, struct bus *pio, struct bus *mmio)
{
	bus->pio = pio;
	bus->mmio = mmio;
}

static bool pci_access_ok(unsigned offset, unsigned size)
{
	/* Byte enables of one dword: the access may not cross a dword boundary. */
	return (size == 1 || size == 2 || size == 4) && offset < PCI_CONFIG_SPACE_SIZE &&
	       (offset & 3) + size <= 4;
}

static uint32_t pci_all_ones(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned devfn, unsigned offset, unsigned size)
{
	struct pci_device *dev = pci_bus_find(bus, devfn);
	if (!pci_access_ok(offset, size))
		return pci_all_ones(size);
	if (!dev)
		return pci_all_ones(size);
	uint32_t v = cfg_get(&dev->config[offset], size);
	if (dev->config_read)
		v = dev->config_read(dev, offset, size, v) & pci_all_ones(size);
	return v;
}

static bool pci_range_hits(unsigned offset, unsigned size, unsigned start, unsigned len)
{
	return offset < start + len && start < offset + size;
}

void pci_config_write(struct pci_bus *bus, unsigned devfn, unsigned offset, uint32_t value,
		      unsigned size)
{
	struct pci_device *dev = pci_bus_find(bus, devfn);
	if (!dev || !pci_access_ok(offset, size))
		return;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = offset + i;
		uint8_t b = (uint8_t)(value >> (8 * i));
		dev->config[o] = (uint8_t)((dev->config[o] & ~dev->wmask[o]) | (b & dev->wmask[o]));
		dev->config[o] &= (uint8_t)~(b & dev->w1cmask[o]);
	}
	if (pci_range_hits(offset, size, PCI_COMMAND, 2))
		pci_update_intx(dev);
	if (pci_range_hits(offset, size, PCI_COMMAND, 2) ||
	    pci_range_hits(offset, size, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS))
		pci_update_mappings(dev);
	if (dev->config_write)
		dev->config_write(dev, offset, value & pci_all_ones(size), size);
}

static uint64_t pci_host_addr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_bus *bus = opaque;
	if (offset == 0 && size == 4)
		return bus->s.config_address;
	if (offset == 1 && size == 1 && bus->cf9_ops)
		return bus->cf9_ops->read(bus->cf9_opaque, 0, 1) & 0xff;
	return pci_all_ones(size);
}

static void pci_host_addr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct pci_bus *bus = opaque;
	if (offset == 0 && size == 4)
		bus->s.config_address = (uint32_t)value & PCI_CONFIG_ADDRESS_MASK;
	else if (offset == 1 && size == 1 && bus->cf9_ops)
		bus->cf9_ops->write(bus->cf9_opaque, 0, value & 0xff, 1);
	/* Other sizes at 0xCF8-0xCFB are not CONFIG_ADDRESS (§3.2.2.3.2): ignored. */
}

const struct bus_ops pci_host_addr_bus_ops = {
	.read = pci_host_addr_read,
	.write = pci_host_addr_write,
	.min_size = 1,
	.max_size = 4,
};

/* Decodes CONFIG_ADDRESS for a CONFIG_DATA access; false when it targets nothing. */
static bool pci_host_target(const struct pci_bus *bus, uint64_t offset, unsigned *devfn,
			    unsigned *reg)
{
	uint32_t a = bus->s.config_address;
	/* Only bus 0 exists; type 1 cycles to other buses end in master aborts. */
	if (!(a & PCI_CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0)
		return false;
	*devfn = (a >> 8) & 0xff;
	*reg = (a & 0xfc) + (unsigned)offset;
	return true;
}

static uint64_t pci_host_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned devfn, reg;
	if (!pci_host_target(bus, offset, &devfn, &reg))
		return pci_all_ones(size);
	return pci_config_read(bus, devfn, reg, size);
}

static void pci_host_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned devfn, reg;
	if (pci_host_target(bus, offset, &devfn, &reg))
		pci_config_write(bus, devfn, reg, (uint32_t)value, size);
}

const struct bus_ops pci_host_data_bus_ops = {
	.read = pci_host_data_read,
	.write = pci_host_data_write,
	.min_size = 1,
	.max_size = 4,
};

void pci_host_set_cf9(struct pci_bus *bus, const struct bus_ops *ops, void *opaque)
{
	bus->cf9_ops = ops;
	bus->cf9_opaque = opaque;
}

struct pci_bar_ref {
	struct pci_device *dev;
	unsigned n;
};

static int pci_bar_ref_cmp(const void *a, const void *b)
{
	const struct pci_bar_ref *x = a, *y = b;
	uint64_t sx = x->dev->bars[x->n].size, sy = y->dev->bars[y->n].size;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	if (x->dev->devfn != y->dev->devfn)
		return x->dev->devfn < y->dev->devfn ? -1 : 1;
	return x->n < y->n ? -1 : (x->n > y->n);
}

int pci_bus_assign_resources(struct pci_bus *bus)
{
	struct pci_bar_ref *refs = calloc(PCI_MAX_DEVFN * PCI_NUM_BARS, sizeof(*refs));
	size_t count = 0;
	int ret = 0;
	if (!refs)
		return -ENOMEM;
	for (unsigned i = 0; i < PCI_MAX_DEVFN; i++)
		for (unsigned n = 0; bus->devs[i] && n < PCI_NUM_BARS; n++)
			if (bus->devs[i]->bars[n].size)
				refs[count++] = (struct pci_bar_ref){ bus->devs[i], n };
	/* Largest first with natural alignment packs the window without holes
	 * between BARs (every size is a power of two). */
	qsort(refs, count, sizeof(*refs), pci_bar_ref_cmp);
	uint64_t mem = PCI_MMIO_WINDOW_START, io = PCI_IO_WINDOW_START;
	for (size_t i = 0; i < count; i++) {
		struct pci_device *dev = refs[i].dev;
		const struct pci_bar *b = &dev->bars[refs[i].n];
		bool is_io = b->kind & PCI_BAR_IO;
		uint64_t *cursor = is_io ? &io : &mem;
		uint64_t end = is_io ? PCI_IO_WINDOW_END : PCI_MMIO_WINDOW_END;
		uint64_t addr = (*cursor + b->size - 1) & ~(b->size - 1);
		if (addr + b->size > end || addr + b->size < addr) {
			ret = -ENOSPC;
			continue;
		}
		*cursor = addr + b->size;
		unsigned off = PCI_BASE_ADDRESS_0 + 4 * refs[i].n;
		pci_config_write(bus, dev->devfn, off, (uint32_t)addr, 4);
		if (b->kind & PCI_BAR_MEM64)
			pci_config_write(bus, dev->devfn, off + 4, (uint32_t)(addr >> 32), 4);
		uint16_t cmd = pci_command(dev) | PCI_COMMAND_MASTER;
		cmd |= is_io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
		pci_config_write(bus, dev->devfn, PCI_COMMAND, cmd, 2);
	}
	free(refs);
	return ret;
}
