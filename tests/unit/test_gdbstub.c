/* SPDX-License-Identifier: MIT */
/*
 * The GDB stub's pure pieces: checksums, hex and binary decoding, address
 * parsing, thread ids and vCont actions, the register layouts and their
 * target descriptions, and the read-only page walker the stub reads virtual
 * memory through.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "core/gdb_regs.h"
#include "core/gdbstub.h"
#include "core/trace.h"
#include "cpu/x86_translate.h"

static void test_checksum_and_hex(void)
{
	CHECK_EQ(gdb_checksum("g", 1), 0x67);
	CHECK_EQ(gdb_checksum("qSupported", 10), 0x37);
	CHECK_EQ(gdb_checksum("", 0), 0);
	uint8_t b[4];
	CHECK_EQ(gdb_hex_decode("0aFf", 4, b, sizeof(b)), 0);
	CHECK_EQ(b[0], 0x0a);
	CHECK_EQ(b[1], 0xff);
	CHECK_EQ(gdb_hex_decode("0a0", 3, b, sizeof(b)), -EINVAL);
	CHECK_EQ(gdb_hex_decode("zz", 2, b, sizeof(b)), -EINVAL);
	CHECK_EQ(gdb_hex_decode("0011223344", 10, b, sizeof(b)), -EINVAL); /* longer than out */
	uint8_t esc[] = { 'a', '}', 0x03, 'b' };
	CHECK_EQ(gdb_unescape(esc, sizeof(esc)), 3);
	CHECK_EQ(esc[1], 0x23);
	uint8_t bad[] = { 'a', '}' };
	CHECK_EQ(gdb_unescape(bad, sizeof(bad)), -EINVAL);
}

static void test_address(void)
{
	char host[64], why[256];
	uint16_t port;
	CHECK_EQ(gdb_parse_address("tcp:1234", false, host, sizeof(host), &port, why, sizeof(why)), 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_EQ(port, 1234);
	CHECK_EQ(gdb_parse_address("tcp:localhost:0", false, host, sizeof(host), &port, why, sizeof(why)), 0);
	CHECK_EQ(port, 0);
	CHECK_EQ(gdb_parse_address("tcp:127.1.2.3:5", false, host, sizeof(host), &port, why, sizeof(why)), 0);
	CHECK_EQ(gdb_parse_address("tcp:10.0.0.1:5", false, host, sizeof(host), &port, why, sizeof(why)), -EINVAL);
	CHECK_EQ(gdb_parse_address("tcp:10.0.0.1:5", true, host, sizeof(host), &port, why, sizeof(why)), 0);
	CHECK_EQ(gdb_parse_address("tcp:1:2:3", false, host, sizeof(host), &port, why, sizeof(why)), -EINVAL);
	CHECK_EQ(gdb_parse_address("tcp:", false, host, sizeof(host), &port, why, sizeof(why)), -EINVAL);
	CHECK_EQ(gdb_parse_address("tcp:-1", false, host, sizeof(host), &port, why, sizeof(why)), -EINVAL);
}

static void test_registers(void)
{
	struct x86_cpu_state s;
	x86_state_flat32(&s);
	s.gpr[X86_RCX] = 0x1122334455667788ULL;
	s.rip = 0x100010;
	uint8_t v[16];
	/* i386 layout: ecx is register 1, eip 8; a write keeps the upper half. */
	gdb_reg_read(GDB_ARCH_I386, &s, 1, v);
	CHECK_EQ(v[0], 0x88);
	CHECK_EQ(v[3], 0x55);
	CHECK_EQ(gdb_reg_size(GDB_ARCH_I386, 1), 4);
	CHECK_EQ(gdb_reg_pc(GDB_ARCH_I386), 8);
	uint8_t w[4] = { 0xcd, 0xab, 0x34, 0x12 };
	gdb_reg_write(GDB_ARCH_I386, &s, 1, w);
	CHECK_EQ(s.gpr[X86_RCX], 0x112233441234abcdULL);
	gdb_reg_read(GDB_ARCH_AMD64, &s, gdb_reg_pc(GDB_ARCH_AMD64), v);
	CHECK_EQ(v[0], 0x10);
	CHECK_EQ(v[2], 0x10);
	CHECK_EQ(gdb_arch_for(&s), GDB_ARCH_I386);
	s.efer |= EFER_LMA;
	CHECK_EQ(gdb_arch_for(&s), GDB_ARCH_AMD64);
	/* Every register appears in the description, which is complete XML. */
	for (int a = 0; a < 2; a++) {
		const char *xml = gdb_target_xml((enum gdb_arch)a);
		CHECK(strstr(xml, "</target>") != NULL);
		CHECK(strstr(xml, "org.gnu.gdb.i386.core") != NULL);
		CHECK(strstr(xml, "org.gnu.gdb.i386.sse") != NULL);
		CHECK(strstr(xml, a ? "i386:x86-64" : "<architecture>i386<") != NULL);
		CHECK(strstr(xml, "name=\"efer\"") != NULL);
	}
}

static void test_translate(void)
{
	struct guest_ram ram = { .fd = -1 };
	if (ram_init(&ram, 4 * MiB) < 0) {
		check_skip_reason = "cannot allocate guest RAM";
		return;
	}
	struct x86_cpu_state s;
	x86_state_flat32(&s);
	uint64_t gpa;
	CHECK_EQ(x86_translate(&s, &ram, 0x1234, &gpa), 0);
	CHECK_EQ(gpa, 0x1234);
	/* 4-level paging: PML4 at 0x10000 -> PDPT 0x11000 -> PD 0x12000, one 2 MiB
	 * page at linear 0x40000000 -> 0x200000, and a 4 KiB page at 0x40200000. */
	uint64_t *pml4 = ram_ptr(&ram, 0x10000, 4096), *pdpt = ram_ptr(&ram, 0x11000, 4096);
	uint64_t *pd = ram_ptr(&ram, 0x12000, 4096), *pt = ram_ptr(&ram, 0x13000, 4096);
	pml4[0] = 0x11000 | 3;
	pdpt[1] = 0x12000 | 3;
	pd[0] = 0x200000 | 0x83;
	pd[1] = 0x13000 | 3;
	pt[5] = 0x3ff000 | 3;
	s.cr0 |= CR0_PG;
	s.cr4 |= CR4_PAE;
	s.efer |= EFER_LME | EFER_LMA;
	s.cr3 = 0x10000;
	CHECK_EQ(x86_translate(&s, &ram, 0x40000123, &gpa), 0);
	CHECK_EQ(gpa, 0x200123);
	CHECK_EQ(x86_translate(&s, &ram, 0x40205abc, &gpa), 0);
	CHECK_EQ(gpa, 0x3ffabc);
	CHECK_EQ(x86_translate(&s, &ram, 0x40206000, &gpa), -EFAULT);
	CHECK_EQ(x86_translate(&s, &ram, 0x7fff00000000ULL, &gpa), -EFAULT);
	uint8_t *page = ram_ptr(&ram, 0x3ff000, 4096);
	page[0xabc] = 0x5a;
	uint8_t buf[2];
	CHECK_EQ(x86_read_linear(&s, &ram, 0x40205abc, buf, 1), 1);
	CHECK_EQ(buf[0], 0x5a);
	CHECK_EQ(x86_read_linear(&s, &ram, 0x40205fff, buf, 2), 1); /* next page unmapped */
	ram_destroy(&ram);
}

static void test_threads(void)
{
	const char *p;
	int tid;
	p = "2";
	CHECK_EQ(gdb_parse_thread(&p, 2, &tid), 0);
	CHECK_EQ(tid, 2);
	CHECK_EQ(*p, '\0');
	p = "-1;";
	CHECK_EQ(gdb_parse_thread(&p, 2, &tid), 0);
	CHECK_EQ(tid, -1);
	CHECK_EQ(*p, ';');
	p = "0";
	CHECK_EQ(gdb_parse_thread(&p, 1, &tid), 0);
	CHECK_EQ(tid, 0);
	p = "a";
	CHECK_EQ(gdb_parse_thread(&p, 10, &tid), 0);
	CHECK_EQ(tid, 10);
	p = "3";
	CHECK_EQ(gdb_parse_thread(&p, 2, &tid), -EINVAL); /* no such thread */
	p = "";
	CHECK_EQ(gdb_parse_thread(&p, 2, &tid), -EINVAL);
	p = "-2";
	CHECK_EQ(gdb_parse_thread(&p, 2, &tid), -EINVAL);
	p = "11111111111111111";
	CHECK_EQ(gdb_parse_thread(&p, 64, &tid), -EINVAL);

	enum gdb_resume how[4];
	CHECK_EQ(gdb_parse_vcont(";c", 3, 0, how), 0);
	CHECK(how[0] == GDB_RESUME_CONTINUE && how[1] == GDB_RESUME_CONTINUE && how[2] == GDB_RESUME_CONTINUE);
	CHECK_EQ(gdb_parse_vcont(";s:2;c", 3, 0, how), 0); /* step 2, the others run */
	CHECK(how[0] == GDB_RESUME_CONTINUE && how[1] == GDB_RESUME_STEP && how[2] == GDB_RESUME_CONTINUE);
	CHECK_EQ(gdb_parse_vcont(";s:2", 3, 0, how), 0); /* step 2, the others stay stopped */
	CHECK(how[0] == GDB_RESUME_NONE && how[1] == GDB_RESUME_STEP && how[2] == GDB_RESUME_NONE);
	CHECK_EQ(gdb_parse_vcont(";S05:1;C1f:-1", 2, 0, how), 0); /* signals ignored; -1: all */
	CHECK(how[0] == GDB_RESUME_STEP && how[1] == GDB_RESUME_CONTINUE);
	CHECK_EQ(gdb_parse_vcont(";c:1;s:1", 2, 0, how), 0); /* the first action naming a thread wins */
	CHECK(how[0] == GDB_RESUME_CONTINUE && how[1] == GDB_RESUME_NONE);
	CHECK_EQ(gdb_parse_vcont(";s:0", 2, 1, how), 0); /* 0: any, the current thread */
	CHECK(how[0] == GDB_RESUME_NONE && how[1] == GDB_RESUME_STEP);
	CHECK_EQ(gdb_parse_vcont(";s:1", 1, 0, how), 0);
	CHECK(how[0] == GDB_RESUME_STEP);
	CHECK_EQ(gdb_parse_vcont("", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";c:3", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";t", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";r1,2", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";C", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";C100", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";c:", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";c;", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";cx", 2, 0, how), -EINVAL);
	CHECK_EQ(gdb_parse_vcont(";c", 2, 2, how), -EINVAL); /* any out of range */
}

static void test_trace_range(void)
{
	uint64_t a, b;
	CHECK_EQ(trace_parse_range("f0000-fffff", &a, &b), 0);
	CHECK_EQ(a, 0xf0000);
	CHECK_EQ(b, 0xfffff);
	CHECK_EQ(trace_parse_range("0x10-0x20", &a, &b), 0);
	CHECK_EQ(trace_parse_range("20-10", &a, &b), -EINVAL);
	CHECK_EQ(trace_parse_range("10", &a, &b), -EINVAL);
	CHECK_EQ(trace_parse_range("10-", &a, &b), -EINVAL);
	CHECK_EQ(trace_parse_range("-10", &a, &b), -EINVAL);
	CHECK_EQ(trace_parse_range("1x-2", &a, &b), -EINVAL);
}

CHECK_MAIN(TEST_CASE(test_checksum_and_hex), TEST_CASE(test_address), TEST_CASE(test_registers),
	   TEST_CASE(test_translate), TEST_CASE(test_threads), TEST_CASE(test_trace_range))
