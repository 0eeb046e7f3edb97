/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 loading: ELF32 and a.out-kludge kernels built in memory, the
 * exact boot information a guest sees, module placement, and every malformed
 * image giving a one-line error with guest memory untouched.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/e820.h"
#include "boot/multiboot.h"
#include "check.h"

#define IMG_MAX (64 * 1024)
#define HDR_OFF 0x100 /* where test images put the Multiboot header */
#define SEG_OFF 0x1000 /* file offset of segment i is SEG_OFF + i * 0x1000 */

struct tseg {
	uint32_t type, paddr, vaddr, filesz, memsz;
};

static uint8_t img[IMG_MAX];

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t rd32(const struct guest_ram *ram, uint64_t gpa)
{
	uint32_t v = 0;
	if (ram_read(ram, gpa, &v, 4) < 0)
		return 0xdeadbeef;
	return v;
}

static void put_mb_header(uint8_t *p, uint32_t flags)
{
	put32(p, MULTIBOOT_HEADER_MAGIC);
	put32(p + 4, flags);
	put32(p + 8, -(MULTIBOOT_HEADER_MAGIC + flags));
}

/* Builds an ELF32 kernel; segment i's file bytes are (i + 1) * 0x11 ^ offset. Returns its size. */
static size_t mk_elf(const struct tseg *segs, unsigned n, uint32_t entry, uint32_t mb_flags)
{
	memset(img, 0, sizeof(img));
	Elf32_Ehdr eh = {
		.e_type = ET_EXEC,
		.e_machine = EM_386,
		.e_version = EV_CURRENT,
		.e_entry = entry,
		.e_phoff = sizeof(Elf32_Ehdr),
		.e_ehsize = sizeof(Elf32_Ehdr),
		.e_phentsize = sizeof(Elf32_Phdr),
		.e_phnum = (uint16_t)n,
	};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &eh, sizeof(eh));
	size_t end = SEG_OFF;
	for (unsigned i = 0; i < n; i++) {
		Elf32_Phdr ph = {
			.p_type = segs[i].type,
			.p_offset = SEG_OFF + i * 0x1000,
			.p_vaddr = segs[i].vaddr,
			.p_paddr = segs[i].paddr,
			.p_filesz = segs[i].filesz,
			.p_memsz = segs[i].memsz,
			.p_flags = PF_R | PF_X,
			.p_align = 0x1000,
		};
		memcpy(img + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		for (uint32_t j = 0; j < segs[i].filesz && ph.p_offset + j < IMG_MAX; j++)
			img[ph.p_offset + j] = (uint8_t)(((i + 1) * 0x11) ^ j);
		if (ph.p_offset + segs[i].filesz > end)
			end = ph.p_offset + segs[i].filesz;
	}
	put_mb_header(img + HDR_OFF, mb_flags);
	return end < IMG_MAX ? end : IMG_MAX;
}

/* The usual kernel: code+data at 1 MiB (0x300 bytes in the file, 0x2000 in memory). */
static size_t mk_kernel(void)
{
	struct tseg s = { PT_LOAD, 0x100000, 0x100000, 0x300, 0x2000 };
	return mk_elf(&s, 1, 0x100010, MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO);
}

static void fill(struct guest_ram *ram, uint64_t gpa, uint64_t len, int byte)
{
	memset(ram_ptr_rw(ram, gpa, len), byte, len);
}

static void check_entry_state(const struct x86_cpu_state *cpu, uint32_t entry)
{
	CHECK_EQ(cpu->gpr[X86_RAX], MULTIBOOT_BOOTLOADER_MAGIC);
	CHECK_EQ(cpu->gpr[X86_RBX], MULTIBOOT_INFO_ADDR);
	CHECK_EQ(cpu->rip, entry);
	CHECK(cpu->cr0 & CR0_PE);
	CHECK_EQ(cpu->cr0 & CR0_PG, 0);
	CHECK_EQ(cpu->rflags & (RFLAGS_IF | RFLAGS_VM), 0);
	CHECK_EQ(cpu->seg[X86_CS].selector, 0x10);
	CHECK_EQ(cpu->seg[X86_CS].base, 0);
	CHECK_EQ(cpu->seg[X86_CS].limit, 0xffffffff);
	CHECK(cpu->seg[X86_CS].attr & SEG_TYPE_CODE);
	CHECK(cpu->seg[X86_CS].attr & SEG_ATTR_DB);
	for (int s = 0; s < X86_NR_SREGS; s++) {
		if (s == X86_CS)
			continue;
		CHECK_EQ(cpu->seg[s].selector, 0x18);
		CHECK_EQ(cpu->seg[s].base, 0);
		CHECK_EQ(cpu->seg[s].limit, 0xffffffff);
		CHECK(!(cpu->seg[s].attr & SEG_TYPE_CODE));
		CHECK(cpu->seg[s].attr & SEG_TYPE_DATA_RW);
	}
	CHECK_STR(x86_state_mode(cpu), "prot32");
}

static void check_mmap(const struct guest_ram *ram, unsigned i, uint64_t addr, uint64_t len,
		       uint32_t type)
{
	struct multiboot_mmap_entry e;
	CHECK_EQ(ram_read(ram, MULTIBOOT_MMAP_ADDR + 24 * i, &e, sizeof(e)), 0);
	CHECK_EQ(e.size, 20);
	CHECK_EQ(e.addr, addr);
	CHECK_EQ(e.len, len);
	CHECK_EQ(e.type, type);
}

static const char *guest_str(const struct guest_ram *ram, uint32_t gpa)
{
	return ram_ptr(ram, gpa, 1);
}

static void test_elf_64m(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	fill(&ram, 0, 2 * MiB, 0xaa); /* BSS and the info area must be cleared */
	size_t size = mk_kernel();
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "k.elf", img, size, "console=ttyS0 quiet", NULL, 0, NULL,
				      &cpu, why, sizeof(why)),
		 0);
	CHECK_STR(why, "");
	check_entry_state(&cpu, 0x100010);

	const uint8_t *k = ram_ptr(&ram, 0x100000, 0x2000);
	CHECK(k && memcmp(k, img + SEG_OFF, 0x300) == 0);
	for (unsigned i = 0x300; k && i < 0x2000; i++)
		if (k[i] != 0) {
			CHECK_EQ(k[i], 0);
			break;
		}
	CHECK_EQ(k[0x2000], 0xaa); /* nothing past p_memsz */

	struct multiboot_info mi;
	CHECK_EQ(ram_read(&ram, MULTIBOOT_INFO_ADDR, &mi, sizeof(mi)), 0);
	CHECK_EQ(mi.flags, 0x24D);
	CHECK_EQ(mi.mem_lower, 639);
	CHECK_EQ(mi.mem_upper, 64512);
	CHECK_EQ(mi.boot_device, 0);
	CHECK_EQ(mi.cmdline, 0xB000);
	CHECK_STR(guest_str(&ram, mi.cmdline), "k.elf console=ttyS0 quiet"); /* the path first, as GRUB does */
	CHECK_EQ(mi.mods_count, 0);
	CHECK_EQ(mi.mods_addr, 0x9100);
	CHECK_EQ(mi.mmap_addr, 0x9400);
	CHECK_EQ(mi.mmap_length, 4 * 24);
	check_mmap(&ram, 0, 0, 0x9FC00, 1);
	check_mmap(&ram, 1, 0x9FC00, 0x400, 2);
	check_mmap(&ram, 2, 0xF0000, 0x10000, 2);
	check_mmap(&ram, 3, 0x100000, 0x3F00000, 1);
	CHECK_EQ(rd32(&ram, MULTIBOOT_MMAP_ADDR + 4 * 24), 0); /* nothing after the map */
	CHECK_EQ(mi.boot_loader_name, 0x9200);
	CHECK_STR(guest_str(&ram, mi.boot_loader_name), "x86v");
	/* Raw offsets as a guest reads them (§3.3). */
	CHECK_EQ(rd32(&ram, 0x9000 + 44), 96);
	CHECK_EQ(rd32(&ram, 0x9000 + 48), 0x9400);
	CHECK_EQ(rd32(&ram, 0x9000 + 64), 0x9200);
	CHECK_EQ(rd32(&ram, 0x9000 + 88), 0);
	ram_destroy(&ram);
}

static void test_elf_high_ram(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 4 * GiB + 64 * MiB), 0);
	size_t size = mk_kernel();
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "k.elf", img, size, NULL, NULL, 0, NULL, &cpu, why,
				      sizeof(why)),
		 0);
	struct multiboot_info mi;
	CHECK_EQ(ram_read(&ram, MULTIBOOT_INFO_ADDR, &mi, sizeof(mi)), 0);
	CHECK_EQ(mi.mem_lower, 639);
	CHECK_EQ(mi.mem_upper, (3 * GiB - MiB) / KiB);
	CHECK_EQ(mi.mmap_length, 5 * 24);
	check_mmap(&ram, 3, 0x100000, 3 * GiB - MiB, 1);
	check_mmap(&ram, 4, 4 * GiB, GiB + 64 * MiB, 1);
	CHECK_STR(guest_str(&ram, mi.cmdline), "k.elf");
	CHECK(mi.flags & MULTIBOOT_INFO_CMDLINE);
	ram_destroy(&ram);
}

static void test_module(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	/* Kernel ends at 0x101234: the module goes to the next page. */
	struct tseg s = { PT_LOAD, 0x100000, 0x100000, 0x200, 0x1234 };
	size_t size = mk_elf(&s, 1, 0x100000, MULTIBOOT_PAGE_ALIGN);
	uint8_t mod[5000];
	for (unsigned i = 0; i < sizeof(mod); i++)
		mod[i] = (uint8_t)(i * 7);
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "k.elf", img, size, "a", mod, sizeof(mod),
				      "/boot/initrd.img", &cpu, why, sizeof(why)),
		 0);
	struct multiboot_info mi;
	CHECK_EQ(ram_read(&ram, MULTIBOOT_INFO_ADDR, &mi, sizeof(mi)), 0);
	CHECK_EQ(mi.mods_count, 1);
	struct multiboot_mod_list ml;
	CHECK_EQ(ram_read(&ram, mi.mods_addr, &ml, sizeof(ml)), 0);
	CHECK_EQ(ml.mod_start, 0x102000);
	CHECK_EQ(ml.mod_end, 0x102000 + sizeof(mod));
	CHECK_EQ(ml.string, 0xA000);
	CHECK_EQ(ml.reserved, 0);
	CHECK_STR(guest_str(&ram, ml.string), "/boot/initrd.img");
	const uint8_t *m = ram_ptr(&ram, ml.mod_start, sizeof(mod));
	CHECK(m && memcmp(m, mod, sizeof(mod)) == 0);
	ram_destroy(&ram);
}

static void test_module_empty_and_low_kernel(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	/* A kernel below the info area: the module still goes to 1 MiB, not into low memory. */
	struct tseg s = { PT_LOAD, 0x2000, 0x2000, 0x100, 0x100 };
	size_t size = mk_elf(&s, 1, 0x2000, 0);
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "k.elf", img, size, NULL, NULL, 0, "empty", &cpu, why,
				      sizeof(why)),
		 0);
	CHECK_EQ(rd32(&ram, 0x9000 + 20), 1);
	CHECK_EQ(rd32(&ram, 0x9100), 0x100000);
	CHECK_EQ(rd32(&ram, 0x9104), 0x100000);
	CHECK_STR(guest_str(&ram, 0xA000), "empty");
	ram_destroy(&ram);
}

static void test_higher_half_entry(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	struct tseg s[3] = {
		{ PT_NOTE, 0, 0, 0x10, 0x10 },
		{ PT_LOAD, 0x100000, 0xC0100000, 0x100, 0x1000 },
		{ PT_LOAD, 0x200000, 0xC0200000, 0x80, 0x80 },
	};
	size_t size = mk_elf(s, 3, 0xC0200020, 0);
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "k.elf", img, size, NULL, NULL, 0, NULL, &cpu, why,
				      sizeof(why)),
		 0);
	CHECK_EQ(cpu.rip, 0x200020);
	const uint8_t *p = ram_ptr(&ram, 0x200000, 0x80);
	CHECK(p && memcmp(p, img + SEG_OFF + 0x2000, 0x80) == 0);
	ram_destroy(&ram);
}

/* A flat binary with the kludge: header at file offset 0x100 describes load at 1 MiB. */
static size_t mk_aout(uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	memset(img, 0, sizeof(img));
	for (unsigned i = 0; i < 0x2000; i++)
		img[i] = (uint8_t)(i ^ 0x3c);
	uint8_t *h = img + HDR_OFF;
	put_mb_header(h, MULTIBOOT_AOUT_KLUDGE | MULTIBOOT_MEMORY_INFO);
	put32(h + 12, 0x100000 + HDR_OFF); /* header_addr */
	put32(h + 16, 0x100000); /* load_addr */
	put32(h + 20, load_end);
	put32(h + 24, bss_end);
	put32(h + 28, entry);
	return 0x2000;
}

static void test_aout_kludge(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	fill(&ram, 0x100000, 0x4000, 0xaa);
	size_t size = mk_aout(0x101800, 0x103000, 0x100200);
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "k.bin", img, size, "x", NULL, 0, NULL, &cpu, why,
				      sizeof(why)),
		 0);
	check_entry_state(&cpu, 0x100200);
	const uint8_t *p = ram_ptr(&ram, 0x100000, 0x3001);
	CHECK(p && memcmp(p, img, 0x1800) == 0);
	CHECK(p && p[0x1800] == 0 && p[0x2fff] == 0 && p[0x3000] == 0xaa);

	/* load_end_addr 0: the rest of the file; bss_end_addr 0: no BSS. */
	size = mk_aout(0, 0, 0x100000);
	CHECK_EQ(multiboot_load_image(&ram, "k.bin", img, size, "x", NULL, 0, NULL, &cpu, why,
				      sizeof(why)),
		 0);
	p = ram_ptr(&ram, 0x100000, 0x2000);
	CHECK(p && memcmp(p, img, 0x2000) == 0);
	ram_destroy(&ram);
}

static void test_video_flag_accepted(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	struct tseg s = { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100 };
	size_t size = mk_elf(&s, 1, 0x100000, MULTIBOOT_VIDEO_MODE | MULTIBOOT_MEMORY_INFO);
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "k", img, size, NULL, NULL, 0, NULL, &cpu, why,
				      sizeof(why)),
		 0);
	CHECK_EQ(rd32(&ram, 0x9000) & MULTIBOOT_INFO_VBE_INFO, 0);
	ram_destroy(&ram);
}

static void test_probe(void)
{
	size_t size = mk_kernel();
	CHECK(multiboot_probe(img, size));
	CHECK(!multiboot_probe(img, HDR_OFF + 8));
	memset(img + HDR_OFF, 0, 4);
	CHECK(!multiboot_probe(img, size));
}

/* Loads image[0..size) expecting failure with ret and text in why; RAM must be untouched. */
static void expect_fail_ex(size_t size, uint64_t ram_size, const char *cmdline, size_t mod_size,
			   const char *mod_name, int ret, const char *text, int line)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, ram_size), 0);
	uint8_t *mod = mod_size ? calloc(1, mod_size) : NULL;
	struct x86_cpu_state cpu;
	memset(&cpu, 0xcc, sizeof(cpu));
	char why[512] = "";
	int r = multiboot_load_image(&ram, "bad.elf", img, size, cmdline, mod, mod_size, mod_name,
				     &cpu, why, sizeof(why));
	if (r != ret || !strstr(why, text) || strncmp(why, "bad.elf: ", 9) != 0 ||
	    strchr(why, '\n')) {
		printf("# line %d: r=%d (want %d) why=\"%s\" (want \"%s\")\n", line, r, ret, why, text);
		check_failures++;
	}
	CHECK_EQ(cpu.rip, 0xccccccccccccccccULL);
	/* Nothing written: the info area and 1 MiB are still zero. */
	CHECK_EQ(rd32(&ram, MULTIBOOT_INFO_ADDR), 0);
	CHECK_EQ(rd32(&ram, 0x100000), 0);
	free(mod);
	ram_destroy(&ram);
}

#define expect_fail(size, ret, text) expect_fail_ex(size, 64 * MiB, NULL, 0, NULL, ret, text, __LINE__)

static Elf32_Phdr *phdr(unsigned i)
{
	return (Elf32_Phdr *)(img + sizeof(Elf32_Ehdr) + i * sizeof(Elf32_Phdr));
}

static Elf32_Ehdr *ehdr(void)
{
	return (Elf32_Ehdr *)img;
}

static void test_bad_header(void)
{
	memset(img, 0, sizeof(img));
	expect_fail(0, -ENOEXEC, "too short");
	expect_fail(11, -ENOEXEC, "too short");
	expect_fail(4096, -ENOEXEC, "no Multiboot header");
	size_t size = mk_kernel();
	put32(img + HDR_OFF + 8, 0x12345678);
	expect_fail(size, -ENOEXEC, "checksum");
	/* Misaligned header: not found. */
	size = mk_kernel();
	memset(img + HDR_OFF, 0, 12);
	put_mb_header(img + HDR_OFF + 2, 0);
	expect_fail(size, -ENOEXEC, "no Multiboot header");
	/* Beyond the first 8192 bytes: not found. */
	memset(img, 0, sizeof(img));
	put_mb_header(img + 8192, 0);
	expect_fail(16384, -ENOEXEC, "no Multiboot header");
	/* Header cut by the end of a short file. */
	memset(img, 0, sizeof(img));
	put_mb_header(img + 12, 0);
	expect_fail(20, -ENOEXEC, "no Multiboot header");
	/* Required feature bits x86v does not know. */
	size = mk_kernel();
	put_mb_header(img + HDR_OFF, MULTIBOOT_MEMORY_INFO | 0x8);
	expect_fail(size, -ENOEXEC, "flag bits 0x8");
	put_mb_header(img + HDR_OFF, 0x8000);
	expect_fail(size, -ENOEXEC, "flag bits 0x8000");
}

static void test_bad_elf(void)
{
	size_t size = mk_kernel();
	memset(img, 0, 4); /* not ELF, no kludge */
	expect_fail(size, -ENOEXEC, "not an ELF file");

	size = mk_kernel();
	img[EI_CLASS] = ELFCLASS64;
	expect_fail(size, -ENOEXEC, "ELF64");
	img[EI_CLASS] = 7;
	expect_fail(size, -ENOEXEC, "not a little-endian 32-bit ELF");
	img[EI_CLASS] = ELFCLASS32;
	img[EI_DATA] = ELFDATA2MSB;
	expect_fail(size, -ENOEXEC, "not a little-endian 32-bit ELF");

	/* Truncated ELF header; the Multiboot header is at the start so it is still found. */
	size = mk_kernel();
	put_mb_header(img + 20, MULTIBOOT_MEMORY_INFO);
	expect_fail(40, -ENOEXEC, "ELF header truncated");

	size = mk_kernel();
	ehdr()->e_machine = EM_X86_64;
	expect_fail(size, -ENOEXEC, "not an i386 ELF executable");
	size = mk_kernel();
	ehdr()->e_type = ET_REL;
	expect_fail(size, -ENOEXEC, "not an i386 ELF executable");

	size = mk_kernel();
	ehdr()->e_phoff = 0xfffffff0;
	expect_fail(size, -ENOEXEC, "program headers");
	size = mk_kernel();
	ehdr()->e_phnum = 0xffff;
	expect_fail(size, -ENOEXEC, "lie outside the file");
	size = mk_kernel();
	ehdr()->e_phoff = (uint32_t)size - 16;
	expect_fail(size, -ENOEXEC, "lie outside the file");
	size = mk_kernel();
	ehdr()->e_phnum = 0;
	expect_fail(size, -ENOEXEC, "no usable program headers");
	size = mk_kernel();
	ehdr()->e_phentsize = 8;
	expect_fail(size, -ENOEXEC, "no usable program headers");

	size = mk_kernel();
	phdr(0)->p_offset = 0xffffff00;
	expect_fail(size, -ENOEXEC, "lies outside the file");
	size = mk_kernel();
	phdr(0)->p_filesz = (uint32_t)size; /* from SEG_OFF, runs past the end */
	phdr(0)->p_memsz = 0x100000;
	expect_fail(size, -ENOEXEC, "lies outside the file");
	size = mk_kernel();
	phdr(0)->p_filesz = 0x3000;
	expect_fail(size, -ENOEXEC, "p_filesz 0x3000 > p_memsz 0x2000");

	size = mk_kernel();
	phdr(0)->p_type = PT_NOTE;
	expect_fail(size, -ENOEXEC, "no loadable (PT_LOAD) segments");
	size = mk_kernel();
	ehdr()->e_entry = 0x200000;
	expect_fail(size, -ENOEXEC, "entry point 0x200000 is not inside a loaded segment");
}

static void test_bad_placement(void)
{
	struct tseg s = { PT_LOAD, 0x8000000, 0x8000000, 0x100, 0x100 };
	size_t size = mk_elf(&s, 1, 0x8000000, 0);
	expect_fail(size, -ENOSPC, "not inside guest RAM (64 MiB)");
	s = (struct tseg){ PT_LOAD, 0x3FFF000, 0x3FFF000, 0x100, 0x2000 }; /* BSS runs off the end */
	size = mk_elf(&s, 1, 0x3FFF000, 0);
	expect_fail(size, -ENOSPC, "not inside guest RAM");
	s = (struct tseg){ PT_LOAD, 0xFFFFF000, 0xFFFFF000, 0x100, 0x2000 };
	size = mk_elf(&s, 1, 0xFFFFF000, 0);
	expect_fail(size, -ENOEXEC, "beyond 4 GiB");
	s = (struct tseg){ PT_LOAD, 0xC0000000, 0xC0000000, 0x100, 0x100 }; /* PCI hole, 4 GiB RAM */
	size = mk_elf(&s, 1, 0xC0000000, 0);
	expect_fail_ex(size, 4 * GiB, NULL, 0, NULL, -ENOSPC, "not inside guest RAM", __LINE__);
	s = (struct tseg){ PT_LOAD, 0xA0000, 0xA0000, 0x100, 0x100 };
	size = mk_elf(&s, 1, 0xA0000, 0);
	expect_fail(size, -ENOEXEC, "overlaps the EBDA/VGA/BIOS area");
	s = (struct tseg){ PT_LOAD, 0x90000, 0x90000, 0x100, 0x10000 }; /* BSS reaches the EBDA */
	size = mk_elf(&s, 1, 0x90000, 0);
	expect_fail(size, -ENOEXEC, "overlaps the EBDA/VGA/BIOS area");
	s = (struct tseg){ PT_LOAD, 0xFFF00, 0xFFF00, 0x100, 0x200 };
	size = mk_elf(&s, 1, 0xFFF00, 0);
	expect_fail(size, -ENOEXEC, "overlaps the EBDA/VGA/BIOS area");
	/* A kernel in the low boot information area is fine (it moves), but one
	 * that leaves no room for it in RAM is not. */
	s = (struct tseg){ PT_LOAD, 0x100000, 0x100000, 0x100, 64 * MiB - 0x100000 - 0x1000 };
	struct tseg two_low[2] = { { PT_LOAD, 0x8000, 0x8000, 0x100, 0x1001 }, s };
	size = mk_elf(two_low, 2, 0x8000, 0);
	expect_fail(size, -ENOSPC, "no room in guest RAM for the boot information after the kernel");

	/* A good segment followed by a bad one: the good one is not written either. */
	struct tseg two[2] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100 },
			       { PT_LOAD, 0xB8000, 0xB8000, 0x10, 0x10 } };
	size = mk_elf(two, 2, 0x100000, 0);
	expect_fail(size, -ENOEXEC, "ELF segment 1");
}

static void test_bad_aout(void)
{
	size_t size = mk_aout(0x101000, 0, 0x100000);
	put32(img + HDR_OFF + 16, 0x100000 + HDR_OFF + 4); /* load_addr > header_addr */
	expect_fail(size, -ENOEXEC, "inconsistent with header_addr");
	size = mk_aout(0x101000, 0, 0x100000);
	put32(img + HDR_OFF + 16, 0x100000 - 0x1000); /* would start before the file */
	expect_fail(size, -ENOEXEC, "inconsistent with header_addr");
	size = mk_aout(0x103000, 0, 0x100000);
	expect_fail(size, -ENOEXEC, "is not inside the file");
	size = mk_aout(0xFFFFF, 0, 0x100000);
	expect_fail(size, -ENOEXEC, "is not inside the file");
	size = mk_aout(0x101000, 0x100800, 0x100000);
	expect_fail(size, -ENOEXEC, "bss_end_addr 0x100800 is below the loaded data");
	size = mk_aout(0x101000, 0x102000, 0x102000);
	expect_fail(size, -ENOEXEC, "entry_addr 0x102000 is not inside the loaded image");
	size = mk_aout(0x101000, 0, 0xFFFFF);
	expect_fail(size, -ENOEXEC, "entry_addr 0xfffff is not inside");
	size = mk_aout(0x101000, 0x8000000, 0x100000);
	expect_fail(size, -ENOSPC, "not inside guest RAM");
	size = mk_aout(0x100000, 0, 0x100000);
	expect_fail(size, -ENOEXEC, "nothing to load");
	/* Kludge fields cut off by the end of the file. */
	size = mk_aout(0, 0, 0x100000);
	expect_fail(HDR_OFF + 20, -ENOEXEC, "a.out kludge fields are missing");
}

static void test_bad_strings_and_module(void)
{
	size_t size = mk_kernel();
	size_t long_len = MULTIBOOT_CMDLINE_MAX + 1;
	char *s = malloc(long_len + 1);
	memset(s, 'x', long_len);
	s[long_len] = 0;
	/* "bad.elf " counts too: 8 + 20480 bytes. */
	expect_fail_ex(size, 64 * MiB, s, 0, NULL, -E2BIG,
		       "command line too long (20488 bytes with the kernel's path, at most 20479)", __LINE__);
	s[long_len - 1 - 2] = 0; /* exactly the maximum fits: "k " + 20477 */
	{
		struct guest_ram ram;
		CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
		struct x86_cpu_state cpu;
		char why[256] = "";
		CHECK_EQ(multiboot_load_image(&ram, "k", img, size, s, NULL, 0, NULL, &cpu, why,
					      sizeof(why)),
			 0);
		const char *c = guest_str(&ram, MULTIBOOT_CMDLINE_ADDR);
		CHECK(c && strlen(c) == MULTIBOOT_CMDLINE_MAX);
		ram_destroy(&ram);
	}
	s[MULTIBOOT_MODULE_STRING_MAX + 1] = 0;
	expect_fail_ex(size, 64 * MiB, NULL, 16, s, -E2BIG, "module name too long", __LINE__);
	free(s);
	/* 64 MiB RAM, module starts at 0x102000: 63 MiB of module cannot fit. */
	expect_fail_ex(size, 64 * MiB, NULL, 63 * MiB, "big.img", -ENOSPC,
		       "module big.img (66060288 bytes) does not fit", __LINE__);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void test_files(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	char dir[] = "/tmp/x86v-mb-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char kpath[256], mpath[256], missing[256];
	snprintf(kpath, sizeof(kpath), "%s/kernel.elf", dir);
	snprintf(mpath, sizeof(mpath), "%s/initrd", dir);
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	size_t size = mk_kernel();
	write_file(kpath, img, size);
	write_file(mpath, "module-data", 11);
	struct x86_cpu_state cpu;
	char why[512] = "";

	CHECK_EQ(multiboot_load_file(&ram, missing, NULL, NULL, &cpu, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "missing: cannot open kernel: No such file") != NULL);
	CHECK_EQ(multiboot_load_file(&ram, dir, NULL, NULL, &cpu, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "kernel is not a regular file") != NULL);
	CHECK_EQ(multiboot_load_file(&ram, kpath, NULL, missing, &cpu, why, sizeof(why)), -ENOENT);
	CHECK(strstr(why, "cannot open module") != NULL);

	/* A file larger than RAM is refused before reading. */
	int fd = open(missing, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 128 * MiB) == 0);
	close(fd);
	CHECK_EQ(multiboot_load_file(&ram, kpath, NULL, missing, &cpu, why, sizeof(why)), -EFBIG);
	CHECK(strstr(why, "module too large") != NULL);
	unlink(missing);

	CHECK_EQ(multiboot_load_file(&ram, kpath, "root=x", mpath, &cpu, why, sizeof(why)), 0);
	CHECK_EQ(cpu.rip, 0x100010);
	char want[600];
	snprintf(want, sizeof(want), "%s root=x", kpath);
	CHECK_STR(guest_str(&ram, MULTIBOOT_CMDLINE_ADDR), want);
	CHECK_STR(guest_str(&ram, MULTIBOOT_MODULE_STRING_ADDR), mpath);
	CHECK_EQ(rd32(&ram, MULTIBOOT_MODS_ADDR), 0x102000);
	CHECK_EQ(rd32(&ram, MULTIBOOT_MODS_ADDR + 4), 0x102000 + 11);
	const char *m = ram_ptr(&ram, 0x102000, 11);
	CHECK(m && memcmp(m, "module-data", 11) == 0);
	unlink(kpath);
	unlink(mpath);
	rmdir(dir);
	ram_destroy(&ram);
}

/* A kernel loaded over the default boot information area (0x8000-0xa86c):
 * the information moves to the first page after the kernel and its module. */
static void test_info_moves_past_low_kernel(void)
{
	struct guest_ram ram;
	CHECK_EQ(ram_init(&ram, 64 * MiB), 0);
	struct tseg s = { PT_LOAD, 0x8000, 0x8000, 0x200, 0x286c };
	size_t size = mk_elf(&s, 1, 0x8000, 0);
	uint8_t mod[100] = { 1, 2, 3 };
	struct x86_cpu_state cpu;
	char why[256] = "";
	CHECK_EQ(multiboot_load_image(&ram, "low.elf", img, size, "x", mod, sizeof(mod), "m", &cpu, why,
				      sizeof(why)),
		 0);
	CHECK_STR(why, "");
	CHECK_EQ(cpu.rip, 0x8000);
	/* The module at 1 MiB, the information on the next page after it. */
	uint32_t info = 0x101000;
	CHECK_EQ(cpu.gpr[X86_RBX], info);
	struct multiboot_info mi;
	CHECK_EQ(ram_read(&ram, info, &mi, sizeof(mi)), 0);
	CHECK_EQ(mi.flags, 0x24D);
	CHECK_EQ(mi.cmdline, info + 0x2000);
	CHECK_STR(guest_str(&ram, mi.cmdline), "low.elf x");
	CHECK_EQ(mi.mods_addr, info + 0x100);
	CHECK_EQ(rd32(&ram, mi.mods_addr), 0x100000);
	CHECK_STR(guest_str(&ram, rd32(&ram, mi.mods_addr + 8)), "m");
	CHECK_EQ(mi.mmap_addr, info + 0x400);
	CHECK_STR(guest_str(&ram, mi.boot_loader_name), "x86v");
	/* The kernel's bytes in the low area were not overwritten. */
	const uint8_t *k = ram_ptr(&ram, 0x8000, 0x200);
	CHECK(k && memcmp(k, img + SEG_OFF, 0x200) == 0);
	ram_destroy(&ram);
}

CHECK_MAIN(TEST_CASE(test_elf_64m), TEST_CASE(test_info_moves_past_low_kernel), TEST_CASE(test_elf_high_ram), TEST_CASE(test_module),
	   TEST_CASE(test_module_empty_and_low_kernel), TEST_CASE(test_higher_half_entry),
	   TEST_CASE(test_aout_kludge), TEST_CASE(test_video_flag_accepted), TEST_CASE(test_probe),
	   TEST_CASE(test_bad_header), TEST_CASE(test_bad_elf), TEST_CASE(test_bad_placement),
	   TEST_CASE(test_bad_aout), TEST_CASE(test_bad_strings_and_module), TEST_CASE(test_files))
