/* SPDX-License-Identifier: MIT */
/*
 * A minimal unit-test harness. Each test binary defines TESTS() listing its
 * cases; every case prints one line, "ok - NAME", "not ok - NAME" (after the
 * failing checks, each "# file:line: message") or "skip - NAME: reason".
 * tests/run.py counts the lines. The binary exits 1 if any case failed.
 */
#ifndef X86V_TESTS_CHECK_H
#define X86V_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

extern int check_failures;
extern const char *check_skip_reason;

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                                 \
		}                                                                         \
	} while (0)

#define CHECK_EQ(a, b)                                                                         \
	do {                                                                                   \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_) {                                                                \
			printf("# %s:%d: %s == %s failed: 0x%llx != 0x%llx\n", __FILE__,       \
			       __LINE__, #a, #b, a_, b_);                                      \
			check_failures++;                                                      \
		}                                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                                        \
	do {                                                                                   \
		const char *a_ = (a), *b_ = (b);                                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                       \
			printf("# %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
			       #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                \
			check_failures++;                                                      \
		}                                                                              \
	} while (0)

/* Call inside a case to report it skipped instead of passed. */
#define SKIP(reason)                          \
	do {                                  \
		check_skip_reason = (reason); \
		return;                       \
	} while (0)

struct check_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_CASE(fn) { #fn, fn }

/* Runs the cases; returns the process exit status. */
static inline int check_run(const struct check_case *cases, size_t n)
{
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		check_failures = 0;
		check_skip_reason = NULL;
		cases[i].fn();
		if (check_failures) {
			printf("not ok - %s\n", cases[i].name);
			failed++;
		} else if (check_skip_reason) {
			printf("skip - %s: %s\n", cases[i].name, check_skip_reason);
		} else {
			printf("ok - %s\n", cases[i].name);
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

#define CHECK_MAIN(...)                                                             \
	int check_failures;                                                         \
	const char *check_skip_reason;                                              \
	int main(void)                                                              \
	{                                                                           \
		static const struct check_case cases_[] = { __VA_ARGS__ };          \
		return check_run(cases_, sizeof(cases_) / sizeof(cases_[0]));       \
	}

#endif
