/* SPDX-License-Identifier: MIT */
/*
 * Whole-engine differential test of the soft engine (decoder, operand
 * access, handlers and guest memory together): every instruction form of
 * diff_gen.c runs with random registers, flags and memory in the soft engine
 * and in an oracle, and all GPRs, RIP, flags and the data/stack window must
 * match.
 *   long64: the host CPU runs the same bytes natively (diff_host.c); all
 *           arithmetic flags and DF are compared, undefined ones included,
 *           when the host is of the soft CPU model's vendor, otherwise only
 *           those the SDM defines for the case (cpu_oracle.h). libunicorn
 *           runs them too, compared on defined flags and results: an oracle
 *           that is the same on every host.
 *   real16, prot32: libunicorn (diff_unicorn.c), comparing only the flags
 *           the SDM defines for the case.
 * One result line per mode and instruction family; forms with a known
 * engine bug are run in their own "known" groups and reported skipped with
 * the reason while they still differ. The last line counts forms and cases.
 *
 *   test_diff_soft                 bounded run for make check
 *   test_diff_soft CASES [SEED]    CASES per form (default 32), another seed
 *   test_diff_soft CASES SEED -v   print every mismatch, not the first few
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diff.h"

int check_failures;
const char *check_skip_reason;

/* Engine bugs found by this test, open at the time of writing: the forms
 * matching (modes, name prefix) run in a "known" group reported skipped. */
struct known_bug {
	unsigned modes;
	const char *prefix;
	const char *reason;
};
static const struct known_bug known_bugs[] = {
	{ 0, NULL, NULL }, /* none open */
};

/* long64 forms not run against unicorn: its TCG (QEMU 5.0 era) gets them
 * wrong where the host and the soft engine agree. */
static const struct { const char *prefix, *reason; } unicorn64_skips[] = {
	{ "bsf r32", "zero-extends the destination for a zero source" },
	{ "bsr r32", "zero-extends the destination for a zero source" },
	{ "cmpxchg r32", "writes EAX also when the values are equal" },
	{ "cmpxchg m32", "writes EAX also when the values are equal" },
	{ "movbe", "its CPU model lacks MOVBE" },
	{ "popcnt", "its CPU model lacks POPCNT" },
	{ "neg m", "wrong flags for LOCK NEG of memory" },
	{ "shld m", "RIP-relative operand with an imm8 after it addressed wrongly" },
	{ "shrd m", "RIP-relative operand with an imm8 after it addressed wrongly" },
	{ "rorx r32, m", "RIP-relative operand with an imm8 after it addressed wrongly" },
	{ "rorx r64, m", "RIP-relative operand with an imm8 after it addressed wrongly" },
	{ "bextr", "wrong results" },
	{ "blsi", "wrong CF" },
	{ "bzhi", "wrong results" },
	{ "pdep", "wrong results" },
	{ "pext", "wrong results" },
};

static bool unicorn64_skipped(const struct diff_form *f)
{
	for (unsigned i = 0; i < sizeof(unicorn64_skips) / sizeof(unicorn64_skips[0]); i++)
		if (!strncmp(f->name, unicorn64_skips[i].prefix, strlen(unicorn64_skips[i].prefix)))
			return true;
	return false;
}

static unsigned per_form = 32;
static uint64_t seed = 0x5eed0f0dd1ffull;
static bool verbose;

struct group {
	char name[64];
	enum diff_mode mode;
	int family; /* -1: the known-bug group of known_bugs[bug] */
	int bug;
};
static struct group groups[DIFF_NMODES * (DIFF_NFAMILIES + 8)];
static unsigned ngroups, cur_group;

static struct diff_soft *soft[DIFF_NMODES], *jit[DIFF_NMODES]; /* interpreter, translator */
static struct diff_unicorn *uni[DIFF_NMODES]; /* long64: beside the host */
static bool host_ok;
static unsigned long total_forms, total_cases;
static unsigned long mode_forms[DIFF_NMODES], mode_cases[DIFF_NMODES], unicorn64_cases;

static const struct known_bug *bug_of(const struct diff_form *f, enum diff_mode m)
{
	for (unsigned i = 0; i < sizeof(known_bugs) / sizeof(known_bugs[0]); i++) {
		const struct known_bug *b = &known_bugs[i];
		if (b->prefix && (b->modes & (1u << m)) && !strncmp(f->name, b->prefix, strlen(b->prefix)))
			return b;
	}
	return NULL;
}

static void print_case(const struct diff_case *c)
{
	char hex[3 * DIFF_CODE_MAX + 1] = "";
	for (unsigned i = 0; i < c->code_len; i++)
		snprintf(hex + 3 * i, 4, "%02x ", c->code[i]);
	printf("#   %s '%s' bytes %s\n#   in:", diff_mode_names[c->mode], c->form->name, hex);
	unsigned n = c->mode == DIFF_LONG64 ? 16 : 8;
	for (unsigned i = 0; i < n; i++)
		printf(" r%u=%" PRIx64, i, c->in.gpr[i]);
	printf(" rip=%" PRIx64 " rflags=%" PRIx64 "\n", c->in.rip, c->in.rflags);
}

/* Compares the soft engine's result with the oracle's; prints the
 * differences when report is set. */
static bool same(const struct diff_case *c, const struct diff_state *s, const struct diff_state *r,
		 uint64_t fm, bool report)
{
	if (s->fault || r->fault) {
		if (s->fault == r->fault)
			return true;
		if (report) {
			print_case(c);
			printf("#   %s faulted, %s did not (oracle rip=%" PRIx64 ", soft rip=%" PRIx64 ")\n",
			       s->fault ? "soft" : "oracle", s->fault ? "oracle" : "soft", r->rip, s->rip);
		}
		return false;
	}
	bool ok = true;
	unsigned n = c->mode == DIFF_LONG64 ? 16 : 8;
	uint64_t m = c->mode == DIFF_LONG64 ? ~0ull : 0xffffffffull;
	char buf[512];
	int len = 0;
	for (unsigned i = 0; i < n; i++)
		if ((s->gpr[i] ^ r->gpr[i]) & m) {
			ok = false;
			len += snprintf(buf + len, sizeof(buf) - (size_t)len, " r%u: soft %" PRIx64 " oracle %" PRIx64 ";",
					i, s->gpr[i] & m, r->gpr[i] & m);
			if (len > 400)
				break;
		}
	if ((s->rip ^ r->rip) & m) {
		ok = false;
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, " rip: soft %" PRIx64 " oracle %" PRIx64 ";",
				s->rip & m, r->rip & m);
	}
	if ((s->rflags ^ r->rflags) & fm) {
		ok = false;
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
				" flags: soft %" PRIx64 " oracle %" PRIx64 " (compared %" PRIx64 ");",
				s->rflags & fm, r->rflags & fm, fm);
	}
	for (unsigned i = 0; i < DIFF_MEM_LEN; i++)
		if (s->mem[i] != r->mem[i]) {
			ok = false;
			snprintf(buf + len, sizeof(buf) - (size_t)len, " memory at window+%#x: soft %02x oracle %02x",
				 DIFF_MEM_OFF + i, s->mem[i], r->mem[i]);
			break;
		}
	if (!ok && report) {
		print_case(c);
		printf("#  %s\n", buf);
	}
	return ok;
}

static struct diff_state soft_out, jit_out, ref_out, uni_out;

/* Runs every form of the group's mode and family (or known bug). */
static void run_group(void)
{
	const struct group *g = &groups[cur_group++];
	enum diff_mode m = g->mode;
	bool host = m == DIFF_LONG64;
	if (host ? !host_ok : !uni[m])
		SKIP(host ? "cannot map the host window at 0x200000" : "built without libunicorn");
	if (!soft[m] || !jit[m]) {
		printf("# cannot create the soft engine\n");
		check_failures++;
		return;
	}
	unsigned nforms, reported = 0, mismatches = 0;
	unsigned long cases = 0, forms_run = 0, faults = 0;
	const struct diff_form *forms = diff_forms(&nforms);
	uint64_t rng = seed ^ (0x9e3779b97f4a7c15ull * (cur_group + 1));
	for (unsigned fi = 0; fi < nforms; fi++) {
		const struct diff_form *f = &forms[fi];
		if (!(f->modes & (1u << m)))
			continue;
		const struct known_bug *b = bug_of(f, m);
		if (g->family >= 0 ? b || (int)f->family != g->family : b != &known_bugs[g->bug])
			continue;
		bool counted = false;
		for (unsigned k = 0; k < per_form; k++) {
			static struct diff_case c;
			if (!diff_gen_case(f, m, &rng, &c))
				break; /* not encodable in this mode */
			if (!counted)
				forms_run++, counted = true;
			if (diff_soft_run(soft[m], &c, &soft_out) < 0 || diff_soft_run(jit[m], &c, &jit_out) < 0 ||
			    (host ? diff_host_run(&c, &ref_out) : diff_unicorn_run(uni[m], &c, &ref_out)) < 0) {
				printf("# %s: an executor failed\n", f->name);
				check_failures++;
				return;
			}
			cases++;
			faults += ref_out.fault;
			/* the HLT right after a non-branch must be what stopped the oracle */
			if (!ref_out.fault && f->family != FAM_BRANCH && ref_out.rip != c.in.rip + c.code_len + 1) {
				printf("# harness: %s stopped at %" PRIx64 ", not after the HLT\n", f->name, ref_out.rip);
				check_failures++;
			}
			bool report = verbose || reported < 3;
			uint64_t fm = host && oracle_host_is_model() ? DIFF_CMP_FLAGS : c.flags_defined;
			bool ok = same(&c, &soft_out, &ref_out, fm, report);
			/* the translator leaves exactly the interpreter's state, undefined flags included */
			if (ok && !same(&c, &jit_out, &soft_out, DIFF_CMP_FLAGS, report)) {
				printf("#  (translator against the interpreter)\n");
				ok = false;
			}
			/* long64: unicorn as well, where the SDM defines the result */
			if (ok && host && uni[m] && c.result_defined && !unicorn64_skipped(f)) {
				if (diff_unicorn_run(uni[m], &c, &uni_out) < 0) {
					printf("# %s: unicorn failed\n", f->name);
					check_failures++;
					return;
				}
				unicorn64_cases++;
				if (!same(&c, &soft_out, &uni_out, c.flags_defined, report)) {
					printf("#  (against unicorn)\n");
					ok = false;
				}
			}
			if (!ok) {
				mismatches++;
				reported += report;
				if (g->family >= 0)
					check_failures++;
				break; /* one mismatch per form is enough */
			}
		}
	}
	mode_forms[m] += forms_run;
	mode_cases[m] += cases;
	total_forms += forms_run;
	total_cases += cases;
	/* both sides faulting compares equal, so a harness that makes every case
	 * fault would pass: show how many did */
	printf("# %s: %lu forms, %lu cases (%lu faulted in the oracle), %u forms differ\n", g->name, forms_run,
	       cases, faults, mismatches);
	if (g->family < 0 && mismatches)
		SKIP(known_bugs[g->bug].reason);
}

static void summary(void)
{
	cur_group++;
	for (unsigned i = 0; i < sizeof(unicorn64_skips) / sizeof(unicorn64_skips[0]); i++)
		printf("# long64 '%s' forms not against unicorn: %s\n", unicorn64_skips[i].prefix,
		       unicorn64_skips[i].reason);
	for (unsigned m = 0; m < DIFF_NMODES; m++)
		printf("# %s: %lu forms, %lu cases, %s\n", diff_mode_names[m], mode_forms[m], mode_cases[m],
		       diff_oracle_is_model((enum diff_mode)m) ? "undefined flags and results compared too"
							      : "defined flags and results only");
}

int main(int argc, char **argv)
{
	if (argc > 1)
		per_form = (unsigned)strtoul(argv[1], NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	verbose = argc > 3 && !strcmp(argv[3], "-v");
	if (!per_form)
		per_form = 1;

	host_ok = diff_host_available();
	for (unsigned m = 0; m < DIFF_NMODES; m++) {
		soft[m] = diff_soft_new((enum diff_mode)m, false);
		jit[m] = diff_soft_new((enum diff_mode)m, true);
		uni[m] = diff_unicorn_new((enum diff_mode)m);
		for (int fam = 0; fam < DIFF_NFAMILIES; fam++) {
			if (m == DIFF_LONG64 ? fam == FAM_BCD : fam == FAM_BMI)
				continue; /* no forms there */
			struct group *g = &groups[ngroups++];
			snprintf(g->name, sizeof(g->name), "%s/%s", diff_mode_names[m], diff_family_names[fam]);
			g->mode = (enum diff_mode)m;
			g->family = fam;
		}
		for (unsigned b = 0; b < sizeof(known_bugs) / sizeof(known_bugs[0]); b++) {
			if (!known_bugs[b].prefix || !(known_bugs[b].modes & (1u << m)))
				continue;
			struct group *g = &groups[ngroups++];
			snprintf(g->name, sizeof(g->name), "%s/known/%s", diff_mode_names[m], known_bugs[b].prefix);
			g->mode = (enum diff_mode)m;
			g->family = -1;
			g->bug = (int)b;
		}
	}
	static struct check_case cases[sizeof(groups) / sizeof(groups[0]) + 1];
	for (unsigned i = 0; i < ngroups; i++)
		cases[i] = (struct check_case){ groups[i].name, run_group };
	cases[ngroups] = (struct check_case){ "coverage", summary };
	int rc = check_run(cases, ngroups + 1);
	unsigned long full = 0;
	for (unsigned m = 0; m < DIFF_NMODES; m++)
		full += diff_oracle_is_model((enum diff_mode)m) ? mode_cases[m] : 0;
	printf("# covered: %lu forms, %lu cases (%lu with undefined flags compared, %lu with defined ones only); "
	       "%lu long64 cases also against unicorn\n",
	       total_forms, total_cases, full, total_cases - full, unicorn64_cases);
	for (unsigned m = 0; m < DIFF_NMODES; m++) {
		diff_soft_free(soft[m]);
		diff_soft_free(jit[m]);
		diff_unicorn_free(uni[m]);
	}
	return rc;
}
