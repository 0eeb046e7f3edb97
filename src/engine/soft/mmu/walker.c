/* SPDX-License-Identifier: MIT */
/*
 * The page walk: 32-bit paging (with 4 MiB pages under CR4.PSE), PAE and
 * 4-level paging (SDM Vol. 3A §4.3-§4.5), with accessed/dirty updates and the
 * #PF error code (§4.7).
 *
 * Simplifications: PAE PDPTEs are read at walk time rather than cached at
 * CR3 load; A/D bits are set only when the whole walk succeeds; no
 * protection keys, no SMEP/SMAP (not advertised), PSE-36 not modelled.
 *
 * A/D bits are set with a compare-and-swap, as hardware does with a locked
 * update: another vCPU may be changing the same entry (clearing A, or the
 * whole entry); if it did since the walk read it, the walk starts over.
 */
#include "engine/soft/soft_engine.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PHYS_ADDR_BITS 40
#define PTE_ADDR_MASK (((1ULL << PHYS_ADDR_BITS) - 1) & ~0xfffULL)

struct walk_level {
	uint64_t entry_gpa;
	uint64_t entry;
	unsigned size; /* 4 or 8 bytes */
};

/* Error code for a fault at this walk: P set when the entry was present.
 * SOFT_WALK_FAULT marks it as a fault, since a fault's error code may be 0. */
static int pf_code(struct soft_cpu *cpu, enum soft_access acc, bool user, bool present, bool rsvd)
{
	int code = present ? PF_P : 0;
	if (acc == SOFT_ACC_WRITE)
		code |= PF_W;
	if (user)
		code |= PF_U;
	if (rsvd)
		code |= PF_RSVD | PF_P;
	if (acc == SOFT_ACC_EXEC && (((cpu->s.efer & EFER_NXE) && (cpu->s.cr4 & CR4_PAE)) || (cpu->s.cr4 & CR4_SMEP)))
		code |= PF_I;
	return code | SOFT_WALK_FAULT;
}

#define WALK_AGAIN (-1)

static int walk_once(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool user, struct soft_walk *w)
{
	const struct x86_cpu_state *s = &cpu->s;
	struct walk_level lv[4];
	unsigned n = 0;
	bool nxe = (s->efer & EFER_NXE) != 0;
	uint64_t rsvd_nx = nxe ? 0 : PTE_NX;
	uint64_t page_size = 4096, frame;
	uint64_t entry;

	if (!(s->cr0 & CR0_PG)) {
		*w = (struct soft_walk){ .gpa = lin & (cpu->long_mode ? ~0ULL : 0xffffffffULL),
					 .readable = true, .writable = true, .user = true, .executable = true, .dirty = true,
					 .page_size = 4096 };
		return 0;
	}

	if (!(s->cr4 & CR4_PAE)) {
		/* 32-bit paging: PDE then PTE, 4-byte entries, no NX. */
		uint64_t pde_gpa = (s->cr3 & 0xfffff000ULL) + ((lin >> 22) & 0x3ff) * 4;
		entry = soft_phys_read(cpu, pde_gpa, 4);
		lv[n++] = (struct walk_level){ pde_gpa, entry, 4 };
		if (!(entry & PTE_P))
			return pf_code(cpu, acc, user, false, false);
		if ((entry & PTE_PS) && (s->cr4 & CR4_PSE)) {
			page_size = 4 * MiB;
			frame = entry & 0xffc00000ULL;
		} else {
			uint64_t pte_gpa = (entry & 0xfffff000ULL) + ((lin >> 12) & 0x3ff) * 4;
			entry = soft_phys_read(cpu, pte_gpa, 4);
			lv[n++] = (struct walk_level){ pte_gpa, entry, 4 };
			if (!(entry & PTE_P))
				return pf_code(cpu, acc, user, false, false);
			frame = entry & 0xfffff000ULL;
		}
	} else {
		uint64_t table;
		int level;
		if (cpu->long_mode) {
			table = s->cr3 & PTE_ADDR_MASK;
			level = 4;
		} else {
			/* PAE: the PDPTE has no RW/US/NX bits of its own. */
			uint64_t pdpte_gpa = (s->cr3 & 0xffffffe0ULL) + ((lin >> 30) & 3) * 8;
			entry = soft_phys_read(cpu, pdpte_gpa, 8);
			if (!(entry & PTE_P))
				return pf_code(cpu, acc, user, false, false);
			if (entry & 0x1e6ULL)
				return pf_code(cpu, acc, user, true, true);
			table = entry & PTE_ADDR_MASK;
			level = 2;
		}
		for (;; level--) {
			unsigned shift = 12 + 9 * (unsigned)(level - 1);
			uint64_t gpa = table + ((lin >> shift) & 0x1ff) * 8;
			entry = soft_phys_read(cpu, gpa, 8);
			lv[n++] = (struct walk_level){ gpa, entry, 8 };
			if (!(entry & PTE_P))
				return pf_code(cpu, acc, user, false, false);
			if ((entry & rsvd_nx) || (entry & ~PTE_NX & ~((1ULL << PHYS_ADDR_BITS) - 1) & ~(0x7ffULL << 52)))
				return pf_code(cpu, acc, user, true, true);
			if (level == 4 && (entry & PTE_PS))
				return pf_code(cpu, acc, user, true, true);
			if (level == 1 || (entry & PTE_PS)) {
				page_size = 1ULL << shift;
				frame = entry & PTE_ADDR_MASK & ~(page_size - 1);
				/* Reserved bits between bit 12 and the frame of a large page. */
				if (level > 1 && (entry & (page_size - 1) & ~0x1fffULL))
					return pf_code(cpu, acc, user, true, true);
				break;
			}
			table = entry & PTE_ADDR_MASK;
		}
	}

	/* Permissions are the AND (NX: the OR) over all levels. */
	bool writable = true, user_ok = true, exec_ok = true;
	for (unsigned i = 0; i < n; i++) {
		writable &= (lv[i].entry & PTE_RW) != 0;
		user_ok &= (lv[i].entry & PTE_US) != 0;
		if (nxe && lv[i].size == 8 && (lv[i].entry & PTE_NX))
			exec_ok = false;
	}
	bool wp = (s->cr0 & CR0_WP) != 0;
	if (user && !user_ok)
		return pf_code(cpu, acc, user, true, false);
	if (acc == SOFT_ACC_WRITE && !writable && (user || wp))
		return pf_code(cpu, acc, user, true, false);
	/* SMAP: supervisor data accesses to user pages only explicitly at CPL < 3
	 * with EFLAGS.AC set (a supervisor access at CPL 3 is an implicit one). */
	if (!user && user_ok && acc != SOFT_ACC_EXEC && (s->cr4 & CR4_SMAP) &&
	    !(cpu->cpl < 3 && (s->rflags & RFLAGS_AC)))
		return pf_code(cpu, acc, user, true, false);
	/* Protection keys (4-level paging, CR4.PKE): the leaf's key selects two
	 * PKRU bits that restrict data accesses to user pages, by either privilege. */
	bool pk_no_access = false, pk_no_write = false;
	if (cpu->long_mode && (s->cr4 & CR4_PKE) && user_ok) {
		unsigned key = (unsigned)(lv[n - 1].entry >> 59) & 15;
		pk_no_access = (s->fpu.pkru >> (2 * key)) & 1;
		pk_no_write = pk_no_access || (((s->fpu.pkru >> (2 * key + 1)) & 1) && (user || wp));
		if (acc != SOFT_ACC_EXEC && (pk_no_access || (acc == SOFT_ACC_WRITE && pk_no_write)))
			return pf_code(cpu, acc, user, true, false) | PF_PK;
	}
	/* SMEP: no supervisor instruction fetches from user pages. */
	if (!user && user_ok && (s->cr4 & CR4_SMEP))
		exec_ok = false;
	if (acc == SOFT_ACC_EXEC && !exec_ok)
		return pf_code(cpu, acc, user, true, false);

	/* Accessed on every level, dirty on the leaf for a write. */
	for (unsigned i = 0; i < n; i++) {
		uint64_t want = lv[i].entry | PTE_A;
		if (i == n - 1 && acc == SOFT_ACC_WRITE)
			want |= PTE_D;
		if (want != lv[i].entry && !soft_phys_cmpxchg(cpu, lv[i].entry_gpa, lv[i].size, lv[i].entry, want))
			return WALK_AGAIN;
	}
	uint64_t leaf = lv[n - 1].entry;
	*w = (struct soft_walk){
		.gpa = frame + (lin & (page_size - 1)),
		.readable = !pk_no_access,
		.writable = (writable || (!user && !wp)) && !pk_no_write,
		.user = user_ok,
		.executable = exec_ok,
		.dirty = (leaf & PTE_D) || acc == SOFT_ACC_WRITE,
		.global = (leaf & PTE_G) && (s->cr4 & CR4_PGE),
		.page_size = page_size,
	};
	return 0;
}

int soft_walk(struct soft_cpu *cpu, uint64_t lin, enum soft_access acc, bool user, struct soft_walk *w)
{
	cpu->walks++;
	int r;
	while ((r = walk_once(cpu, lin, acc, user, w)) == WALK_AGAIN)
		;
	return r;
}
