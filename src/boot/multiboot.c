/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 loader (Multiboot Specification 0.6.96 §3.1-§3.3; see
 * multiboot.h for the layout passed to the guest and what is left out).
 *
 * Every field of the image is untrusted: offsets and sizes are checked
 * against the file in 64-bit arithmetic before use, and every destination
 * range against guest RAM, the legacy hole and the boot information area.
 * Loading runs twice over the same code: a dry run that only validates, then
 * the real copy, so a bad image leaves guest memory untouched.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/e820.h"
#include "boot/image_file.h"
#include "boot/multiboot.h"
#include "core/log.h"

_Static_assert(sizeof(struct multiboot_info) == 88, "Multiboot info layout (§3.3)");
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "Multiboot mmap entry layout");
_Static_assert(sizeof(struct multiboot_mod_list) == 16, "Multiboot module entry layout");
_Static_assert(E820_MAX_ENTRIES * sizeof(struct multiboot_mmap_entry) <=
		       MULTIBOOT_MODULE_STRING_ADDR - MULTIBOOT_MMAP_ADDR,
	       "memory map fits its slot");

/* [0x9FC00, 1 MiB): EBDA, VGA window, option ROMs, BIOS; never a load target. */
#define MB_HOLE_START 0x9FC00ULL
#define MB_HOLE_END 0x100000ULL
#define MB_PAGE 4096ULL
#define MB_4G 0x100000000ULL
#define MB_KERNEL_FILE_MAX (1 * GiB)

/* The header fields this loader reads (§3.1.1); the kludge fields only with bit 16. */
struct mb_header {
	size_t offset; /* in the file */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Result of laying out the kernel. */
struct mb_kernel {
	uint32_t entry; /* physical */
	uint64_t end; /* one past the highest byte loaded or zeroed */
	bool hits_info_area; /* a piece lies in the default boot information area */
};

static void mb_why(char *why, size_t why_len, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void mb_why(char *why, size_t why_len, const char *fmt, ...)
{
	if (!why || why_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static uint32_t mb_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static bool mb_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t bend)
{
	return a < bend && b < a + alen;
}

bool multiboot_probe(const uint8_t *image, size_t size)
{
	size_t limit = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
	for (size_t off = 0; off + 12 <= limit; off += MULTIBOOT_HEADER_ALIGN)
		if (mb_get32(image + off) == MULTIBOOT_HEADER_MAGIC)
			return true;
	return false;
}

static int mb_find_header(const char *name, const uint8_t *img, size_t size, struct mb_header *h,
			  char *why, size_t why_len)
{
	if (size < 12) {
		mb_why(why, why_len, "%s: file too short for a Multiboot kernel (%zu bytes)", name,
		       size);
		return -ENOEXEC;
	}
	/* §3.1.1: 32-bit aligned, the magic/flags/checksum words within the first 8192 bytes. */
	size_t limit = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
	bool saw_magic = false;
	for (size_t off = 0; off + 12 <= limit; off += MULTIBOOT_HEADER_ALIGN) {
		if (mb_get32(img + off) != MULTIBOOT_HEADER_MAGIC)
			continue;
		saw_magic = true;
		uint32_t flags = mb_get32(img + off + 4);
		/* A stray magic word in code or data is common; only a good checksum counts. */
		if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags + mb_get32(img + off + 8)) != 0)
			continue;
		*h = (struct mb_header){ .offset = off, .flags = flags };
		return 0;
	}
	if (saw_magic)
		mb_why(why, why_len, "%s: Multiboot header magic found but its checksum is wrong", name);
	else
		mb_why(why, why_len,
		       "%s: no Multiboot header (magic 0x%08X) in the first %d bytes (Multiboot 2 and "
		       "bzImage kernels are other formats)",
		       name, MULTIBOOT_HEADER_MAGIC, MULTIBOOT_SEARCH);
	return -ENOEXEC;
}

/* Checks a destination range [addr, addr + len) for a kernel part. */
static int mb_check_dest(const struct guest_ram *ram, const char *name, const char *what,
			 uint64_t addr, uint64_t len, char *why, size_t why_len)
{
	if (addr + len > MB_4G) {
		mb_why(why, why_len, "%s: %s [0x%llx, 0x%llx) extends beyond 4 GiB", name, what,
		       (unsigned long long)addr, (unsigned long long)(addr + len));
		return -ENOEXEC;
	}
	if (mb_overlaps(addr, len, MB_HOLE_START, MB_HOLE_END)) {
		mb_why(why, why_len,
		       "%s: %s [0x%llx, 0x%llx) overlaps the EBDA/VGA/BIOS area [0x%llx, 0x%llx)",
		       name, what, (unsigned long long)addr, (unsigned long long)(addr + len),
		       MB_HOLE_START, MB_HOLE_END);
		return -ENOEXEC;
	}
	if (!ram_contains(ram, addr, len)) {
		mb_why(why, why_len, "%s: %s [0x%llx, 0x%llx) is not inside guest RAM (%llu MiB)",
		       name, what, (unsigned long long)addr, (unsigned long long)(addr + len),
		       (unsigned long long)(ram->size / MiB));
		return -ENOSPC;
	}
	return 0;
}

/* Validates one piece (and with commit, copies it and zeroes its tail). */
static int mb_place(const struct guest_ram *ram, const char *name, const char *what,
		    const uint8_t *src, uint64_t filesz, uint64_t addr, uint64_t memsz, bool commit,
		    char *why, size_t why_len)
{
	int r = mb_check_dest(ram, name, what, addr, memsz, why, why_len);
	if (r < 0 || !commit)
		return r;
	uint8_t *dst = ram_ptr_rw(ram, addr, memsz);
	if (!dst) /* checked above; cannot happen unless RAM changed in between */
		return -EFAULT;
	memcpy(dst, src, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	return 0;
}

static int mb_load_elf(const struct guest_ram *ram, const char *name, const uint8_t *img,
		       size_t size, bool commit, struct mb_kernel *k, char *why, size_t why_len)
{
	if (size < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0) {
		mb_why(why, why_len,
		       "%s: not an ELF file, and the Multiboot header does not set the a.out kludge "
		       "(flag bit 16)",
		       name);
		return -ENOEXEC;
	}
	if (img[EI_CLASS] == ELFCLASS64) {
		mb_why(why, why_len,
		       "%s: ELF64 kernel: Multiboot v1 loads 32-bit ELF only (link as elf32-i386 or use "
		       "the a.out kludge)",
		       name);
		return -ENOEXEC;
	}
	if (img[EI_CLASS] != ELFCLASS32 || img[EI_DATA] != ELFDATA2LSB) {
		mb_why(why, why_len, "%s: not a little-endian 32-bit ELF file", name);
		return -ENOEXEC;
	}
	Elf32_Ehdr eh;
	if (size < sizeof(eh)) {
		mb_why(why, why_len, "%s: ELF header truncated (%zu bytes)", name, size);
		return -ENOEXEC;
	}
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_type != ET_EXEC || eh.e_machine != EM_386) {
		mb_why(why, why_len, "%s: not an i386 ELF executable (e_type %u, e_machine %u)", name,
		       eh.e_type, eh.e_machine);
		return -ENOEXEC;
	}
	if (eh.e_phnum == 0 || eh.e_phentsize < sizeof(Elf32_Phdr)) {
		mb_why(why, why_len, "%s: ELF has no usable program headers (e_phnum %u, e_phentsize %u)",
		       name, eh.e_phnum, eh.e_phentsize);
		return -ENOEXEC;
	}
	uint64_t ph_end = (uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize;
	if (ph_end > size) {
		mb_why(why, why_len,
		       "%s: ELF program headers [0x%x, 0x%llx) lie outside the file (%zu bytes)", name,
		       eh.e_phoff, (unsigned long long)ph_end, size);
		return -ENOEXEC;
	}
	bool loaded = false, entry_found = false;
	k->end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;
		memcpy(&ph, img + eh.e_phoff + (size_t)i * eh.e_phentsize, sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		char what[32];
		snprintf(what, sizeof(what), "ELF segment %u", i);
		if (ph.p_filesz > ph.p_memsz) {
			mb_why(why, why_len, "%s: %s has p_filesz 0x%x > p_memsz 0x%x", name, what,
			       ph.p_filesz, ph.p_memsz);
			return -ENOEXEC;
		}
		if ((uint64_t)ph.p_offset + ph.p_filesz > size) {
			mb_why(why, why_len,
			       "%s: %s file data [0x%x, 0x%llx) lies outside the file (%zu bytes)", name,
			       what, ph.p_offset, (unsigned long long)ph.p_offset + ph.p_filesz, size);
			return -ENOEXEC;
		}
		/* Multiboot loads at the physical address (GRUB does the same). */
		int r = mb_place(ram, name, what, img + ph.p_offset, ph.p_filesz, ph.p_paddr,
				 ph.p_memsz, commit, why, why_len);
		if (r < 0)
			return r;
		loaded = true;
		k->hits_info_area |= mb_overlaps(ph.p_paddr, ph.p_memsz, MULTIBOOT_AREA_START, MULTIBOOT_AREA_END);
		if ((uint64_t)ph.p_paddr + ph.p_memsz > k->end)
			k->end = (uint64_t)ph.p_paddr + ph.p_memsz;
		/* Higher-half kernels link e_entry virtually: translate it through its segment. */
		if (!entry_found && eh.e_entry >= ph.p_vaddr &&
		    (uint64_t)eh.e_entry < (uint64_t)ph.p_vaddr + ph.p_memsz) {
			k->entry = eh.e_entry - ph.p_vaddr + ph.p_paddr;
			entry_found = true;
		}
	}
	if (!loaded) {
		mb_why(why, why_len, "%s: ELF has no loadable (PT_LOAD) segments", name);
		return -ENOEXEC;
	}
	if (!entry_found) {
		/* Refused rather than warned: jumping outside the image can only crash the guest. */
		mb_why(why, why_len, "%s: ELF entry point 0x%x is not inside a loaded segment", name,
		       eh.e_entry);
		return -ENOEXEC;
	}
	return 0;
}

/* §3.1.3: with flag bit 16 the header's address fields say what to load where. */
static int mb_load_aout(const struct guest_ram *ram, const char *name, const uint8_t *img,
			size_t size, struct mb_header *h, bool commit, struct mb_kernel *k, char *why,
			size_t why_len)
{
	if (h->offset + 32 > size) {
		mb_why(why, why_len, "%s: Multiboot header truncated: the a.out kludge fields are missing",
		       name);
		return -ENOEXEC;
	}
	const uint8_t *p = img + h->offset;
	h->header_addr = mb_get32(p + 12);
	h->load_addr = mb_get32(p + 16);
	h->load_end_addr = mb_get32(p + 20);
	h->bss_end_addr = mb_get32(p + 24);
	h->entry_addr = mb_get32(p + 28);
	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > h->offset) {
		mb_why(why, why_len,
		       "%s: a.out kludge load_addr 0x%x is inconsistent with header_addr 0x%x at file "
		       "offset 0x%zx",
		       name, h->load_addr, h->header_addr, h->offset);
		return -ENOEXEC;
	}
	size_t file_off = h->offset - (h->header_addr - h->load_addr);
	uint64_t filesz = size - file_off;
	if (h->load_end_addr) {
		if (h->load_end_addr < h->load_addr ||
		    (uint64_t)h->load_end_addr - h->load_addr > size - file_off) {
			mb_why(why, why_len,
			       "%s: a.out kludge load range [0x%x, 0x%x) is not inside the file (%zu "
			       "bytes)",
			       name, h->load_addr, h->load_end_addr, size);
			return -ENOEXEC;
		}
		filesz = h->load_end_addr - h->load_addr;
	}
	uint64_t memsz = filesz;
	if (h->bss_end_addr) {
		if ((uint64_t)h->bss_end_addr < h->load_addr + filesz) {
			mb_why(why, why_len, "%s: a.out kludge bss_end_addr 0x%x is below the loaded data",
			       name, h->bss_end_addr);
			return -ENOEXEC;
		}
		memsz = h->bss_end_addr - h->load_addr;
	}
	if (memsz == 0) {
		mb_why(why, why_len, "%s: a.out kludge describes nothing to load", name);
		return -ENOEXEC;
	}
	int r = mb_place(ram, name, "a.out kludge image", img + file_off, filesz, h->load_addr,
			 memsz, commit, why, why_len);
	if (r < 0)
		return r;
	k->hits_info_area = mb_overlaps(h->load_addr, memsz, MULTIBOOT_AREA_START, MULTIBOOT_AREA_END);
	if (h->entry_addr < h->load_addr || h->entry_addr - h->load_addr >= memsz) {
		mb_why(why, why_len, "%s: a.out kludge entry_addr 0x%x is not inside the loaded image",
		       name, h->entry_addr);
		return -ENOEXEC;
	}
	k->entry = h->entry_addr;
	k->end = h->load_addr + memsz;
	return 0;
}

static int mb_load_kernel(const struct guest_ram *ram, const char *name, const uint8_t *img,
			  size_t size, struct mb_header *h, bool commit, struct mb_kernel *k,
			  char *why, size_t why_len)
{
	if (h->flags & MULTIBOOT_AOUT_KLUDGE)
		return mb_load_aout(ram, name, img, size, h, commit, k, why, why_len);
	return mb_load_elf(ram, name, img, size, commit, k, why, why_len);
}

/* Where the piece at default address a of the boot information lies when the area starts at base. */
static uint32_t mb_at(uint32_t base, uint32_t a)
{
	return base + (a - MULTIBOOT_AREA_START);
}

/* Writes the boot information (§3.3) into the area at base (checked by the caller). */
static int mb_write_info(const struct guest_ram *ram, uint32_t base, const char *path, const char *cmdline,
			 bool has_module, uint32_t mod_start, size_t module_size, const char *module_name)
{
	int r;
	void *area = ram_ptr_rw(ram, base, MULTIBOOT_AREA_SIZE);
	if (!area)
		return -EFAULT;
	memset(area, 0, MULTIBOOT_AREA_SIZE);

	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(ram, map, E820_MAX_ENTRIES);
	if (n > E820_MAX_ENTRIES)
		n = E820_MAX_ENTRIES;
	for (unsigned i = 0; i < n; i++) {
		struct multiboot_mmap_entry e = {
			.size = sizeof(e) - sizeof(e.size),
			.addr = map[i].addr,
			.len = map[i].size,
			.type = map[i].type,
		};
		r = ram_write(ram, mb_at(base, MULTIBOOT_MMAP_ADDR) + i * sizeof(e), &e, sizeof(e));
		if (r < 0)
			return r;
	}

	uint64_t low = ram->low_size;
	struct multiboot_info info = {
		.flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
			 MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME,
		.mem_lower = (uint32_t)((low < E820_EBDA_START ? low : E820_EBDA_START) / KiB),
		/* §3.3: up to the first hole above 1 MiB, which is where low RAM ends. */
		.mem_upper = (uint32_t)((low - E820_HIGH_MEMORY) / KiB),
		.cmdline = mb_at(base, MULTIBOOT_CMDLINE_ADDR),
		.mods_count = has_module ? 1 : 0,
		.mods_addr = mb_at(base, MULTIBOOT_MODS_ADDR),
		.mmap_length = n * (uint32_t)sizeof(struct multiboot_mmap_entry),
		.mmap_addr = mb_at(base, MULTIBOOT_MMAP_ADDR),
		.boot_loader_name = mb_at(base, MULTIBOOT_LOADER_NAME_ADDR),
	};
	r = ram_write(ram, mb_at(base, MULTIBOOT_INFO_ADDR), &info, sizeof(info));
	if (r == 0)
		r = ram_write(ram, info.boot_loader_name, MULTIBOOT_LOADER_NAME, sizeof(MULTIBOOT_LOADER_NAME));
	/* The command line starts with the kernel's path, as GRUB and QEMU pass it. */
	size_t plen = strlen(path);
	if (r == 0)
		r = ram_write(ram, info.cmdline, path, plen);
	if (r == 0 && *cmdline)
		r = ram_write(ram, info.cmdline + (uint32_t)plen, " ", 1);
	if (r == 0)
		r = ram_write(ram, info.cmdline + (uint32_t)plen + (*cmdline ? 1 : 0), cmdline, strlen(cmdline) + 1);
	if (r == 0 && has_module) {
		struct multiboot_mod_list mod = {
			.mod_start = mod_start,
			.mod_end = mod_start + (uint32_t)module_size,
			.string = mb_at(base, MULTIBOOT_MODULE_STRING_ADDR),
		};
		r = ram_write(ram, info.mods_addr, &mod, sizeof(mod));
		if (r == 0)
			r = ram_write(ram, mod.string, module_name, strlen(module_name) + 1);
	}
	return r;
}

int multiboot_load_image(struct guest_ram *ram, const char *name, const uint8_t *image, size_t size,
			 const char *cmdline, const uint8_t *module, size_t module_size,
			 const char *module_name, struct x86_cpu_state *cpu, char *why,
			 size_t why_len)
{
	struct mb_header h;
	int r = mb_find_header(name, image, size, &h, why, why_len);
	if (r < 0)
		return r;
	uint32_t unknown = h.flags & MULTIBOOT_REQUIRED_MASK &
			   ~(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE);
	if (unknown) {
		mb_why(why, why_len,
		       "%s: Multiboot header requires features x86v does not provide (flag bits 0x%x)",
		       name, unknown);
		return -ENOEXEC;
	}
	if (!cmdline)
		cmdline = "";
	bool has_module = module_name != NULL;
	size_t cmdline_len = strlen(name) + (*cmdline ? 1 + strlen(cmdline) : 0);
	if (cmdline_len > MULTIBOOT_CMDLINE_MAX) {
		mb_why(why, why_len, "%s: command line too long (%zu bytes with the kernel's path, at most %u)",
		       name, cmdline_len, MULTIBOOT_CMDLINE_MAX);
		return -E2BIG;
	}
	if (has_module && strlen(module_name) > MULTIBOOT_MODULE_STRING_MAX) {
		mb_why(why, why_len, "%s: module name too long (%zu bytes, at most %u)", name,
		       strlen(module_name), MULTIBOOT_MODULE_STRING_MAX);
		return -E2BIG;
	}
	if (has_module && !module && module_size) {
		mb_why(why, why_len, "%s: module %s has no data", name, module_name);
		return -EINVAL;
	}
	if (!ram_contains(ram, MULTIBOOT_AREA_START, MULTIBOOT_AREA_END - MULTIBOOT_AREA_START) ||
	    ram->low_size <= E820_HIGH_MEMORY) {
		mb_why(why, why_len, "%s: guest RAM too small for a Multiboot kernel", name);
		return -ENOSPC;
	}

	struct mb_kernel k = { 0 };
	r = mb_load_kernel(ram, name, image, size, &h, false, &k, why, why_len);
	if (r < 0)
		return r;

	/* Page-aligned (§3.1.2 bit 0, done always) and never in low memory or the hole. */
	uint64_t mod_start = k.end > E820_HIGH_MEMORY ? k.end : E820_HIGH_MEMORY;
	mod_start = (mod_start + MB_PAGE - 1) & ~(MB_PAGE - 1);
	if (has_module) {
		/* Zero-length modules still need a valid address. */
		uint64_t need = module_size ? module_size : 1;
		if (mod_start + need > ram->low_size || !ram_contains(ram, mod_start, need)) {
			mb_why(why, why_len,
			       "%s: module %s (%zu bytes) does not fit in guest RAM after the kernel "
			       "(0x%llx + %zu > 0x%llx)",
			       name, module_name, module_size, (unsigned long long)mod_start,
			       module_size, (unsigned long long)ram->low_size);
			return -ENOSPC;
		}
	}

	/* The boot information goes to its usual low area unless the kernel
	 * loads there; then to the next page after the kernel and its module. */
	uint64_t info = MULTIBOOT_AREA_START;
	if (k.hits_info_area) {
		uint64_t after = has_module ? mod_start + module_size : (k.end > E820_HIGH_MEMORY ? k.end : E820_HIGH_MEMORY);
		info = (after + MB_PAGE - 1) & ~(MB_PAGE - 1);
		if (info + MULTIBOOT_AREA_SIZE > ram->low_size || !ram_contains(ram, info, MULTIBOOT_AREA_SIZE)) {
			mb_why(why, why_len, "%s: no room in guest RAM for the boot information after the kernel", name);
			return -ENOSPC;
		}
	}

	r = mb_load_kernel(ram, name, image, size, &h, true, &k, why, why_len);
	if (r == 0 && has_module)
		r = ram_write(ram, mod_start, module, module_size);
	if (r == 0)
		r = mb_write_info(ram, (uint32_t)info, name, cmdline, has_module, (uint32_t)mod_start, module_size,
				  has_module ? module_name : "");
	if (r < 0) {
		mb_why(why, why_len, "%s: writing guest memory failed: %s", name, strerror(-r));
		return r;
	}
	if (h.flags & MULTIBOOT_VIDEO_MODE)
		log_info("%s: Multiboot video mode request ignored (no display)", name);

	x86_state_flat32(cpu);
	cpu->gpr[X86_RAX] = MULTIBOOT_BOOTLOADER_MAGIC;
	cpu->gpr[X86_RBX] = mb_at((uint32_t)info, MULTIBOOT_INFO_ADDR);
	cpu->rip = k.entry;
	return 0;
}

int multiboot_load_file(struct guest_ram *ram, const char *path, const char *cmdline,
			const char *module_path, struct x86_cpu_state *cpu, char *why,
			size_t why_len)
{
	uint8_t *image = NULL, *module = NULL;
	size_t size = 0, module_size = 0;
	/* An ELF file may carry far more than it loads (debug sections), so only a sanity cap. */
	int r = boot_read_file(path, "kernel", MB_KERNEL_FILE_MAX, &image, &size, why, why_len);
	/* A module is copied whole, so one larger than low RAM can never fit: not read. */
	if (r == 0 && module_path)
		r = boot_read_file(module_path, "module", ram->low_size, &module, &module_size, why,
				 why_len);
	if (r == 0)
		r = multiboot_load_image(ram, path, image, size, cmdline, module, module_size,
					 module_path, cpu, why, why_len);
	free(module);
	free(image);
	return r;
}
