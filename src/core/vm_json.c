/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's configuration objects onto struct vm_config (vm_json.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm_json.h"

static int fault(char *why, size_t why_len, const char *fmt, ...) PRINTF_LIKE(3, 4);
static int fault(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Every key of obj must be one of allowed (NULL-terminated). */
static int known_keys(json_object *obj, const char *what, const char *const *allowed, char *why, size_t why_len)
{
	if (!json_object_is_type(obj, json_type_object))
		return fault(why, why_len, "%s: expected a JSON object", what);
	json_object_object_foreach(obj, key, val) {
		(void)val;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(key, *a);
		if (!ok)
			return fault(why, why_len, "%s: unknown field `%s`", what, key);
	}
	return 0;
}

/* A string member: 1 and *out when present, 0 when absent, -EINVAL when of another type. */
static int get_string(json_object *obj, const char *key, const char **out, char *why, size_t why_len)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fault(why, why_len, "%s: expected a string", key);
	*out = json_object_get_string(v);
	return 1;
}

static int get_bool(json_object *obj, const char *key, bool *out, char *why, size_t why_len)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fault(why, why_len, "%s: expected true or false", key);
	*out = json_object_get_boolean(v);
	return 1;
}

static int get_uint(json_object *obj, const char *key, uint64_t *out, char *why, size_t why_len)
{
	json_object *v;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return fault(why, why_len, "%s: expected a non-negative integer", key);
	*out = (uint64_t)json_object_get_int64(v);
	return 1;
}

/* A copy in *slot (the previous one freed). */
static char *keep(char **slot, const char *s)
{
	free(*slot);
	*slot = s ? strdup(s) : NULL;
	return *slot;
}

void vmj_free(struct vmj_state *st)
{
	free(st->kernel);
	free(st->append);
	free(st->initrd);
	free(st->accel);
	st->kernel = st->append = st->initrd = st->accel = NULL;
}

int vmj_boot_source(struct vmj_state *st, json_object *obj, char *why, size_t why_len)
{
	static const char *const keys[] = { "kernel_image_path", "boot_args", "initrd_path", NULL };
	const char *kernel = NULL, *args = NULL, *initrd = NULL;
	int r = known_keys(obj, "boot-source", keys, why, why_len);
	if (r == 0 && (r = get_string(obj, "kernel_image_path", &kernel, why, why_len)) == 0)
		r = fault(why, why_len, "boot-source: missing field `kernel_image_path`");
	if (r >= 0)
		r = get_string(obj, "boot_args", &args, why, why_len);
	if (r >= 0)
		r = get_string(obj, "initrd_path", &initrd, why, why_len);
	if (r < 0)
		return r;
	st->cfg->kernel = keep(&st->kernel, kernel);
	st->cfg->bios = NULL;
	/* Firecracker's guests end the VMM by rebooting (reboot=k): so here too. */
	st->cfg->append = keep(&st->append, args ? args : "console=ttyS0 reboot=k panic=1");
	st->cfg->initrd = keep(&st->initrd, initrd);
	st->boot_source = true;
	return 0;
}

int vmj_machine_config(struct vmj_state *st, json_object *obj, char *why, size_t why_len)
{
	static const char *const keys[] = { "vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					    "cpu_template", "huge_pages", "x86v_engine", NULL };
	uint64_t vcpus = 0, mib = 0;
	bool smt = false;
	const char *engine = NULL, *tmpl = NULL;
	int r = known_keys(obj, "machine-config", keys, why, why_len);
	if (r == 0 && (r = get_uint(obj, "vcpu_count", &vcpus, why, why_len)) == 0)
		r = fault(why, why_len, "machine-config: missing field `vcpu_count`");
	if (r > 0 && (r = get_uint(obj, "mem_size_mib", &mib, why, why_len)) == 0)
		r = fault(why, why_len, "machine-config: missing field `mem_size_mib`");
	if (r >= 0)
		r = get_bool(obj, "smt", &smt, why, why_len);
	if (r >= 0)
		r = get_string(obj, "x86v_engine", &engine, why, why_len);
	if (r >= 0)
		r = get_string(obj, "cpu_template", &tmpl, why, why_len);
	if (r < 0)
		return r;
	if (vcpus < 1 || vcpus > ENGINE_MAX_VCPUS)
		return fault(why, why_len, "vcpu_count %llu: between 1 and %u", (unsigned long long)vcpus,
			     ENGINE_MAX_VCPUS);
	if (smt)
		return fault(why, why_len, "smt: x86v has no simultaneous multithreading");
	if (tmpl && strcmp(tmpl, "None"))
		return fault(why, why_len, "cpu_template %s: x86v has no CPU templates", tmpl);
	if (mib < RAM_MIN_SIZE / MiB || mib > RAM_MAX_SIZE / MiB)
		return fault(why, why_len, "mem_size_mib %llu: between %llu and %llu", (unsigned long long)mib,
			     (unsigned long long)(RAM_MIN_SIZE / MiB), (unsigned long long)(RAM_MAX_SIZE / MiB));
	if (engine && strcmp(engine, "auto") && strcmp(engine, "kvm") && strcmp(engine, "soft"))
		return fault(why, why_len, "x86v_engine %s: expected auto, kvm or soft", engine);
	st->cfg->ram_size = mib * MiB;
	st->cfg->ncpus = (unsigned)vcpus;
	if (engine)
		st->cfg->accel = keep(&st->accel, engine);
	return 0;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') ||
		      id[i] == '_' || id[i] == '-'))
			return false;
	return true;
}

/* The body's id field must match the path's. */
static int check_id(json_object *obj, const char *field, const char *id, char *why, size_t why_len)
{
	const char *body = NULL;
	int r = get_string(obj, field, &body, why, why_len);
	if (r == 0)
		return fault(why, why_len, "missing field `%s`", field);
	if (r < 0)
		return r;
	if (strcmp(body, id))
		return fault(why, why_len, "The id from the path (%s) does not match the id from the body (%s)", id, body);
	if (!valid_id(id))
		return fault(why, why_len, "%s %s: letters, digits, _ and - only, up to 63", field, id);
	return 0;
}

int vmj_drive(struct vmj_state *st, const char *id, json_object *obj, char *why, size_t why_len)
{
	static const char *const keys[] = { "drive_id", "path_on_host", "is_root_device", "is_read_only",
					    "partuuid", "cache_type", "rate_limiter", "io_engine", NULL };
	const char *path = NULL, *cache = NULL, *partuuid = NULL;
	bool root = false, ro = false;
	int r = known_keys(obj, "drive", keys, why, why_len);
	if (r == 0)
		r = check_id(obj, "drive_id", id, why, why_len);
	if (r == 0 && (r = get_string(obj, "path_on_host", &path, why, why_len)) == 0)
		r = fault(why, why_len, "drive %s: missing field `path_on_host`", id);
	if (r > 0 && (r = get_bool(obj, "is_root_device", &root, why, why_len)) == 0)
		r = fault(why, why_len, "drive %s: missing field `is_root_device`", id);
	if (r >= 0)
		r = get_bool(obj, "is_read_only", &ro, why, why_len);
	if (r >= 0)
		r = get_string(obj, "cache_type", &cache, why, why_len);
	if (r >= 0)
		r = get_string(obj, "partuuid", &partuuid, why, why_len);
	if (r < 0)
		return r;
	if (cache && strcmp(cache, "Unsafe") && strcmp(cache, "Writeback"))
		return fault(why, why_len, "cache_type %s: expected Unsafe or Writeback", cache);
	if (partuuid)
		return fault(why, why_len, "drive %s: partuuid is not supported (the root device is /dev/vda)", id);
	if (strlen(path) >= sizeof(st->cfg->drives[0].file))
		return fault(why, why_len, "drive %s: path_on_host too long", id);
	unsigned i = 0;
	while (i < st->drives.n && strcmp(st->drives.id[i], id))
		i++;
	for (unsigned k = 0; root && k < st->drives.n; k++)
		if (k != i && st->drives.root[k])
			return fault(why, why_len, "A root block device already exists (%s)", st->drives.id[k]);
	if (i == st->drives.n) {
		if (i == VM_MAX_DRIVES)
			return fault(why, why_len, "drive %s: at most %d drives", id, VM_MAX_DRIVES);
		snprintf(st->drives.id[i], sizeof(st->drives.id[i]), "%s", id);
		st->drives.n++;
		st->cfg->ndrives = st->drives.n;
	}
	st->drives.root[i] = root;
	struct vm_drive *d = &st->cfg->drives[i];
	*d = (struct vm_drive){ .readonly = ro };
	snprintf(d->file, sizeof(d->file), "%s", path);
	d->nbd = !strncmp(path, "nbd://", 6) || !strncmp(path, "nbd+unix://", 11);
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return mac[0] & 1 ? -EINVAL : 0;
}

int vmj_net(struct vmj_state *st, const char *id, json_object *obj, char *why, size_t why_len)
{
	static const char *const keys[] = { "iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
					    "tx_rate_limiter", NULL };
	const char *dev = NULL, *mac = NULL;
	int r = known_keys(obj, "network-interface", keys, why, why_len);
	if (r == 0)
		r = check_id(obj, "iface_id", id, why, why_len);
	if (r == 0 && (r = get_string(obj, "host_dev_name", &dev, why, why_len)) == 0)
		r = fault(why, why_len, "network-interface %s: missing field `host_dev_name`", id);
	if (r >= 0)
		r = get_string(obj, "guest_mac", &mac, why, why_len);
	if (r < 0)
		return r;
	unsigned i = 0;
	while (i < st->nets.n && strcmp(st->nets.id[i], id))
		i++;
	if (i == VM_MAX_NETS)
		return fault(why, why_len, "network-interface %s: at most %d", id, VM_MAX_NETS);
	struct net_options n = { .kind = NET_TAP, .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + i) } };
	if (strlen(dev) == 0 || strlen(dev) >= sizeof(n.ifname))
		return fault(why, why_len, "host_dev_name %s: not an interface name", dev);
	snprintf(n.ifname, sizeof(n.ifname), "%s", dev);
	if (mac && parse_mac(mac, n.mac) < 0)
		return fault(why, why_len, "guest_mac %s: expected a unicast address like 06:00:AC:10:00:02", mac);
	if (i == st->nets.n) {
		snprintf(st->nets.id[i], sizeof(st->nets.id[i]), "%s", id);
		st->nets.n++;
		st->cfg->nnets = st->nets.n;
	}
	st->cfg->nets[i] = n;
	return 0;
}

static int each(struct vmj_state *st, json_object *arr, const char *what, const char *idkey,
		int (*fn)(struct vmj_state *, const char *, json_object *, char *, size_t), char *why, size_t why_len)
{
	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return fault(why, why_len, "%s: expected an array", what);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		json_object *idv;
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, idkey, &idv) ||
		    !json_object_is_type(idv, json_type_string))
			return fault(why, why_len, "%s[%zu]: missing field `%s`", what, i, idkey);
		int r = fn(st, json_object_get_string(idv), o, why, why_len);
		if (r < 0)
			return r;
	}
	return 0;
}

int vmj_full(struct vmj_state *st, json_object *obj, char *why, size_t why_len)
{
	static const char *const keys[] = { "boot-source", "machine-config", "drives", "network-interfaces",
					    "logger", "metrics", NULL };
	int r = known_keys(obj, "configuration", keys, why, why_len);
	json_object *v;
	if (r == 0 && !json_object_object_get_ex(obj, "boot-source", &v))
		r = fault(why, why_len, "configuration: missing field `boot-source`");
	if (r == 0)
		r = vmj_boot_source(st, v, why, why_len);
	if (r == 0 && json_object_object_get_ex(obj, "machine-config", &v))
		r = vmj_machine_config(st, v, why, why_len);
	if (r == 0)
		r = each(st, json_object_object_get_ex(obj, "drives", &v) ? v : NULL, "drives", "drive_id", vmj_drive,
			 why, why_len);
	if (r == 0)
		r = each(st, json_object_object_get_ex(obj, "network-interfaces", &v) ? v : NULL, "network-interfaces",
			 "iface_id", vmj_net, why, why_len);
	return r;
}

int vmj_finish(struct vmj_state *st, char *why, size_t why_len)
{
	struct vm_config *cfg = st->cfg;
	if (!cfg->kernel && !cfg->restore)
		return fault(why, why_len, "Cannot start microvm without kernel configuration.");
	for (unsigned i = 1; i < st->drives.n; i++) {
		if (!st->drives.root[i])
			continue;
		/* The root device becomes /dev/vda. */
		struct vm_drive d = cfg->drives[i];
		char id[64];
		memcpy(id, st->drives.id[i], sizeof(id));
		memmove(&cfg->drives[1], &cfg->drives[0], i * sizeof(cfg->drives[0]));
		memmove(&st->drives.id[1], &st->drives.id[0], i * sizeof(st->drives.id[0]));
		memmove(&st->drives.root[1], &st->drives.root[0], i * sizeof(st->drives.root[0]));
		cfg->drives[0] = d;
		memcpy(st->drives.id[0], id, sizeof(id));
		st->drives.root[0] = true;
		break;
	}
	if (st->drives.n && st->drives.root[0] && cfg->append && !strstr(cfg->append, "root=")) {
		size_t n = strlen(cfg->append) + 32;
		char *append = malloc(n);
		if (!append)
			return fault(why, why_len, "out of memory");
		snprintf(append, n, "%s root=/dev/vda %s", cfg->append, cfg->drives[0].readonly ? "ro" : "rw");
		free(st->append);
		cfg->append = st->append = append;
	}
	return 0;
}

json_object *vmj_to_json(const struct vmj_state *st)
{
	const struct vm_config *cfg = st->cfg;
	json_object *root = json_object_new_object();
	json_object *boot = json_object_new_object();
	if (cfg->kernel)
		json_object_object_add(boot, "kernel_image_path", json_object_new_string(cfg->kernel));
	if (cfg->append)
		json_object_object_add(boot, "boot_args", json_object_new_string(cfg->append));
	if (cfg->initrd)
		json_object_object_add(boot, "initrd_path", json_object_new_string(cfg->initrd));
	json_object_object_add(root, "boot-source", boot);
	json_object *mc = json_object_new_object();
	json_object_object_add(mc, "vcpu_count", json_object_new_int((int)(cfg->ncpus ? cfg->ncpus : 1)));
	json_object_object_add(mc, "mem_size_mib", json_object_new_int64((int64_t)(cfg->ram_size / MiB)));
	json_object_object_add(mc, "smt", json_object_new_boolean(false));
	json_object_object_add(mc, "track_dirty_pages", json_object_new_boolean(false));
	json_object_object_add(mc, "x86v_engine", json_object_new_string(cfg->accel));
	json_object_object_add(root, "machine-config", mc);
	json_object *drives = json_object_new_array();
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		json_object *d = json_object_new_object();
		char id[16];
		snprintf(id, sizeof(id), "drive%u", i);
		json_object_object_add(d, "drive_id", json_object_new_string(i < st->drives.n ? st->drives.id[i] : id));
		json_object_object_add(d, "path_on_host", json_object_new_string(cfg->drives[i].file));
		json_object_object_add(d, "is_root_device", json_object_new_boolean(i < st->drives.n && st->drives.root[i]));
		json_object_object_add(d, "is_read_only", json_object_new_boolean(cfg->drives[i].readonly));
		json_object_object_add(d, "cache_type", json_object_new_string("Writeback"));
		json_object_array_add(drives, d);
	}
	json_object_object_add(root, "drives", drives);
	json_object *nets = json_object_new_array();
	for (unsigned i = 0; i < cfg->nnets; i++) {
		const struct net_options *n = &cfg->nets[i];
		json_object *o = json_object_new_object();
		char mac[32];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2], n->mac[3],
			 n->mac[4], n->mac[5]);
		char id[16];
		snprintf(id, sizeof(id), "net%u", i);
		json_object_object_add(o, "iface_id", json_object_new_string(i < st->nets.n ? st->nets.id[i] : id));
		json_object_object_add(o, "host_dev_name", json_object_new_string(n->kind == NET_TAP ? n->ifname : ""));
		json_object_object_add(o, "guest_mac", json_object_new_string(mac));
		json_object_array_add(nets, o);
	}
	json_object_object_add(root, "network-interfaces", nets);
	return root;
}
