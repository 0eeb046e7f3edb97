/* SPDX-License-Identifier: MIT */
/*
 * Snapshot files (snapshot.h). The state file:
 *
 *   "X86VSNAP", format (u32), CRC-32C of the payload (u32), payload length (u64)
 *   payload: sections, each a 4-byte tag, a length (u32) and the body:
 *     "INFO"  x86v version, engine (names); RAM and ROM sizes, snapshot id,
 *             host wall-clock and virtual ns at the save (u64); memory file (name)
 *     "CPU0"  the BSP's state as a device record (type "x86-cpu")
 *     "CONF"  the machine's configuration (the control API's JSON)
 *     "CPUS"  (--smp N > 1) the engine (name), N (u32), then per AP: flags
 *             (u32: AP_WAIT_SIPI), its "x86-cpu" record and its engine
 *             record (maybe empty), each behind its length (u32)
 *     "PLAT"  (optional, before DEVS) the engine's own state: engine (name),
 *             flags (u32: 1 = taken with --irqchip kernel), the engine's
 *             record (engine_ops.save_platform; kvm: engine/kvm/kvm_platform.c)
 *     "DEVS"  the board's device records (hw/pc/board.c)
 *
 * The memory file: a 4 KiB header ("X86VMEM", the id, the sizes), RAM from
 * offset 4096, then the ROM. Integers are little-endian.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sandbox.h"
#include "core/snapshot.h"
#include "core/statebuf.h"
#include "core/vm.h"
#include "core/vm_json.h"
#include "hw/device.h"
#include "hw/pc/board.h"

#define SNAP_MAGIC "X86VSNAP"
#define SNAP_FORMAT 1
#define SNAP_HEADER_SIZE 24
#define SNAP_MAX_SIZE (64 * MiB) /* a state file is small: anything larger is not one */
#define MEM_MAGIC "X86VMEM"
#define MEM_HEADER_SIZE 4096
#define PAGE 4096

/* ---- the vCPU's state as a record ---- */

#define CPU_FIELD(m) DEVICE_FIELD(struct x86_cpu_state, m)
#define CPU_BOOL(m) DEVICE_BOOL(struct x86_cpu_state, m)
static const struct device_field cpu_fields[] = {
	CPU_FIELD(gpr), CPU_FIELD(rip), CPU_FIELD(rflags), CPU_FIELD(seg), CPU_FIELD(ldtr), CPU_FIELD(tr),
	CPU_FIELD(gdtr), CPU_FIELD(idtr), CPU_FIELD(cr0), CPU_FIELD(cr2), CPU_FIELD(cr3), CPU_FIELD(cr4),
	CPU_FIELD(cr8), CPU_FIELD(efer), CPU_FIELD(dr), CPU_FIELD(dr6), CPU_FIELD(dr7), CPU_FIELD(apic_base),
	CPU_FIELD(msr), CPU_FIELD(fpu), CPU_BOOL(events.interrupt_shadow), CPU_BOOL(events.nmi_pending),
	CPU_BOOL(events.nmi_masked), CPU_BOOL(events.halted), CPU_FIELD(events.injected),
	CPU_FIELD(events.injected_vector), CPU_BOOL(events.injected_has_error), CPU_FIELD(events.injected_error),
};

static void cpu_reset(struct device *dev)
{
	x86_state_reset(dev->state);
}

static int cpu_post_load(struct device *dev, char *why, size_t why_len)
{
	const struct x86_cpu_state *s = dev->state;
	if (s->events.injected > X86_EVENT_EXCEPTION) {
		snprintf(why, why_len, "%s: an injected event of unknown kind %u", dev->name, s->events.injected);
		return -EINVAL;
	}
	return 0;
}

static void cpu_destroy(struct device *dev)
{
	(void)dev;
}

static const struct device_class cpu_class = {
	.type = "x86-cpu",
	.version = 1,
	.fields = cpu_fields,
	.nfields = ARRAY_SIZE(cpu_fields),
	.reset = cpu_reset,
	.post_load = cpu_post_load,
	.destroy = cpu_destroy,
};

/* The record is written from a copy whose padding (in the descriptor caches
 * and the FPU state) is zero: a struct copy may keep whatever bytes were
 * there, and they would go into the file. */
static void segment_copy(struct x86_segment *to, const struct x86_segment *from)
{
	memset(to, 0, sizeof(*to));
	to->selector = from->selector;
	to->base = from->base;
	to->limit = from->limit;
	to->attr = from->attr;
}

static int save_cpu_record(const struct x86_cpu_state *cpu, const char *name, struct statebuf *out)
{
	struct x86_cpu_state state = *cpu;
	for (unsigned i = 0; i < X86_NR_SREGS; i++)
		segment_copy(&state.seg[i], &cpu->seg[i]);
	segment_copy(&state.ldtr, &cpu->ldtr);
	segment_copy(&state.tr, &cpu->tr);
	memset(&state.gdtr, 0, sizeof(state.gdtr));
	memset(&state.idtr, 0, sizeof(state.idtr));
	state.gdtr.base = cpu->gdtr.base;
	state.gdtr.limit = cpu->gdtr.limit;
	state.idtr.base = cpu->idtr.base;
	state.idtr.limit = cpu->idtr.limit;
	struct x86_fpu_state *f = &state.fpu;
	memset(f, 0, sizeof(*f));
	f->fcw = cpu->fpu.fcw;
	f->fsw = cpu->fpu.fsw;
	f->ftw = cpu->fpu.ftw;
	f->fop = cpu->fpu.fop;
	f->fip = cpu->fpu.fip;
	f->fdp = cpu->fpu.fdp;
	memcpy(f->st, cpu->fpu.st, sizeof(f->st));
	memcpy(f->xmm, cpu->fpu.xmm, sizeof(f->xmm));
	memcpy(f->ymm_hi, cpu->fpu.ymm_hi, sizeof(f->ymm_hi));
	f->mxcsr = cpu->fpu.mxcsr;
	f->xcr0 = cpu->fpu.xcr0;
	f->pkru = cpu->fpu.pkru;
	struct device cpu_dev;
	device_init(&cpu_dev, &cpu_class, name, &state);
	return device_save(&cpu_dev, out);
}

int snapshot_save_cpu_record(const struct x86_cpu_state *cpu, struct statebuf *out)
{
	return save_cpu_record(cpu, "cpu0", out);
}

static int load_cpu_record(struct state_reader *in, const char *name, struct x86_cpu_state *out, char *why,
			   size_t why_len)
{
	struct device cpu_dev;
	device_init(&cpu_dev, &cpu_class, name, out);
	int r = device_load(&cpu_dev, in, why, why_len);
	if (r == 0 && in->left) {
		snprintf(why, why_len, "%s: trailing bytes", name);
		r = -EINVAL;
	}
	return r;
}

int snapshot_load_cpu_record(struct state_reader *in, struct x86_cpu_state *out, char *why, size_t why_len)
{
	return load_cpu_record(in, "cpu0", out, why, why_len);
}

static void cpu_name(unsigned index, char name[16])
{
	snprintf(name, 16, "cpu%u", index);
}

/* ---- files ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int snapshot_prepare(struct vm *vm, const char *path, char *why, size_t why_len)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	const char *dir = dirname(copy);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	if (fd < 0)
		snprintf(why, why_len, "%s: cannot open its directory %s: %s", path, dir, strerror(err));
	free(copy);
	if (fd < 0)
		return -err;
	if (!base_name(path)[0] || strlen(base_name(path)) > 200) {
		close(fd);
		snprintf(why, why_len, "%s: not a file name", path);
		return -EINVAL;
	}
	if (vm->snapshot_dir >= 0) {
		/* The same descriptor number: the vCPU thread's sandbox names it. */
		int r = dup3(fd, vm->snapshot_dir, O_CLOEXEC) < 0 ? -errno : 0;
		close(fd);
		if (r < 0)
			snprintf(why, why_len, "%s: %s", path, strerror(-r));
		return r;
	}
	vm->snapshot_dir = fd;
	sandbox_allow_files_in(fd);
	return 0;
}

static int write_all(int fd, const void *buf, size_t len, off_t at)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		at += n;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* RAM from MEM_HEADER_SIZE, pages of zeros left as holes; then the ROM. */
static int write_memory(int fd, const struct guest_ram *ram, uint64_t id)
{
	uint8_t header[MEM_HEADER_SIZE] = { 0 };
	struct statebuf sb;
	sb_init(&sb);
	sb_put(&sb, MEM_MAGIC, 8);
	sb_put_u64(&sb, id);
	sb_put_u64(&sb, ram->size);
	sb_put_u64(&sb, ram->rom ? ram->rom_size : 0);
	if (sb.failed)
		return -ENOMEM;
	memcpy(header, sb.data, sb.len);
	sb_free(&sb);
	uint64_t end = MEM_HEADER_SIZE + ram->size + (ram->rom ? ram->rom_size : 0);
	int r = write_all(fd, header, sizeof(header), 0);
	if (r == 0 && ftruncate(fd, (off_t)end) < 0)
		r = -errno;
	/* Runs of non-zero pages go out in one write each. Where the memfd still
	 * backs RAM, its holes (pages the guest never touched) are skipped
	 * without reading them. */
	bool holes = ram->fd >= 0 && !ram->remapped;
	uint64_t extent_end = 0; /* the data extent at is in ends here */
	for (uint64_t at = 0; r == 0 && at < ram->size;) {
		if (holes && at >= extent_end) {
			off_t data = lseek(ram->fd, (off_t)at, SEEK_DATA);
			if (data < 0)
				break; /* ENXIO: nothing but holes from here on */
			at = (uint64_t)data & ~(uint64_t)(PAGE - 1);
			off_t hole = lseek(ram->fd, (off_t)at, SEEK_HOLE);
			extent_end = hole < 0 ? ram->size : (uint64_t)hole;
			if (at >= ram->size)
				break;
		}
		if (all_zero(ram->host + at, PAGE)) {
			at += PAGE;
			continue;
		}
		uint64_t run = at + PAGE;
		while (run < ram->size && run - at < 64 * MiB && !all_zero(ram->host + run, PAGE))
			run += PAGE;
		r = write_all(fd, ram->host + at, run - at, (off_t)(MEM_HEADER_SIZE + at));
		at = run;
	}
	if (r == 0 && ram->rom)
		r = write_all(fd, ram->rom, ram->rom_size, (off_t)(MEM_HEADER_SIZE + ram->size));
	if (r == 0 && fdatasync(fd) < 0)
		r = -errno;
	return r;
}

static void put_section(struct statebuf *sb, const char *tag, const struct statebuf *body)
{
	sb_put(sb, tag, 4);
	sb_put_u32(sb, (uint32_t)body->len);
	sb_put(sb, body->data, body->len);
}

#define PLAT_IRQCHIP_KERNEL 1u /* PLAT flags: taken with --irqchip kernel */

/* The PLAT section's body: the engine's name, flags (u32), then the BSP's
 * engine record (engine_ops.save_platform, with the VM-wide parts); nothing
 * when the engine has nothing beyond the neutral state. 0 or -errno. */
static int save_platform(struct vm *vm, struct statebuf *sec)
{
	bool kernel_irqchip = vm->cfg.irqchip_kernel;
	const struct statebuf *rec = &vm->cpus[0].snap.platform;
	if (kernel_irqchip && !rec->len)
		return -ENOTSUP; /* the interrupt controllers must travel */
	if (rec->len) {
		sb_put_name(sec, vm->eng_ops->name);
		sb_put_u32(sec, kernel_irqchip ? PLAT_IRQCHIP_KERNEL : 0);
		sb_put(sec, rec->data, rec->len);
	}
	return 0;
}

#define AP_WAIT_SIPI 1u /* CPUS flags: waiting for a start-up IPI */

/* The CPUS section's body (more than one vCPU): the engine's name, the vCPU
 * count (u32), then per application processor its flags (u32), its x86-cpu
 * record and its engine record, each behind its length (u32). */
static int save_aps(struct vm *vm, struct statebuf *sec)
{
	sb_put_name(sec, vm->eng_ops->name);
	sb_put_u32(sec, vm->ncpus);
	int r = 0;
	for (unsigned i = 1; r == 0 && i < vm->ncpus; i++) {
		const struct vm_cpu_snap *snap = &vm->cpus[i].snap;
		char name[16];
		cpu_name(i, name);
		sb_put_u32(sec, snap->wait_sipi ? AP_WAIT_SIPI : 0);
		size_t at = sb_reserve_u32(sec);
		size_t start = sec->len;
		r = save_cpu_record(&snap->state, name, sec);
		sb_patch_u32(sec, at, (uint32_t)(sec->len - start));
		sb_put_u32(sec, (uint32_t)snap->platform.len);
		sb_put(sec, snap->platform.data, snap->platform.len);
	}
	return r;
}

/* The state file's bytes, from the vCPUs' captured states. */
static int build_state(struct vm *vm, uint64_t id, const char *mem_name, int64_t virt_ns, struct statebuf *out)
{
	struct statebuf payload, sec;
	sb_init(&payload);
	sb_init(&sec);
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	sb_put_name(&sec, X86V_VERSION);
	sb_put_name(&sec, vm->eng_ops->name);
	sb_put_u64(&sec, vm->ram.size);
	sb_put_u64(&sec, vm->ram.rom ? vm->ram.rom_size : 0);
	sb_put_u64(&sec, id);
	sb_put_u64(&sec, (uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec);
	sb_put_u64(&sec, (uint64_t)virt_ns);
	sb_put_name(&sec, mem_name);
	put_section(&payload, "INFO", &sec);

	sec.len = 0;
	int r = snapshot_save_cpu_record(&vm->cpus[0].snap.state, &sec);
	put_section(&payload, "CPU0", &sec);

	/* The machine's configuration, for the control API's snapshot load. */
	struct vmj_state conf = { .cfg = &vm->cfg };
	json_object *json = vmj_to_json(&conf);
	const char *text = json_object_to_json_string_ext(json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	sec.len = 0;
	sb_put(&sec, text, strlen(text));
	put_section(&payload, "CONF", &sec);
	json_object_put(json);

	if (vm->ncpus > 1) {
		sec.len = 0;
		if (r == 0)
			r = save_aps(vm, &sec);
		put_section(&payload, "CPUS", &sec);
	}

	/* The engine's own state: KVM's in-kernel interrupt controllers, XSAVE
	 * components beyond what x86_cpu_state holds. */
	sec.len = 0;
	if (r == 0)
		r = save_platform(vm, &sec);
	if (sec.len)
		put_section(&payload, "PLAT", &sec);

	sec.len = 0;
	if (r == 0)
		r = board_save(vm->board, &sec);
	put_section(&payload, "DEVS", &sec);
	sb_free(&sec);
	if (r == 0 && payload.failed)
		r = -ENOMEM;
	if (r == 0) {
		sb_put(out, SNAP_MAGIC, 8);
		sb_put_u32(out, SNAP_FORMAT);
		sb_put_u32(out, crc32c(0, payload.data, payload.len));
		sb_put_u64(out, payload.len);
		sb_put(out, payload.data, payload.len);
		r = out->failed ? -ENOMEM : 0;
	}
	sb_free(&payload);
	return r;
}

struct snap_info {
	char version[256], engine[256], mem_name[256];
	uint64_t ram_size, rom_size, id, wall_ns, virt_ns;
};

/* The next section, which must carry tag. */
static bool section(struct state_reader *sr, const char *tag, struct state_reader *body)
{
	char t[4];
	sr_get(sr, t, 4);
	uint32_t len = sr_get_u32(sr);
	*body = sr_sub(sr, len);
	return sr_ok(sr) && memcmp(t, tag, 4) == 0;
}

/* The INFO section's body: the machine description. False when it is cut short. */
static bool parse_info(struct state_reader *body, struct snap_info *info)
{
	sr_get_name(body, info->version);
	sr_get_name(body, info->engine);
	info->ram_size = sr_get_u64(body);
	info->rom_size = sr_get_u64(body);
	info->id = sr_get_u64(body);
	info->wall_ns = sr_get_u64(body);
	info->virt_ns = sr_get_u64(body);
	sr_get_name(body, info->mem_name);
	return sr_ok(body);
}

/* The memory file the snapshot now at name names, or "" (none, or not ours). */
static void current_mem_name(int dir, const char *name, char out[256])
{
	out[0] = '\0';
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint8_t buf[1024]; /* the header and INFO, which holds three names at most */
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n < SNAP_HEADER_SIZE + 8 || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return;
	struct state_reader sr, body;
	sr_init(&sr, buf + SNAP_HEADER_SIZE, (size_t)n - SNAP_HEADER_SIZE);
	struct snap_info info;
	if (!section(&sr, "INFO", &body) || !parse_info(&body, &info))
		return;
	/* Only a file of the same snapshot family may be removed. */
	if (strncmp(info.mem_name, name, strlen(name)) == 0 && strncmp(info.mem_name + strlen(name), ".mem-", 5) == 0 &&
	    !strchr(info.mem_name, '/'))
		memcpy(out, info.mem_name, sizeof(info.mem_name));
}

int snapshot_save(struct vm *vm, const char *path, char *why, size_t why_len)
{
	return snapshot_save_named(vm, path, NULL, why, why_len);
}

int snapshot_save_named(struct vm *vm, const char *path, const char *mem, char *why, size_t why_len)
{
	const char *name = base_name(path);
	int dir = vm->snapshot_dir;
	uint64_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint64_t)vclock_now(&vm->clock) ^ ((uint64_t)getpid() << 32);
	/* Names stay short: snapshot_prepare allows at most 200 bytes of name. */
	char mem_name[240], mem_tmp[256], state_tmp[256], old_mem[256];
	if (mem && (strchr(mem, '/') || !mem[0] || mem[0] == '.' || strlen(mem) >= sizeof(mem_name) - 8 ||
		    !strcmp(mem, name))) {
		snprintf(why, why_len, "the memory file %s must be a plain file name beside the state file", mem);
		return -EINVAL;
	}
	if (mem)
		snprintf(mem_name, sizeof(mem_name), "%s", mem);
	else
		snprintf(mem_name, sizeof(mem_name), "%s.mem-%08" PRIx32, name, (uint32_t)id);
	snprintf(mem_tmp, sizeof(mem_tmp), "%s.tmp", mem_name);
	snprintf(state_tmp, sizeof(state_tmp), "%s.tmp-%08" PRIx32, name, (uint32_t)id);
	current_mem_name(dir, name, old_mem);

	/* The guest stands still meanwhile: its clock too, so no time passes for it. */
	pthread_mutex_lock(&vm->lock);
	unsigned failed = 0;
	int r = vm_capture_cpus(vm, &failed);
	if (r < 0) {
		pthread_mutex_unlock(&vm->lock);
		snprintf(why, why_len, "snapshot: cannot read the state of vCPU %u: %s", failed, strerror(-r));
		return r;
	}
	struct statebuf state;
	sb_init(&state);
	bool was_paused = vm->clock.paused_at >= 0; /* by the control API */
	vclock_pause(&vm->clock);
	r = build_state(vm, id, mem_name, vclock_now(&vm->clock), &state);
	const char *what = "cannot save the devices' state";
	int mem_fd = -1, state_fd = -1;
	if (r == 0) {
		what = "cannot write the memory file";
		mem_fd = openat(dir, mem_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		r = mem_fd < 0 ? -errno : write_memory(mem_fd, &vm->ram, id);
	}
	if (!was_paused)
		vclock_resume(&vm->clock);
	pthread_mutex_unlock(&vm->lock);
	if (r == 0) {
		what = "cannot write the state file";
		state_fd = openat(dir, state_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		r = state_fd < 0 ? -errno : write_all(state_fd, state.data, state.len, 0);
		if (r == 0 && fdatasync(state_fd) < 0)
			r = -errno;
	}
	if (mem_fd >= 0)
		close(mem_fd);
	if (state_fd >= 0)
		close(state_fd);
	sb_free(&state);
	/* The memory file first, under its final name no snapshot uses yet; the
	 * state file's rename is the commit. */
	if (r == 0 && renameat(dir, mem_tmp, dir, mem_name) < 0) {
		what = "cannot rename the memory file";
		r = -errno;
	}
	/* The tests' way to show that a crash here leaves the previous snapshot whole. */
	const char *test = getenv("X86V_SNAPSHOT_TEST");
	if (r == 0 && test && !strcmp(test, "crash-before-commit"))
		_exit(X86V_EXIT_HOST_ERROR);
	if (r == 0 && renameat(dir, state_tmp, dir, name) < 0) {
		what = "cannot rename the state file";
		r = -errno;
	}
	if (r < 0) {
		unlinkat(dir, mem_tmp, 0);
		unlinkat(dir, state_tmp, 0);
		if (strcmp(what, "cannot rename the state file") == 0)
			unlinkat(dir, mem_name, 0);
		snprintf(why, why_len, "snapshot %s: %s: %s", path, what, strerror(-r));
		return r;
	}
	int dir_fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* the renames, on disk */
	if (dir_fd < 0 || fsync(dir_fd) < 0)
		log_warn("snapshot %s: cannot sync its directory: %s", path, strerror(errno));
	if (dir_fd >= 0)
		close(dir_fd);
	if (old_mem[0] && strcmp(old_mem, mem_name) != 0)
		unlinkat(dir, old_mem, 0);
	return 0;
}

/* ---- restoring ---- */

static int fail(char *why, size_t why_len, int err, const char *path, const char *fmt, ...) PRINTF_LIKE(5, 6);
static int fail(char *why, size_t why_len, int err, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(why, why_len, "--restore %s: %s", path, msg);
	return err;
}

static int read_file(int dir, const char *name, size_t max, uint8_t **out, size_t *len)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((uint64_t)st.st_size > max)
		r = -EFBIG;
	uint8_t *buf = r == 0 ? malloc((size_t)st.st_size + 1) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	size_t got = 0;
	while (r == 0 && got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			got += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*len = got;
	return 0;
}



/* Maps the memory file over RAM (private: pages load on first touch) and
 * copies the ROM out of it. */
static int map_memory(struct vm *vm, int dir, const struct snap_info *info, const char *path, char *why,
		      size_t why_len)
{
	if (strchr(info->mem_name, '/') || !info->mem_name[0] || info->mem_name[0] == '.')
		return fail(why, why_len, -EINVAL, path, "the memory file name \"%s\" is not a plain file name",
			    info->mem_name);
	int fd = openat(dir, info->mem_name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(why, why_len, -errno, path, "memory file %s: %s", info->mem_name, strerror(errno));
	uint8_t header[32];
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0 || pread(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header)) {
		r = fail(why, why_len, -EINVAL, path, "memory file %s: cannot read its header", info->mem_name);
		goto out;
	}
	struct state_reader sr;
	sr_init(&sr, header, sizeof(header));
	char magic[8];
	sr_get(&sr, magic, 8);
	uint64_t id = sr_get_u64(&sr), ram_size = sr_get_u64(&sr), rom_size = sr_get_u64(&sr);
	if (memcmp(magic, MEM_MAGIC, 8) != 0 || id != info->id || ram_size != info->ram_size ||
	    rom_size != info->rom_size) {
		r = fail(why, why_len, -EINVAL, path, "memory file %s does not belong to this snapshot", info->mem_name);
		goto out;
	}
	uint64_t need = MEM_HEADER_SIZE + ram_size + rom_size;
	if ((uint64_t)st.st_size < need) {
		r = fail(why, why_len, -EINVAL, path, "memory file %s holds %llu bytes, the snapshot needs %llu",
			 info->mem_name, (unsigned long long)st.st_size, (unsigned long long)need);
		goto out;
	}
	if (mmap(vm->ram.host, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd,
		 MEM_HEADER_SIZE) == MAP_FAILED) {
		r = fail(why, why_len, -errno, path, "cannot map memory file %s: %s", info->mem_name, strerror(errno));
		goto out;
	}
	vm->ram.remapped = true;
	if (rom_size) {
		uint8_t *rom = malloc(rom_size);
		r = rom ? 0 : -ENOMEM;
		if (r == 0 && pread(fd, rom, rom_size, (off_t)(MEM_HEADER_SIZE + ram_size)) != (ssize_t)rom_size)
			r = -EIO;
		if (r == 0)
			r = ram_set_rom(&vm->ram, rom, rom_size);
		free(rom);
		if (r < 0)
			r = fail(why, why_len, r, path, "the firmware ROM: %s", strerror(-r));
	}
out:
	close(fd);
	return r;
}

/* Reads the state file at path and checks its header, checksum and machine
 * description: *sr is left at the section after INFO. The caller frees *buf
 * and closes *dir (also on failure, when set). 0 or -errno with why. */
static int open_state(const char *path, int *dir, uint8_t **buf, struct state_reader *sr, struct snap_info *info,
		      char *why, size_t why_len)
{
	*buf = NULL;
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	*dir = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (*dir < 0)
		return fail(why, why_len, -errno, path, "%s", strerror(errno));
	size_t len = 0;
	int r = read_file(*dir, base_name(path), SNAP_MAX_SIZE, buf, &len);
	if (r < 0)
		return fail(why, why_len, r, path, "%s", r == -EFBIG ? "too large for a state file" : strerror(-r));
	sr_init(sr, *buf, len);
	char magic[8];
	sr_get(sr, magic, 8);
	uint32_t format = sr_get_u32(sr), crc = sr_get_u32(sr);
	uint64_t payload_len = sr_get_u64(sr);
	struct state_reader body;
	if (!sr_ok(sr) || memcmp(magic, SNAP_MAGIC, 8) != 0)
		return fail(why, why_len, -EINVAL, path, "not an x86v snapshot");
	if (format != SNAP_FORMAT)
		return fail(why, why_len, -EINVAL, path, "snapshot format %u, this x86v reads format %u", format,
			    SNAP_FORMAT);
	if (payload_len != sr->left)
		return fail(why, why_len, -EINVAL, path, "truncated (%zu of %llu bytes)", sr->left,
			    (unsigned long long)payload_len);
	if (crc32c(0, sr->p, sr->left) != crc)
		return fail(why, why_len, -EINVAL, path, "checksum mismatch: the file is damaged");
	if (!section(sr, "INFO", &body))
		return fail(why, why_len, -EINVAL, path, "no machine description");
	/* 2^61 ns (73 years) of guest time: room for the devices' own limits (2^62). */
	if (!parse_info(&body, info) || info->virt_ns > (1ULL << 61) || info->rom_size > 16 * MiB)
		return fail(why, why_len, -EINVAL, path, "a malformed machine description");
	return 0;
}

int snapshot_read_config(const char *path, char **json, char **mem_name, char *why, size_t why_len)
{
	int dir = -1;
	uint8_t *buf;
	struct state_reader sr, body;
	struct snap_info info;
	int r = open_state(path, &dir, &buf, &sr, &info, why, why_len);
	if (r == 0 && (!section(&sr, "CPU0", &body) || !section(&sr, "CONF", &body)))
		r = fail(why, why_len, -EINVAL, path, "no machine configuration");
	if (r == 0) {
		*json = strndup((const char *)body.p, body.left);
		*mem_name = strdup(info.mem_name);
		if (!*json || !*mem_name) {
			free(*json);
			free(*mem_name);
			r = -ENOMEM;
		}
	}
	free(buf);
	if (dir >= 0)
		close(dir);
	return r;
}

/* The optional PLAT section at sr: checked against the machine (engine, --irqchip)
 * and its engine record kept in vm->boot_platform for snapshot_restore_platform. */
static int restore_platform_section(struct vm *vm, struct state_reader *sr, const char *path, char *why,
				    size_t why_len)
{
	struct state_reader peek = *sr, body;
	bool have = section(&peek, "PLAT", &body);
	char engine[256] = "";
	uint32_t flags = 0;
	if (have) {
		*sr = peek;
		sr_get_name(&body, engine);
		flags = sr_get_u32(&body);
		if (!sr_ok(&body) || !body.left || (flags & ~PLAT_IRQCHIP_KERNEL))
			return fail(why, why_len, -EINVAL, path, "a malformed engine state section");
	}
	bool same_engine = have && strcmp(engine, vm->eng_ops->name) == 0 && vm->eng_ops->load_platform;
	if ((flags & PLAT_IRQCHIP_KERNEL) && !(same_engine && vm->cfg.irqchip_kernel))
		return fail(why, why_len, -EINVAL, path, "taken with --irqchip kernel: restore it with --accel %s "
			    "--irqchip kernel", engine);
	if (!(flags & PLAT_IRQCHIP_KERNEL) && vm->cfg.irqchip_kernel)
		return fail(why, why_len, -EINVAL, path, "taken without --irqchip kernel: restore it without "
			    "--irqchip kernel");
	if (have && !same_engine)
		return fail(why, why_len, -EINVAL, path, "the guest's state includes what only the %s engine holds "
			    "(XSAVE components beyond AVX, such as AVX-512): restore it with --accel %s", engine, engine);
	free(vm->boot_platform);
	vm->boot_platform = NULL;
	vm->boot_platform_len = 0;
	if (have) {
		vm->boot_platform = malloc(body.left);
		if (!vm->boot_platform)
			return -ENOMEM;
		memcpy(vm->boot_platform, body.p, body.left);
		vm->boot_platform_len = body.left;
	}
	return 0;
}

int snapshot_restore_platform(struct vm *vm, char *why, size_t why_len)
{
	if (!vm->boot_platform)
		return 0;
	struct state_reader sr;
	sr_init(&sr, vm->boot_platform, vm->boot_platform_len);
	char what[200];
	int r = vm->eng_ops->load_platform(vm->cpus[0].vcpu, &sr, what, sizeof(what));
	if (r < 0)
		snprintf(why, why_len, "--restore %s: %s", vm->cfg.restore ? vm->cfg.restore : "", what);
	free(vm->boot_platform);
	vm->boot_platform = NULL;
	vm->boot_platform_len = 0;
	return r;
}

/* The CPUS section at sr, when there is one: the application processors'
 * states into their vm_cpu's snap, for their threads' start. The machine's
 * vCPU count must be the snapshot's. */
static int restore_aps(struct vm *vm, struct state_reader *sr, const char *path, char *why, size_t why_len)
{
	struct state_reader peek = *sr, body;
	unsigned count = 1;
	char engine[256] = "";
	if (section(&peek, "CPUS", &body)) {
		*sr = peek;
		sr_get_name(&body, engine);
		count = sr_get_u32(&body);
		if (!sr_ok(&body) || count < 2)
			return fail(why, why_len, -EINVAL, path, "a malformed vCPU section");
	}
	if (count != vm->ncpus)
		return fail(why, why_len, -EINVAL, path, "taken with --smp %u; this machine has %u vCPU%s", count,
			    vm->ncpus, vm->ncpus > 1 ? "s" : "");
	for (unsigned i = 1; i < count; i++) {
		struct vm_cpu_snap *snap = &vm->cpus[i].snap;
		char name[16], what[200];
		cpu_name(i, name);
		uint32_t flags = sr_get_u32(&body);
		struct state_reader rec = sr_sub(&body, sr_get_u32(&body));
		struct state_reader plat = sr_sub(&body, sr_get_u32(&body));
		if (!sr_ok(&body) || (flags & ~AP_WAIT_SIPI))
			return fail(why, why_len, -EINVAL, path, "a malformed vCPU section");
		if (load_cpu_record(&rec, name, &snap->state, what, sizeof(what)) < 0)
			return fail(why, why_len, -EINVAL, path, "%s", what);
		if (plat.left && (strcmp(engine, vm->eng_ops->name) != 0 || !vm->eng_ops->load_platform))
			return fail(why, why_len, -EINVAL, path, "the state of vCPU %u includes what only the %s engine "
				    "holds: restore it with --accel %s", i, engine, engine);
		if (!plat.left && vm->cfg.irqchip_kernel)
			return fail(why, why_len, -EINVAL, path, "vCPU %u: no local APIC state", i);
		snap->wait_sipi = flags & AP_WAIT_SIPI;
		snap->platform.len = 0;
		sb_put(&snap->platform, plat.p, plat.left);
		if (snap->platform.failed)
			return -ENOMEM;
	}
	if (count > 1 && body.left)
		return fail(why, why_len, -EINVAL, path, "a malformed vCPU section");
	return 0;
}

int snapshot_restore(struct vm *vm, const char *path, char *why, size_t why_len)
{
	int dir = -1;
	uint8_t *buf;
	struct state_reader sr, body;
	struct snap_info info;
	int r = open_state(path, &dir, &buf, &sr, &info, why, why_len);
	if (r == 0 && info.ram_size != vm->ram.size)
		r = fail(why, why_len, -EINVAL, path, "taken with -m %llu MiB; this machine has %llu MiB",
			 (unsigned long long)(info.ram_size / MiB), (unsigned long long)(vm->ram.size / MiB));
	struct x86_cpu_state cpu;
	if (r == 0 && !section(&sr, "CPU0", &body))
		r = fail(why, why_len, -EINVAL, path, "no vCPU state");
	if (r == 0) {
		char what[200];
		if (snapshot_load_cpu_record(&body, &cpu, what, sizeof(what)) < 0)
			r = fail(why, why_len, -EINVAL, path, "%s", what);
	}
	struct state_reader peek = sr;
	struct state_reader conf;
	if (r == 0 && section(&peek, "CONF", &conf))
		sr = peek; /* the configuration: --restore takes the command line's */
	if (r == 0)
		r = restore_aps(vm, &sr, path, why, why_len);
	if (r == 0)
		r = restore_platform_section(vm, &sr, path, why, why_len);
	if (r == 0 && !section(&sr, "DEVS", &body))
		r = fail(why, why_len, -EINVAL, path, "no device state");
	if (r == 0 && sr.left)
		r = fail(why, why_len, -EINVAL, path, "trailing bytes after the last section");
	if (r == 0)
		r = map_memory(vm, dir, &info, path, why, why_len);
	if (r == 0) {
		/* Devices' timers are armed against the virtual clock: it continues
		 * from where the snapshot left it before they load. */
		char what[200];
		pthread_mutex_lock(&vm->lock);
		vclock_set_now(&vm->clock, (int64_t)info.virt_ns);
		r = board_load(vm->board, &body, what, sizeof(what));
		if (r == 0) {
			struct timespec wall;
			clock_gettime(CLOCK_REALTIME, &wall);
			uint64_t now = (uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec;
			if (now > info.wall_ns) /* unsigned: the file's value is anything */
				board_advance_wall_clock(vm->board, (int64_t)((now - info.wall_ns) / 1000000000ULL));
		}
		pthread_mutex_unlock(&vm->lock);
		if (r < 0)
			r = fail(why, why_len, r, path, "%s", what);
	}
	if (r == 0) {
		vm->boot_state = cpu;
		for (unsigned i = 1; i < vm->ncpus; i++)
			vm->cpus[i].restoring = true;
		vm->nrestoring = vm->ncpus - 1;
		log_info("restored %s: taken by x86v %s on the %s engine", path, info.version, info.engine);
	}
	free(buf);
	if (dir >= 0)
		close(dir);
	return r;
}
