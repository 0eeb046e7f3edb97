/* SPDX-License-Identifier: MIT */
/*
 * Runs a differential case in libunicorn (QEMU's TCG x86): the oracle for
 * the modes the host cannot run natively, and in 64-bit mode a second one
 * beside the host, the same on every host. Unicorn's UC_MODE_16 is real
 * mode, UC_MODE_32 flat protected mode and UC_MODE_64 flat long mode (with a
 * Broadwell CPU model there, which has BMI1/2, ADX, LZCNT and MOVBE),
 * matching the soft engine's setup in diff_soft.c; HLT ends uc_emu_start
 * with rIP one past it, as the soft engine's HLT exit does. An unhandled
 * exception ends it with UC_ERR_EXCEPTION: a fault.
 *
 * One unicorn instance per mode. Unicorn keeps translated blocks across
 * uc_emu_start calls and does not drop them when uc_mem_write replaces the
 * code, so every case removes the code page's blocks from its cache.
 *
 * Flags unicorn's lazy flag evaluation computes differently from silicon
 * are those the SDM leaves undefined; the caller compares only
 * c->flags_defined (diff_gen.c lists the rule per instruction family).
 */
#include <stdlib.h>
#include <string.h>

#include "diff.h"

#ifdef DIFF_HAVE_UNICORN
#include <unicorn/unicorn.h>

struct diff_unicorn {
	enum diff_mode mode;
	uc_engine *uc;
};

static const int uc_gprs[8] = { UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
				UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI };
static const int uc_gprs64[16] = { UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
				   UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
				   UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
				   UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15 };
static const int uc_sregs[6] = { UC_X86_REG_CS, UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_SS,
				 UC_X86_REG_FS, UC_X86_REG_GS };

struct diff_unicorn *diff_unicorn_new(enum diff_mode m)
{
	struct diff_unicorn *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->mode = m;
	uc_mode um = m == DIFF_REAL16 ? UC_MODE_16 : m == DIFF_PROT32 ? UC_MODE_32 : UC_MODE_64;
	if (uc_open(UC_ARCH_X86, um, &u->uc) != UC_ERR_OK) {
		free(u);
		return NULL;
	}
	if (m == DIFF_LONG64 && uc_ctl_set_cpu_model(u->uc, UC_CPU_X86_BROADWELL) != UC_ERR_OK) {
		uc_close(u->uc);
		free(u);
		return NULL;
	}
	if (uc_mem_map(u->uc, diff_base(m), DIFF_WIN_SIZE, UC_PROT_ALL) != UC_ERR_OK) {
		uc_close(u->uc);
		free(u);
		return NULL;
	}
	return u;
}

void diff_unicorn_free(struct diff_unicorn *u)
{
	if (!u)
		return;
	uc_close(u->uc);
	free(u);
}

/* The general registers, RFLAGS and rIP: 16 of 64 bits in long mode, else 8 of 32. */
static int write_regs(struct diff_unicorn *u, const struct diff_state *in)
{
	bool wide = u->mode == DIFF_LONG64;
	for (int i = 0; i < (wide ? 16 : 8); i++) {
		uint64_t v = wide ? in->gpr[i] : (uint32_t)in->gpr[i];
		if (uc_reg_write(u->uc, wide ? uc_gprs64[i] : uc_gprs[i], &v) != UC_ERR_OK)
			return -1;
	}
	uint64_t fl = wide ? in->rflags : (uint32_t)in->rflags, ip = wide ? in->rip : (uint32_t)in->rip;
	if (uc_reg_write(u->uc, wide ? UC_X86_REG_RFLAGS : UC_X86_REG_EFLAGS, &fl) != UC_ERR_OK ||
	    uc_reg_write(u->uc, wide ? UC_X86_REG_RIP : UC_X86_REG_EIP, &ip) != UC_ERR_OK)
		return -1;
	return 0;
}

static void read_regs(struct diff_unicorn *u, struct diff_state *out)
{
	bool wide = u->mode == DIFF_LONG64;
	for (int i = 0; i < (wide ? 16 : 8); i++) {
		uint64_t v = 0;
		uc_reg_read(u->uc, wide ? uc_gprs64[i] : uc_gprs[i], &v);
		out->gpr[i] = wide ? v : (uint32_t)v;
	}
	uint64_t fl = 0, ip = 0;
	uc_reg_read(u->uc, wide ? UC_X86_REG_RFLAGS : UC_X86_REG_EFLAGS, &fl);
	uc_reg_read(u->uc, wide ? UC_X86_REG_RIP : UC_X86_REG_EIP, &ip);
	out->rflags = wide ? fl : (uint32_t)fl;
	out->rip = wide ? ip : (uint32_t)ip;
}

int diff_unicorn_run(struct diff_unicorn *u, const struct diff_case *c, struct diff_state *out)
{
	uint64_t base = diff_base(u->mode);
	uint8_t page[DIFF_MEM_OFF];
	memset(page, 0xf4, sizeof(page));
	memcpy(page + DIFF_INSN_OFF, c->code, c->code_len);
	if (uc_mem_write(u->uc, base, page, sizeof(page)) != UC_ERR_OK ||
	    uc_mem_write(u->uc, base + DIFF_MEM_OFF, c->in.mem, DIFF_MEM_LEN) != UC_ERR_OK ||
	    uc_ctl_remove_cache(u->uc, base, base + DIFF_MEM_OFF) != UC_ERR_OK)
		return -1;
	if (u->mode == DIFF_REAL16) {
		/* real mode: writing a selector loads base = selector * 16 */
		uint32_t sel = (uint32_t)(base >> 4);
		for (int i = 0; i < 6; i++)
			if (uc_reg_write(u->uc, uc_sregs[i], &sel) != UC_ERR_OK)
				return -1;
	}
	if (write_regs(u, &c->in) < 0)
		return -1;
	/* begin is linear; until is never reached (HLT stops it); the count
	 * bounds a runaway REP or loop */
	uc_err e = uc_emu_start(u->uc, base + DIFF_INSN_OFF, ~0ull, 0, 200);
	memset(out, 0, sizeof(*out));
	out->fault = e != UC_ERR_OK;
	read_regs(u, out);
	/* stopped by the count, not by HLT: the soft engine reports that as a fault too */
	uint8_t last = 0;
	uint64_t lin = (u->mode == DIFF_REAL16 ? base + out->rip : out->rip) - 1;
	if (!out->fault && (lin < base || lin >= base + DIFF_MEM_OFF ||
			    uc_mem_read(u->uc, lin, &last, 1) != UC_ERR_OK || last != 0xf4))
		out->fault = true;
	if (uc_mem_read(u->uc, base + DIFF_MEM_OFF, out->mem, DIFF_MEM_LEN) != UC_ERR_OK)
		return -1;
	return 0;
}

#else /* no libunicorn: 16/32-bit cases are reported skipped, 64-bit ones run against the host only */

struct diff_unicorn *diff_unicorn_new(enum diff_mode m)
{
	(void)m;
	return NULL;
}

int diff_unicorn_run(struct diff_unicorn *u, const struct diff_case *c, struct diff_state *out)
{
	(void)u, (void)c, (void)out;
	return -1;
}

void diff_unicorn_free(struct diff_unicorn *u)
{
	(void)u;
}

#endif
