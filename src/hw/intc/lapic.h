/* SPDX-License-Identifier: MIT */
/*
 * The local APIC of one vCPU (Intel SDM Vol. 3A ch. 11), in xAPIC mode (a
 * 4 KiB MMIO page at IA32_APIC_BASE) and x2APIC mode (MSRs 0x800-0x8ff).
 *
 * The LAPIC knows nothing of other CPUs: IPIs leave through ops->send_ipi to
 * the board's interrupt router, which finds targets with lapic_match_dest()
 * and hands them over with lapic_accept(). IOAPIC messages arrive the same
 * way. EOIs of level-triggered vectors leave through ops->eoi_broadcast.
 *
 * The CPU side (the engine glue) asks, in this order, lapic_nmi_pending(),
 * lapic_init_pending() / lapic_sipi_pending(), then, when it can take a
 * maskable interrupt, lapic_extint_pending() (ask the 8259 for the vector,
 * as KVM does: ExtINT first) and lapic_has_interrupt() / lapic_ack().
 * ops->intr_changed tells it that one of these answers may have changed, so a
 * halted vCPU wakes up.
 *
 * The timer counts at LAPIC_BUS_HZ (1 GHz, like KVM: one bus tick per
 * virtual ns before the divider) and uses only the virtual clock.
 *
 * Locking: every function here is called with the machine lock held. Any
 * callback may be called from inside any function here except the const
 * queries and the lapic_ack* functions; the LAPIC's state is consistent
 * whenever a callback runs, so callbacks may call back into this LAPIC.
 */
#ifndef X86V_HW_INTC_LAPIC_H
#define X86V_HW_INTC_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/vclock.h"
#include "mem/bus.h"

struct device;
struct lapic;

#define LAPIC_MMIO_SIZE 0x1000
#define LAPIC_BUS_HZ 1000000000ULL
#define LAPIC_VERSION 0x00050014 /* version 0x14 (integrated), max LVT entry 5 */
/* Periodic timers run no faster than this (KVM's min_timer_period_us): a
 * guest asking for a 1 ns period would otherwise keep the host busy. */
#define LAPIC_TIMER_MIN_PERIOD_NS 200000

/* MSRs (SDM Vol. 4). */
#define LAPIC_MSR_APIC_BASE 0x1b
#define LAPIC_MSR_TSC_DEADLINE 0x6e0
#define LAPIC_MSR_X2APIC_FIRST 0x800
#define LAPIC_MSR_X2APIC_LAST 0x8ff

/* IA32_APIC_BASE bits (SDM §11.4.4, §11.12.1). */
#define LAPIC_BASE_BSP (1ULL << 8)
#define LAPIC_BASE_EXTD (1ULL << 10) /* x2APIC enable */
#define LAPIC_BASE_EN (1ULL << 11) /* APIC global enable */
#define LAPIC_BASE_ADDR_MASK 0xfffffffffffff000ULL
#define LAPIC_BASE_DEFAULT 0xfee00000ULL

/* xAPIC register offsets (SDM Table 11-1); x2APIC MSR = 0x800 + offset / 16. */
#define APIC_ID 0x020
#define APIC_VERSION 0x030
#define APIC_TPR 0x080
#define APIC_APR 0x090
#define APIC_PPR 0x0a0
#define APIC_EOI 0x0b0
#define APIC_RRD 0x0c0
#define APIC_LDR 0x0d0
#define APIC_DFR 0x0e0
#define APIC_SVR 0x0f0
#define APIC_ISR 0x100 /* 8 registers, 16 bytes apart */
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_LVT_CMCI 0x2f0
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_ICR 0x380 /* initial count */
#define APIC_TIMER_CCR 0x390 /* current count */
#define APIC_TIMER_DCR 0x3e0 /* divide configuration */
#define APIC_SELF_IPI 0x3f0 /* x2APIC only */

#define APIC_SVR_VECTOR 0xff
#define APIC_SVR_ENABLE (1u << 8)
#define APIC_SVR_FOCUS_DISABLE (1u << 9)

#define APIC_DFR_FLAT 0xffffffffu
#define APIC_DFR_CLUSTER 0x0fffffffu

/* LVT entries (SDM Figure 11-8). */
#define APIC_LVT_VECTOR 0xffu
#define APIC_LVT_DM_SHIFT 8
#define APIC_LVT_DM_MASK (7u << 8)
#define APIC_LVT_DELIVERY_STATUS (1u << 12)
#define APIC_LVT_POLARITY_LOW (1u << 13) /* LINT0/1: input active low */
#define APIC_LVT_REMOTE_IRR (1u << 14) /* LINT0/1, read-only */
#define APIC_LVT_LEVEL (1u << 15) /* LINT0/1 trigger mode */
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_TIMER_MODE_MASK (3u << 17)
#define APIC_LVT_TIMER_ONESHOT (0u << 17)
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_LVT_TIMER_TSC_DEADLINE (2u << 17)

/* Delivery modes (ICR, LVT, IOAPIC and MSI share the encoding). */
#define APIC_DM_FIXED 0u
#define APIC_DM_LOWEST 1u
#define APIC_DM_SMI 2u
#define APIC_DM_NMI 4u
#define APIC_DM_INIT 5u
#define APIC_DM_SIPI 6u /* "start-up" */
#define APIC_DM_EXTINT 7u

/* ICR (SDM Figure 11-12 / 11-28). */
#define APIC_ICR_VECTOR 0xffu
#define APIC_ICR_DM_SHIFT 8
#define APIC_ICR_DEST_LOGICAL (1u << 11)
#define APIC_ICR_DELIVERY_STATUS (1u << 12)
#define APIC_ICR_LEVEL_ASSERT (1u << 14)
#define APIC_ICR_TRIGGER_LEVEL (1u << 15)
#define APIC_ICR_SHORTHAND_SHIFT 18
#define APIC_SH_NONE 0u
#define APIC_SH_SELF 1u
#define APIC_SH_ALL 2u /* all including self */
#define APIC_SH_OTHERS 3u /* all excluding self */

/* ESR (SDM Figure 11-9). */
#define APIC_ESR_SEND_CS 0x01u
#define APIC_ESR_RECV_CS 0x02u
#define APIC_ESR_SEND_ACCEPT 0x04u
#define APIC_ESR_RECV_ACCEPT 0x08u
#define APIC_ESR_REDIR_IPI 0x10u
#define APIC_ESR_SEND_ILLEGAL 0x20u
#define APIC_ESR_RECV_ILLEGAL 0x40u
#define APIC_ESR_ILLEGAL_REG 0x80u

/* Physical broadcast as x2APIC writes it; lapic_match_dest() takes it in both modes. */
#define APIC_BROADCAST 0xffffffffu

struct lapic_ops {
	/*
	 * An IPI from the ICR that is not for this LAPIC alone: dest as written
	 * (xAPIC: the 8-bit field; x2APIC: 32 bits), dest_mode 0 physical / 1
	 * logical, an APIC_DM_* delivery mode, shorthand APIC_SH_NONE, _ALL or
	 * _OTHERS (the router delivers _ALL to the sender too), level = the
	 * trigger-mode bit (passed through as KVM does; NMI/INIT/SIPI/SMI are
	 * always sent edge). Self IPIs never come here. Fixed and lowest-priority
	 * IPIs with an illegal vector are stopped here (ESR "send illegal vector").
	 */
	void (*send_ipi)(void *opaque, uint32_t dest, unsigned dest_mode, unsigned delivery_mode,
			 uint8_t vector, unsigned shorthand, bool level);
	/* EOI of a level-triggered vector (TMR bit set): the IOAPICs clear Remote IRR. */
	void (*eoi_broadcast)(void *opaque, uint8_t vector);
	/* A pending NMI/INIT/SIPI/ExtINT or lapic_has_interrupt() may have changed. */
	void (*intr_changed)(void *opaque);
	/* The vCPU's TSC now; only needed for TSC-deadline mode. */
	uint64_t (*tsc_now)(void *opaque);
};

struct lapic_config {
	uint32_t apic_id; /* initial APIC ID (CPUID.1:EBX[31:24] / CPUID.0BH:EDX) */
	bool bsp; /* IA32_APIC_BASE.BSP; also resets LVT LINT0 to ExtINT (see lapic_reset) */
	bool x2apic; /* CPUID advertises x2APIC: IA32_APIC_BASE.EXTD may be set */
	unsigned phys_addr_bits; /* MAXPHYADDR, bounds IA32_APIC_BASE; 0 means 36 */
	uint64_t tsc_hz; /* 0, or tsc_now NULL: no TSC-deadline mode (bit 18 of LVT timer reads 0) */
	const struct lapic_ops *ops; /* copied; NULL or NULL members: not connected */
	void *opaque; /* passed to every op */
};

/*
 * Creates a LAPIC in its power-up state (lapic_reset). clock must outlive it
 * (the timer lives on it). Returns NULL only when out of memory.
 */
struct lapic *lapic_create(struct vclock *clock, const struct lapic_config *cfg) MUST_CHECK;
/* Cancels the timer and frees l. NULL is ignored. */
void lapic_destroy(struct lapic *l);
/*
 * The LAPIC as a device object (reset, snapshots), named "lapic" and its
 * initial APIC ID in decimal ("lapic0"). Loading a snapshot re-arms the timer
 * from the saved deadline and calls no op: the board asks lapic_nmi_pending()
 * and the others again once every device is loaded.
 */
struct device *lapic_device(struct lapic *l);
/*
 * Power-up / RESET# state (SDM §11.4.7.1): IA32_APIC_BASE = 0xfee00000 | EN
 * (| BSP), xAPIC mode, ID = initial APIC ID, every LVT masked, SVR = 0xff.
 * The BSP's LVT LINT0 comes up as ExtINT, unmasked (virtual-wire mode, as
 * KVM's LINT0_REENABLED quirk and QEMU do) so the 8259 reaches the CPU
 * without firmware set-up. Pending NMI/INIT/SIPI/ExtINT are dropped.
 */
void lapic_reset(struct lapic *l);
/*
 * INIT (SDM §11.4.7.3): registers as after power-up, except the APIC ID and
 * IA32_APIC_BASE (an x2APIC stays in x2APIC mode). The CPU side calls it
 * when it acts on lapic_init_pending(); pending INIT/SIPI/NMI latches are
 * left to the CPU side, so a SIPI that raced ahead of the INIT survives.
 */
void lapic_init_reset(struct lapic *l);

/*
 * xAPIC MMIO. offset is relative to the APIC base page. Only 32-bit accesses
 * to 16-byte-aligned registers do anything; other sizes and offsets read 0
 * and ignore writes (with a log line). Outside xAPIC mode (disabled or
 * x2APIC) reads return 0 and writes are ignored; the CPU side should not
 * route such accesses here at all (lapic_mmio_claims).
 */
uint64_t lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size);
void lapic_mmio_write(struct lapic *l, uint64_t offset, uint64_t value, unsigned size);
/* The same as a bus region of LAPIC_MMIO_SIZE bytes, sizes 1-8; opaque is the struct lapic. */
extern const struct bus_ops lapic_bus_ops;
/* Whether this vCPU's physical access to gpa hits its APIC page (xAPIC mode, gpa in the page). */
bool lapic_mmio_claims(const struct lapic *l, uint64_t gpa);

/*
 * MSRs: IA32_APIC_BASE (0x1b), IA32_TSC_DEADLINE (0x6e0) and the x2APIC range
 * 0x800-0x8ff. Return 0; -EINVAL when the access must raise #GP(0) (x2APIC
 * MSR outside x2APIC mode, unknown x2APIC register, write to a read-only or
 * read of a write-only register, reserved bits, illegal IA32_APIC_BASE
 * transition); -ENOENT when msr is not one of these (the caller's MSR table
 * decides).
 */
int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *value) MUST_CHECK;
int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t value) MUST_CHECK;
uint64_t lapic_get_base(const struct lapic *l);
/* IA32_APIC_BASE write (SDM §11.12.5 state diagram). 0 or -EINVAL (#GP). */
int lapic_set_base(struct lapic *l, uint64_t value) MUST_CHECK;

/*
 * An interrupt message for this LAPIC (from the router: IPI, IOAPIC, MSI).
 * delivery_mode is APIC_DM_*; level is the trigger mode (sets TMR for fixed
 * and lowest-priority vectors). Fixed/lowest: into IRR, vectors 0-15 are
 * refused with ESR "receive illegal vector"; dropped while the APIC is
 * software-disabled (as KVM does). NMI, INIT, SIPI (vector = start page),
 * ExtINT: latched for the CPU side. SMI: not modelled, logged and dropped.
 * Everything is dropped while the APIC is globally disabled.
 */
void lapic_accept(struct lapic *l, uint8_t vector, unsigned delivery_mode, bool level);
/*
 * LINT0/LINT1 input pins (pin 0 or 1, level 0 or 1 as on the wire), handled
 * as their LVT says: ExtINT (level-sensitive, see lapic_extint_pending),
 * NMI/INIT (rising edge of the asserted level), fixed (edge, or level with
 * Remote IRR until EOI), masked. While the APIC is globally disabled the pins
 * pass through: LINT0 is INTR (ExtINT), LINT1 is NMI.
 */
void lapic_set_lint(struct lapic *l, unsigned pin, int level);
/* lapic_set_lint as an irq_set_fn (hw/irq.h); opaque is the struct lapic, line the pin. */
void lapic_lint_line_set(void *opaque, unsigned line, int level);

/* An IRR vector's priority class is above PPR's and the APIC is software-enabled. */
bool lapic_has_interrupt(const struct lapic *l);
/* INTA: moves the highest IRR vector to ISR and returns it; the spurious vector when none qualifies. */
int lapic_ack(struct lapic *l);

bool lapic_nmi_pending(const struct lapic *l);
void lapic_ack_nmi(struct lapic *l);
bool lapic_init_pending(const struct lapic *l);
void lapic_ack_init(struct lapic *l);
/* When true, *vector (may be NULL) is the start-up vector of the latest SIPI. */
bool lapic_sipi_pending(const struct lapic *l, uint8_t *vector);
void lapic_ack_sipi(struct lapic *l);
/*
 * The CPU must fetch a vector from the 8259: LINT0 is asserted with its LVT
 * unmasked in ExtINT mode (or the APIC is globally disabled and LINT0 is
 * high), or an ExtINT message arrived. lapic_ack_extint() clears the message
 * latch; the LINT0 level stays until the PIC lowers its INTR.
 */
bool lapic_extint_pending(const struct lapic *l);
void lapic_ack_extint(struct lapic *l);

/*
 * Router helper: whether this LAPIC is a target of dest. Physical: the APIC
 * ID (8 bits in xAPIC, 32 in x2APIC) or a broadcast (0xff in xAPIC,
 * APIC_BROADCAST in both modes). Logical: xAPIC flat (LDR & dest) or
 * cluster (DFR) model, x2APIC cluster model; broadcast as for physical.
 * A globally disabled LAPIC matches nothing. In x2APIC mode 0xff is an
 * ordinary ID: the router turns an 8-bit broadcast (IOAPIC, xAPIC sender)
 * into APIC_BROADCAST.
 */
bool lapic_match_dest(const struct lapic *l, uint32_t dest, bool logical);
/* The current APIC ID (8 bits in xAPIC mode, 32 in x2APIC mode). */
uint32_t lapic_get_id(const struct lapic *l);
/* Processor priority (PPR), for lowest-priority arbitration. */
uint8_t lapic_get_ppr(const struct lapic *l);
bool lapic_hw_enabled(const struct lapic *l);
bool lapic_x2apic_mode(const struct lapic *l);

#endif
