/* SPDX-License-Identifier: MIT */
/*
 * The guest's time-stamp counter. It runs at SOFT_TSC_HZ on the machine's
 * virtual clock (engine_host.clock_ns), the time base of every other guest
 * clock (PIT, HPET, ACPI PM timer, RTC, local APIC timer), so a guest that
 * compares them never sees drift, and it stops with the machine. CPUID leaf
 * 15H reports the frequency, so guests need not calibrate it. Reads are
 * strictly increasing even within one nanosecond.
 *
 * Every vCPU's TSC starts in step with the first vCPU's (0 when that one
 * was created), as on a machine whose TSCs all start at power-on: Linux
 * checks that no CPU's TSC is behind another's. Loading a vCPU's state with
 * the TSC value its last get_state gave (the machine's INIT, SIPI, reset)
 * leaves its TSC running as it was, not set back by the time in between.
 */
#include <time.h>

#include "engine/soft/soft_engine.h"

#define TSC_PER_NS (SOFT_TSC_HZ / 1000000000ULL)

static uint64_t clock_ns(const struct soft_cpu *cpu)
{
	const struct engine_host *h = cpu->host;
	if (h->clock_ns)
		return (uint64_t)h->clock_ns(h->opaque);
	struct timespec ts; /* a host without a machine clock (tools, tests) */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t soft_tsc_read(struct soft_cpu *cpu)
{
	cpu->check_unrepeatable = true; /* time moves on between the checker's runs */
	uint64_t t = clock_ns(cpu) * TSC_PER_NS + cpu->tsc_offset;
	if ((int64_t)(t - cpu->tsc_last) <= 0)
		t = cpu->tsc_last + 1;
	cpu->tsc_last = t;
	return t;
}

void soft_tsc_write(struct soft_cpu *cpu, uint64_t value)
{
	cpu->tsc_offset = value - clock_ns(cpu) * TSC_PER_NS;
	cpu->tsc_last = value - 1;
}

void soft_tsc_start(struct soft_cpu *cpu)
{
	struct engine *eng = cpu->eng;
	if (!eng->tsc_started) {
		soft_tsc_write(cpu, 0);
		eng->tsc_base = cpu->tsc_offset;
		eng->tsc_started = true;
		return;
	}
	cpu->tsc_offset = eng->tsc_base;
	cpu->tsc_last = 0;
}
