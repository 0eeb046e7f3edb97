/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the control API's and --config-file's JSON (core/vm_json.c).
 * An input is a JSON text, mutated from a valid Firecracker configuration:
 * it is parsed as a whole configuration file and, object by object, as the
 * bodies of PUT /boot-source, /machine-config, /drives/{id} and
 * /network-interfaces/{id}; each is accepted or refused with a fault
 * message, never a crash, a leak or undefined behaviour (ASan and UBSan
 * watch in make check); what was accepted is then described back
 * (GET /vm/config).
 *
 * Also a libFuzzer target (LLVMFuzzerTestOneInput, with -DFUZZ_NO_MAIN);
 * make check runs test_fuzz_api, a fixed-seed stream of mutations (main below).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm_json.h"
#include "fuzz_rand.h"

static unsigned accepted, refused;

static const char seed[] =
	"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\", \"initrd_path\": \"/i\"},"
	" \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false, \"x86v_engine\": \"soft\"},"
	" \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.ext4\", \"is_root_device\": true,"
	" \"is_read_only\": false, \"cache_type\": \"Unsafe\"}, {\"drive_id\": \"d2\", \"path_on_host\": \"nbd://h/x\","
	" \"is_root_device\": false}],"
	" \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:AC:10:00:02\"}]}";

static void count(int r)
{
	if (r == 0)
		accepted++;
	else
		refused++;
}

static int fuzz_api_one(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	json_object *obj = json_tokener_parse(text);
	free(text);
	if (!obj)
		return 0;
	char why[320];
	static struct vm_config cfg;
	cfg = (struct vm_config){ .ram_size = 128 << 20, .accel = "soft" };
	struct vmj_state st = { .cfg = &cfg };
	count(vmj_full(&st, obj, why, sizeof(why)));
	count(vmj_finish(&st, why, sizeof(why)));
	/* Each member as a request body on its own. */
	if (json_object_is_type(obj, json_type_object)) {
		json_object_object_foreach(obj, key, val) {
			if (!strcmp(key, "boot-source"))
				count(vmj_boot_source(&st, val, why, sizeof(why)));
			else if (!strcmp(key, "machine-config"))
				count(vmj_machine_config(&st, val, why, sizeof(why)));
			else if (json_object_is_type(val, json_type_array)) {
				for (size_t i = 0; i < json_object_array_length(val); i++) {
					json_object *o = json_object_array_get_idx(val, i);
					count(vmj_drive(&st, "d", o, why, sizeof(why)));
					count(vmj_net(&st, "n", o, why, sizeof(why)));
				}
			}
		}
	}
	json_object *back = vmj_to_json(&st);
	(void)json_object_to_json_string(back);
	json_object_put(back);
	json_object_put(obj);
	vmj_free(&st);
	return 0;
}

#ifndef FUZZ_NO_MAIN
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	uint64_t s = fuzz_seed(0x9e3779b97f4a7c15ULL, 0x2545f4914f6cdd1dULL, argc, argv);
	size_t len = sizeof(seed) - 1;
	static uint8_t buf[sizeof(seed) + 64];
	for (int i = 0; i < n; i++) {
		memcpy(buf, seed, len);
		size_t size = len;
		/* A few byte changes, and sometimes a cut: mostly still JSON. */
		for (int k = 0; k < 1 + i % 4; k++) {
			fuzz_next(&s);
			size_t at = (size_t)(s % len);
			static const char alphabet[] = "{}[]\":,0123456789-eE.truefalsnl \\abcxyz";
			buf[at] = (uint8_t)alphabet[(s >> 32) % (sizeof(alphabet) - 1)];
		}
		if (i % 7 == 0)
			size = (size_t)((s >> 40) % len);
		fuzz_api_one(buf, size);
	}
	printf("ok - fuzz_api (%d mutated configurations: %u objects accepted, %u refused with a reason)\n", n,
	       accepted, refused);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_api_one(data, size);
}
#endif
