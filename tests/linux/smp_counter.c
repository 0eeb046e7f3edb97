/* SPDX-License-Identifier: MIT */
/*
 * A guest program for the SMP tests (tests/linux/smp.sh): one thread per CPU,
 * each pinned to its CPU, all incrementing shared counters at once with the
 * x86 atomics x86v must make host atomics (LOCK XADD, a LOCK CMPXCHG retry
 * loop, a plain increment inside an XCHG spinlock, LOCK INC on a counter that
 * straddles a cache line); the totals must be exact. Built static, shipped in
 * the initramfs.
 *
 *   smp-counter [ITERATIONS]      prints "counters: ok N threads x ITERATIONS" or what differs
 *   smp-counter --spin ITERATIONS busy loop on every CPU at once; prints the CPUs that ran it
 *   smp-counter --bench ITERATIONS THREADS
 *                                 THREADS busy loops (thread i on CPU i mod the CPU count);
 *                                 prints the time they took ("bench: spin MS ms"), for make bench
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long iterations = 200000;
static int nthreads;
static pthread_barrier_t start;

static volatile uint64_t by_xadd, by_cmpxchg, by_lock;
static volatile uint32_t spinlock;
/* A 4-byte counter across a 64-byte line boundary: a split lock on the host. */
static _Alignas(64) volatile uint8_t split_area[128];
#define SPLIT_OFFSET 62

static void xadd(volatile uint64_t *p, uint64_t v)
{
	__asm__ volatile("lock xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory", "cc");
}

static void cmpxchg_inc(volatile uint64_t *p)
{
	uint64_t old = *p, seen;
	for (;;) {
		uint64_t want = old + 1;
		__asm__ volatile("lock cmpxchgq %2, %1" : "=a"(seen), "+m"(*p) : "r"(want), "0"(old) : "memory", "cc");
		if (seen == old)
			return;
		old = seen;
	}
}

static void spin_lock(volatile uint32_t *l)
{
	for (;;) {
		uint32_t v = 1;
		__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(*l) : : "memory");
		if (v == 0)
			return;
		while (*l)
			__asm__ volatile("pause");
	}
}

static void spin_unlock(volatile uint32_t *l)
{
	__asm__ volatile("movl $0, %0" : "=m"(*l) : : "memory");
}

static void split_inc(void)
{
	volatile uint32_t *p = (volatile uint32_t *)(split_area + SPLIT_OFFSET);
	__asm__ volatile("lock incl %0" : "+m"(*p) : : "memory", "cc");
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static void *count(void *arg)
{
	pin((int)(intptr_t)arg);
	pthread_barrier_wait(&start);
	for (unsigned long i = 0; i < iterations; i++) {
		xadd(&by_xadd, 1);
		cmpxchg_inc(&by_cmpxchg);
		spin_lock(&spinlock);
		by_lock = by_lock + 1;
		spin_unlock(&spinlock);
		if (i % 16 == 0)
			split_inc();
	}
	return NULL;
}

static volatile uint64_t spin_result[64];
static volatile int spin_cpu[64];

static int ncpus;

static void *spin(void *arg)
{
	int me = (int)(intptr_t)arg;
	pin(me % ncpus);
	pthread_barrier_wait(&start);
	uint64_t x = (uint64_t)me;
	for (unsigned long i = 0; i < iterations; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	spin_result[me] = x;
	spin_cpu[me] = sched_getcpu();
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	bool bench = argc > 1 && !strcmp(argv[1], "--bench");
	bool spinning = bench || (argc > 1 && !strcmp(argv[1], "--spin"));
	if (argc > 1 + spinning)
		iterations = strtoul(argv[1 + spinning], NULL, 0);
	ncpus = nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (bench && argc > 3)
		nthreads = atoi(argv[3]);
	if (ncpus < 1 || nthreads < 1 || nthreads > 64)
		return 1;
	pthread_t t[64];
	pthread_barrier_init(&start, NULL, (unsigned)nthreads);
	double t0 = now_ms();
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, spinning ? spin : count, (void *)(intptr_t)i) != 0)
			return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	if (bench) {
		printf("bench: spin %.1f ms\n", now_ms() - t0);
		return 0;
	}
	if (spinning) {
		printf("spin:");
		for (int i = 0; i < nthreads; i++)
			printf(" cpu%d", spin_cpu[i]);
		printf("\n");
		return 0;
	}
	uint64_t want = (uint64_t)nthreads * iterations;
	uint32_t split;
	memcpy(&split, (const void *)(split_area + SPLIT_OFFSET), 4);
	uint64_t want_split = (uint64_t)nthreads * ((iterations + 15) / 16);
	if (by_xadd == want && by_cmpxchg == want && by_lock == want && split == want_split) {
		printf("counters: ok %d threads x %lu\n", nthreads, iterations);
		return 0;
	}
	printf("counters: xadd %llu cmpxchg %llu lock %llu split %u, want %llu (split %llu)\n",
	       (unsigned long long)by_xadd, (unsigned long long)by_cmpxchg, (unsigned long long)by_lock, split,
	       (unsigned long long)want, (unsigned long long)want_split);
	return 1;
}
