/* SPDX-License-Identifier: MIT */
/*
 * ACPI tests: every table's checksum and length, FADT/MADT/RSDP field offsets
 * per ACPI 6.5, MADT entries per CPU count, relocation and the linker/loader
 * script (applied here the way SeaBIOS does), the AML encodings, iasl -d on
 * the tables when acpica-tools is installed, and the PM1/PM timer registers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "hw/pc/board.h"
#include "check.h"
#include "core/vclock.h"
#include "hw/timer/acpi_pm.h"

static uint64_t le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static const uint8_t *table(const struct acpi_tables *t, const char *sig)
{
	long off = acpi_find_table(t, sig);
	return off < 0 ? NULL : t->blob + off;
}

static void build(struct acpi_tables *t, unsigned ncpus)
{
	struct acpi_config cfg;
	board_acpi_description(&cfg, ncpus);
	if (acpi_build(&cfg, t) < 0)
		abort();
}

static void test_checksums_and_lengths(void)
{
	struct acpi_tables t;
	build(&t, 4);
	CHECK_EQ(t.ntables, 6);
	for (unsigned i = 0; i < t.ntables; i++) {
		const struct acpi_table_ref *r = &t.tables[i];
		CHECK(r->offset + r->length <= t.len);
		CHECK_EQ(le(t.blob + r->offset + 4, 4), r->length);
		CHECK(memcmp(t.blob + r->offset, r->signature, 4) == 0);
		if (r->checksummed)
			CHECK_EQ(acpi_checksum(t.blob + r->offset, r->length), 0);
	}
	CHECK_EQ(acpi_find_table(&t, "FACS"), 0);
	CHECK(table(&t, "FACP") != NULL);
	CHECK_EQ(le(table(&t, "FACP") + 4, 4), ACPI_FADT_SIZE);
	CHECK_EQ(table(&t, "FACP")[8], 6);
	CHECK_EQ(le(table(&t, "FACS") + 4, 4), 64);
	CHECK(memcmp(t.rsdp, "RSD PTR ", 8) == 0);
	CHECK_EQ(t.rsdp[15], 2);
	CHECK_EQ(acpi_checksum(t.rsdp, 20), 0);
	CHECK_EQ(acpi_checksum(t.rsdp, ACPI_RSDP_SIZE), 0);
	CHECK_EQ(le(t.rsdp + 20, 4), ACPI_RSDP_SIZE);
	/* Unrelocated, pointers hold blob offsets. */
	CHECK_EQ(le(t.rsdp + 16, 4), (uint64_t)acpi_find_table(&t, "RSDT"));
	CHECK_EQ(le(t.rsdp + 24, 8), (uint64_t)acpi_find_table(&t, "XSDT"));
	const uint8_t *rsdt = table(&t, "RSDT"), *xsdt = table(&t, "XSDT");
	CHECK_EQ(le(rsdt + 4, 4), 36 + 2 * 4);
	CHECK_EQ(le(xsdt + 4, 4), 36 + 2 * 8);
	CHECK_EQ(le(rsdt + 36, 4), (uint64_t)acpi_find_table(&t, "FACP"));
	CHECK_EQ(le(xsdt + 44, 8), (uint64_t)acpi_find_table(&t, "APIC"));
	acpi_tables_free(&t);
}

static void test_fadt_fields(void)
{
	struct acpi_tables t;
	build(&t, 1);
	const uint8_t *f = table(&t, "FACP");
	CHECK_EQ(le(f + ACPI_FADT_FIRMWARE_CTRL, 4), 0); /* FACS at blob offset 0 */
	CHECK_EQ(le(f + ACPI_FADT_DSDT, 4), (uint64_t)acpi_find_table(&t, "DSDT"));
	CHECK_EQ(le(f + ACPI_FADT_X_DSDT, 8), (uint64_t)acpi_find_table(&t, "DSDT"));
	CHECK_EQ(le(f + ACPI_FADT_SCI_INT, 2), 9);
	CHECK_EQ(le(f + ACPI_FADT_SMI_CMD, 4), 0);
	CHECK_EQ(le(f + ACPI_FADT_PM1A_EVT_BLK, 4), 0x600);
	CHECK_EQ(le(f + ACPI_FADT_PM1A_CNT_BLK, 4), 0x604);
	CHECK_EQ(le(f + ACPI_FADT_PM_TMR_BLK, 4), 0x608);
	CHECK_EQ(f[ACPI_FADT_PM1_EVT_LEN], 4);
	CHECK_EQ(f[ACPI_FADT_PM1_CNT_LEN], 2);
	CHECK_EQ(f[ACPI_FADT_PM_TMR_LEN], 4);
	CHECK_EQ(f[ACPI_FADT_CENTURY], 0x32);
	CHECK_EQ(le(f + ACPI_FADT_IAPC_BOOT_ARCH, 2), 3);
	CHECK_EQ(le(f + ACPI_FADT_FLAGS, 4), ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 |
						     ACPI_FADT_SLP_BUTTON | ACPI_FADT_RESET_REG_SUP);
	CHECK_EQ(f[ACPI_FADT_RESET_REG], 1); /* System I/O */
	CHECK_EQ(f[ACPI_FADT_RESET_REG + 1], 8);
	CHECK_EQ(le(f + ACPI_FADT_RESET_REG + 4, 8), 0xcf9);
	CHECK_EQ(f[ACPI_FADT_RESET_VALUE], 6);
	CHECK_EQ(le(f + ACPI_FADT_X_PM1A_EVT_BLK + 4, 8), 0x600);
	CHECK_EQ(f[ACPI_FADT_X_PM1A_EVT_BLK + 1], 32);
	CHECK_EQ(le(f + ACPI_FADT_X_PM1A_CNT_BLK + 4, 8), 0x604);
	CHECK_EQ(le(f + ACPI_FADT_X_PM_TMR_BLK + 4, 8), 0x608);
	acpi_tables_free(&t);
}

static void test_madt_per_cpu_count(void)
{
	static const unsigned counts[] = { 1, 2, 8, 255 };
	for (size_t c = 0; c < ARRAY_SIZE(counts); c++) {
		struct acpi_tables t;
		build(&t, counts[c]);
		const uint8_t *m = table(&t, "APIC");
		uint32_t len = (uint32_t)le(m + 4, 4);
		CHECK_EQ(le(m + 36, 4), 0xFEE00000);
		CHECK_EQ(le(m + 40, 4), 1); /* PCAT_COMPAT */
		unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
		for (uint32_t o = 44; o < len;) {
			uint8_t type = m[o], elen = m[o + 1];
			if (elen < 2 || o + elen > len) {
				CHECK(0);
				break;
			}
			if (type == 0) {
				CHECK_EQ(m[o + 3], lapics); /* APIC IDs 0..n-1 */
				CHECK_EQ(le(m + o + 4, 4), 1);
				lapics++;
			} else if (type == 1) {
				CHECK_EQ(le(m + o + 4, 4), 0xFEC00000);
				ioapics++;
			} else if (type == 2) {
				if (m[o + 3] == 0)
					CHECK_EQ(le(m + o + 4, 4), 2);
				else
					CHECK_EQ(le(m + o + 8, 2), 0xd);
				isos++;
			} else if (type == 4) {
				CHECK_EQ(m[o + 5], 1);
				nmis++;
			}
			o += elen;
		}
		CHECK_EQ(lapics, counts[c]);
		CHECK_EQ(ioapics, 1);
		CHECK_EQ(isos, 5);
		CHECK_EQ(nmis, 1);
		CHECK_EQ(len, 44 + 8 * counts[c] + 12 + 5 * 10 + 6);
		acpi_tables_free(&t);
	}
	struct acpi_config cfg;
	struct acpi_tables t;
	board_acpi_description(&cfg, 0);
	CHECK_EQ(acpi_build(&cfg, &t), -EINVAL);
	board_acpi_description(&cfg, 256);
	CHECK_EQ(acpi_build(&cfg, &t), -EINVAL);
}

/* The HPET table (IA-PC HPET 1.0a §3.2.4) when the board has an HPET. */
static void test_hpet_table(void)
{
	struct acpi_config cfg;
	struct acpi_tables t;
	board_acpi_description(&cfg, 1);
	CHECK_EQ(acpi_build(&cfg, &t), 0);
	CHECK(table(&t, "HPET") == NULL);
	acpi_tables_free(&t);
	cfg.hpet = true;
	cfg.hpet_addr = 0xFED00000;
	cfg.hpet_block_id = 0x8086a201;
	CHECK_EQ(acpi_build(&cfg, &t), 0);
	const uint8_t *h = table(&t, "HPET");
	CHECK(h != NULL);
	if (h) {
		CHECK_EQ(le(h + 4, 4), 56);
		CHECK_EQ(h[8], 1);
		CHECK_EQ(le(h + 36, 4), 0x8086a201);
		CHECK_EQ(h[40], 0); /* system memory */
		CHECK_EQ(le(h + 44, 8), 0xFED00000);
		CHECK_EQ(h[52], 0);
		CHECK_EQ(le(h + 53, 2), 0x80);
		uint8_t sum = 0;
		for (unsigned i = 0; i < 56; i++)
			sum = (uint8_t)(sum + h[i]);
		CHECK_EQ(sum, 0);
	}
	/* Listed in the XSDT as its third entry. */
	const uint8_t *x = table(&t, "XSDT");
	CHECK(x && le(x + 4, 4) == 36 + 3 * 8);
	acpi_tables_free(&t);
}

static void test_relocate(void)
{
	struct acpi_tables t;
	build(&t, 2);
	uint8_t *blob = malloc(t.len);
	uint8_t rsdp[ACPI_RSDP_SIZE];
	const uint64_t base = 0x7ff0000;
	CHECK_EQ(acpi_relocate(&t, base, blob, rsdp), 0);
	CHECK_EQ(acpi_checksum(rsdp, 20), 0);
	CHECK_EQ(acpi_checksum(rsdp, 36), 0);
	CHECK_EQ(le(rsdp + 16, 4), base + (uint64_t)acpi_find_table(&t, "RSDT"));
	CHECK_EQ(le(rsdp + 24, 8), base + (uint64_t)acpi_find_table(&t, "XSDT"));
	for (unsigned i = 0; i < t.ntables; i++)
		if (t.tables[i].checksummed)
			CHECK_EQ(acpi_checksum(blob + t.tables[i].offset, t.tables[i].length), 0);
	const uint8_t *f = blob + acpi_find_table(&t, "FACP");
	CHECK_EQ(le(f + ACPI_FADT_FIRMWARE_CTRL, 4), base);
	CHECK_EQ(le(f + ACPI_FADT_X_FIRMWARE_CTRL, 8), base);
	CHECK_EQ(le(f + ACPI_FADT_DSDT, 4), base + (uint64_t)acpi_find_table(&t, "DSDT"));
	CHECK_EQ(acpi_relocate(&t, 0xffffff00, blob, rsdp), -EINVAL);
	free(blob);
	acpi_tables_free(&t);
}

/* Applies a linker/loader script as SeaBIOS's romfile_loader does. */
static void test_loader_script(void)
{
	struct acpi_tables t;
	uint8_t *tables, *script;
	uint8_t rsdp[ACPI_RSDP_SIZE];
	size_t slen;
	build(&t, 3);
	CHECK_EQ(acpi_build_loader(&t, &tables, rsdp, &script, &slen), 0);
	CHECK_EQ(slen % ACPI_LOADER_ENTRY_SIZE, 0);
	const uint64_t tables_addr = 0x3fff0000, rsdp_addr = 0xf5a00;
	unsigned allocs = 0, ptrs = 0, sums = 0;
	for (size_t o = 0; o < slen; o += ACPI_LOADER_ENTRY_SIZE) {
		const uint8_t *e = script + o;
		const char *f1 = (const char *)e + 4;
		uint8_t *file = strcmp(f1, ACPI_FILE_RSDP) == 0 ? rsdp : tables;
		size_t flen = file == rsdp ? sizeof(rsdp) : t.len;
		switch (le(e, 4)) {
		case ACPI_LOADER_ALLOCATE:
			CHECK_EQ(ptrs + sums, 0); /* allocations come first */
			CHECK_EQ(e[4 + 56 + 4], file == rsdp ? ACPI_LOADER_ZONE_FSEG : ACPI_LOADER_ZONE_HIGH);
			allocs++;
			break;
		case ACPI_LOADER_ADD_POINTER: {
			CHECK_STR((const char *)e + 60, ACPI_FILE_TABLES);
			uint32_t off = (uint32_t)le(e + 116, 4);
			uint8_t size = e[120];
			CHECK(off + size <= flen);
			uint64_t v = le(file + off, size) + tables_addr;
			for (unsigned i = 0; i < size; i++)
				file[off + i] = (uint8_t)(v >> (8 * i));
			ptrs++;
			break;
		}
		case ACPI_LOADER_ADD_CHECKSUM: {
			uint32_t off = (uint32_t)le(e + 60, 4), start = (uint32_t)le(e + 64, 4),
				 len = (uint32_t)le(e + 68, 4);
			CHECK(start + len <= flen && off < flen);
			CHECK_EQ(file[off], 0); /* zeroed for OVMF, which stores rather than adds */
			file[off] = (uint8_t)(file[off] - acpi_checksum(file + start, len));
			sums++;
			break;
		}
		default:
			CHECK(0);
		}
	}
	CHECK_EQ(allocs, 2);
	CHECK_EQ(ptrs, t.npointers);
	CHECK_EQ(sums, 5 + 2);
	/* The result equals a direct relocation to the same address. */
	uint8_t *want = malloc(t.len);
	uint8_t want_rsdp[ACPI_RSDP_SIZE];
	CHECK_EQ(acpi_relocate(&t, tables_addr, want, want_rsdp), 0);
	CHECK(memcmp(want, tables, t.len) == 0);
	CHECK(memcmp(want_rsdp, rsdp, sizeof(rsdp)) == 0);
	(void)rsdp_addr;
	free(want);
	free(tables);
	free(script);
	acpi_tables_free(&t);
}

static void test_aml_encodings(void)
{
	CHECK_EQ(acpi_eisaid("PNP0A03"), 0x030AD041);
	CHECK_EQ(acpi_eisaid("PNP0501"), 0x0105D041);
	struct acpi_config cfg;
	uint8_t *aml;
	size_t len;
	board_acpi_description(&cfg, 2);
	CHECK_EQ(acpi_build_dsdt_aml(&cfg, &aml, &len), 0);
	/* Name (\_S5_, Package (4) { 0, 0, 0, 0 }) */
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0 };
	CHECK(len > sizeof(s5) && memcmp(aml, s5, sizeof(s5)) == 0);
	/* Scope (\_SB_) follows, its 2-byte PkgLength covering the rest. */
	CHECK_EQ(aml[sizeof(s5)], 0x10);
	uint8_t lead = aml[sizeof(s5) + 1];
	CHECK_EQ(lead >> 6, 1);
	size_t pkglen = (lead & 0xf) | (size_t)aml[sizeof(s5) + 2] << 4;
	CHECK_EQ(pkglen, len - sizeof(s5) - 1);
	free(aml);
}

static int run_quiet(char *const argv[], const char *dir)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(127);
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static void test_iasl_disassembles(void)
{
	char *check_argv[] = { "iasl", "-v", NULL };
	if (run_quiet(check_argv, "/") != 0)
		SKIP("iasl (acpica-tools) not installed");
	char dir[] = "/tmp/x86v-acpi-XXXXXX";
	if (!mkdtemp(dir))
		SKIP("cannot create a temporary directory");
	struct acpi_tables t;
	build(&t, 4);
	uint8_t *blob = malloc(t.len);
	uint8_t rsdp[ACPI_RSDP_SIZE];
	CHECK_EQ(acpi_relocate(&t, 0x7fe0000, blob, rsdp), 0);
	static const char *sigs[] = { "DSDT", "FACP", "APIC", "FACS", "RSDT", "XSDT" };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		char path[128], out[128];
		long off = acpi_find_table(&t, sigs[i]);
		const struct acpi_table_ref *r = NULL;
		for (unsigned k = 0; k < t.ntables; k++)
			if ((long)t.tables[k].offset == off)
				r = &t.tables[k];
		snprintf(path, sizeof(path), "%s/%s.dat", dir, sigs[i]);
		CHECK(r && write_file(path, blob + off, r->length));
		char *argv[] = { "iasl", "-d", path, NULL };
		int rc = run_quiet(argv, dir);
		if (rc != 0)
			printf("# iasl -d %s exited %d\n", sigs[i], rc);
		CHECK_EQ(rc, 0);
		snprintf(out, sizeof(out), "%s/%s.dsl", dir, sigs[i]);
		struct stat st;
		CHECK(stat(out, &st) == 0 && st.st_size > 0);
		/* The disassembler notes problems inside the .dsl; none expected. */
		FILE *f = fopen(out, "r");
		char line[512];
		while (f && fgets(line, sizeof(line), f)) {
			if (strstr(line, "Error") || strstr(line, "Invalid") ||
			    strstr(line, "Incorrect")) {
				printf("# %s: %s", sigs[i], line);
				CHECK(0);
			}
		}
		if (f)
			fclose(f);
		unlink(out);
		unlink(path);
	}
	/* Compile the DSDT back: the AML must round-trip without errors. */
	char path[128];
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	long off = acpi_find_table(&t, "DSDT");
	CHECK(write_file(path, blob + off, le(blob + off + 4, 4)));
	char *dis[] = { "iasl", "-d", "dsdt.dat", NULL };
	CHECK_EQ(run_quiet(dis, dir), 0);
	char *comp[] = { "iasl", "-p", "recompiled", "dsdt.dsl", NULL };
	CHECK_EQ(run_quiet(comp, dir), 0);
	char cleanup[160];
	snprintf(cleanup, sizeof(cleanup), "rm -rf '%s'", dir);
	if (system(cleanup) != 0)
		printf("# could not remove %s\n", dir);
	free(blob);
	acpi_tables_free(&t);
}

/* --- PM registers --- */

struct pm_rig {
	struct vclock clock;
	int sci;
	unsigned poweroffs;
	struct irq_line irq;
	struct acpi_pm *pm;
};

static void pm_sci(void *opaque, unsigned line, int level)
{
	(void)line;
	((struct pm_rig *)opaque)->sci = level;
}

static void pm_poweroff(void *opaque)
{
	((struct pm_rig *)opaque)->poweroffs++;
}

static void pm_init(struct pm_rig *r)
{
	memset(r, 0, sizeof(*r));
	vclock_init(&r->clock);
	vclock_pause(&r->clock);
	r->irq = (struct irq_line){ pm_sci, r, 9 };
	r->pm = acpi_pm_create(&r->clock, &r->irq, pm_poweroff, r);
	if (!r->pm)
		abort();
}

static void pm_fini(struct pm_rig *r)
{
	acpi_pm_destroy(r->pm);
	vclock_destroy(&r->clock);
}

/* Moves virtual time forward while paused, firing timers on the way. */
static void pm_advance(struct pm_rig *r, int64_t ns)
{
	int64_t target = vclock_now(&r->clock) + ns;
	r->clock.paused_at = target;
	vclock_run_expired(&r->clock, target);
}

static uint64_t pm_rd(struct pm_rig *r, unsigned off, unsigned size)
{
	return acpi_pm_bus_ops.read(r->pm, off, size);
}

static void pm_wr(struct pm_rig *r, unsigned off, unsigned size, uint64_t v)
{
	acpi_pm_bus_ops.write(r->pm, off, v, size);
}

static void test_pm_timer(void)
{
	struct pm_rig r;
	pm_init(&r);
	uint32_t t0 = (uint32_t)pm_rd(&r, ACPI_PM_TMR, 4);
	pm_advance(&r, 1000000); /* 1 ms = 3579.545 ticks */
	uint32_t t1 = (uint32_t)pm_rd(&r, ACPI_PM_TMR, 4);
	uint32_t d = (t1 - t0) & 0xffffff;
	CHECK(d >= 3579 && d <= 3580);
	CHECK_EQ(t1 >> 24, 0);
	pm_wr(&r, ACPI_PM_TMR, 4, 0);
	CHECK_EQ((uint32_t)pm_rd(&r, ACPI_PM_TMR, 4), t1); /* read-only */
	CHECK_EQ(pm_rd(&r, ACPI_PM_TMR + 1, 2), (t1 >> 8) & 0xffff);
	/* TMR_STS on bit-23 flips; with TMR_EN and SCI_EN it raises the SCI. */
	CHECK_EQ(pm_rd(&r, ACPI_PM1_STS, 2) & ACPI_PM1_TMR_STS, 0);
	pm_wr(&r, ACPI_PM1_EN, 2, ACPI_PM1_TMR_EN);
	CHECK(vclock_next_deadline(&r.clock) != VCLOCK_NEVER);
	pm_advance(&r, 2400000000LL); /* 2^23 ticks = 2.34 s */
	CHECK_EQ(r.sci, 1);
	CHECK_EQ(pm_rd(&r, ACPI_PM1_STS, 2) & ACPI_PM1_TMR_STS, ACPI_PM1_TMR_STS);
	pm_wr(&r, ACPI_PM1_STS, 2, ACPI_PM1_TMR_STS);
	CHECK_EQ(pm_rd(&r, ACPI_PM1_STS, 2) & ACPI_PM1_TMR_STS, 0);
	CHECK_EQ(r.sci, 0);
	pm_wr(&r, ACPI_PM1_EN, 2, 0);
	CHECK_EQ(vclock_next_deadline(&r.clock), VCLOCK_NEVER);
	pm_fini(&r);
}

static void test_pm1_events_and_s5(void)
{
	struct pm_rig r;
	pm_init(&r);
	CHECK_EQ(pm_rd(&r, ACPI_PM1_CNT, 2), ACPI_PM1_SCI_EN);
	CHECK_EQ(pm_rd(&r, ACPI_PM1_EN, 2), 0);
	acpi_pm_power_button(r.pm);
	CHECK_EQ(r.sci, 0); /* not enabled */
	CHECK_EQ(pm_rd(&r, ACPI_PM1_STS, 2) & ACPI_PM1_PWRBTN_STS, ACPI_PM1_PWRBTN_STS);
	pm_wr(&r, ACPI_PM1_EN + 1, 1, ACPI_PM1_PWRBTN_EN >> 8); /* byte write to the high half */
	CHECK_EQ(pm_rd(&r, ACPI_PM1_EN, 2), ACPI_PM1_PWRBTN_EN);
	CHECK_EQ(r.sci, 1);
	pm_wr(&r, ACPI_PM1_CNT, 2, 0); /* SCI_EN off masks it */
	CHECK_EQ(r.sci, 0);
	pm_wr(&r, ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN);
	CHECK_EQ(r.sci, 1);
	pm_wr(&r, ACPI_PM1_STS, 2, 0); /* writing 0 clears nothing */
	CHECK_EQ(r.sci, 1);
	pm_wr(&r, ACPI_PM1_STS, 4, ACPI_PM1_PWRBTN_STS | (uint32_t)ACPI_PM1_PWRBTN_EN << 16);
	CHECK_EQ(r.sci, 0);
	CHECK_EQ(pm_rd(&r, ACPI_PM1_STS, 4), (uint32_t)ACPI_PM1_PWRBTN_EN << 16);
	/* Other sleep types are ignored; S5 powers off; SLP_EN reads 0. */
	pm_wr(&r, ACPI_PM1_CNT, 2, ACPI_PM1_SCI_EN | 1 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
	CHECK_EQ(r.poweroffs, 0);
	CHECK_EQ(pm_rd(&r, ACPI_PM1_CNT, 2), ACPI_PM1_SCI_EN | 1 << ACPI_PM1_SLP_TYP_SHIFT);
	pm_wr(&r, ACPI_PM1_CNT, 2,
	      ACPI_PM1_SCI_EN | ACPI_PM_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
	CHECK_EQ(r.poweroffs, 1);
	/* Reset restores everything and drops the SCI. */
	acpi_pm_power_button(r.pm);
	CHECK_EQ(r.sci, 1);
	acpi_pm_reset(r.pm);
	CHECK_EQ(r.sci, 0);
	CHECK_EQ(pm_rd(&r, ACPI_PM1_STS, 4), 0);
	/* Garbage: every offset and size, nothing breaks. */
	for (unsigned i = 0; i < 20000; i++) {
		unsigned off = (i * 7) % ACPI_PM_REGION_SIZE, size = 1u << (i % 3);
		if (off + size > ACPI_PM_REGION_SIZE)
			size = 1;
		if (i & 1)
			pm_wr(&r, off, size, i * 0x9e3779b9u);
		else
			(void)pm_rd(&r, off, size);
	}
	pm_fini(&r);
}

CHECK_MAIN(TEST_CASE(test_checksums_and_lengths), TEST_CASE(test_fadt_fields),
	   TEST_CASE(test_madt_per_cpu_count), TEST_CASE(test_hpet_table), TEST_CASE(test_relocate),
	   TEST_CASE(test_loader_script), TEST_CASE(test_aml_encodings),
	   TEST_CASE(test_iasl_disassembles), TEST_CASE(test_pm_timer),
	   TEST_CASE(test_pm1_events_and_s5))
