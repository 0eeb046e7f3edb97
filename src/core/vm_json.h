/* SPDX-License-Identifier: MIT */
/*
 * The machine configuration in Firecracker's JSON shapes (its OpenAPI
 * description: BootSource, MachineConfiguration, Drive, NetworkInterface and
 * FullVmConfiguration), for the control API (core/api.c) and --config-file.
 * Each parser applies one object to a struct vm_config, checking every field
 * (types, required fields, unknown fields refused) and filling why with a
 * one-line fault message on error (-EINVAL). x86v's own extension:
 * machine-config's "x86v_engine" ("auto", "kvm", "soft").
 *
 * Strings the configuration keeps are copies the state owns (vmj_free).
 */
#ifndef X86V_CORE_VM_JSON_H
#define X86V_CORE_VM_JSON_H

#include <stddef.h>
#include <json-c/json.h>

#include "core/compiler.h"
#include "core/vm.h"

/* Drive ids in the order they were first configured (root device first on start). */
struct vmj_drive_ids {
	char id[VM_MAX_DRIVES][64];
	bool root[VM_MAX_DRIVES];
	unsigned n;
};
struct vmj_net_ids {
	char id[VM_MAX_NETS][64];
	unsigned n;
};

struct vmj_state {
	struct vm_config *cfg;
	struct vmj_drive_ids drives;
	struct vmj_net_ids nets;
	bool boot_source; /* PUT /boot-source seen */
	/* The copies cfg's strings point to (vmj_free releases them). */
	char *kernel, *append, *initrd, *accel;
};

int vmj_boot_source(struct vmj_state *st, json_object *obj, char *why, size_t why_len) MUST_CHECK;
int vmj_machine_config(struct vmj_state *st, json_object *obj, char *why, size_t why_len) MUST_CHECK;
/* PUT /drives/{id}: id from the path, which the body's drive_id must match. */
int vmj_drive(struct vmj_state *st, const char *id, json_object *obj, char *why, size_t why_len) MUST_CHECK;
int vmj_net(struct vmj_state *st, const char *id, json_object *obj, char *why, size_t why_len) MUST_CHECK;
/* A whole configuration file (boot-source, machine-config, drives, network-interfaces). */
int vmj_full(struct vmj_state *st, json_object *obj, char *why, size_t why_len) MUST_CHECK;
/* Before the machine starts: the root drive first, and its root= on the command line. */
int vmj_finish(struct vmj_state *st, char *why, size_t why_len) MUST_CHECK;
/* GET /vm/config: the configuration as Firecracker's FullVmConfiguration (caller puts it). */
json_object *vmj_to_json(const struct vmj_state *st);
/* Frees the strings st made (cfg's pointers to them dangle afterwards). */
void vmj_free(struct vmj_state *st);

#endif
