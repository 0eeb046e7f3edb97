/* SPDX-License-Identifier: MIT */
/*
 * i440FX host bridge and PIIX3 ISA bridge identities and the PIIX3 PIRQ
 * router (Intel 82441FX PMC datasheet §3.2; 82371FB/SB PIIX/PIIX3 datasheet
 * §2.2, PIRQRC[A:D]), and the chipset in snapshots. See piix.h for what is
 * and is not modelled.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "hw/device.h"
#include "hw/pci/piix.h"

#define PIIX_ISA_IRQS 16
#define PIIX_I440FX_CLASS 0x060000
#define PIIX_PIIX3_CLASS 0x060100

/* What a snapshot keeps (piix_fields). The configuration spaces are copied
 * from the functions before saving; the levels live here. */
struct piix_state {
	uint8_t host_config[PCI_CONFIG_SPACE_SIZE];
	uint8_t isa_config[PCI_CONFIG_SPACE_SIZE];
	bool pirq_level[PIIX_NUM_PIRQS]; /* wired-OR INTx level per PIRQ, from the bus */
	bool isa_level[PIIX_ISA_IRQS]; /* what the router last drove */
};

struct piix {
	struct device dev;
	struct piix_state s;
	struct pci_bus *bus;
	struct piix_config cfg;
	struct pci_device host;
	struct pci_device isa;
};

/* PIIX3 reset values of its device-specific registers (datasheet §2.2). */
static const struct {
	uint8_t offset;
	uint8_t value;
} piix3_reset_values[] = {
	{ 0x4c, 0x4d }, /* IORT */
	{ 0x4e, 0x03 }, /* XBCS */
	{ 0x60, 0x80 }, { 0x61, 0x80 }, { 0x62, 0x80 }, { 0x63, 0x80 }, /* PIRQRC: unrouted */
	{ 0x69, 0x02 }, /* TOM */
	{ 0x70, 0x80 }, { 0x71, 0x80 }, /* MBIRQ0/1 */
	{ 0x76, 0x0c }, { 0x77, 0x0c }, /* MBDMA0/1 */
};

/* PIRQRC may select IRQ 3-7, 9-12, 14, 15; 0-2, 8 and 13 are reserved. */
static bool piix_irq_routable(unsigned irq)
{
	return irq >= 3 && irq <= 15 && irq != 8 && irq != 13;
}

/* The IRQ a PIRQ reaches under the routing in an ISA bridge's config space, or -1. */
static int piix_route(const uint8_t *isa_config, unsigned pirq)
{
	uint8_t v = isa_config[PIIX_PIRQRC + pirq];
	unsigned irq = v & PIIX_PIRQRC_IRQ_MASK;
	if ((v & PIIX_PIRQRC_IRQEN_N) || !piix_irq_routable(irq))
		return -1;
	return (int)irq;
}

int piix_pirq_to_irq(const struct piix *p, unsigned pirq)
{
	return pirq < PIIX_NUM_PIRQS ? piix_route(p->isa.config, pirq) : -1;
}

/* Recomputes every ISA level: several PIRQs may share one IRQ (wired-OR). */
static void piix_update_irqs(struct piix *p)
{
	bool level[PIIX_ISA_IRQS] = { false };
	for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++) {
		int irq = piix_pirq_to_irq(p, i);
		if (irq >= 0 && p->s.pirq_level[i])
			level[irq] = true;
	}
	for (unsigned irq = 0; irq < PIIX_ISA_IRQS; irq++) {
		if (level[irq] == p->s.isa_level[irq])
			continue;
		p->s.isa_level[irq] = level[irq];
		if (p->cfg.set_isa_irq)
			p->cfg.set_isa_irq(p->cfg.isa_opaque, irq, level[irq]);
	}
}

static void piix_pirq(void *opaque, unsigned pirq, int level)
{
	struct piix *p = opaque;
	if (pirq >= PIIX_NUM_PIRQS)
		return;
	p->s.pirq_level[pirq] = level != 0;
	piix_update_irqs(p);
}

static void piix_isa_config_write(struct pci_device *dev, unsigned offset, uint32_t value,
				  unsigned size)
{
	struct piix *p = dev->opaque;
	(void)value;
	if (offset < PIIX_PIRQRC + PIIX_NUM_PIRQS && offset + size > PIIX_PIRQRC) {
		for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++) {
			uint8_t v = dev->config[PIIX_PIRQRC + i];
			if (!(v & PIIX_PIRQRC_IRQEN_N) && !piix_irq_routable(v & PIIX_PIRQRC_IRQ_MASK))
				log_guest("piix3: PIRQ%c routed to reserved IRQ %u, ignored", 'A' + i,
					  v & PIIX_PIRQRC_IRQ_MASK);
		}
		piix_update_irqs(p);
	}
}

static void piix_host_config_write(struct pci_device *dev, unsigned offset, uint32_t value,
				   unsigned size)
{
	struct piix *p = dev->opaque;
	(void)value;
	if (!p->cfg.pam_changed)
		return;
	for (unsigned o = offset; o < offset + size; o++)
		if (o >= PIIX_PAM0 && o < PIIX_PAM0 + PIIX_PAM_COUNT)
			p->cfg.pam_changed(p->cfg.pam_opaque, o - PIIX_PAM0, dev->config[o]);
}

void piix_reset(struct piix *p)
{
	pci_device_reset(&p->host);
	pci_device_reset(&p->isa);
	for (unsigned o = 0x40; o < PCI_CONFIG_SPACE_SIZE; o++) {
		p->host.config[o] = 0;
		p->isa.config[o] = 0;
	}
	/* 82441FX: memory access and bus mastering are on from reset. */
	p->host.config[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	p->host.config[PIIX_SMRAM] = 0x02;
	p->isa.config[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	for (size_t i = 0; i < ARRAY_SIZE(piix3_reset_values); i++)
		p->isa.config[piix3_reset_values[i].offset] = piix3_reset_values[i].value;
	/* The PIRQ inputs are the bus's, whatever a refused snapshot left here. */
	for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++)
		p->s.pirq_level[i] = pci_bus_pirq_level(p->bus, i);
	piix_update_irqs(p);
}

/* ---- the chipset as a device object ---- */

static const struct device_field piix_fields[] = {
	DEVICE_FIELD(struct piix_state, host_config),
	DEVICE_FIELD(struct piix_state, isa_config),
	DEVICE_BOOL(struct piix_state, pirq_level),
	DEVICE_BOOL(struct piix_state, isa_level),
};

static void piix_capture(struct piix *p)
{
	pci_device_save_config(&p->host, p->s.host_config);
	pci_device_save_config(&p->isa, p->s.isa_config);
}

static void piix_device_reset(struct device *dev)
{
	struct piix *p = container_of(dev, struct piix, dev);
	piix_reset(p);
	piix_capture(p); /* a record without these fields loads the reset values */
}

static int piix_pre_save(struct device *dev)
{
	piix_capture(container_of(dev, struct piix, dev));
	return 0;
}

static int piix_post_load(struct device *dev, char *why, size_t why_len)
{
	struct piix *p = container_of(dev, struct piix, dev);
	const struct piix_state *s = &p->s;
	/* The ISA levels are what the saved routing makes of the saved PIRQ
	 * levels: the interrupt controllers saved what they saw of them. */
	for (unsigned irq = 0; irq < PIIX_ISA_IRQS; irq++) {
		bool level = false;
		for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++)
			level |= s->pirq_level[i] && piix_route(s->isa_config, i) == (int)irq;
		if (level != s->isa_level[irq]) {
			snprintf(why, why_len, "%s: IRQ %u at level %d, but its PIRQs say %d", dev->name, irq,
				 s->isa_level[irq], level);
			return -EINVAL;
		}
	}
	int r = pci_device_load_config(&p->host, s->host_config, why, why_len);
	if (r == 0)
		r = pci_device_load_config(&p->isa, s->isa_config, why, why_len);
	if (r < 0)
		return r;
	if (p->cfg.pam_changed)
		for (unsigned i = 0; i < PIIX_PAM_COUNT; i++)
			p->cfg.pam_changed(p->cfg.pam_opaque, i, p->host.config[PIIX_PAM0 + i]);
	return 0;
}

static void piix_device_destroy(struct device *dev)
{
	piix_destroy(container_of(dev, struct piix, dev));
}

static const struct device_class piix_class = {
	.type = "piix3",
	.version = 1,
	.fields = piix_fields,
	.nfields = ARRAY_SIZE(piix_fields),
	.reset = piix_device_reset,
	.pre_save = piix_pre_save,
	.post_load = piix_post_load,
	.destroy = piix_device_destroy,
};

struct device *piix_device(struct piix *p)
{
	return &p->dev;
}

int piix_create(struct pci_bus *bus, const struct piix_config *cfg, struct piix **out)
{
	struct piix *p = calloc(1, sizeof(*p));
	int r;
	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->bus = bus;
	if (cfg)
		p->cfg = *cfg;

	pci_device_init(&p->host, PIIX_I440FX_VENDOR, PIIX_I440FX_DEVICE, PIIX_I440FX_CLASS, 0x02, 0);
	/* PMCCFG..PAM6 and DRB0..7, SMRAM: storage the firmware programs. */
	for (unsigned o = 0x50; o < 0x68; o++)
		p->host.wmask[o] = 0xff;
	p->host.wmask[PIIX_SMRAM] = 0xff;
	p->host.config_write = piix_host_config_write;
	p->host.opaque = p;

	pci_device_init(&p->isa, PIIX_PIIX3_VENDOR, PIIX_PIIX3_DEVICE, PIIX_PIIX3_CLASS, 0x00,
			PCI_HEADER_TYPE_MULTI_FUNCTION);
	for (unsigned o = 0x40; o < PCI_CONFIG_SPACE_SIZE; o++)
		p->isa.wmask[o] = 0xff;
	for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++)
		p->isa.wmask[PIIX_PIRQRC + i] = PIIX_PIRQRC_IRQEN_N | PIIX_PIRQRC_IRQ_MASK;
	p->isa.config_write = piix_isa_config_write;
	p->isa.opaque = p;

	r = pci_bus_add_device(bus, &p->host, PIIX_I440FX_DEVFN);
	if (r == 0) {
		r = pci_bus_add_device(bus, &p->isa, PIIX_PIIX3_DEVFN);
		if (r < 0)
			pci_bus_remove_device(bus, &p->host);
	}
	if (r < 0) {
		free(p);
		return r;
	}
	pci_bus_set_pirq_handler(bus, piix_pirq, p);
	device_init(&p->dev, &piix_class, "piix", &p->s);
	piix_device_reset(&p->dev);
	*out = p;
	return 0;
}

void piix_destroy(struct piix *p)
{
	if (!p)
		return;
	pci_bus_set_pirq_handler(p->bus, NULL, NULL);
	for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++)
		p->s.pirq_level[i] = false;
	piix_update_irqs(p);
	pci_bus_remove_device(p->bus, &p->isa);
	pci_bus_remove_device(p->bus, &p->host);
	free(p);
}

void piix_route_defaults(struct piix *p)
{
	static const uint8_t irqs[PIIX_NUM_PIRQS] = PIIX_DEFAULT_PIRQ_IRQS;
	for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++)
		pci_config_write(p->bus, PIIX_PIIX3_DEVFN, PIIX_PIRQRC + i, irqs[i], 1);
	for (unsigned devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
		struct pci_device *dev = pci_bus_find(p->bus, devfn);
		uint8_t pin = dev ? dev->config[PCI_INTERRUPT_PIN] : 0;
		if (!pin)
			continue;
		int irq = piix_pirq_to_irq(p, pci_swizzle(PCI_SLOT(devfn), pin));
		pci_config_write(p->bus, devfn, PCI_INTERRUPT_LINE, irq < 0 ? 0xff : (uint32_t)irq, 1);
	}
}

struct pci_device *piix_host_bridge(struct piix *p)
{
	return &p->host;
}

struct pci_device *piix_isa_bridge(struct piix *p)
{
	return &p->isa;
}
