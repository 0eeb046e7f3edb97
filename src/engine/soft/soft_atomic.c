/* SPDX-License-Identifier: MIT */
/*
 * Guest atomics are host atomics: a LOCK-prefixed read-modify-write (ADD ADC
 * SUB SBB AND OR XOR NOT NEG INC DEC BTS BTR BTC XADD CMPXCHG CMPXCHG8B
 * CMPXCHG16B) or an XCHG with memory is atomic with respect to every other
 * vCPU's accesses (SDM Vol. 3A §9.1.2.2).
 *
 * The decoder gives those soft_atomic_insn, which runs the instruction's
 * generic handler (interp/) with its memory operand redirected: the first
 * access translates the operand for a write (faults come here, before any
 * change) and reads the old value through the host pointer; the handler
 * computes on it and its store is only recorded; then one host
 * compare-and-swap of the operand's size (1, 2, 4, 8 or 16 bytes) commits
 * it. When another vCPU changed the bytes meanwhile, the registers and
 * flags the handler changed are put back and it runs again.
 *
 * Operands that cross a cache line (a host lock there would be a bus-wide
 * split lock, refused by hosts with split-lock detection) or a page run
 * the handler inside an exclusive section (soft_exclusive.c), with plain
 * accesses: no other vCPU moves meanwhile. Operands on MMIO or ROM are a
 * read then a write, as before. With a single vCPU nothing else runs guest
 * code: the handler runs as it is.
 *
 * Not here: devices (DMA) and the VMM see these as plain accesses.
 */
#include <Zydis/Zydis.h>
#include <string.h>

#include "engine/soft/jit/jit.h"
#include "engine/soft/soft_engine.h"

enum {
	SOFT_LOCK_FIRST, /* the handler has not touched memory yet */
	SOFT_LOCK_CAS, /* the region is RAM within a cache line: recorded, then compare-and-swap */
	SOFT_LOCK_PLAIN, /* MMIO or ROM: plain accesses */
	SOFT_LOCK_EXCL, /* split: plain accesses inside an exclusive section */
};

bool soft_insn_atomic(const struct soft_insn *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_XCHG:
		return in->nops == 2 && (in->op[0].kind == SOFT_OP_MEM || in->op[1].kind == SOFT_OP_MEM);
	case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_ADC: case ZYDIS_MNEMONIC_SUB: case ZYDIS_MNEMONIC_SBB:
	case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_NOT:
	case ZYDIS_MNEMONIC_NEG: case ZYDIS_MNEMONIC_INC: case ZYDIS_MNEMONIC_DEC: case ZYDIS_MNEMONIC_BTS:
	case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC: case ZYDIS_MNEMONIC_XADD: case ZYDIS_MNEMONIC_CMPXCHG:
	case ZYDIS_MNEMONIC_CMPXCHG8B: case ZYDIS_MNEMONIC_CMPXCHG16B:
		/* Other forms keep their handler, which raises #UD for LOCK. */
		return (in->flags & SOFT_INSN_LOCK) && in->nops >= 1 && in->op[0].kind == SOFT_OP_MEM;
	default:
		return false;
	}
}

static bool cas16(void *p, const uint64_t old[2], const uint64_t new_value[2])
{
	uint64_t lo = old[0], hi = old[1];
	bool ok;
	__asm__ volatile("lock cmpxchg16b %[m]"
			 : "=@ccz"(ok), [m] "+m"(*(volatile uint64_t(*)[2])p), "+a"(lo), "+d"(hi)
			 : "b"(new_value[0]), "c"(new_value[1])
			 : "memory");
	return ok;
}

/* Stores cur over old at p (len bytes) if p still holds old. */
static bool host_cas(void *p, unsigned len, const struct soft_lock *lk)
{
	switch (len) {
	case 1: {
		uint8_t o = lk->old.b[0];
		return __atomic_compare_exchange_n((uint8_t *)p, &o, lk->cur.b[0], false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
	case 2: {
		uint16_t o = (uint16_t)lk->old.q[0];
		return __atomic_compare_exchange_n((uint16_t *)p, &o, (uint16_t)lk->cur.q[0], false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	case 4: {
		uint32_t o = (uint32_t)lk->old.q[0];
		return __atomic_compare_exchange_n((uint32_t *)p, &o, (uint32_t)lk->cur.q[0], false,
						   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	case 8: {
		uint64_t o = lk->old.q[0];
		return __atomic_compare_exchange_n((uint64_t *)p, &o, lk->cur.q[0], false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
	default:
		return cas16(p, lk->old.q, lk->cur.q);
	}
}

/* Linear addresses wrap at 4 GiB outside long mode. */
static uint64_t lin_wrap(const struct soft_cpu *cpu, uint64_t lin)
{
	return cpu->long_mode ? lin : (lin & 0xffffffffULL);
}

/* The handler's first access to memory at lin: decides how the region is
 * accessed (faults raised here, before any change). */
static void establish(struct soft_cpu *cpu, uint64_t lin, unsigned size)
{
	struct soft_lock *lk = &cpu->lk;
	unsigned len = lk->want ? lk->want : size;
	bool user = cpu->cpl == 3;
	lk->lin = lin;
	lk->len = (uint8_t)len;
	if ((lin & 0xfff) + len <= 4096) {
		void *host = soft_lin_write_ptr(cpu, lin, len, user, &lk->gpa);
		if (!host) {
			lk->mode = SOFT_LOCK_PLAIN;
		} else if ((lin & 63) + len > 64 || (len == 16 && !cpu->eng->host_cx16)) {
			lk->mode = SOFT_LOCK_EXCL;
		} else {
			lk->mode = SOFT_LOCK_CAS;
			lk->host = host;
			/* Two loads for 16 bytes may tear: the compare-and-swap,
			 * made even when nothing changes, then fails. */
			memset(&lk->old, 0, sizeof(lk->old));
			if (len == 16) {
				lk->old.q[0] = soft_host_load(host, 8);
				lk->old.q[1] = soft_host_load((uint8_t *)host + 8, 8);
			} else {
				lk->old.q[0] = soft_host_load(host, len);
			}
			lk->cur = lk->old;
		}
	} else {
		/* Across a page: both pages writable before anything, and both RAM
		 * for an exclusive section (never held across an MMIO callback). */
		soft_lin_probe_write(cpu, lin, len, user);
		unsigned first = 4096 - (unsigned)(lin & 0xfff);
		uint64_t gpa2;
		void *h1 = soft_lin_write_ptr(cpu, lin, first, user, &lk->gpa);
		void *h2 = soft_lin_write_ptr(cpu, lin_wrap(cpu, lin + first), len - first, user, &gpa2);
		lk->mode = h1 && h2 ? SOFT_LOCK_EXCL : SOFT_LOCK_PLAIN;
	}
	if (lk->mode == SOFT_LOCK_CAS)
		return;
	/* From here on the handler's accesses are plain ones. */
	cpu->watch_active = lk->saved_watch;
	if (lk->mode == SOFT_LOCK_EXCL && !cpu->excl_held) { /* held: --jit-check's (jit/check.c) */
		soft_exclusive_begin(cpu);
		lk->excl = true;
	}
}

/* Where [lin, lin + size) lies in the recorded region, or -1. */
static int region_offset(const struct soft_lock *lk, uint64_t lin, unsigned size)
{
	uint64_t off = lin - lk->lin;
	return off < lk->len && size <= lk->len - off ? (int)off : -1;
}

bool soft_atomic_read(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t *value)
{
	struct soft_lock *lk = &cpu->lk;
	if (lk->mode == SOFT_LOCK_FIRST)
		establish(cpu, lin, size);
	int off = lk->mode == SOFT_LOCK_CAS ? region_offset(lk, lin, size) : -1;
	if (off < 0)
		return false; /* plain (no instruction here reaches outside its operand) */
	uint64_t v = 0;
	memcpy(&v, lk->cur.b + off, size);
	*value = v;
	if (lk->saved_watch)
		soft_debug_watch(cpu, lin, size, false);
	return true;
}

bool soft_atomic_write(struct soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t value)
{
	struct soft_lock *lk = &cpu->lk;
	if (lk->mode == SOFT_LOCK_FIRST)
		establish(cpu, lin, size);
	int off = lk->mode == SOFT_LOCK_CAS ? region_offset(lk, lin, size) : -1;
	if (off < 0)
		return false;
	memcpy(lk->cur.b + off, &value, size);
	lk->written = true;
	if (lk->saved_watch)
		soft_debug_watch(cpu, lin, size, true);
	return true;
}

/* Commits the recorded region: false when another vCPU changed it first. */
static bool commit(struct soft_cpu *cpu, struct soft_lock *lk)
{
	/* Up to 8 bytes were read with one load, atomic on its own: an
	 * unchanged value needs no store. */
	if (lk->len <= 8 && (!lk->written || lk->cur.q[0] == lk->old.q[0]))
		return true;
	if (!host_cas(lk->host, lk->len, lk))
		return false;
	/* The locked compare-and-swap is a full barrier: the code-page marks
	 * read now are those of after the store (soft_decode.c). */
	struct engine *eng = cpu->eng;
	if (soft_is_code_page(eng, lk->gpa) || soft_is_code_page(eng, lk->gpa + lk->len - 1))
		soft_code_written(eng, cpu, lk->gpa, lk->len);
	return true;
}

void soft_atomic_insn(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_handler_fn *fn = cpu->eng->handlers[in->mnemonic];
	if (!soft_engine_multi(cpu->eng)) {
		fn(cpu, in);
		return;
	}
	struct soft_lock *lk = &cpu->lk;
	uint64_t gpr[X86_NR_GPRS], rflags = cpu->s.rflags;
	_Static_assert(sizeof(gpr) == sizeof(cpu->s.gpr), "gpr snapshot");
	memcpy(gpr, cpu->s.gpr, sizeof(gpr));
	lk->saved_watch = cpu->watch_active;
	for (;;) {
		lk->active = true;
		lk->mode = SOFT_LOCK_FIRST;
		lk->want = in->mnemonic == ZYDIS_MNEMONIC_CMPXCHG16B ? 16 : 0;
		lk->written = false;
		/* Every access of the handler then takes the slow path, through
		 * soft_atomic_read / soft_atomic_write. */
		cpu->watch_active = true;
		fn(cpu, in);
		cpu->watch_active = lk->saved_watch;
		lk->active = false;
		if (lk->mode != SOFT_LOCK_CAS || commit(cpu, lk))
			break;
		/* Lost a race: again, from the state before the instruction. */
		memcpy(cpu->s.gpr, gpr, sizeof(gpr));
		cpu->s.rflags = rflags;
	}
	if (lk->excl) {
		lk->excl = false;
		soft_exclusive_end(cpu);
	}
}

void soft_atomic_abort(struct soft_cpu *cpu)
{
	if (cpu->lk.active) {
		cpu->watch_active = cpu->lk.saved_watch;
		cpu->lk.active = false;
	}
	if (cpu->lk.excl) {
		cpu->lk.excl = false;
		soft_exclusive_end(cpu);
	}
}

void soft_lin_update_byte(struct soft_cpu *cpu, uint64_t lin, uint8_t set, uint8_t clear)
{
	uint64_t gpa;
	uint8_t *p = soft_lin_write_ptr(cpu, lin, 1, false, &gpa);
	if (!p) {
		uint8_t b = (uint8_t)soft_phys_read(cpu, gpa, 1);
		soft_phys_write(cpu, gpa, 1, (uint8_t)((b | set) & ~clear));
		return;
	}
	if (__builtin_expect(cpu->jit_check != NULL, 0))
		soft_jit_check_page(cpu, (uint8_t *)((uintptr_t)p & ~(uintptr_t)0xfff));
	uint8_t old = __atomic_load_n(p, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(p, &old, (uint8_t)((old | set) & ~clear), false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED))
		;
	if (soft_is_code_page(cpu->eng, gpa))
		soft_code_written(cpu->eng, cpu, gpa, 1);
}

bool soft_phys_cmpxchg(struct soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t old, uint64_t new_value)
{
	uint8_t *p = ram_ptr_rw(cpu->host->ram, gpa, size);
	if (!p) {
		soft_phys_write(cpu, gpa, size, new_value);
		return true;
	}
	if (__builtin_expect(cpu->jit_check != NULL, 0))
		soft_jit_check_page(cpu, p - (gpa & 0xfff));
	bool ok;
	if (size == 8) {
		ok = __atomic_compare_exchange_n((uint64_t *)p, &old, new_value, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
	} else {
		uint32_t o = (uint32_t)old;
		ok = __atomic_compare_exchange_n((uint32_t *)p, &o, (uint32_t)new_value, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
	}
	if (ok && soft_is_code_page(cpu->eng, gpa))
		soft_code_written(cpu->eng, cpu, gpa, size);
	return ok;
}
