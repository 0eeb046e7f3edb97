/* SPDX-License-Identifier: MIT */
/*
 * The i440FX/PIIX3 chipset as the PC board presents it on PCI bus 0:
 *   00:00.0  Intel 82441FX PMC host bridge (8086:1237, class 0600)
 *   00:01.0  Intel 82371SB PIIX3 PCI-to-ISA bridge (8086:7000, class 0601,
 *            multi-function so later functions (IDE, USB, PM) can join)
 * The PIIX3 PIRQ route control registers (PIRQRC[A:D], config 0x60-0x63,
 * 82371SB datasheet §2.2.9) steer PCI INTx (after the pci_swizzle) to ISA
 * IRQs: bits 3:0 select IRQ 3-7, 9-12, 14 or 15, bit 7 (IRQEN#) set means
 * not routed; the reset value is 0x80.
 *
 * As a device object ("piix", type "piix3") the chipset keeps both functions'
 * configuration spaces (PAM, SMRAM, PIRQ routing) and the PIRQ and ISA IRQ
 * levels the router last saw and drove; loading one calls pam_changed for
 * every PAM register, as the guest's writes did, and drives no IRQ.
 *
 * Not modelled: the i440FX PAM shadowing and SMRAM (0x59-0x5F, 0x72 are plain
 * storage; the board may watch PAM writes through pam_changed), DRAM control,
 * the PIIX3 DMA/APIC/SMI control registers (plain storage), and the reset
 * control register at 0xCF9 (another device, see pci_host_set_cf9).
 */
#ifndef X86V_HW_PCI_PIIX_H
#define X86V_HW_PCI_PIIX_H

#include <stdint.h>

#include "core/compiler.h"
#include "hw/irq.h"
#include "hw/pci/pci.h"

#define PIIX_I440FX_VENDOR 0x8086
#define PIIX_I440FX_DEVICE 0x1237
#define PIIX_PIIX3_VENDOR 0x8086
#define PIIX_PIIX3_DEVICE 0x7000
#define PIIX_I440FX_DEVFN PCI_DEVFN(0, 0)
#define PIIX_PIIX3_DEVFN PCI_DEVFN(1, 0)

#define PIIX_PAM0 0x59 /* i440FX PAM0..PAM6: 0x59..0x5f */
#define PIIX_PAM_COUNT 7
#define PIIX_SMRAM 0x72
#define PIIX_PIRQRC 0x60 /* PIIX3 PIRQRC[A..D]: 0x60..0x63 */
#define PIIX_PIRQRC_IRQEN_N 0x80 /* set: PIRQ not routed */
#define PIIX_PIRQRC_IRQ_MASK 0x0f
#define PIIX_NUM_PIRQS 4

/* The routing firmware (SeaBIOS) programs and piix_route_defaults applies. */
#define PIIX_DEFAULT_PIRQ_IRQS { 10, 10, 11, 11 }

struct device;
struct piix;

struct piix_config {
	/* ISA IRQ n (3..15) is driven through set_isa_irq(isa_opaque, n, level). */
	irq_set_fn *set_isa_irq;
	void *isa_opaque;
	/* Optional: called after the guest writes PAM register index 0..6. */
	void (*pam_changed)(void *opaque, unsigned index, uint8_t value);
	void *pam_opaque;
};

/*
 * Creates both functions, adds them to bus at 00:00.0 and 00:01.0 and makes
 * the PIIX3 the bus's PIRQ handler. 0, -ENOMEM, or -EEXIST if those devfns
 * are taken. bus must outlive the piix.
 */
int piix_create(struct pci_bus *bus, const struct piix_config *cfg, struct piix **out) MUST_CHECK;
/* Removes both functions from the bus (dropping any IRQ they drive) and frees. NULL ignored. */
void piix_destroy(struct piix *p);
/* Chipset registers to their reset values (PIRQs unrouted); drops ISA levels it drove. */
void piix_reset(struct piix *p);
/* The chipset as a device object (reset, snapshots, destroy: piix_destroy). */
struct device *piix_device(struct piix *p);

/*
 * For boots without firmware: routes PIRQ A-D to PIIX_DEFAULT_PIRQ_IRQS, as
 * SeaBIOS does, and writes each bus device's interrupt line register with the
 * IRQ its INTx pin reaches (what Linux reads when it has no _PRT).
 */
void piix_route_defaults(struct piix *p);
/* The ISA IRQ PIRQ pirq (0..3) reaches, or -1 when not routed. */
int piix_pirq_to_irq(const struct piix *p, unsigned pirq);
/* The host bridge and ISA bridge functions (for board hooks and tests). */
struct pci_device *piix_host_bridge(struct piix *p);
struct pci_device *piix_isa_bridge(struct piix *p);

#endif
