/* SPDX-License-Identifier: MIT */
/*
 * Runs a 64-bit differential case natively: the host CPU is the oracle.
 *
 * The window is mapped at the same address the guest sees it (0x200000, far
 * below a PIE binary, its libraries and ASan's shadow), so pointers in
 * registers, return addresses and RIP-relative operands mean the same thing
 * on both sides. The code page is filled with int3 instead of HLT (HLT would
 * #GP in user mode); a trap leaves RIP one past the int3, exactly where the
 * soft engine's HLT leaves it.
 *
 * A stub in the page after the window loads RFLAGS and all sixteen GPRs
 * (RSP included) from a context page with absolute moves and jumps to the
 * instruction. The int3 (or a fault) raises a signal, delivered on an
 * alternate stack since RSP is the guest's; the handler copies registers
 * and flags out of the ucontext and siglongjmps back.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "diff.h"

#define HOST_BASE 0x200000ull
#define STUB_OFF DIFF_WIN_SIZE
#define CTX_OFF (DIFF_WIN_SIZE + 0x1000)
#define MAP_LEN (DIFF_WIN_SIZE + 0x2000)

static uint8_t *win;
static bool ready, broken;
static sigjmp_buf back;
static struct diff_state *result;

/* ucontext greg index for each GPR in x86 encoding order */
static const int greg_of[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
				 REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };

static void on_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)si;
	ucontext_t *uc = uctx;
	for (int i = 0; i < 16; i++)
		result->gpr[i] = (uint64_t)uc->uc_mcontext.gregs[greg_of[i]];
	result->rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	result->rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
	result->fault = sig != SIGTRAP;
	siglongjmp(back, 1);
}

static void build_stub(void)
{
	uint8_t *p = win + STUB_OFF;
	uint32_t ctx = (uint32_t)(HOST_BASE + CTX_OFF);
	/* mov rsp, ctx; popfq: flags sit at ctx + 0 */
	*p++ = 0x48, *p++ = 0xc7, *p++ = 0xc4;
	memcpy(p, &ctx, 4), p += 4;
	*p++ = 0x9d;
	/* mov reg, [abs32] for every GPR; mov does not touch the flags */
	for (unsigned r = 0; r < 16; r++) {
		uint32_t a = ctx + 8 + 8 * r;
		*p++ = (uint8_t)(0x48 | (r >= 8 ? 4 : 0));
		*p++ = 0x8b;
		*p++ = (uint8_t)(0x04 | (r & 7) << 3);
		*p++ = 0x25;
		memcpy(p, &a, 4), p += 4;
	}
	/* jmp rel32 to the instruction */
	uint64_t next = HOST_BASE + (uint64_t)(p - win) + 5;
	int32_t rel = (int32_t)(HOST_BASE + DIFF_INSN_OFF - next);
	*p++ = 0xe9;
	memcpy(p, &rel, 4);
}

static bool setup(void)
{
	if (ready)
		return !broken;
	ready = true;
	broken = true;
#if defined(__x86_64__)
	void *m = mmap((void *)HOST_BASE, MAP_LEN, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != (void *)HOST_BASE) {
		if (m != MAP_FAILED)
			munmap(m, MAP_LEN);
		return false;
	}
	win = m;
	build_stub();
	static uint8_t altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	if (sigaltstack(&ss, NULL) < 0)
		return false;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	static const int sigs[] = { SIGTRAP, SIGSEGV, SIGBUS, SIGILL, SIGFPE };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return false;
	broken = false;
#endif
	return !broken;
}

bool diff_host_available(void)
{
	return setup();
}

/* Out of line, so no caller state is live across the siglongjmp. */
static __attribute__((noinline)) void enter_stub(void)
{
	((void (*)(void))(win + STUB_OFF))();
	__builtin_unreachable();
}

int diff_host_run(const struct diff_case *c, struct diff_state *out)
{
	if (!setup() || c->mode != DIFF_LONG64)
		return -1;
	memset(win, 0xcc, DIFF_MEM_OFF);
	memcpy(win + DIFF_INSN_OFF, c->code, c->code_len);
	memcpy(win + DIFF_MEM_OFF, c->in.mem, DIFF_MEM_LEN);
	uint64_t *ctx = (uint64_t *)(win + CTX_OFF);
	ctx[0] = c->in.rflags;
	memcpy(ctx + 1, c->in.gpr, sizeof(c->in.gpr));
	memset(out, 0, sizeof(*out));
	result = out;
	if (!sigsetjmp(back, 1))
		enter_stub();
	memcpy(out->mem, win + DIFF_MEM_OFF, DIFF_MEM_LEN);
	return 0;
}
