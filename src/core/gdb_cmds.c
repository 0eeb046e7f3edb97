/* SPDX-License-Identifier: MIT */
/*
 * The GDB stub's packets (GDB manual, Appendix E: "Packets", "General Query
 * Packets", "Stop Reply Packets", "Host I/O" excluded): ? g G p P m M X
 * Z0-Z4 z0-z4 c C s S vCont D k H T, qSupported, qXfer:features:read,
 * QStartNoAckMode, thread queries (qC, qfThreadInfo, qsThreadInfo,
 * qThreadExtraInfo) and qRcmd (monitor commands). Anything else gets the
 * empty reply ("not supported"). Every number a packet carries is parsed
 * with bounds; a malformed packet gets "E22". Threads are vCPUs, id index + 1:
 * register packets and memory (through the page tables) use the Hg thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gdb_internal.h"
#include "cpu/x86_disasm.h"
#include "cpu/x86_translate.h"

#define E_INVAL "E22"
#define E_FAULT "E0e"
#define E_NOSPC "E1c"
#define E_BUSY "E10"

static const char hexdigits[] = "0123456789abcdef";

/* Parses a hex number at *p up to a delimiter; advances *p. */
static bool parse_hex(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;
	for (; (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'); s++, n++) {
		if (n >= 16)
			return false;
		v = v << 4 | (uint64_t)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
	}
	if (n == 0)
		return false;
	*out = v;
	*p = s;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static void to_hex(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* The Hg thread: the vCPU register and memory packets look at. */
static struct gdb_cpu *cur(struct gdb_stub *g)
{
	return &g->cpu[g->cur_g];
}

/* One layout for every thread, from the state of the thread that stopped. */
static enum gdb_arch arch_of(struct gdb_stub *g)
{
	if (!g->arch_chosen) {
		g->arch = gdb_arch_for(&g->cpu[g->report].state);
		g->arch_chosen = true;
	}
	return g->arch;
}

void gdb_send_stop_reply(struct gdb_stub *g)
{
	char r[96];
	const struct gdb_cpu *gc = &g->cpu[g->report];
	int n = snprintf(r, sizeof(r), "T%02xthread:%02x;", g->stop_signal, g->report + 1);
	if (!g->report_event) {
		/* a stop the debugger asked for (-S, Ctrl-C, a packet) */
	} else if (gc->event == GDB_EV_WATCH && gc->watch >= 0 && gc->watch < ENGINE_MAX_HW_BP) {
		enum engine_hw_bp_type t = g->dbg.hw[gc->watch].type;
		snprintf(r + n, sizeof(r) - (size_t)n, "%s:%" PRIx64 ";",
			 t == ENGINE_HW_READ ? "rwatch" : t == ENGINE_HW_ACCESS ? "awatch" : "watch", gc->watch_addr);
	} else if (gc->event == GDB_EV_BREAK) {
		snprintf(r + n, sizeof(r) - (size_t)n, gc->sw_bp ? "swbreak:;" : "hwbreak:;");
	}
	gdb_send_str(g, r);
}

int gdb_parse_thread(const char **p, unsigned nthreads, int *tid)
{
	uint64_t v;
	if ((*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*tid = -1;
		return 0;
	}
	if (!parse_hex(p, &v) || v > nthreads)
		return -EINVAL;
	*tid = (int)v;
	return 0;
}

int gdb_parse_vcont(const char *p, unsigned nthreads, unsigned any, enum gdb_resume *how)
{
	for (unsigned i = 0; i < nthreads; i++)
		how[i] = GDB_RESUME_NONE;
	if (*p != ';' || any >= nthreads)
		return -EINVAL;
	while (*p == ';') {
		p++;
		char a = *p++;
		uint64_t sig;
		enum gdb_resume r;
		if (a == 'c' || a == 'C')
			r = GDB_RESUME_CONTINUE;
		else if (a == 's' || a == 'S')
			r = GDB_RESUME_STEP;
		else
			return -EINVAL;
		if ((a == 'C' || a == 'S') && (!parse_hex(&p, &sig) || sig > 0xff))
			return -EINVAL; /* a signal: a machine has none to deliver */
		int tid = -1;
		if (*p == ':' && (p++, gdb_parse_thread(&p, nthreads, &tid) < 0))
			return -EINVAL;
		if (*p && *p != ';')
			return -EINVAL;
		for (unsigned i = 0; i < nthreads; i++) {
			bool named = tid < 0 || (tid == 0 ? i == any : (unsigned)tid == i + 1);
			if (named && how[i] == GDB_RESUME_NONE)
				how[i] = r;
		}
	}
	return *p ? -EINVAL : 0;
}

/* ---- memory: virtual through the parked state's page tables, else physical ---- */

static void *guest_ptr(struct gdb_stub *g, uint64_t addr, size_t len, bool write)
{
	struct guest_ram *ram = &g->vm->ram;
	uint64_t gpa;
	if (x86_translate(&cur(g)->state, ram, addr, &gpa) < 0)
		gpa = addr;
	return write ? ram_ptr_rw(ram, gpa, len) : ram_ptr(ram, gpa, len);
}

/* Copies between guest and buf page by page; returns bytes done. */
static size_t mem_access(struct gdb_stub *g, uint64_t addr, uint8_t *buf, size_t len, bool write)
{
	size_t done = 0;
	while (done < len) {
		uint64_t a = addr + done;
		size_t chunk = 4096 - (a & 0xfff);
		if (chunk > len - done)
			chunk = len - done;
		uint8_t *p = guest_ptr(g, a, chunk, write);
		if (!p)
			break;
		if (write)
			memcpy(p, buf + done, chunk);
		else
			memcpy(buf + done, p, chunk);
		done += chunk;
	}
	for (unsigned i = 0; write && done && i < g->vm->ncpus; i++)
		g->cpu[i].code_changed = true;
	return done;
}

static void cmd_read_mem(struct gdb_stub *g, const char *p)
{
	uint64_t addr, len;
	static uint8_t buf[GDB_PACKET_MAX / 2];
	static char hex[GDB_PACKET_MAX + 1];
	if (!parse_hex(&p, &addr) || !expect(&p, ',') || !parse_hex(&p, &len) || *p)
		return gdb_send_str(g, E_INVAL);
	if (len > sizeof(buf))
		len = sizeof(buf); /* GDB accepts short reads */
	size_t n = mem_access(g, addr, buf, len, false);
	if (n == 0 && len)
		return gdb_send_str(g, E_FAULT);
	to_hex(buf, n, hex);
	gdb_send(g, hex, 2 * n);
}

static void cmd_write_mem(struct gdb_stub *g, char *pkt, size_t pkt_len, bool binary)
{
	const char *p = pkt + 1;
	uint64_t addr, len;
	static uint8_t buf[GDB_PACKET_MAX];
	if (!parse_hex(&p, &addr) || !expect(&p, ',') || !parse_hex(&p, &len) || !expect(&p, ':'))
		return gdb_send_str(g, E_INVAL);
	size_t data_len = pkt_len - (size_t)(p - pkt);
	if (binary) {
		if (data_len > sizeof(buf))
			return gdb_send_str(g, E_INVAL);
		memcpy(buf, p, data_len);
		int n = gdb_unescape(buf, data_len);
		if (n < 0 || (uint64_t)n != len)
			return gdb_send_str(g, E_INVAL);
	} else if (len > sizeof(buf) || data_len != 2 * len || gdb_hex_decode(p, data_len, buf, sizeof(buf)) < 0) {
		return gdb_send_str(g, E_INVAL);
	}
	if (mem_access(g, addr, buf, len, true) != len)
		return gdb_send_str(g, E_FAULT);
	gdb_send_str(g, "OK");
}

/* ---- registers ---- */

static void cmd_read_regs(struct gdb_stub *g)
{
	static char hex[GDB_PACKET_MAX + 1];
	enum gdb_arch a = arch_of(g);
	size_t o = 0;
	for (unsigned i = 0; i < gdb_regs_count(a); i++) {
		uint8_t v[16];
		unsigned sz = gdb_reg_size(a, i);
		gdb_reg_read(a, &cur(g)->state, i, v);
		to_hex(v, sz, hex + o);
		o += 2 * sz;
	}
	gdb_send(g, hex, o);
}

static void cmd_write_regs(struct gdb_stub *g, const char *p, size_t len)
{
	enum gdb_arch a = arch_of(g);
	size_t o = 0;
	struct gdb_cpu *gc = cur(g);
	if (!gc->parked)
		return gdb_send_str(g, E_BUSY); /* waits for a start-up IPI: nothing to load them into */
	struct x86_cpu_state s = gc->state;
	for (unsigned i = 0; i < gdb_regs_count(a) && o < len; i++) {
		uint8_t v[16];
		unsigned sz = gdb_reg_size(a, i);
		if (len - o < 2 * sz || gdb_hex_decode(p + o, 2 * sz, v, sizeof(v)) < 0)
			return gdb_send_str(g, E_INVAL);
		gdb_reg_write(a, &s, i, v);
		o += 2 * sz;
	}
	gc->state = s;
	gc->state_dirty = true;
	gdb_send_str(g, "OK");
}

static void cmd_read_reg(struct gdb_stub *g, const char *p)
{
	uint64_t n;
	enum gdb_arch a = arch_of(g);
	if (!parse_hex(&p, &n) || *p)
		return gdb_send_str(g, E_INVAL);
	if (n >= gdb_regs_count(a))
		return gdb_send_str(g, ""); /* unknown register: unavailable */
	uint8_t v[16];
	char hex[33];
	gdb_reg_read(a, &cur(g)->state, (unsigned)n, v);
	to_hex(v, gdb_reg_size(a, (unsigned)n), hex);
	gdb_send_str(g, hex);
}

static void cmd_write_reg(struct gdb_stub *g, const char *p)
{
	uint64_t n;
	enum gdb_arch a = arch_of(g);
	uint8_t v[16];
	if (!parse_hex(&p, &n) || !expect(&p, '=') || n >= gdb_regs_count(a))
		return gdb_send_str(g, E_INVAL);
	unsigned sz = gdb_reg_size(a, (unsigned)n);
	if (strlen(p) != 2 * sz || gdb_hex_decode(p, 2 * sz, v, sizeof(v)) < 0)
		return gdb_send_str(g, E_INVAL);
	struct gdb_cpu *gc = cur(g);
	if (!gc->parked)
		return gdb_send_str(g, E_BUSY);
	gdb_reg_write(a, &gc->state, (unsigned)n, v);
	gc->state_dirty = true;
	gdb_send_str(g, "OK");
}

/* ---- breakpoints ---- */

static void cmd_breakpoint(struct gdb_stub *g, const char *p, bool insert)
{
	uint64_t type, addr, kind;
	char t = *p++;
	if (t < '0' || t > '4' || !expect(&p, ',') || !parse_hex(&p, &addr) || !expect(&p, ',') ||
	    !parse_hex(&p, &kind) || (*p && *p != ';'))
		return gdb_send_str(g, E_INVAL);
	type = (uint64_t)(t - '0');
	struct engine_debug *d = &g->dbg;
	if (type == 0) {
		unsigned i;
		for (i = 0; i < d->n_sw && d->sw_bp[i] != addr; i++)
			;
		if (insert && i == d->n_sw) {
			if (d->n_sw == ENGINE_MAX_SW_BP)
				return gdb_send_str(g, E_NOSPC);
			d->sw_bp[d->n_sw++] = addr;
		} else if (!insert && i < d->n_sw) {
			d->sw_bp[i] = d->sw_bp[--d->n_sw];
		}
		return gdb_send_str(g, "OK");
	}
	static const enum engine_hw_bp_type types[] = { ENGINE_HW_EXEC, ENGINE_HW_EXEC, ENGINE_HW_WRITE,
							ENGINE_HW_READ, ENGINE_HW_ACCESS };
	unsigned len = type == 1 ? 1 : (unsigned)kind;
	if (type != 1 && ((len != 1 && len != 2 && len != 4 && len != 8) || (addr & (len - 1))))
		return gdb_send_str(g, E_INVAL);
	for (unsigned i = 0; i < ENGINE_MAX_HW_BP; i++) {
		struct engine_hw_bp *b = &d->hw[i];
		bool same = b->enabled && b->addr == addr && b->type == types[type] && b->len == len;
		if (!insert && same) {
			b->enabled = false;
			return gdb_send_str(g, "OK");
		}
		if (insert && !b->enabled) {
			*b = (struct engine_hw_bp){ true, types[type], addr, len };
			return gdb_send_str(g, "OK");
		}
	}
	gdb_send_str(g, insert ? E_NOSPC : "OK");
}

/* ---- resuming ---- */

/* c [addr], s [addr], C sig[;addr], S sig[;addr]: the signal is ignored (a
 * machine has no signals to deliver). The Hc thread (else the one that
 * stopped) gets addr and is the one s steps; the others stay stopped during
 * a step, c lets every vCPU go. */
static void cmd_resume(struct gdb_stub *g, const char *p, enum gdb_resume how, bool with_signal)
{
	uint64_t v;
	unsigned t = g->cur_c >= 0 ? (unsigned)g->cur_c : g->report;
	if (with_signal && *p) {
		if (!parse_hex(&p, &v))
			return gdb_send_str(g, E_INVAL);
		if (*p == ';')
			p++;
	}
	if (*p) {
		if (!parse_hex(&p, &v) || *p)
			return gdb_send_str(g, E_INVAL);
		if (!g->cpu[t].parked)
			return gdb_send_str(g, E_BUSY);
		g->cpu[t].state.rip = v;
		g->cpu[t].state_dirty = true;
	}
	enum gdb_resume each[ENGINE_MAX_VCPUS];
	for (unsigned i = 0; i < g->vm->ncpus; i++)
		each[i] = how == GDB_RESUME_STEP ? (i == t ? how : GDB_RESUME_NONE) : how;
	gdb_resume(g, each, true);
}

/* vCont;ACTION[:thread][;ACTION[:thread]]...: each thread does what the first
 * action naming it says; a thread no action names stays stopped. */
static void cmd_vcont(struct gdb_stub *g, const char *p)
{
	if (!strcmp(p, "?"))
		return gdb_send_str(g, "vCont;c;C;s;S");
	enum gdb_resume each[ENGINE_MAX_VCPUS];
	if (gdb_parse_vcont(p, g->vm->ncpus, g->cur_g, each) < 0)
		return gdb_send_str(g, E_INVAL);
	gdb_resume(g, each, true);
}

/* H op thread: Hg picks the thread register and memory packets use, Hc the
 * one c and s act on (-1: all; 0: any, the one that stopped). */
static void cmd_set_thread(struct gdb_stub *g, const char *p)
{
	char op = *p++;
	int tid;
	if ((op != 'g' && op != 'c') || gdb_parse_thread(&p, g->vm->ncpus, &tid) < 0 || *p)
		return gdb_send_str(g, E_INVAL);
	if (op == 'g')
		g->cur_g = tid > 0 ? (unsigned)tid - 1 : g->report;
	else
		g->cur_c = tid > 0 ? tid - 1 : -1;
	gdb_send_str(g, "OK");
}

/* T thread: is it alive? Every vCPU is, while the machine runs. */
static void cmd_thread_alive(struct gdb_stub *g, const char *p)
{
	int tid;
	if (gdb_parse_thread(&p, g->vm->ncpus, &tid) < 0 || *p || tid < 1)
		return gdb_send_str(g, E_INVAL);
	gdb_send_str(g, "OK");
}

/* ---- queries ---- */

static void cmd_xfer_features(struct gdb_stub *g, const char *p)
{
	/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
	static char reply[GDB_PACKET_MAX + 1];
	const char *annex = p;
	const char *colon = strchr(annex, ':');
	uint64_t off, len;
	if (!colon)
		return gdb_send_str(g, E_INVAL);
	p = colon + 1;
	if (!parse_hex(&p, &off) || !expect(&p, ',') || !parse_hex(&p, &len) || *p)
		return gdb_send_str(g, E_INVAL);
	if ((size_t)(colon - annex) != strlen("target.xml") || strncmp(annex, "target.xml", 10))
		return gdb_send_str(g, "E00");
	const char *xml = gdb_target_xml(arch_of(g));
	size_t total = strlen(xml);
	if (len > GDB_PACKET_MAX - 1)
		len = GDB_PACKET_MAX - 1;
	if (off >= total)
		return gdb_send_str(g, "l");
	size_t n = total - off < len ? total - off : len;
	reply[0] = off + n < total ? 'm' : 'l';
	memcpy(reply + 1, xml + off, n);
	gdb_send(g, reply, n + 1);
}

/* Console output for a monitor command: O packets, hex-encoded, in pieces. */
static void monitor_out(struct gdb_stub *g, const char *text)
{
	char pkt[1 + 2 * 512 + 1];
	size_t len = strlen(text);
	for (size_t o = 0; o < len; o += 512) {
		size_t n = len - o < 512 ? len - o : 512;
		pkt[0] = 'O';
		to_hex((const uint8_t *)text + o, n, pkt + 1);
		gdb_send(g, pkt, 1 + 2 * n);
	}
}

static void cmd_monitor(struct gdb_stub *g, const char *hex)
{
	char cmd[256];
	size_t hl = strlen(hex);
	if (hl / 2 >= sizeof(cmd) || gdb_hex_decode(hex, hl, (uint8_t *)cmd, sizeof(cmd) - 1) < 0)
		return gdb_send_str(g, E_INVAL);
	cmd[hl / 2] = '\0';
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	if (!f)
		return gdb_send_str(g, E_NOSPC);
	const struct x86_cpu_state *s = &cur(g)->state;
	uint64_t a, n;
	const char *arg;
	if (!strcmp(cmd, "help")) {
		fputs("monitor commands:\n"
		      "  regs                 all registers, segment caches, control registers, EFER\n"
		      "  cr                   control registers and EFER\n"
		      "  xp ADDR [LEN]        guest-physical memory (hex; LEN bytes, default 0x40, at most 0x400)\n"
		      "  translate ADDR       linear address -> physical, with the current page tables\n"
		      "  insn                 the current instruction, disassembled\n",
		      f);
	} else if (!strcmp(cmd, "regs") || !strcmp(cmd, "info registers")) {
		x86_state_dump(s, f);
		x86_dump_current_insn(s, &g->vm->ram, f);
	} else if (!strcmp(cmd, "cr")) {
		fprintf(f, "cr0=%016" PRIx64 " cr2=%016" PRIx64 " cr3=%016" PRIx64 "\ncr4=%016" PRIx64
			   " cr8=%016" PRIx64 " efer=%016" PRIx64 "\n",
			s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer);
	} else if (!strcmp(cmd, "insn")) {
		x86_dump_current_insn(s, &g->vm->ram, f);
	} else if (!strncmp(cmd, "translate ", 10)) {
		arg = cmd + 10;
		uint64_t gpa;
		if (!strncmp(arg, "0x", 2))
			arg += 2;
		if (!parse_hex(&arg, &a) || *arg)
			fprintf(f, "usage: translate ADDR (hex)\n");
		else if (x86_translate(s, &g->vm->ram, a, &gpa) < 0)
			fprintf(f, "%" PRIx64 ": not mapped\n", a);
		else
			fprintf(f, "%" PRIx64 " -> %" PRIx64 "\n", a, gpa);
	} else if (!strncmp(cmd, "xp ", 3)) {
		arg = cmd + 3;
		n = 64;
		if (!strncmp(arg, "0x", 2))
			arg += 2;
		bool ok = parse_hex(&arg, &a);
		if (ok && *arg == ' ') {
			arg++;
			if (!strncmp(arg, "0x", 2))
				arg += 2;
			ok = parse_hex(&arg, &n);
		}
		if (!ok || *arg || n > 1024) {
			fprintf(f, "usage: xp ADDR [LEN] (hex; LEN at most 0x400)\n");
		} else {
			for (uint64_t i = 0; i < n; i += 16) {
				fprintf(f, "%016" PRIx64 ":", a + i);
				for (uint64_t k = i; k < n && k < i + 16; k++) {
					const uint8_t *p = ram_ptr(&g->vm->ram, a + k, 1);
					if (p)
						fprintf(f, " %02x", *p);
					else
						fprintf(f, " --");
				}
				fputc('\n', f);
			}
		}
	} else {
		fprintf(f, "unknown monitor command '%s' (try 'monitor help')\n", cmd);
	}
	fclose(f);
	monitor_out(g, text ? text : "");
	free(text);
	gdb_send_str(g, "OK");
}

static void cmd_query(struct gdb_stub *g, char *pkt)
{
	if (!strncmp(pkt, "qSupported", 10))
		return gdb_send_str(g, "PacketSize=1000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;"
				       "vContSupported+");
	if (!strcmp(pkt, "qAttached"))
		return gdb_send_str(g, "1");
	if (!strcmp(pkt, "qC")) {
		char r[16];
		snprintf(r, sizeof(r), "QC%02x", g->report + 1);
		return gdb_send_str(g, r);
	}
	if (!strcmp(pkt, "qfThreadInfo")) {
		char r[1 + 4 * ENGINE_MAX_VCPUS];
		size_t n = 0;
		for (unsigned i = 0; i < g->vm->ncpus; i++)
			n += (size_t)snprintf(r + n, sizeof(r) - n, "%c%02x", i ? ',' : 'm', i + 1);
		return gdb_send_str(g, r);
	}
	if (!strcmp(pkt, "qsThreadInfo"))
		return gdb_send_str(g, "l");
	if (!strncmp(pkt, "qThreadExtraInfo,", 17)) {
		const char *p = pkt + 17;
		int tid;
		char text[64], hex[2 * sizeof(text) + 1];
		if (gdb_parse_thread(&p, g->vm->ncpus, &tid) < 0 || *p || tid < 1)
			return gdb_send_str(g, E_INVAL);
		int n = snprintf(text, sizeof(text), "vCPU %d%s", tid - 1,
				 g->cpu[tid - 1].idle ? ", waiting for a start-up IPI" : "");
		to_hex((const uint8_t *)text, (size_t)n, hex);
		return gdb_send_str(g, hex);
	}
	if (!strncmp(pkt, "qXfer:features:read:", 20)) {
		if (!gdb_ensure_parked(g))
			return gdb_send_str(g, E_BUSY);
		return cmd_xfer_features(g, pkt + 20);
	}
	if (!strncmp(pkt, "qRcmd,", 6)) {
		if (!gdb_ensure_parked(g))
			return gdb_send_str(g, E_BUSY);
		return cmd_monitor(g, pkt + 6);
	}
	gdb_send_str(g, "");
}

void gdb_handle_packet(struct gdb_stub *g, char *pkt, size_t len)
{
	struct vm *vm = g->vm;
	if (strlen(pkt) != len && pkt[0] != 'X')
		return gdb_send_str(g, E_INVAL); /* a NUL inside a text packet */
	switch (pkt[0]) {
	case 'q':
		return cmd_query(g, pkt);
	case 'Q':
		if (!strcmp(pkt, "QStartNoAckMode")) {
			gdb_send_str(g, "OK");
			g->no_ack = true;
			return;
		}
		return gdb_send_str(g, "");
	case 'H':
		return cmd_set_thread(g, pkt + 1);
	case 'T':
		return cmd_thread_alive(g, pkt + 1);
	case 'k':
		snprintf(vm->exit_reason, sizeof(vm->exit_reason), "killed by the debugger");
		vm_request_exit(vm, X86V_EXIT_OK);
		return;
	case 'v':
		if (!strncmp(pkt, "vCont", 5)) {
			if (!strcmp(pkt + 5, "?"))
				return cmd_vcont(g, "?");
			if (!gdb_ensure_parked(g))
				return gdb_send_str(g, E_BUSY);
			return cmd_vcont(g, pkt + 5);
		}
		if (!strncmp(pkt, "vKill", 5)) {
			gdb_send_str(g, "OK");
			vm_request_exit(vm, X86V_EXIT_OK);
			return;
		}
		return gdb_send_str(g, "");
	default:
		break;
	}
	/* Everything below looks at or changes the stopped machine. */
	if (!strchr("?gGpPmMXzZcCsSD", pkt[0]) || !pkt[0])
		return gdb_send_str(g, "");
	if (!gdb_ensure_parked(g))
		return gdb_send_str(g, E_BUSY);
	switch (pkt[0]) {
	case '?': return gdb_send_stop_reply(g);
	case 'g': return cmd_read_regs(g);
	case 'G': return cmd_write_regs(g, pkt + 1, len - 1);
	case 'p': return cmd_read_reg(g, pkt + 1);
	case 'P': return cmd_write_reg(g, pkt + 1);
	case 'm': return cmd_read_mem(g, pkt + 1);
	case 'M': return cmd_write_mem(g, pkt, len, false);
	case 'X': return cmd_write_mem(g, pkt, len, true);
	case 'Z': return cmd_breakpoint(g, pkt + 1, true);
	case 'z': return cmd_breakpoint(g, pkt + 1, false);
	case 'c': return cmd_resume(g, pkt + 1, GDB_RESUME_CONTINUE, false);
	case 's': return cmd_resume(g, pkt + 1, GDB_RESUME_STEP, false);
	case 'C': return cmd_resume(g, pkt + 1, GDB_RESUME_CONTINUE, true);
	case 'S': return cmd_resume(g, pkt + 1, GDB_RESUME_STEP, true);
	case 'D':
		memset(&g->dbg, 0, sizeof(g->dbg));
		gdb_send_str(g, "OK");
		gdb_release_all(g);
		return;
	}
}
