/* SPDX-License-Identifier: MIT */
/*
 * Read-only linear → physical translation (SDM Vol. 3A §4.3 32-bit paging,
 * §4.4 PAE, §4.5 4-level paging). Permission bits are ignored: a debugger may
 * look at any mapped page. Not implemented: 5-level paging (CR4.LA57), PSE-36
 * physical bits above 4 GiB in 32-bit paging, protection keys.
 */
#include <errno.h>
#include <string.h>

#include "cpu/x86_translate.h"

#define PTE_P (1ULL << 0)
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL

static int read_entry(const struct guest_ram *ram, uint64_t gpa, unsigned size, uint64_t *out)
{
	const uint8_t *p = ram_ptr(ram, gpa, size);
	if (!p)
		return -EFAULT;
	*out = 0;
	memcpy(out, p, size);
	return 0;
}

static int walk_32(const struct x86_cpu_state *s, const struct guest_ram *ram, uint32_t lin, uint64_t *gpa)
{
	uint64_t pde, pte;
	if (read_entry(ram, (s->cr3 & 0xfffff000) + ((lin >> 22) << 2), 4, &pde) < 0 || !(pde & PTE_P))
		return -EFAULT;
	if ((pde & PTE_PS) && (s->cr4 & CR4_PSE)) {
		*gpa = (pde & 0xffc00000) | (lin & 0x3fffff);
		return 0;
	}
	if (read_entry(ram, (pde & 0xfffff000) + (((lin >> 12) & 0x3ff) << 2), 4, &pte) < 0 || !(pte & PTE_P))
		return -EFAULT;
	*gpa = (pte & 0xfffff000) | (lin & 0xfff);
	return 0;
}

/* PAE and 4-level share entry formats; levels counts the tables below CR3. */
static int walk_64(const struct x86_cpu_state *s, const struct guest_ram *ram, uint64_t lin, uint64_t *gpa)
{
	bool lm = s->efer & EFER_LMA;
	uint64_t e;
	uint64_t table;
	int shift;
	if (lm) {
		table = s->cr3 & PTE_ADDR;
		shift = 39;
	} else {
		/* PAE: CR3 points at four PDPTEs, 32-byte aligned. */
		if (read_entry(ram, (s->cr3 & 0xffffffe0) + (((lin >> 30) & 3) << 3), 8, &e) < 0 || !(e & PTE_P))
			return -EFAULT;
		table = e & PTE_ADDR;
		shift = 21;
	}
	for (; shift >= 12; shift -= 9) {
		if (read_entry(ram, table + (((lin >> shift) & 0x1ff) << 3), 8, &e) < 0 || !(e & PTE_P))
			return -EFAULT;
		/* 1 GiB pages (PDPTE.PS, long mode) and 2 MiB pages (PDE.PS). */
		if (shift < 39 && shift > 12 && (e & PTE_PS)) {
			uint64_t mask = (1ULL << shift) - 1;
			*gpa = (e & PTE_ADDR & ~mask) | (lin & mask);
			return 0;
		}
		table = e & PTE_ADDR;
	}
	*gpa = table | (lin & 0xfff);
	return 0;
}

int x86_translate(const struct x86_cpu_state *s, const struct guest_ram *ram, uint64_t lin, uint64_t *gpa)
{
	if (!(s->cr0 & CR0_PG) || !(s->cr0 & CR0_PE)) {
		*gpa = lin & 0xffffffffULL;
		return 0;
	}
	if (s->cr4 & CR4_PAE)
		return walk_64(s, ram, (s->efer & EFER_LMA) ? lin : (lin & 0xffffffffULL), gpa);
	return walk_32(s, ram, (uint32_t)lin, gpa);
}

uint64_t x86_seg_linear(const struct x86_cpu_state *s, int sreg, uint64_t offset)
{
	bool lm64 = (s->efer & EFER_LMA) && (s->seg[X86_CS].attr & SEG_ATTR_L);
	if (lm64)
		return offset + ((sreg == X86_FS || sreg == X86_GS) ? s->seg[sreg].base : 0);
	return (s->seg[sreg].base + offset) & 0xffffffffULL;
}

size_t x86_read_linear(const struct x86_cpu_state *s, const struct guest_ram *ram, uint64_t lin, void *buf,
		       size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;
	while (done < len) {
		uint64_t gpa;
		size_t chunk = 4096 - ((lin + done) & 0xfff);
		if (chunk > len - done)
			chunk = len - done;
		if (x86_translate(s, ram, lin + done, &gpa) < 0)
			break;
		const uint8_t *p = ram_ptr(ram, gpa, chunk);
		if (!p)
			break;
		memcpy(out + done, p, chunk);
		done += chunk;
	}
	return done;
}
