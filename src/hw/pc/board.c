/* SPDX-License-Identifier: MIT */
/*
 * PC board wiring (an i440FX/PIIX3-style machine, 1 to 64 CPUs): which device sits
 * at which port or address, and where each interrupt line goes. No device
 * logic here.
 *
 *   0x20/0xa0  8259A pair, ELCR 0x4d0     0x40-0x43 8254 PIT, 0x61 port B
 *   0x80       POST                        0xf4      debug-exit
 *   0x3f8      COM1 16550A (IRQ 4)         0x510/514 fw_cfg
 *   0x600      ACPI PM1a/PM timer (SCI 9)  0xcf8/cfc PCI config mechanism #1 (+ 0xcf9 reset)
 *   0x60/0x64  i8042 (IRQ 1, 12)           0x70/0x71 MC146818 RTC/CMOS (IRQ 8)
 *   0x92       fast A20 / reset
 *   0xfec00000 IOAPIC                      0xfee00000 local APIC (each CPU its own)
 *   PCI 00.0 i440FX, 01.0 PIIX3, 02.0 virtio-rng (--rng),
 *       03.0.. virtio-blk (one per disk), 0b.0 virtio-console (--console virtio),
 *       0c.0.. virtio-net (one per --net);
 *       virtio devices use INTA or MSI-X
 *
 * Interrupts: ISA IRQ n goes to 8259 input n and IOAPIC pin n (IRQ 0 to pin 2,
 * as the MADT's override says). The 8259's INT pin reaches every CPU's LINT0
 * (only the BSP's comes up unmasked as ExtINT), or the CPU directly while its
 * APIC is disabled. IPIs, IOAPIC messages and MSIs go to the local APICs their
 * destination names (board_route).
 *
 * With env->kernel_irqchip the engine (KVM) emulates the 8259 pair with ELCR,
 * the 8254 with port 0x61, the IOAPIC and the local APIC at the same ports and
 * addresses; the board leaves them out and hands ISA IRQ n to env->set_gsi as
 * GSI n, which the engine routes the same way (IRQ 0 to IOAPIC pin 2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/acpi.h"
#include "boot/e820.h"
#include "core/chardev.h"
#include "hw/char/debug_exit.h"
#include "hw/char/uart16550.h"
#include "hw/device.h"
#include "hw/fw_cfg.h"
#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"
#include "hw/input/i8042.h"
#include "hw/intc/lapic.h"
#include "hw/pc/board.h"
#include "hw/pc/reset_ports.h"
#include "hw/pci/pci.h"
#include "hw/pci/piix.h"
#include "hw/timer/acpi_pm.h"
#include "hw/timer/hpet.h"
#include "hw/timer/i8254.h"
#include "hw/timer/mc146818.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_console.h"
#include "hw/virtio/virtio_net.h"
#include "hw/virtio/virtio_rng.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ 4
#define SCI_IRQ 9
#define KBD_IRQ 1
#define AUX_IRQ 12
#define RTC_IRQ 8
#define RTC_PORT 0x70
#define I8042_DATA_PORT 0x60
#define I8042_COMMAND_PORT 0x64
#define PORT92 0x92
#define ISA_IRQS 16
#define BOARD_MAX_REGIONS 32
#define BOARD_RNG_SLOT 2
#define BOARD_FIRST_DISK_SLOT 3
#define BOARD_CONSOLE_SLOT (BOARD_FIRST_DISK_SLOT + BOARD_MAX_DISKS)
#define BOARD_FIRST_NIC_SLOT (BOARD_CONSOLE_SLOT + 1)

struct board_region {
	struct bus *bus;
	uint64_t base;
};

/* A CPU's socket on the board: its local APIC and where its messages go. */
struct board_cpu {
	struct board *b;
	unsigned index;
	struct lapic *lapic;
};

/* The board's own state: the wiring's memory of levels (snapshots). */
struct board_state {
	int32_t legacy_timer_level[2]; /* the PIT's and the RTC's outputs */
	bool hpet_legacy; /* HPET legacy replacement disconnects them */
	uint8_t post_last; /* the last POST code */
};

struct board {
	struct board_env env;
	struct device dev; /* "board" */
	struct board_state s;
	/* Every device, in creation order: reset, teardown and snapshots walk it. */
	struct device_list devices;
	bool loading; /* a snapshot loads: interrupt lines are not driven */
	struct irq_line isa_irq[ISA_IRQS];
	struct i8259 *pic;
	struct i8254 *pit;
	struct board_cpu cpus[BOARD_MAX_CPUS];
	unsigned ncpus;
	unsigned lowest_rr; /* lowest-priority arbitration: where the last tie went */
	struct ioapic *ioapic;
	struct uart16550 *com1;
	struct pci_bus *pci;
	struct piix *piix;
	struct acpi_pm *pm;
	struct hpet *hpet; /* NULL with kernel_irqchip (KVM's PIT cannot be disconnected) */
	/* The PIT's and the RTC's interrupt outputs, which HPET legacy replacement
	 * mode disconnects from IRQ 0 and IRQ 8. */
	struct irq_line legacy_timer_irq[2];
	struct fw_cfg *fw_cfg;
	struct mc146818 *rtc;
	struct i8042 *i8042;
	struct reset_ports *reset_ports;
	struct debug_exit debug_exit;
	struct post_port post;
	struct board_region regions[BOARD_MAX_REGIONS]; /* to remove on destroy */
	unsigned nregions;
	struct virtio_blk *disks[BOARD_MAX_DISKS];
	unsigned ndisks;
	struct virtio_net *nics[BOARD_MAX_NICS];
	unsigned nnics;
	struct virtio_rng *rng;
	struct virtio_console *console;
	struct virtio_kick_host kick_host;
};

/* ---- interrupt routing ---- */

/* A CPU's INTR input: its local APIC's output, or the 8259 itself when the
 * APIC is off; its NMI input, which the local APIC latches; and INIT/SIPI,
 * which the CPU side takes with board_take_init_sipi. */
static void update_cpu_intr(struct board_cpu *c)
{
	struct board *b = c->b;
	if (b->env.kernel_irqchip || b->loading)
		return; /* the engine's controllers drive INTR themselves */
	if (lapic_nmi_pending(c->lapic)) {
		lapic_ack_nmi(c->lapic);
		if (b->env.raise_nmi)
			b->env.raise_nmi(b->env.opaque, c->index);
	}
	if ((lapic_init_pending(c->lapic) || lapic_sipi_pending(c->lapic, NULL)) && b->env.init_sipi)
		b->env.init_sipi(b->env.opaque, c->index);
	bool level;
	if (lapic_hw_enabled(c->lapic))
		level = lapic_has_interrupt(c->lapic) || lapic_extint_pending(c->lapic);
	else
		level = pic_intr_level(b->pic);
	b->env.set_cpu_intr(b->env.opaque, c->index, level);
}

static void update_all_cpus(struct board *b)
{
	for (unsigned i = 0; i < b->ncpus; i++)
		update_cpu_intr(&b->cpus[i]);
}

static void board_isa_irq(void *opaque, unsigned irq, int level)
{
	struct board *b = opaque;
	if (b->loading)
		return;
	if (b->env.kernel_irqchip) {
		b->env.set_gsi(b->env.opaque, irq, level);
		return;
	}
	pic_set_irq(b->pic, irq == 2 ? 9 : irq, level); /* IRQ 2 is the cascade; its devices use 9 */
	ioapic_set_irq(b->ioapic, irq == 0 ? 2 : irq, level);
}

/* An IOAPIC input outside the ISA range (GSI 16..23). */
static void board_gsi(void *opaque, unsigned gsi, int level)
{
	struct board *b = opaque;
	if (b->loading)
		return;
	if (b->env.kernel_irqchip)
		b->env.set_gsi(b->env.opaque, gsi, level);
	else
		ioapic_set_irq(b->ioapic, gsi, level);
}

/* The PIT (line 0) and the RTC (line 1): IRQ 0 and IRQ 8 unless the HPET replaces them. */
static void board_legacy_timer_irq(void *opaque, unsigned line, int level)
{
	struct board *b = opaque;
	if (b->loading)
		return;
	b->s.legacy_timer_level[line] = level;
	if (!b->s.hpet_legacy)
		board_isa_irq(b, line ? RTC_IRQ : PIT_IRQ, level);
}

static void board_hpet_legacy(void *opaque, bool on)
{
	struct board *b = opaque;
	if (b->loading)
		return;
	b->s.hpet_legacy = on;
	board_isa_irq(b, PIT_IRQ, on ? 0 : b->s.legacy_timer_level[0]);
	board_isa_irq(b, RTC_IRQ, on ? 0 : b->s.legacy_timer_level[1]);
}

static void board_pic_intr(void *opaque, int level)
{
	struct board *b = opaque;
	if (b->loading)
		return;
	for (unsigned i = 0; i < b->ncpus; i++) {
		lapic_set_lint(b->cpus[i].lapic, 0, level);
		update_cpu_intr(&b->cpus[i]);
	}
}

static void board_lapic_intr_changed(void *opaque)
{
	update_cpu_intr(opaque);
}

/*
 * An interrupt message (IPI, IOAPIC redirection, MSI) to the local APICs
 * that dest names; from is the sending CPU for the shorthands, or NULL.
 * Lowest priority goes to one of the targets: the lowest PPR, ties taken in
 * turn (SDM §11.6.2.4 leaves the choice to the chipset; KVM also rotates).
 * An 8-bit broadcast (0xff) reaches x2APIC-mode targets too.
 */
static void board_route(struct board *b, const struct board_cpu *from, uint32_t dest, bool logical,
			unsigned delivery_mode, uint8_t vector, unsigned shorthand, bool level)
{
	bool target[BOARD_MAX_CPUS] = { false };
	unsigned n = 0;
	for (unsigned i = 0; i < b->ncpus; i++) {
		struct board_cpu *c = &b->cpus[i];
		bool hit;
		if (shorthand == APIC_SH_ALL)
			hit = true;
		else if (shorthand == APIC_SH_OTHERS)
			hit = c != from;
		else if (shorthand == APIC_SH_SELF)
			hit = c == from;
		else
			hit = lapic_match_dest(c->lapic, lapic_x2apic_mode(c->lapic) && dest == 0xff ? APIC_BROADCAST : dest,
					       logical);
		target[i] = hit;
		n += hit;
	}
	if (delivery_mode == APIC_DM_LOWEST && n > 1) {
		unsigned best = b->ncpus;
		for (unsigned k = 1; k <= b->ncpus; k++) {
			unsigned i = (b->lowest_rr + k) % b->ncpus;
			if (target[i] && (best == b->ncpus || lapic_get_ppr(b->cpus[i].lapic) <
								     lapic_get_ppr(b->cpus[best].lapic)))
				best = i;
		}
		b->lowest_rr = best;
		for (unsigned i = 0; i < b->ncpus; i++)
			target[i] = i == best;
	}
	for (unsigned i = 0; i < b->ncpus; i++)
		if (target[i])
			lapic_accept(b->cpus[i].lapic, vector, delivery_mode, level);
}

static void board_send_ipi(void *opaque, uint32_t dest, unsigned dest_mode, unsigned delivery_mode, uint8_t vector,
			   unsigned shorthand, bool level)
{
	struct board_cpu *c = opaque;
	if (!c->b->loading)
		board_route(c->b, c, dest, dest_mode != 0, delivery_mode, vector, shorthand, level);
}

static void board_ioapic_deliver(void *opaque, uint32_t dest, bool logical, unsigned delivery_mode, uint8_t vector,
				 bool level)
{
	struct board *b = opaque;
	if (!b->loading)
		board_route(b, NULL, dest, logical, delivery_mode, vector, APIC_SH_NONE, level);
}

/* A PCI device's MSI-X message (Intel SDM Vol. 3A §11.11): address 0xFEExxxxx
 * names the destination, data the vector, delivery and trigger modes. */
static void board_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct board *b = opaque;
	if (b->loading)
		return;
	if (b->env.kernel_irqchip) {
		if (b->env.send_msi)
			b->env.send_msi(b->env.opaque, addr, data);
		return;
	}
	if ((addr & 0xfff00000u) != LAPIC_BASE_DEFAULT)
		return; /* a write elsewhere is not an interrupt; nothing listens there */
	board_ioapic_deliver(b, (uint32_t)(addr >> 12) & 0xff, addr & 4, (data >> 8) & 7, (uint8_t)data,
			     (data >> 15) & 1);
}

/* The terminal's transmit ring has room: for COM1 and the virtio console. */
static void board_tx_space(void *opaque)
{
	struct board *b = opaque;
	uart_tx_space(b->com1);
	if (b->console)
		virtio_console_tx_space(b->console);
}

static void board_eoi_broadcast(void *opaque, uint8_t vector)
{
	struct board_cpu *c = opaque;
	if (c->b->loading)
		return;
	ioapic_eoi(c->b->ioapic, vector);
}

/* The CPU's socket, or NULL for an index the board does not have. */
static struct board_cpu *board_cpu(struct board *b, unsigned cpu)
{
	return !b->env.kernel_irqchip && cpu < b->ncpus ? &b->cpus[cpu] : NULL;
}

int board_intr_ack(struct board *b, unsigned cpu)
{
	struct board_cpu *c = board_cpu(b, cpu);
	int vector = -1;
	if (!c)
		return -1;
	if (!lapic_hw_enabled(c->lapic)) {
		if (pic_intr_level(b->pic))
			vector = pic_read_irq(b->pic);
	} else if (lapic_extint_pending(c->lapic)) {
		vector = pic_read_irq(b->pic);
		lapic_ack_extint(c->lapic);
	} else if (lapic_has_interrupt(c->lapic)) {
		vector = lapic_ack(c->lapic);
	}
	update_cpu_intr(c);
	return vector;
}

int board_take_init_sipi(struct board *b, unsigned cpu, uint8_t *vector)
{
	struct board_cpu *c = board_cpu(b, cpu);
	if (!c)
		return 0;
	if (lapic_init_pending(c->lapic)) {
		lapic_ack_init(c->lapic);
		lapic_init_reset(c->lapic);
		update_cpu_intr(c);
		return BOARD_CPU_INIT;
	}
	if (lapic_sipi_pending(c->lapic, vector)) {
		lapic_ack_sipi(c->lapic);
		return BOARD_CPU_SIPI;
	}
	return 0;
}

int board_msr_read(struct board *b, unsigned cpu, uint32_t index, uint64_t *value)
{
	struct board_cpu *c = board_cpu(b, cpu);
	if (!c)
		return -EINVAL;
	return lapic_msr_read(c->lapic, index, value) == 0 ? 0 : -EINVAL;
}

int board_msr_write(struct board *b, unsigned cpu, uint32_t index, uint64_t value)
{
	struct board_cpu *c = board_cpu(b, cpu);
	if (!c)
		return -EINVAL;
	int r = lapic_msr_write(c->lapic, index, value) == 0 ? 0 : -EINVAL;
	update_cpu_intr(c);
	return r;
}

/* The local APIC page: each CPU reaches its own at the same address. */
static struct lapic *current_lapic(struct board *b)
{
	unsigned cpu = b->env.current_cpu ? b->env.current_cpu(b->env.opaque) : 0;
	return b->cpus[cpu < b->ncpus ? cpu : 0].lapic;
}

static uint64_t board_lapic_read(void *opaque, uint64_t offset, unsigned size)
{
	return lapic_bus_ops.read(current_lapic(opaque), offset, size);
}

static void board_lapic_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	lapic_bus_ops.write(current_lapic(opaque), offset, value, size);
}

static const struct bus_ops board_lapic_ops = { .read = board_lapic_read, .write = board_lapic_write,
						 .min_size = 1, .max_size = 8 };

/* ---- construction ---- */

static void board_poweroff(void *opaque)
{
	struct board *b = opaque;
	b->env.poweroff(b->env.opaque);
}

static void board_reset_request(void *opaque)
{
	struct board *b = opaque;
	b->env.reset(b->env.opaque);
}

static int map(struct board *b, struct bus *bus, uint64_t base, uint64_t size, const struct bus_ops *ops,
	       void *opaque, const char *name)
{
	if (b->nregions == BOARD_MAX_REGIONS)
		return -ENOSPC;
	int r = bus_add(bus, base, size, ops, opaque, name);
	if (r == 0)
		b->regions[b->nregions++] = (struct board_region){ bus, base };
	return r;
}

/* The PC's ACPI description: where the board put the APICs, the PM block,
 * the reset register and the PCI window; boot/acpi.c only encodes it. */
void board_acpi_description(struct acpi_config *cfg, unsigned ncpus)
{
	static const uint8_t level_irqs[] = { 5, 9, 10, 11 };
	memset(cfg, 0, sizeof(*cfg));
	cfg->ncpus = ncpus;
	cfg->lapic_addr = 0xFEE00000;
	cfg->ioapic_addr = 0xFEC00000;
	cfg->ioapic_id = 0;
	cfg->ioapic_gsi_base = 0;
	cfg->isos[cfg->niso++] = (struct acpi_iso){ 0, 2, 0 };
	for (size_t i = 0; i < ARRAY_SIZE(level_irqs); i++)
		cfg->isos[cfg->niso++] = (struct acpi_iso){
			level_irqs[i], level_irqs[i],
			ACPI_MADT_POLARITY_ACTIVE_HIGH | ACPI_MADT_TRIGGER_LEVEL
		};
	cfg->sci_irq = ACPI_PM_SCI_IRQ;
	cfg->pm1a_evt_blk = ACPI_PM1A_EVT_BLK;
	cfg->pm1a_cnt_blk = ACPI_PM1A_CNT_BLK;
	cfg->pm_tmr_blk = ACPI_PM_TMR_BLK;
	cfg->s5_slp_typ = ACPI_PM_SLP_TYP_S5;
	cfg->reset_port = 0xCF9;
	cfg->reset_value = 0x06;
	cfg->rtc_century = 0x32;
	cfg->pci_mmio_start = (uint32_t)PCI_MMIO_WINDOW_START;
	cfg->pci_mmio_end = (uint32_t)PCI_MMIO_WINDOW_END;
}

static void board_acpi_config(const struct board *b, struct acpi_config *cfg)
{
	board_acpi_description(cfg, b->ncpus);
	cfg->hpet = b->hpet != NULL;
	cfg->hpet_addr = HPET_BASE;
	cfg->hpet_block_id = hpet_block_id();
}

/* What firmware reads through fw_cfg: RAM size, CPUs, the e820 map, ACPI tables. */
static int board_fw_cfg_items(struct board *b)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(b->env.ram, map, E820_MAX_ENTRIES);
	struct acpi_config cfg;
	struct acpi_tables tables;
	int r = fw_cfg_add_machine(b->fw_cfg, b->env.ram->size, b->ncpus);
	if (r == 0)
		r = fw_cfg_add_e820(b->fw_cfg, map, n < E820_MAX_ENTRIES ? n : E820_MAX_ENTRIES);
	if (r < 0)
		return r;
	board_acpi_config(b, &cfg);
	r = acpi_build(&cfg, &tables);
	if (r < 0)
		return r;
	r = fw_cfg_add_acpi(b->fw_cfg, &tables);
	acpi_tables_free(&tables);
	if (r < 0)
		return r;
	/* There is no display: SeaBIOS's serial console (sercon) shows its text
	 * screen and boot menu on COM1 instead. */
	uint16_t sercon = COM1_PORT;
	return fw_cfg_add_file(b->fw_cfg, "etc/sercon-port", &sercon, sizeof(sercon));
}

/* Where direct boots get their ACPI tables: the BIOS area, as firmware would use. */
#define ACPI_TABLES_GPA 0xe0000ULL
#define ACPI_RSDP_GPA 0xf0000ULL

int board_prepare_direct_boot(struct board *b, uint64_t *rsdp)
{
	struct acpi_config cfg;
	struct acpi_tables tables;
	board_acpi_config(b, &cfg);
	int r = acpi_build(&cfg, &tables);
	if (r < 0)
		return r;
	r = acpi_install(&tables, b->env.ram, ACPI_TABLES_GPA, ACPI_RSDP_GPA);
	acpi_tables_free(&tables);
	if (r < 0)
		return r;
	r = pci_bus_assign_resources(b->pci);
	if (r < 0)
		return r;
	piix_route_defaults(b->piix);
	*rsdp = ACPI_RSDP_GPA;
	return 0;
}

/* ---- the board as a device, and the device list ---- */

static const struct device_field board_fields[] = {
	DEVICE_FIELD(struct board_state, legacy_timer_level),
	DEVICE_BOOL(struct board_state, hpet_legacy),
	DEVICE_FIELD(struct board_state, post_last),
};

static void board_state_reset(struct device *dev)
{
	struct board *b = container_of(dev, struct board, dev);
	b->s = (struct board_state){ 0 };
	b->post.last = 0;
}

static int board_pre_save(struct device *dev)
{
	struct board *b = container_of(dev, struct board, dev);
	b->s.post_last = b->post.last;
	return 0;
}

static int board_post_load(struct device *dev, char *why, size_t why_len)
{
	struct board *b = container_of(dev, struct board, dev);
	for (unsigned i = 0; i < 2; i++) {
		if (b->s.legacy_timer_level[i] != 0 && b->s.legacy_timer_level[i] != 1) {
			snprintf(why, why_len, "board: a timer line at level %d", b->s.legacy_timer_level[i]);
			return -EINVAL;
		}
	}
	b->post.last = b->s.post_last;
	return 0;
}

static void board_device_destroy(struct device *dev)
{
	(void)dev; /* the board frees itself after its devices */
}

static const struct device_class board_class = {
	.type = "pc-board",
	.version = 1,
	.fields = board_fields,
	.nfields = ARRAY_SIZE(board_fields),
	.reset = board_state_reset,
	.pre_save = board_pre_save,
	.post_load = board_post_load,
	.destroy = board_device_destroy,
};

/* Takes dev into the list; NULL (its creation failed) is -ENOMEM. */
static int adopt(struct board *b, struct device *dev)
{
	return dev ? device_list_add(&b->devices, dev) : -ENOMEM;
}

int board_save(struct board *b, struct statebuf *out)
{
	sb_put_u32(out, (uint32_t)b->devices.count);
	for (size_t i = 0; i < b->devices.count; i++) {
		size_t at = sb_reserve_u32(out);
		int r = device_save(b->devices.items[i], out);
		if (r < 0)
			return r;
		sb_patch_u32(out, at, (uint32_t)(out->len - at - 4));
	}
	return out->failed ? -ENOMEM : 0;
}

static int board_load_records(struct board *b, struct state_reader *in, char *why, size_t why_len)
{
	uint32_t n = sr_get_u32(in);
	if (!sr_ok(in) || n != b->devices.count) {
		snprintf(why, why_len, "the snapshot has %u devices, this machine %zu: it was built with other options", n,
			 b->devices.count);
		return -EINVAL;
	}
	bool *seen = calloc(n ? n : 1, sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	int r = 0;
	for (uint32_t i = 0; i < n && r == 0; i++) {
		uint32_t len = sr_get_u32(in);
		struct state_reader rec = sr_sub(in, len);
		char name[256];
		device_record_name(&rec, name);
		struct device *dev = sr_ok(in) ? device_list_find(&b->devices, name) : NULL;
		size_t k = 0;
		while (dev && b->devices.items[k] != dev)
			k++;
		if (!sr_ok(in)) {
			snprintf(why, why_len, "the device records are truncated");
			r = -EINVAL;
		} else if (!dev || seen[k]) {
			snprintf(why, why_len, "the snapshot has %s device \"%s\" this machine %s", dev ? "a second" : "a",
				 name, dev ? "has once" : "lacks");
			r = -EINVAL;
		} else {
			seen[k] = true;
			r = device_load(dev, &rec, why, why_len);
			if (r == 0 && rec.left) {
				snprintf(why, why_len, "device %s: trailing bytes in its record", name);
				r = -EINVAL;
			}
		}
	}
	free(seen);
	if (r == 0 && in->left) {
		snprintf(why, why_len, "trailing bytes after the device records");
		r = -EINVAL;
	}
	return r;
}

int board_load(struct board *b, struct state_reader *in, char *why, size_t why_len)
{
	b->loading = true;
	int r = board_load_records(b, in, why, why_len);
	if (r < 0)
		device_list_reset(&b->devices); /* nothing half-loaded runs */
	b->loading = false;
	update_all_cpus(b);
	return r;
}

int board_ctrl_alt_del(struct board *b)
{
	/* Scan code set 1, which the guest reads through the controller's
	 * translation: Ctrl, Alt, Delete (E0 53) pressed, then released. */
	static const uint8_t keys[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		int r = i8042_key(b->i8042, keys[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

void board_advance_wall_clock(struct board *b, int64_t seconds)
{
	rtc_advance_wall_clock(b->rtc, seconds);
}

int board_create(const struct board_env *env, struct board **out, char *why, size_t why_len)
{
	struct board *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	b->env = *env;
	device_init(&b->dev, &board_class, "board", &b->s);
	for (unsigned i = 0; i < ISA_IRQS; i++)
		b->isa_irq[i] = (struct irq_line){ board_isa_irq, b, i };
	for (unsigned i = 0; i < 2; i++)
		b->legacy_timer_irq[i] = (struct irq_line){ board_legacy_timer_irq, b, i };
	struct hpet_wiring hpet_wiring = {
		.legacy = { b->isa_irq[PIT_IRQ], b->isa_irq[RTC_IRQ] },
		.ioapic = board_gsi,
		.ioapic_opaque = b,
		.legacy_changed = board_hpet_legacy,
		.opaque = b,
	};
	b->debug_exit = (struct debug_exit){ env->exit, env->opaque };

	static const struct lapic_ops lapic_ops = {
		.send_ipi = board_send_ipi,
		.eoi_broadcast = board_eoi_broadcast,
		.intr_changed = board_lapic_intr_changed,
	};
	struct ioapic_config iocfg = { .id = 0, .deliver = board_ioapic_deliver, .opaque = b };
	struct piix_config pcfg = { .set_isa_irq = board_isa_irq, .isa_opaque = b };

	int r = -EINVAL;
	bool own_chips = !env->kernel_irqchip;
	if ((env->kernel_irqchip && !env->set_gsi) || env->ncpus > BOARD_MAX_CPUS)
		goto fail;
	b->ncpus = env->ncpus ? env->ncpus : 1;
	r = adopt(b, &b->dev);
	for (unsigned i = 0; i < b->ncpus; i++)
		b->cpus[i] = (struct board_cpu){ b, i, NULL };
	for (unsigned i = 0; own_chips && i < b->ncpus && r == 0; i++) {
		struct board_cpu *c = &b->cpus[i];
		struct lapic_config lcfg = { .apic_id = i, .bsp = i == 0, .phys_addr_bits = 40, .ops = &lapic_ops,
					     .opaque = c };
		r = (c->lapic = lapic_create(env->clock, &lcfg)) ? adopt(b, lapic_device(c->lapic)) : -ENOMEM;
	}
	if (own_chips) {
		if (r == 0 && (b->ioapic = ioapic_create(&iocfg)))
			r = adopt(b, ioapic_device(b->ioapic));
		if (r == 0 && (b->pic = pic_create(board_pic_intr, b)))
			r = adopt(b, pic_device(b->pic));
		if (r == 0 && (b->pit = pit_create(env->clock, &b->legacy_timer_irq[0])))
			r = adopt(b, pit_device(b->pit));
		if (r == 0 && (b->hpet = hpet_create(env->clock, &hpet_wiring)))
			r = adopt(b, hpet_device(b->hpet));
		if (r == 0 && (!b->ioapic || !b->pic || !b->pit || !b->hpet))
			r = -ENOMEM;
	}
	if (r == 0 && (b->com1 = uart_create(env->clock, &b->isa_irq[COM1_IRQ], env->serial)))
		r = adopt(b, uart_device(b->com1));
	if (r == 0 && (b->pm = acpi_pm_create(env->clock, &b->isa_irq[SCI_IRQ], board_poweroff, b)))
		r = adopt(b, acpi_pm_device(b->pm));
	if (r == 0 && (b->fw_cfg = fw_cfg_create(env->ram)))
		r = adopt(b, fw_cfg_device(b->fw_cfg));
	if (r == 0 && (b->pci = pci_bus_create()))
		r = adopt(b, pci_bus_device(b->pci));
	/* The RTC starts from the host's wall clock in UTC, as Linux guests expect by default. */
	if (r == 0 && (b->rtc = rtc_create(env->clock, &b->legacy_timer_irq[1], time(NULL))))
		r = adopt(b, rtc_device(b->rtc));
	if (r == 0 && (b->i8042 = i8042_create(&b->isa_irq[KBD_IRQ], &b->isa_irq[AUX_IRQ], board_reset_request, b)))
		r = adopt(b, i8042_device(b->i8042));
	if (r == 0 && (b->reset_ports = reset_ports_create(board_reset_request, b)))
		r = adopt(b, reset_ports_device(b->reset_ports));
	if (r == 0 && (!b->com1 || !b->pm || !b->fw_cfg || !b->pci || !b->rtc || !b->i8042 || !b->reset_ports))
		r = -ENOMEM;
	if (r < 0)
		goto fail;
	rtc_set_memory_size(b->rtc, env->ram->low_size, env->ram->size - env->ram->low_size);
	/* 0xCF9 sits inside the PCI address port's dword: the host bridge forwards it. */
	pci_host_set_cf9(b->pci, &reset_cf9_bus_ops, b->reset_ports);
	pci_bus_set_address_spaces(b->pci, env->pio, env->mmio);
	pci_bus_set_msi_handler(b->pci, board_msi, b);
	if ((r = piix_create(b->pci, &pcfg, &b->piix)) < 0 || (r = adopt(b, piix_device(b->piix))) < 0)
		goto fail;
	/* irqfds only for the engine's own local APICs: the board's models take
	 * MSIs through board_msi. */
	b->kick_host = (struct virtio_kick_host){ .ring_packed = env->virtio_packed, .loop = env->loop,
						  .ioeventfd = env->ioeventfd,
						  .irqfd = env->kernel_irqchip ? env->msi_irqfd : NULL,
						  .opaque = env->opaque };
	/* The disks before the fw_cfg items: they are part of what firmware finds. */
	if (env->ndisks > BOARD_MAX_DISKS || env->nnics > BOARD_MAX_NICS) {
		r = -ENOSPC;
		goto fail;
	}
	for (; b->ndisks < env->ndisks; b->ndisks++) {
		char serial[24];
		snprintf(serial, sizeof(serial), "x86v-vd%c", 'a' + b->ndisks);
		struct block_backend *disk = env->disks[b->ndisks];
		env->disks[b->ndisks] = NULL; /* the device owns it now, also when it fails */
		r = virtio_blk_create(b->pci, PCI_DEVFN(BOARD_FIRST_DISK_SLOT + b->ndisks, 0), env->ram, env->loop,
				      &b->kick_host, disk, serial, &b->disks[b->ndisks]);
		if (r < 0 || (r = adopt(b, virtio_blk_device(b->disks[b->ndisks]))) < 0)
			goto fail;
	}
	for (; b->nnics < env->nnics; b->nnics++) {
		struct board_nic *nic = &env->nics[b->nnics];
		struct net_backend *nb = nic->backend;
		nic->backend = NULL; /* the device owns it now, also when it fails */
		r = virtio_net_create(b->pci, PCI_DEVFN(BOARD_FIRST_NIC_SLOT + b->nnics, 0), env->ram, env->loop,
				      &b->kick_host, nb, nic->mac, &b->nics[b->nnics]);
		if (r < 0 || (r = adopt(b, virtio_net_device(b->nics[b->nnics]))) < 0)
			goto fail;
	}
	if (env->rng && ((r = virtio_rng_create(b->pci, PCI_DEVFN(BOARD_RNG_SLOT, 0), env->ram, &b->kick_host,
						 &b->rng)) < 0 ||
			 (r = adopt(b, virtio_rng_device(b->rng))) < 0))
		goto fail;
	if (env->virtio_console && env->serial &&
	    ((r = virtio_console_create(b->pci, PCI_DEVFN(BOARD_CONSOLE_SLOT, 0), env->ram, &b->kick_host, env->serial,
					&b->console)) < 0 ||
	     (r = adopt(b, virtio_console_device(b->console))) < 0))
		goto fail;
	if ((r = board_fw_cfg_items(b)) < 0)
		goto fail;

	const struct {
		struct bus *bus;
		uint64_t base, size;
		const struct bus_ops *ops;
		void *opaque;
		const char *name;
		bool chip; /* an interrupt controller or the PIT: absent with kernel_irqchip */
	} regions[] = {
		{ env->pio, PIC_MASTER_BASE, PIC_REGION_SIZE, &pic_master_ops, b->pic, "pic-master", true },
		{ env->pio, PIC_SLAVE_BASE, PIC_REGION_SIZE, &pic_slave_ops, b->pic, "pic-slave", true },
		{ env->pio, PIC_ELCR_BASE, PIC_ELCR_SIZE, &pic_elcr_ops, b->pic, "elcr", true },
		{ env->pio, PIT_BASE, PIT_REGION_SIZE, &pit_ops, b->pit, "pit", true },
		{ env->pio, PIT_PORT61, PIT_PORT61_SIZE, &pit_port61_ops, b->pit, "port61", true },
		{ env->pio, POST_PORT, 1, &post_port_bus_ops, &b->post, "post" },
		{ env->pio, DEBUG_EXIT_PORT, DEBUG_EXIT_REGION_SIZE, &debug_exit_bus_ops, &b->debug_exit, "debug-exit" },
		{ env->pio, COM1_PORT, UART_REGION_SIZE, &uart_bus_ops, b->com1, "com1" },
		{ env->pio, RTC_PORT, RTC_REGION_SIZE, &rtc_bus_ops, b->rtc, "rtc" },
		{ env->pio, I8042_DATA_PORT, 1, &i8042_data_bus_ops, b->i8042, "i8042-data" },
		{ env->pio, I8042_COMMAND_PORT, 1, &i8042_command_bus_ops, b->i8042, "i8042-cmd" },
		{ env->pio, PORT92, 1, &reset_port92_bus_ops, b->reset_ports, "port92" },
		{ env->pio, FW_CFG_IO_BASE, FW_CFG_IO_SIZE, &fw_cfg_io_bus_ops, b->fw_cfg, "fw_cfg" },
		{ env->pio, FW_CFG_DMA_BASE, FW_CFG_DMA_SIZE, &fw_cfg_dma_bus_ops, b->fw_cfg, "fw_cfg-dma" },
		{ env->pio, ACPI_PM_BASE, ACPI_PM_REGION_SIZE, &acpi_pm_bus_ops, b->pm, "acpi-pm" },
		{ env->pio, PCI_CONFIG_ADDRESS_PORT, PCI_HOST_REGION_SIZE, &pci_host_addr_bus_ops, b->pci, "pci-addr" },
		{ env->pio, PCI_CONFIG_DATA_PORT, PCI_HOST_REGION_SIZE, &pci_host_data_bus_ops, b->pci, "pci-data" },
		{ env->mmio, IOAPIC_DEFAULT_BASE, IOAPIC_REGION_SIZE, &ioapic_bus_ops, b->ioapic, "ioapic", true },
		{ env->mmio, LAPIC_BASE_DEFAULT, 0x1000, &board_lapic_ops, b, "lapic", true },
		{ env->mmio, HPET_BASE, HPET_REGION_SIZE, &hpet_bus_ops, b->hpet, "hpet", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(regions); i++) {
		if (regions[i].chip && !own_chips)
			continue; /* the engine handles these accesses without leaving the kernel */
		r = map(b, regions[i].bus, regions[i].base, regions[i].size, regions[i].ops, regions[i].opaque,
			regions[i].name);
		if (r < 0)
			goto fail;
	}
	if (env->serial) {
		if (b->console)
			chardev_set_frontend(env->serial, virtio_console_receive, b->console);
		else
			chardev_set_frontend(env->serial, uart_receive, b->com1);
		chardev_set_tx_space(env->serial, board_tx_space, b);
		r = chardev_attach(env->serial, env->loop);
		if (r < 0)
			goto fail;
	}
	*out = b;
	return 0;
fail:
	snprintf(why, why_len, "cannot build the PC board: %s", strerror(-r));
	for (unsigned i = 0; i < env->ndisks; i++) { /* the disks no device took */
		block_close(env->disks[i]);
		env->disks[i] = NULL;
	}
	for (unsigned i = 0; i < env->nnics; i++) {
		net_close(env->nics[i].backend);
		env->nics[i].backend = NULL;
	}
	board_destroy(b);
	return r;
}

void board_reset(struct board *b)
{
	/* With kernel_irqchip the engine resets its own chips (engine_ops.platform_reset). */
	device_list_reset(&b->devices);
	update_all_cpus(b);
}

void board_destroy(struct board *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->nregions; i++)
		bus_remove(b->regions[i].bus, b->regions[i].base);
	if (b->env.serial) {
		chardev_set_frontend(b->env.serial, NULL, NULL);
		chardev_set_tx_space(b->env.serial, NULL, NULL);
	}
	/* Newest first: the PCI functions leave the bus before it goes. */
	device_list_destroy(&b->devices);
	free(b);
}
