/* SPDX-License-Identifier: MIT */
/*
 * Conventional PCI (PCI Local Bus Specification 3.0): one bus (bus 0) of
 * devices with 256-byte configuration spaces, reached through configuration
 * mechanism #1 (§3.2.2.3.2: CONFIG_ADDRESS at port 0xCF8, CONFIG_DATA at
 * 0xCFC-0xCFF), BAR sizing and decoding (§6.2.5), and INTx through the
 * interrupt pin register and the PC's PIRQ swizzle.
 *
 * A device model embeds a struct pci_device, describes its header with
 * pci_device_init / pci_device_set_bar / pci_device_set_intx_pin, and adds it
 * to the bus. The bus owns nothing it is given: devices and their BAR ops
 * must outlive their membership of the bus.
 *
 * Message-signalled interrupts: a device with an MSI-X capability (its own,
 * in 0x40-0xFF) sends its messages with pci_msi_send; the bus hands them to
 * the interrupt system (pci_bus_set_msi_handler), as the host bridge turns
 * a bus master's write to 0xFEExxxxx into an interrupt message.
 *
 * Snapshots: the bus is a device object ("pci") that holds the host bridge's
 * CONFIG_ADDRESS register; each function's configuration space belongs to
 * the device model that owns the function, which saves it with
 * pci_device_save_config and restores it with pci_device_load_config.
 *
 * Not implemented: PCI Express ECAM (MMCONFIG) and extended config space
 * (offsets 0x100-0xFFF), PCI-to-PCI bridges and buses other than 0 (reads on
 * them return all-ones), expansion ROM BARs (offset 0x30 reads 0), MSI
 * (devices use MSI-X).
 *
 * Locking: every function is called with the machine lock held.
 */
#ifndef X86V_HW_PCI_PCI_H
#define X86V_HW_PCI_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "hw/irq.h"
#include "mem/bus.h"

#define PCI_CONFIG_SPACE_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_MAX_DEVFN 256
#define PCI_DEVFN(slot, func) ((((slot) & 0x1f) << 3) | ((func) & 7))
#define PCI_SLOT(devfn) (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn) ((devfn) & 7)

/* Configuration mechanism #1 ports. */
#define PCI_CONFIG_ADDRESS_PORT 0xCF8
#define PCI_CONFIG_DATA_PORT 0xCFC
#define PCI_HOST_REGION_SIZE 4 /* each of the two regions */
#define PCI_CONFIG_ENABLE 0x80000000u

/* Type 0 header offsets (PCI 3.0 §6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_STATUS_W1C 0xf900 /* parity/abort/SERR error bits, write-1-to-clear */

#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

#define PCI_BASE_ADDRESS_SPACE_IO 0x01
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x04
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x08

/* BAR kinds for pci_device_set_bar(). */
#define PCI_BAR_IO 0x01
#define PCI_BAR_MEM32 0x00
#define PCI_BAR_MEM64 0x04
#define PCI_BAR_PREFETCH 0x08

/* An address no BAR decodes at (disabled, or an invalid address). */
#define PCI_BAR_UNMAPPED UINT64_MAX

/* The PCI hole the board leaves for BARs (see guest_ram.h RAM_PCI_HOLE_START). */
#define PCI_MMIO_WINDOW_START 0xC0000000ULL
#define PCI_MMIO_WINDOW_END 0xFEC00000ULL /* exclusive: the IOAPIC lives here */
#define PCI_IO_WINDOW_START 0xC000
#define PCI_IO_WINDOW_END 0x10000

struct device;
struct pci_bus;
struct pci_device;

struct pci_bar {
	uint64_t size; /* 0: not implemented; else a power of two */
	uint8_t kind; /* PCI_BAR_IO, or PCI_BAR_MEM32/64 | PCI_BAR_PREFETCH */
	const struct bus_ops *ops; /* region ops for automatic mapping, may be NULL */
	void *opaque;
	uint64_t mapped; /* address currently decoded, or PCI_BAR_UNMAPPED */
	bool on_bus; /* registered on the pio/mmio bus by pci_bus_set_address_spaces */
};

struct pci_device {
	struct pci_bus *bus; /* NULL until added */
	uint8_t devfn;
	uint8_t config[PCI_CONFIG_SPACE_SIZE];
	uint8_t wmask[PCI_CONFIG_SPACE_SIZE]; /* bits the guest may write */
	uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE]; /* bits a guest 1 clears */
	struct pci_bar bars[PCI_NUM_BARS];
	bool intx_level; /* what the device drives on its INTx pin */
	bool intx_asserted; /* intx_level gated by COMMAND.INTX_DISABLE, as sent to the bus */
	/*
	 * Optional hooks for device-specific registers. config_read gets the value
	 * the standard model produced (size 1/2/4 at offset, never crossing a
	 * dword) and returns what the guest sees. config_write runs after the
	 * masked write was applied to config[].
	 */
	uint32_t (*config_read)(struct pci_device *dev, unsigned offset, unsigned size,
				uint32_t value);
	void (*config_write)(struct pci_device *dev, unsigned offset, uint32_t value,
			     unsigned size);
	/* Optional: BAR bar now decodes at addr (PCI_BAR_UNMAPPED: nowhere). */
	void (*bar_moved)(struct pci_device *dev, unsigned bar, uint64_t addr);
	void *opaque; /* for the hooks */
};

/* Called when a BAR starts or stops decoding; old/new may be PCI_BAR_UNMAPPED. */
typedef void pci_bar_map_fn(void *opaque, struct pci_device *dev, unsigned bar,
			    uint64_t old_addr, uint64_t new_addr);
/* Called when the wired-OR level of PIRQ A-D (pirq 0..3) changes. */
typedef void pci_pirq_fn(void *opaque, unsigned pirq, int level);
/* An MSI/MSI-X message: the address and data a device would write. */
typedef void pci_msi_fn(void *opaque, uint64_t addr, uint32_t data);

/* --- devices --- */

/*
 * Fills dev's header: IDs, 24-bit class code (class << 16 | subclass << 8 |
 * prog-if), revision, header type (0 or PCI_HEADER_TYPE_MULTI_FUNCTION), and
 * the standard write masks (command, cache line, latency, interrupt line,
 * status error bits). Clears hooks and BARs. Subsystem IDs copy vendor/device.
 */
void pci_device_init(struct pci_device *dev, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision, uint8_t header_type);
/*
 * Describes BAR n: size a power of two (I/O: 4..256 bytes; memory: 16 bytes
 * .. 2 GiB for 32-bit, any for 64-bit, which also takes BAR n + 1). ops and
 * opaque are used only with pci_bus_set_address_spaces. Must be called before
 * the device is added. 0, or -EINVAL for a bad index/size/kind.
 */
int pci_device_set_bar(struct pci_device *dev, unsigned n, uint8_t kind, uint64_t size,
		       const struct bus_ops *ops, void *opaque) MUST_CHECK;
/* Interrupt pin register: 1..4 = INTA#..INTD#, 0 = none. */
void pci_device_set_intx_pin(struct pci_device *dev, uint8_t pin);
/* Drives the device's INTx pin (level 0/1). */
void pci_set_irq(struct pci_device *dev, int level);
/* Sends an interrupt message, unless bus mastering is off (then it is lost, as on hardware). */
void pci_msi_send(struct pci_device *dev, uint64_t addr, uint32_t data);
/* Resets command, status, BAR addresses, cache line, latency, interrupt line; unmaps BARs. */
void pci_device_reset(struct pci_device *dev);
/* The address BAR n currently decodes at, or PCI_BAR_UNMAPPED. */
uint64_t pci_bar_address(const struct pci_device *dev, unsigned n);

/* Snapshots of one function: its configuration space as the guest left it
 * (Status.Interrupt holds the level the function drives on its INTx pin). */
void pci_device_save_config(const struct pci_device *dev, uint8_t out[PCI_CONFIG_SPACE_SIZE]);
/*
 * Puts saved configuration bytes back, as the owner's post_load. Every bit
 * the guest cannot write (IDs, class, header type, BAR kinds and sizes,
 * capabilities, interrupt pin) must equal dev's own: a space saved from
 * another function is refused (-EINVAL, why filled, dev unchanged). Then
 * every BAR is decoded and mapped again (bus regions, the bar map callback,
 * bar_moved) and the INTx level is put back onto the bus, as the guest's
 * config writes and the device's pci_set_irq calls had done. The
 * config_write hook is not called: the owner rebuilds what follows from its
 * own registers, and sends no interrupt message.
 */
int pci_device_load_config(struct pci_device *dev, const uint8_t config[PCI_CONFIG_SPACE_SIZE], char *why,
			   size_t why_len) MUST_CHECK;

/* --- the bus and the host bridge's config mechanism #1 --- */

/* NULL only when out of memory. */
struct pci_bus *pci_bus_create(void) MUST_CHECK;
/* Unmaps every BAR; the devices themselves belong to their models. NULL is ignored. */
void pci_bus_destroy(struct pci_bus *bus);
/* 0, -EINVAL (devfn > 255), -EEXIST (devfn taken or dev on a bus). */
int pci_bus_add_device(struct pci_bus *bus, struct pci_device *dev, unsigned devfn) MUST_CHECK;
/* Unmaps its BARs, deasserts its INTx and detaches it. */
void pci_bus_remove_device(struct pci_bus *bus, struct pci_device *dev);
struct pci_device *pci_bus_find(const struct pci_bus *bus, unsigned devfn);
/* pci_device_reset on every device, and CONFIG_ADDRESS back to 0. */
void pci_bus_reset(struct pci_bus *bus);
/*
 * The bus as a device object, named "pci" (type "pci-host"): its state is
 * CONFIG_ADDRESS. Its reset clears only that register (each function is
 * reset by the device that owns it); its destroy is pci_bus_destroy, so it
 * comes before the functions' devices in the board's list.
 */
struct device *pci_bus_device(struct pci_bus *bus);
/* Whether some function asserts PIRQ pirq (0..3): the level the handler last got. */
bool pci_bus_pirq_level(const struct pci_bus *bus, unsigned pirq);

void pci_bus_set_bar_map(struct pci_bus *bus, pci_bar_map_fn *fn, void *opaque);
void pci_bus_set_pirq_handler(struct pci_bus *bus, pci_pirq_fn *fn, void *opaque);
void pci_bus_set_msi_handler(struct pci_bus *bus, pci_msi_fn *fn, void *opaque);
/*
 * With buses set, a BAR that has ops is bus_add()ed on pio (I/O BARs) or
 * mmio (memory BARs) while it decodes, and bus_remove()d when it stops. A
 * guest-programmed address that overlaps another region is left unmapped
 * (logged). Either may be NULL.
 */
void pci_bus_set_address_spaces(struct pci_bus *bus, struct bus *pio, struct bus *mmio);

/*
 * Host-side config access (what CONFIG_DATA does once CONFIG_ADDRESS selects
 * bus 0): size 1, 2 or 4, offset aligned to size within 0..255. Absent
 * functions read all-ones and ignore writes; bad sizes/offsets likewise.
 */
uint32_t pci_config_read(struct pci_bus *bus, unsigned devfn, unsigned offset, unsigned size);
void pci_config_write(struct pci_bus *bus, unsigned devfn, unsigned offset, uint32_t value,
		      unsigned size);

/* PIRQ (0..3 = A..D) that INTx pin (1..4) of slot reaches: (slot + pin - 1) % 4. */
unsigned pci_swizzle(unsigned slot, unsigned pin);

/*
 * CONFIG_ADDRESS region (0xCF8, PCI_HOST_REGION_SIZE): only 32-bit accesses
 * at 0xCF8 reach the register. Byte accesses at 0xCF9 go to the handler set
 * with pci_host_set_cf9 (the PIIX reset control register lives there); other
 * accesses read all-ones and are ignored. opaque is the struct pci_bus.
 */
extern const struct bus_ops pci_host_addr_bus_ops;
/* CONFIG_DATA region (0xCFC, PCI_HOST_REGION_SIZE): 1/2/4-byte accesses. */
extern const struct bus_ops pci_host_data_bus_ops;
/* ops handles offset 0, size 1 (port 0xCF9). NULL ops disconnects it. */
void pci_host_set_cf9(struct pci_bus *bus, const struct bus_ops *ops, void *opaque);

/*
 * For guests booted without firmware: places every BAR of every device
 * largest first, naturally aligned, memory in [PCI_MMIO_WINDOW_START,
 * PCI_MMIO_WINDOW_END) (64-bit BARs too) and I/O in [PCI_IO_WINDOW_START,
 * 0x10000), then enables I/O, memory decoding and bus mastering on devices
 * that have such BARs. Devices without BARs are untouched.
 * 0, or -ENOSPC when the windows are too small (what fitted stays placed).
 */
int pci_bus_assign_resources(struct pci_bus *bus) MUST_CHECK;

#endif
