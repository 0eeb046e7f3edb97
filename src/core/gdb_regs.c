/* SPDX-License-Identifier: MIT */
/*
 * Register tables and target descriptions for the GDB stub. The names and
 * the feature split are what GDB's i386/amd64 code validates (GDB's own
 * features/i386/{32,64}bit-{core,sse,segments}.xml); types are the built-in
 * ones plus the 128-bit vector union for the XMM registers.
 */
#include <stdio.h>
#include <string.h>

#include "core/gdb_regs.h"

enum reg_kind { R_GPR, R_PC, R_FLAGS, R_SEG, R_ST, R_FPU, R_XMM, R_MXCSR, R_FSBASE, R_GSBASE, R_CR, R_EFER };
enum feat { F_CORE, F_SSE, F_SEGMENTS, F_SYS };

struct reg_desc {
	const char *name;
	uint8_t kind, index, size, feat;
	const char *type;
};

#define GPR(n, i, sz) { n, R_GPR, i, sz, F_CORE, sz == 8 ? "int64" : "int32" }
#define SEG(n, i) { n, R_SEG, i, 4, F_CORE, "int32" }
#define ST(n, i) { n, R_ST, i, 10, F_CORE, "i387_ext" }
#define FPU(n, i) { n, R_FPU, i, 4, F_CORE, "int32" }
#define XMM(n, i) { n, R_XMM, i, 16, F_SSE, "vec128" }
#define CR(n, i, sz) { n, R_CR, i, sz, F_SYS, sz == 8 ? "int64" : "int32" }

#define X87_REGS                                                                            \
	ST("st0", 0), ST("st1", 1), ST("st2", 2), ST("st3", 3), ST("st4", 4), ST("st5", 5), \
	ST("st6", 6), ST("st7", 7), FPU("fctrl", 0), FPU("fstat", 1), FPU("ftag", 2),       \
	FPU("fiseg", 3), FPU("fioff", 4), FPU("foseg", 5), FPU("fooff", 6), FPU("fop", 7)
#define SEG_REGS SEG("cs", X86_CS), SEG("ss", X86_SS), SEG("ds", X86_DS), SEG("es", X86_ES), \
	SEG("fs", X86_FS), SEG("gs", X86_GS)

static const struct reg_desc regs64[] = {
	GPR("rax", X86_RAX, 8), GPR("rbx", X86_RBX, 8), GPR("rcx", X86_RCX, 8), GPR("rdx", X86_RDX, 8),
	GPR("rsi", X86_RSI, 8), GPR("rdi", X86_RDI, 8), { "rbp", R_GPR, X86_RBP, 8, F_CORE, "data_ptr" },
	{ "rsp", R_GPR, X86_RSP, 8, F_CORE, "data_ptr" }, GPR("r8", X86_R8, 8), GPR("r9", X86_R9, 8),
	GPR("r10", X86_R10, 8), GPR("r11", X86_R11, 8), GPR("r12", X86_R12, 8), GPR("r13", X86_R13, 8),
	GPR("r14", X86_R14, 8), GPR("r15", X86_R15, 8), { "rip", R_PC, 0, 8, F_CORE, "code_ptr" },
	{ "eflags", R_FLAGS, 0, 4, F_CORE, "int32" }, SEG_REGS, X87_REGS,
	XMM("xmm0", 0), XMM("xmm1", 1), XMM("xmm2", 2), XMM("xmm3", 3), XMM("xmm4", 4), XMM("xmm5", 5),
	XMM("xmm6", 6), XMM("xmm7", 7), XMM("xmm8", 8), XMM("xmm9", 9), XMM("xmm10", 10), XMM("xmm11", 11),
	XMM("xmm12", 12), XMM("xmm13", 13), XMM("xmm14", 14), XMM("xmm15", 15),
	{ "mxcsr", R_MXCSR, 0, 4, F_SSE, "int32" },
	{ "fs_base", R_FSBASE, 0, 8, F_SYS, "int64" }, { "gs_base", R_GSBASE, 0, 8, F_SYS, "int64" },
	CR("cr0", 0, 8), CR("cr2", 2, 8), CR("cr3", 3, 8), CR("cr4", 4, 8), CR("cr8", 8, 8),
	{ "efer", R_EFER, 0, 8, F_SYS, "int64" },
};

static const struct reg_desc regs32[] = {
	GPR("eax", X86_RAX, 4), GPR("ecx", X86_RCX, 4), GPR("edx", X86_RDX, 4), GPR("ebx", X86_RBX, 4),
	{ "esp", R_GPR, X86_RSP, 4, F_CORE, "data_ptr" }, { "ebp", R_GPR, X86_RBP, 4, F_CORE, "data_ptr" },
	GPR("esi", X86_RSI, 4), GPR("edi", X86_RDI, 4), { "eip", R_PC, 0, 4, F_CORE, "code_ptr" },
	{ "eflags", R_FLAGS, 0, 4, F_CORE, "int32" }, SEG_REGS, X87_REGS,
	XMM("xmm0", 0), XMM("xmm1", 1), XMM("xmm2", 2), XMM("xmm3", 3), XMM("xmm4", 4), XMM("xmm5", 5),
	XMM("xmm6", 6), XMM("xmm7", 7), { "mxcsr", R_MXCSR, 0, 4, F_SSE, "int32" },
	{ "fs_base", R_FSBASE, 0, 4, F_SYS, "int32" }, { "gs_base", R_GSBASE, 0, 4, F_SYS, "int32" },
	CR("cr0", 0, 4), CR("cr2", 2, 4), CR("cr3", 3, 4), CR("cr4", 4, 4), CR("cr8", 8, 4),
	{ "efer", R_EFER, 0, 8, F_SYS, "int64" },
};

static const struct reg_desc *table(enum gdb_arch arch, unsigned *n)
{
	if (arch == GDB_ARCH_AMD64) {
		*n = ARRAY_SIZE(regs64);
		return regs64;
	}
	*n = ARRAY_SIZE(regs32);
	return regs32;
}

unsigned gdb_regs_count(enum gdb_arch arch)
{
	unsigned n;
	table(arch, &n);
	return n;
}

unsigned gdb_reg_size(enum gdb_arch arch, unsigned i)
{
	unsigned n;
	return table(arch, &n)[i].size;
}

unsigned gdb_reg_pc(enum gdb_arch arch)
{
	return arch == GDB_ARCH_AMD64 ? 16 : 8;
}

enum gdb_arch gdb_arch_for(const struct x86_cpu_state *s)
{
	return (s->efer & EFER_LMA) ? GDB_ARCH_AMD64 : GDB_ARCH_I386;
}

/* FXSAVE's abridged tag word → the full x87 tag word GDB shows (empty = 11;
 * non-empty registers are reported as valid, 00). */
static uint32_t full_tag(uint8_t ftw)
{
	uint32_t tag = 0;
	for (int i = 0; i < 8; i++)
		if (!(ftw & (1u << i)))
			tag |= 3u << (2 * i);
	return tag;
}

static uint8_t abridged_tag(uint32_t tag)
{
	uint8_t ftw = 0;
	for (int i = 0; i < 8; i++)
		if (((tag >> (2 * i)) & 3) != 3)
			ftw |= (uint8_t)(1u << i);
	return ftw;
}

static uint64_t *cr_field(struct x86_cpu_state *s, unsigned n)
{
	switch (n) {
	case 0: return &s->cr0;
	case 2: return &s->cr2;
	case 3: return &s->cr3;
	case 4: return &s->cr4;
	default: return &s->cr8;
	}
}

static uint64_t fpu_field(const struct x86_cpu_state *s, unsigned i)
{
	const struct x86_fpu_state *f = &s->fpu;
	switch (i) {
	case 0: return f->fcw;
	case 1: return f->fsw;
	case 2: return full_tag(f->ftw);
	case 3: return 0; /* fiseg: FXSAVE's 64-bit layout keeps no selectors */
	case 4: return (uint32_t)f->fip;
	case 5: return 0;
	case 6: return (uint32_t)f->fdp;
	default: return f->fop;
	}
}

void gdb_reg_read(enum gdb_arch arch, const struct x86_cpu_state *s, unsigned i, uint8_t *out)
{
	unsigned n;
	const struct reg_desc *r = &table(arch, &n)[i];
	uint64_t v = 0;
	switch (r->kind) {
	case R_GPR: v = s->gpr[r->index]; break;
	case R_PC: v = s->rip; break;
	case R_FLAGS: v = s->rflags; break;
	case R_SEG: v = s->seg[r->index].selector; break;
	case R_ST: memcpy(out, s->fpu.st[r->index], 10); return;
	case R_FPU: v = fpu_field(s, r->index); break;
	case R_XMM: memcpy(out, s->fpu.xmm[r->index], 16); return;
	case R_MXCSR: v = s->fpu.mxcsr; break;
	case R_FSBASE: v = s->seg[X86_FS].base; break;
	case R_GSBASE: v = s->seg[X86_GS].base; break;
	case R_CR: v = *cr_field((struct x86_cpu_state *)s, r->index); break;
	case R_EFER: v = s->efer; break;
	}
	for (unsigned b = 0; b < r->size; b++)
		out[b] = (uint8_t)(v >> (8 * (b < 8 ? b : 0)));
}

void gdb_reg_write(enum gdb_arch arch, struct x86_cpu_state *s, unsigned i, const uint8_t *in)
{
	unsigned n;
	const struct reg_desc *r = &table(arch, &n)[i];
	uint64_t v = 0;
	for (unsigned b = 0; b < r->size && b < 8; b++)
		v |= (uint64_t)in[b] << (8 * b);
	/* A 32-bit layout writes the low half; the upper half is kept. */
	uint64_t keep = r->size >= 8 ? 0 : ~0ULL << (8 * r->size);
	switch (r->kind) {
	case R_GPR: s->gpr[r->index] = (s->gpr[r->index] & keep) | v; break;
	case R_PC: s->rip = (s->rip & keep) | v; break;
	case R_FLAGS: s->rflags = (v & 0x3f7fd7) | RFLAGS_FIXED; break;
	case R_SEG:
		/* Only the selector: the hidden part stays, except in real mode where
		 * the base follows the selector. */
		s->seg[r->index].selector = (uint16_t)v;
		if (!(s->cr0 & CR0_PE))
			s->seg[r->index].base = (uint64_t)(uint16_t)v << 4;
		break;
	case R_ST: memcpy(s->fpu.st[r->index], in, 10); break;
	case R_FPU:
		if (r->index == 0)
			s->fpu.fcw = (uint16_t)v;
		else if (r->index == 1)
			s->fpu.fsw = (uint16_t)v;
		else if (r->index == 2)
			s->fpu.ftw = abridged_tag((uint32_t)v);
		else if (r->index == 7)
			s->fpu.fop = (uint16_t)v;
		break;
	case R_XMM: memcpy(s->fpu.xmm[r->index], in, 16); break;
	case R_MXCSR: s->fpu.mxcsr = (uint32_t)v; break;
	case R_FSBASE: s->seg[X86_FS].base = (s->seg[X86_FS].base & keep) | v; break;
	case R_GSBASE: s->seg[X86_GS].base = (s->seg[X86_GS].base & keep) | v; break;
	case R_CR: *cr_field(s, r->index) = (*cr_field(s, r->index) & keep) | v; break;
	case R_EFER: s->efer = v; break;
	}
}

static const char *const feature_names[] = { "org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse",
					     "org.gnu.gdb.i386.segments", "org.x86v.sys" };

static const char vec128_types[] =
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
	"<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
	"<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
	"<field name=\"uint128\" type=\"uint128\"/></union>";

static void build_xml(enum gdb_arch arch, char *buf, size_t len)
{
	unsigned n;
	const struct reg_desc *r = table(arch, &n);
	size_t used = (size_t)snprintf(buf, len,
				       "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
				       "<target version=\"1.0\"><architecture>%s</architecture>",
				       arch == GDB_ARCH_AMD64 ? "i386:x86-64" : "i386");
	for (unsigned f = 0; f < ARRAY_SIZE(feature_names); f++) {
		bool any = false;
		for (unsigned i = 0; i < n; i++)
			any |= r[i].feat == f;
		if (!any)
			continue; /* GDB rejects a known feature without its registers */
		used += (size_t)snprintf(buf + used, len - used, "<feature name=\"%s\">%s", feature_names[f],
					 f == F_SSE ? vec128_types : "");
		for (unsigned i = 0; i < n; i++)
			if (r[i].feat == f)
				used += (size_t)snprintf(buf + used, len - used,
							 "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"/>",
							 r[i].name, r[i].size * 8, r[i].type, i);
		used += (size_t)snprintf(buf + used, len - used, "</feature>");
	}
	snprintf(buf + used, len - used, "</target>");
}

const char *gdb_target_xml(enum gdb_arch arch)
{
	/* Built once per layout; the stub runs on the main thread only. */
	static char xml[2][8192];
	char *b = xml[arch == GDB_ARCH_AMD64];
	if (!b[0])
		build_xml(arch, b, sizeof(xml[0]));
	return b;
}
