/* SPDX-License-Identifier: MIT */
/*
 * Decode once: Zydis turns guest bytes into struct soft_insn, grouped in
 * blocks keyed by guest-physical address and decoding mode, kept in a hash
 * table and reused until the code changes.
 *
 * Code-page tracking: a page that holds decoded code is marked; the soft TLB
 * sends every write to a marked page down the slow path, which bumps the
 * page's generation and unmarks it. Blocks remember the generation they were
 * decoded at, so stale blocks are simply not found again (O(1)
 * invalidation, no block lists to walk). ROM pages are never written and
 * need no tracking. Pages whose code is rewritten again and again (code
 * next to data, a guest's own JIT) are left to the interpreter until the
 * next flush of the block cache: translating them would be wasted work.
 *
 * Marks and generations are the engine's, shared by its vCPUs, and any
 * thread may write guest memory (other vCPUs, the VMM, devices). A writer
 * stores its bytes, fences, and then looks at the mark: if set, it clears
 * it, moves the generation on and asks every other vCPU to follow no old
 * link between blocks (SOFT_WORK_CODE, at its next block boundary). A
 * decoder marks the page first (taking other vCPUs' write tags for it
 * away), then reads the generation, fences, and checks that the mark is
 * still there before it reads the bytes. Either the writer sees the mark
 * and the generation the decoder recorded goes stale, or the decoder
 * reads the new bytes.
 */
#include <Zydis/Zydis.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "engine/soft/jit/jit.h"
#include "engine/soft/soft_engine.h"

#define BLOCK_MAX_INSNS 32
/* Blocks of one instruction on a page that rewrites itself, until this many
 * have been built there with no new write from its own code. */
#define SMC_QUIET_BLOCKS 64
#define SMC_NONE 1 /* no page: page addresses have the low bits clear */
#define BLOCK_HASH_BITS 16
#define JUMP_CACHE_BITS 12
#define CROSS_CACHE_BITS 8

/* A decoded instruction that crosses into the next page, valid while both
 * pages map to the same guest-physical pages with the same generations
 * (both are registered as code pages, so a write to either moves its
 * generation on). */
struct soft_cross {
	uint64_t lin, gpa, gpa2_page; /* gpa: of its first byte */
	uint32_t gen, gen2;
	uint8_t mode; /* code size; 0: empty */
	struct soft_insn insn;
};
#define ARENA_BYTES (32u << 20)


struct soft_block_cache {
	struct soft_block *hash[1u << BLOCK_HASH_BITS];
	/* Direct-mapped front of the hash table, indexed by guest-physical
	 * address: the last block found for each slot. Entries are checked like
	 * hash-chain ones (address, mode, page generation), so a stale one is
	 * simply a miss. */
	struct soft_block *jump_cache[1u << JUMP_CACHE_BITS];
	uint8_t *arena;
	size_t used;
	/* per RAM page: its generation at the last flush (the writes since
	 * then are the difference) */
	uint32_t *gen_base;
	uint64_t pages;
	ZydisDecoder decoder[3]; /* for code size 2, 4, 8 */
	struct soft_insn scratch; /* an instruction that crosses a page, decoded */
	struct soft_cross cross[1u << CROSS_CACHE_BITS];
	struct soft_block *prev; /* the block fetched last (NULL: none or not a block) */
	/* The guest-physical page whose code last wrote to itself (or SMC_NONE):
	 * a block there is stale as soon as its first instruction runs, so
	 * decoding 31 more would be wasted (a loop storing into its own page
	 * would decode 32 instructions per one run). */
	uint64_t smc_page;
	unsigned smc_quiet; /* one-instruction blocks built there since its last write */
};

/* RAM page index of gpa, or -1 for non-RAM (ROM/MMIO). */
static int64_t ram_page(const struct guest_ram *ram, uint64_t gpa)
{
	if (gpa < ram->low_size)
		return (int64_t)(gpa >> 12);
	if (gpa >= RAM_HIGH_BASE && gpa - RAM_HIGH_BASE < ram->size - ram->low_size)
		return (int64_t)((ram->low_size + gpa - RAM_HIGH_BASE) >> 12);
	return -1;
}

static bool page_marked(const struct engine *eng, int64_t p)
{
	return __atomic_load_n(&eng->code_pages[p], __ATOMIC_RELAXED) != 0;
}

static uint32_t page_gen(const struct engine *eng, int64_t p)
{
	return __atomic_load_n(&eng->page_gen[p], __ATOMIC_ACQUIRE);
}

bool soft_is_code_page(const struct engine *eng, uint64_t gpa)
{
	int64_t p = ram_page(eng->host.ram, gpa);
	return p >= 0 && page_marked(eng, p);
}

void soft_code_written(struct engine *eng, struct soft_cpu *writer, uint64_t gpa, uint64_t len)
{
	if (!len)
		return;
	/* The writer's half of the handshake (top of the file). One vCPU
	 * alone needs no fence for its own writes: only vCPUs mark pages. */
	if (!writer || soft_engine_multi(eng))
		soft_barrier();
	bool others = false;
	for (uint64_t page = gpa & SOFT_PAGE_MASK; page < gpa + len; page += 4096) {
		int64_t p = ram_page(eng->host.ram, page);
		if (p < 0 || !page_marked(eng, p))
			continue;
		__atomic_store_n(&eng->code_pages[p], 0, __ATOMIC_RELAXED);
		__atomic_fetch_add(&eng->page_gen[p], 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&eng->code_writes, 1, __ATOMIC_RELAXED);
		others = true;
		if (writer && writer->blocks) {
			struct soft_block_cache *c = writer->blocks;
			if (c->prev && (c->prev->gpa & SOFT_PAGE_MASK) == page) {
				c->smc_page = page;
				c->smc_quiet = 0;
			}
			soft_chain_epoch_bump(writer, true);
			/* The block being executed may be the one just made stale. */
			writer->end_block = true;
			/* and the lockstep checker cannot run it again from the same state */
			writer->check_unrepeatable = true;
		}
	}
	if (!others || (writer && !soft_engine_multi(eng)))
		return;
	pthread_rwlock_rdlock(&eng->cpus_lock);
	for (unsigned i = 0; i < ENGINE_MAX_VCPUS; i++) {
		struct soft_cpu *c = eng->cpus[i];
		if (c && c != writer)
			soft_cpu_post_work(c, SOFT_WORK_CODE);
	}
	pthread_rwlock_unlock(&eng->cpus_lock);
}

bool soft_page_written_often(const struct soft_cpu *cpu, uint64_t gpa)
{
	int64_t p = ram_page(cpu->host->ram, gpa);
	return p >= 0 && page_gen(cpu->eng, p) - cpu->blocks->gen_base[p] >= SOFT_WRITTEN_OFTEN;
}

/* Starts counting the writes to every page anew (soft_page_written_often). */
static void rebase_gens(struct soft_cpu *cpu)
{
	struct soft_block_cache *c = cpu->blocks;
	for (uint64_t p = 0; p < c->pages; p++)
		c->gen_base[p] = __atomic_load_n(&cpu->eng->page_gen[p], __ATOMIC_RELAXED);
}

void soft_decoder_init(ZydisDecoder *dec, unsigned code_size)
{
	if (code_size == 8)
		ZydisDecoderInit(dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	else if (code_size == 4)
		ZydisDecoderInit(dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	else
		ZydisDecoderInit(dec, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
}

int soft_blocks_init(struct soft_cpu *cpu)
{
	struct soft_block_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->pages = cpu->eng->code_pages_len;
	c->smc_page = SMC_NONE;
	c->gen_base = calloc(c->pages ? c->pages : 1, sizeof(uint32_t));
	c->arena = malloc(ARENA_BYTES);
	if (!c->gen_base || !c->arena) {
		free(c->gen_base);
		free(c->arena);
		free(c);
		return -1;
	}
	soft_decoder_init(&c->decoder[0], 2);
	soft_decoder_init(&c->decoder[1], 4);
	soft_decoder_init(&c->decoder[2], 8);
	cpu->blocks = c;
	rebase_gens(cpu);
	return 0;
}

void soft_blocks_destroy(struct soft_cpu *cpu)
{
	struct soft_block_cache *c = cpu->blocks;
	if (!c)
		return;
	free(c->gen_base);
	free(c->arena);
	free(c);
	cpu->blocks = NULL;
}

void soft_chain_epoch_bump(struct soft_cpu *cpu, bool global)
{
	cpu->chain_epoch++;
	if (global)
		cpu->global_epoch++;
	/* Translated links compare the low 32 bits (jit/translate.c): before
	 * a value can come round again, every link made with it goes. */
	if ((uint32_t)cpu->chain_epoch == 0 || (uint32_t)cpu->global_epoch == 0)
		soft_blocks_flush(cpu);
}

void soft_blocks_flush(struct soft_cpu *cpu)
{
	struct soft_block_cache *c = cpu->blocks;
	memset(c->hash, 0, sizeof(c->hash));
	memset(c->jump_cache, 0, sizeof(c->jump_cache));
	memset(c->cross, 0, sizeof(c->cross));
	rebase_gens(cpu);
	c->used = 0;
	c->prev = NULL;
	soft_chain_epoch_bump(cpu, true);
	/* Translations belong to blocks: they go with them. */
	if (cpu->jit)
		soft_jit_reset(cpu);
}

/* ---- Zydis → soft_insn ---- */

static uint8_t sreg_index(ZydisRegister r)
{
	switch (r) {
	case ZYDIS_REGISTER_ES: return X86_ES;
	case ZYDIS_REGISTER_CS: return X86_CS;
	case ZYDIS_REGISTER_SS: return X86_SS;
	case ZYDIS_REGISTER_DS: return X86_DS;
	case ZYDIS_REGISTER_FS: return X86_FS;
	default: return X86_GS;
	}
}

static uint8_t gpr_index(ZydisRegister r)
{
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR64: return (uint8_t)(r - ZYDIS_REGISTER_RAX);
	case ZYDIS_REGCLASS_GPR32: return (uint8_t)(r - ZYDIS_REGISTER_EAX);
	case ZYDIS_REGCLASS_GPR16: return (uint8_t)(r - ZYDIS_REGISTER_AX);
	case ZYDIS_REGCLASS_GPR8:
		if (r >= ZYDIS_REGISTER_SPL && r <= ZYDIS_REGISTER_DIL)
			return (uint8_t)(4 + r - ZYDIS_REGISTER_SPL);
		if (r >= ZYDIS_REGISTER_R8B)
			return (uint8_t)(8 + r - ZYDIS_REGISTER_R8B);
		return (uint8_t)(r - ZYDIS_REGISTER_AL);
	default: return SOFT_NOREG;
	}
}

static void convert_operand(const ZydisDecodedOperand *zo, struct soft_operand *op, uint8_t operand_width)
{
	memset(op, 0, sizeof(*op));
	op->size = (uint8_t)(zo->size / 8);
	switch (zo->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER: {
		ZydisRegister r = zo->reg.value;
		switch (ZydisRegisterGetClass(r)) {
		case ZYDIS_REGCLASS_GPR8:
			if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
				op->kind = SOFT_OP_REG8H;
				op->reg = (uint8_t)(r - ZYDIS_REGISTER_AH);
				break;
			}
			/* fall through */
		case ZYDIS_REGCLASS_GPR16:
		case ZYDIS_REGCLASS_GPR32:
		case ZYDIS_REGCLASS_GPR64:
			op->kind = SOFT_OP_REG;
			op->reg = gpr_index(r);
			break;
		case ZYDIS_REGCLASS_SEGMENT:
			op->kind = SOFT_OP_SREG;
			op->reg = sreg_index(r);
			break;
		case ZYDIS_REGCLASS_CONTROL:
			op->kind = SOFT_OP_CR;
			op->reg = (uint8_t)(r - ZYDIS_REGISTER_CR0);
			break;
		case ZYDIS_REGCLASS_DEBUG:
			op->kind = SOFT_OP_DR;
			op->reg = (uint8_t)(r - ZYDIS_REGISTER_DR0);
			break;
		case ZYDIS_REGCLASS_X87:
			op->kind = SOFT_OP_ST;
			op->reg = (uint8_t)(r - ZYDIS_REGISTER_ST0);
			break;
		case ZYDIS_REGCLASS_MMX:
			op->kind = SOFT_OP_MMX;
			op->reg = (uint8_t)(r - ZYDIS_REGISTER_MM0);
			break;
		case ZYDIS_REGCLASS_XMM:
			op->kind = SOFT_OP_XMM;
			op->reg = (uint8_t)(r - ZYDIS_REGISTER_XMM0);
			break;
		default:
			op->kind = SOFT_OP_UNSUPPORTED;
			break;
		}
		break;
	}
	case ZYDIS_OPERAND_TYPE_MEMORY:
		op->kind = SOFT_OP_MEM;
		op->seg = sreg_index(zo->mem.segment);
		if (zo->mem.base == ZYDIS_REGISTER_RIP || zo->mem.base == ZYDIS_REGISTER_EIP)
			op->base = SOFT_REG_RIP;
		else
			op->base = zo->mem.base == ZYDIS_REGISTER_NONE ? SOFT_NOREG : gpr_index(zo->mem.base);
		op->index = zo->mem.index == ZYDIS_REGISTER_NONE ? SOFT_NOREG : gpr_index(zo->mem.index);
		op->scale = zo->mem.scale ? zo->mem.scale : 1;
		op->disp = zo->mem.disp.has_displacement ? zo->mem.disp.value : 0;
		break;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		op->kind = SOFT_OP_IMM;
		op->imm = zo->imm.value.u;
		/* Zydis gives the encoded size with the value already sign-extended;
		 * a signed immediate acts at the instruction's operand size. */
		if (zo->imm.is_signed && operand_width > op->size)
			op->size = operand_width;
		break;
	case ZYDIS_OPERAND_TYPE_POINTER:
		op->kind = SOFT_OP_PTR;
		op->ptr_sel = zo->ptr.segment;
		op->imm = zo->ptr.offset;
		break;
	default:
		op->kind = SOFT_OP_UNSUPPORTED;
		break;
	}
}

static void op_unimplemented(struct soft_cpu *cpu, const struct soft_insn *in)
{
	log_guest("soft: instruction %s at %#llx is not implemented: #UD",
		  ZydisMnemonicGetString((ZydisMnemonic)in->mnemonic), (unsigned long long)cpu->insn_rip);
	soft_raise_ud(cpu);
}

static void op_invalid(struct soft_cpu *cpu, const struct soft_insn *in)
{
	(void)in;
	soft_raise_ud(cpu);
}

/* Instructions after which a block ends: anything that branches or may change
 * what the following bytes mean. */
static bool ends_block(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *zo)
{
	switch (zi->meta.category) {
	/* Not a conditional branch: when it is not taken the block goes on (the
	 * loop leaves the block whenever an instruction changes rIP). */
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
	case ZYDIS_CATEGORY_SYSTEM:
	case ZYDIS_CATEGORY_IO:
	case ZYDIS_CATEGORY_IOSTRINGOP:
		return true;
	default:
		return zi->mnemonic == ZYDIS_MNEMONIC_MOV && zi->operand_count_visible == 2 &&
		       zo[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       ZydisRegisterGetClass(zo[0].reg.value) == ZYDIS_REGCLASS_SEGMENT;
	}
}

/* Decodes one instruction with dec for code size code_size and picks its
 * handler from eng's tables; false when the bytes are not a valid
 * instruction or are cut short (then *short_input tells which). */
static bool decode_with(const struct engine *eng, const ZydisDecoder *dec, unsigned code_size, const uint8_t *bytes,
			size_t avail, struct soft_insn *in, bool *ends, bool *short_input)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	ZyanStatus st = ZydisDecoderDecodeFull(dec, bytes, avail, &zi, zo);
	*short_input = st == ZYDIS_STATUS_NO_MORE_DATA;
	if (!ZYAN_SUCCESS(st))
		return false;
	memset(in, 0, sizeof(*in));
	in->mnemonic = (uint16_t)zi.mnemonic;
	in->len = zi.length;
	in->opsize = (uint8_t)(zi.operand_width / 8);
	in->addrsize = (uint8_t)(zi.address_width / 8);
	in->opcode = zi.opcode;
	if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		in->flags |= SOFT_INSN_REP;
	if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE)
		in->flags |= SOFT_INSN_REPNE;
	if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK)
		in->flags |= SOFT_INSN_LOCK;
	in->nops = zi.operand_count_visible < SOFT_INSN_MAX_OPS ? zi.operand_count_visible : SOFT_INSN_MAX_OPS;
	bool sys_operand = false, simd = false;
	for (unsigned i = 0; i < in->nops; i++) {
		convert_operand(&zo[i], &in->op[i], in->opsize);
		uint8_t k = in->op[i].kind;
		sys_operand |= k == SOFT_OP_CR || k == SOFT_OP_DR || k == SOFT_OP_SREG;
		simd |= k == SOFT_OP_MMX || k == SOFT_OP_XMM;
	}
	/* String instructions and XLAT keep their memory operands hidden; handlers
	 * find them in the slots after the visible ones (segment overrides live there). */
	unsigned slot = in->nops;
	for (unsigned i = zi.operand_count_visible; i < zi.operand_count && slot < SOFT_INSN_MAX_OPS; i++)
		if (zo[i].type == ZYDIS_OPERAND_TYPE_MEMORY && zo[i].mem.type == ZYDIS_MEMOP_TYPE_MEM)
			convert_operand(&zo[i], &in->op[slot++], in->opsize);
	soft_handler_fn *fn = simd ? eng->simd_handlers[zi.mnemonic] : eng->handlers[zi.mnemonic];
	/* MOV/POP into segment registers and MOV to/from CR/DR are system instructions. */
	if (sys_operand && zi.mnemonic == ZYDIS_MNEMONIC_MOV)
		fn = soft_sys_mov_special;
	else if (sys_operand && zi.mnemonic == ZYDIS_MNEMONIC_POP)
		fn = soft_sys_pop_sreg;
	else if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR && zi.mnemonic != ZYDIS_MNEMONIC_IRET &&
		 zi.mnemonic != ZYDIS_MNEMONIC_IRETD && zi.mnemonic != ZYDIS_MNEMONIC_IRETQ)
		fn = soft_sys_far_branch;
	else if (fn && !simd && soft_insn_atomic(in))
		fn = soft_atomic_insn; /* which runs eng->handlers[mnemonic] */
	else if (fn && !simd)
		fn = soft_fast_handler(in, code_size, fn);
	in->fn = fn ? fn : op_unimplemented;
	*ends = ends_block(&zi, zo) || (sys_operand && zi.mnemonic != ZYDIS_MNEMONIC_PUSH);
	return true;
}

static bool decode_one(struct soft_cpu *cpu, const uint8_t *bytes, size_t avail, struct soft_insn *in,
		       bool *ends, bool *short_input)
{
	unsigned m = cpu->code_size == 8 ? 2 : cpu->code_size == 4 ? 1 : 0;
	return decode_with(cpu->eng, &cpu->blocks->decoder[m], cpu->code_size, bytes, avail, in, ends,
			   short_input);
}

bool soft_decode_insn(const struct engine *eng, unsigned code_size, const uint8_t *bytes, size_t avail,
		      struct soft_insn *in)
{
	ZydisDecoder dec;
	soft_decoder_init(&dec, code_size);
	bool ends, short_input;
	return decode_with(eng, &dec, code_size, bytes, avail, in, &ends, &short_input);
}

bool soft_insn_unimplemented(const struct soft_insn *in)
{
	return in->fn == op_unimplemented;
}

static uint32_t block_hash(uint64_t gpa, unsigned mode)
{
	uint64_t h = (gpa ^ ((uint64_t)mode << 60)) * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(h >> (64 - BLOCK_HASH_BITS));
}

/* Marks RAM page pfn as holding decoded code (writes to it move its
 * generation on) before its bytes are read, and returns the generation
 * those bytes belong to (the decoder's half of the handshake). */
static uint32_t register_code_page(struct soft_cpu *cpu, int64_t pfn, uint64_t gpa_page)
{
	struct engine *eng = cpu->eng;
	if (pfn < 0)
		return 0;
	for (;;) {
		if (!page_marked(eng, pfn)) {
			__atomic_store_n(&eng->code_pages[pfn], 1, __ATOMIC_RELAXED);
			soft_tlb_drop_writes_to(cpu, gpa_page);
			if (soft_engine_multi(eng)) {
				soft_barrier();
				/* A vCPU that had a write tag may be storing through
				 * it right now: wait until it is past the store. */
				if (soft_tlb_drop_writes_others(cpu, gpa_page))
					soft_exclusive_barrier(eng, cpu);
			}
		}
		uint32_t gen = page_gen(eng, pfn);
		soft_barrier();
		/* Still marked: a writer from now on moves gen on. */
		if (page_marked(eng, pfn))
			return gen;
	}
}

/* Decodes a new block from page bytes starting at off. */
static struct soft_block *build_block(struct soft_cpu *cpu, uint64_t gpa, const uint8_t *page, unsigned off,
				      int64_t pfn)
{
	struct soft_block_cache *c = cpu->blocks;
	size_t need = sizeof(struct soft_block) + BLOCK_MAX_INSNS * sizeof(struct soft_insn);
	if (c->used + need > ARENA_BYTES)
		soft_blocks_flush(cpu);
	struct soft_block *b = (struct soft_block *)(c->arena + c->used);
	b->gpa = gpa;
	b->mode = cpu->code_size;
	b->gen = register_code_page(cpu, pfn, gpa & SOFT_PAGE_MASK);
	b->count = 0;
	b->link_next = 0;
	b->link[0] = b->link[1] = NULL;
	b->jit_code = NULL;
	b->heat = 0;
	unsigned max = BLOCK_MAX_INSNS;
	if (c->smc_page == (gpa & SOFT_PAGE_MASK)) {
		if (c->smc_quiet++ < SMC_QUIET_BLOCKS)
			max = 1;
		else
			c->smc_page = SMC_NONE;
	}
	while (b->count < max && off < 4096) {
		struct soft_insn *in = &b->insns[b->count];
		bool ends, short_input;
		if (!decode_one(cpu, page + off, 4096 - off, in, &ends, &short_input)) {
			if (b->count)
				break; /* the bad or page-crossing one starts its own block */
			if (short_input)
				return NULL; /* crosses the page: decoded uncached by the caller */
			memset(in, 0, sizeof(*in));
			in->fn = op_invalid;
			in->len = 1;
			b->count = 1;
			break;
		}
		b->count++;
		off += in->len;
		if (ends)
			break;
	}
	c->used += (sizeof(struct soft_block) + b->count * sizeof(struct soft_insn) + 15) & ~(size_t)15;
	uint32_t h = block_hash(gpa, b->mode);
	b->next = c->hash[h];
	c->hash[h] = b;
	return b;
}

static struct soft_cross *cross_slot(struct soft_block_cache *c, uint64_t lin)
{
	return &c->cross[(lin ^ (lin >> 12)) & ((1u << CROSS_CACHE_BITS) - 1)];
}

/* The guest-physical page the soft TLB holds for reads of lin's page (the
 * path decode_crossing reads through), or -1 when it holds none. */
static int64_t tlb_read_page(const struct soft_cpu *cpu, uint64_t lin, bool user)
{
	unsigned view = soft_tlb_view(cpu, user), index = (lin >> 12) & (SOFT_TLB_SIZE - 1);
	if (cpu->tlb[view][index].tag_read != (lin & SOFT_PAGE_MASK))
		return -1;
	return (int64_t)cpu->tlb_phys[view][index].gpa;
}

/* The crossing instruction at lin (first byte at gpa, generation gen) as
 * decoded last time, or NULL: the next page no longer in the TLB, mapped
 * elsewhere or written since. */
static const struct soft_insn *cross_lookup(struct soft_cpu *cpu, uint64_t lin, uint64_t gpa, uint32_t gen)
{
	struct soft_block_cache *c = cpu->blocks;
	struct soft_cross *x = cross_slot(c, lin);
	if (x->mode != cpu->code_size || x->lin != lin || x->gpa != gpa || x->gen != gen)
		return NULL;
	int64_t page2 = tlb_read_page(cpu, (lin & SOFT_PAGE_MASK) + 4096, cpu->cpl == 3);
	int64_t pfn2 = page2 < 0 ? -1 : ram_page(cpu->host->ram, (uint64_t)page2);
	if (pfn2 < 0 || (uint64_t)page2 != x->gpa2_page || page_gen(cpu->eng, pfn2) != x->gen2)
		return NULL;
	return &x->insn;
}

/* Keeps the crossing instruction just decoded from bytes (read through the
 * TLB) for cross_lookup; both of its pages become code pages. Kept only if
 * the bytes, read again once both pages are marked, are the same (else they
 * were being rewritten: this run uses them, nothing keeps them). */
static void cross_keep(struct soft_cpu *cpu, uint64_t lin, uint64_t gpa, const struct soft_insn *in,
		       const uint8_t bytes[15])
{
	struct soft_block_cache *c = cpu->blocks;
	uint64_t lin2 = (lin & SOFT_PAGE_MASK) + 4096;
	int64_t page2 = tlb_read_page(cpu, lin2, cpu->cpl == 3);
	int64_t pfn = ram_page(cpu->host->ram, gpa & SOFT_PAGE_MASK);
	int64_t pfn2 = page2 < 0 ? -1 : ram_page(cpu->host->ram, (uint64_t)page2);
	if (pfn < 0 || pfn2 < 0 || (cpu->code_size != 8 && lin2 > 0xffffffffULL))
		return;
	uint32_t gen = register_code_page(cpu, pfn, gpa & SOFT_PAGE_MASK);
	uint32_t gen2 = register_code_page(cpu, pfn2, (uint64_t)page2);
	for (unsigned i = 0; i < in->len; i++)
		if ((uint8_t)soft_lin_read(cpu, lin + i, 1, cpu->cpl == 3) != bytes[i])
			return;
	*cross_slot(c, lin) = (struct soft_cross){ .lin = lin, .gpa = gpa, .gpa2_page = (uint64_t)page2,
						   .gen = gen, .gen2 = gen2, .mode = cpu->code_size, .insn = *in };
}

/* An instruction that crosses into the next page: gather its bytes through
 * the linear path; the second page is touched (and may fault) only when the
 * instruction really extends into it, as on hardware. */
static const struct soft_insn *decode_crossing(struct soft_cpu *cpu, uint64_t lin, uint64_t gpa)
{
	uint8_t bytes[15];
	unsigned first = 4096 - (unsigned)(lin & 0xfff);
	bool user = cpu->cpl == 3, ends, short_input;
	struct soft_insn *in = &cpu->blocks->scratch;
	if (first > sizeof(bytes))
		first = sizeof(bytes);
	for (unsigned i = 0; i < first; i++)
		bytes[i] = (uint8_t)soft_lin_read(cpu, lin + i, 1, user);
	if (decode_one(cpu, bytes, first, in, &ends, &short_input))
		return in;
	if (short_input) {
		for (unsigned i = first; i < sizeof(bytes); i++)
			bytes[i] = (uint8_t)soft_lin_read(cpu, lin + i, 1, user);
		if (decode_one(cpu, bytes, sizeof(bytes), in, &ends, &short_input)) {
			cross_keep(cpu, lin, gpa, in, bytes);
			return in;
		}
	}
	*in = (struct soft_insn){ .fn = op_invalid, .len = 1 };
	return in;
}

const struct soft_insn *soft_fetch(struct soft_cpu *cpu, unsigned *run_len, struct soft_block **block)
{
	struct soft_block_cache *c = cpu->blocks;
	const struct x86_segment *cs = &cpu->s.seg[X86_CS];
	uint64_t rip = cpu->s.rip;
	uint64_t lin = soft_in_64bit_mode(cpu) ? rip : ((cs->base + rip) & 0xffffffffULL);
	if (soft_in_64bit_mode(cpu) && !soft_is_canonical(rip))
		soft_raise_gp(cpu, 0);
	if (!soft_in_64bit_mode(cpu) && rip > cs->limit)
		soft_raise_gp(cpu, 0);

	bool user = cpu->cpl == 3;
	/* Chained: the block that followed the previous one last time, at the
	 * same linear address, with no TLB flush, code write or cache flush
	 * since (chain_epoch) and the same privilege view and mode. */
	struct soft_block *prev = c->prev;
	if (prev) {
		for (unsigned k = 0; k < 2; k++) {
			struct soft_block *nb = prev->link[k];
			if (nb && prev->link_lin[k] == lin && prev->link_epoch[k] == cpu->chain_epoch &&
			    prev->link_user[k] == user && nb->mode == cpu->code_size) {
				c->prev = nb;
				*run_len = nb->count;
				*block = nb;
				return nb->insns;
			}
		}
	}
	uint64_t epoch = cpu->chain_epoch;
	unsigned view = soft_tlb_view(cpu, user), index = (lin >> 12) & (SOFT_TLB_SIZE - 1);
	struct soft_tlb_entry *e = &cpu->tlb[view][index];
	uint64_t gpa_page;
	const uint8_t *host_page;
	if (e->tag_exec == (lin & SOFT_PAGE_MASK)) {
		gpa_page = cpu->tlb_phys[view][index].gpa;
		host_page = (const uint8_t *)(uintptr_t)((lin & SOFT_PAGE_MASK) + e->addend);
	} else {
		struct soft_walk w;
		int code = soft_walk(cpu, lin, SOFT_ACC_EXEC, user, &w);
		if (code) {
			cpu->s.cr2 = lin;
			soft_raise(cpu, X86_EXC_PF, (uint32_t)code & 0xffff, true);
		}
		gpa_page = w.gpa & SOFT_PAGE_MASK;
		host_page = ram_ptr(cpu->host->ram, gpa_page, 4096);
		if (!host_page) {
			log_guest("soft: executing from MMIO at %#llx is not supported", (unsigned long long)w.gpa);
			soft_raise_gp(cpu, 0);
		}
		soft_tlb_fill_exec(cpu, lin, user);
	}
	uint64_t gpa = gpa_page | (lin & 0xfff);
	int64_t pfn = ram_page(cpu->host->ram, gpa_page);
	uint32_t gen = pfn >= 0 ? page_gen(cpu->eng, pfn) : 0;

	struct soft_block **slot = &c->jump_cache[(gpa ^ (gpa >> JUMP_CACHE_BITS)) & ((1u << JUMP_CACHE_BITS) - 1)];
	struct soft_block *b = *slot;
	if (b && b->gpa == gpa && b->mode == cpu->code_size && b->gen == gen)
		goto found;
	/* Stale blocks for this address (older generations of a rewritten page)
	 * are unlinked on the way, so a guest that keeps rewriting the same code
	 * does not grow the chain until the arena fills. */
	struct soft_block **link = &c->hash[block_hash(gpa, cpu->code_size)];
	while ((b = *link)) {
		if (b->gpa == gpa && b->mode == cpu->code_size) {
			if (b->gen == gen)
				break;
			*link = b->next;
			continue;
		}
		link = &b->next;
	}
	if (!b && (lin & 0xfff) > 4096 - 15) { /* maybe an instruction that crosses the page */
		const struct soft_insn *x = cross_lookup(cpu, lin, gpa, gen);
		if (x) {
			c->prev = NULL;
			*run_len = 1;
			*block = NULL;
			return x;
		}
	}
	if (!b)
		b = build_block(cpu, gpa, host_page, (unsigned)(lin & 0xfff), pfn);
	if (!b) {
		c->prev = NULL;
		*run_len = 1;
		*block = NULL;
		return decode_crossing(cpu, lin, gpa);
	}
	*slot = b;
found:
	/* Link from the previous block, unless something (a flush while
	 * building this block, a fault in the walk's memory accesses...) moved
	 * the epoch on during this lookup. */
	prev = c->prev;
	if (prev && epoch == cpu->chain_epoch) {
		unsigned k = prev->link_next;
		prev->link_next = (uint8_t)(k ^ 1);
		prev->link[k] = b;
		prev->link_lin[k] = lin;
		prev->link_epoch[k] = epoch;
		prev->link_user[k] = user;
	}
	c->prev = b;
	*run_len = b->count;
	*block = b;
	return b->insns;
}
