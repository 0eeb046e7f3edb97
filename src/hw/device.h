/* SPDX-License-Identifier: MIT */
/*
 * The device object: what every device model gives the board so that machine
 * reset, teardown and snapshots walk one list instead of naming each device.
 *
 * A device keeps its guest-visible state in a plain struct of its own (no
 * pointers, no wiring), described by a table of fields (name, offset, size,
 * the state version that added it) in the spirit of Bochs' register_state()
 * and QEMU's VMState. Its wiring (IRQ lines, buses, backends, timers) lives
 * beside that struct and is never saved.
 *
 * Saving writes the fields by name; loading reads them over a device that was
 * just reset, so fields a snapshot lacks (an older version) keep their reset
 * values. A snapshot is untrusted input: post_load checks every invariant the
 * device relies on (indexes within arrays, counts within capacities) before
 * the device runs again, and rebuilds what follows from the state (timers,
 * BAR mappings). It does not drive interrupt lines: the controllers' own
 * state holds the input levels they saw, and the board ignores line changes
 * while it loads (so the resets before each load do not disturb them either).
 *
 * Locking: every call with the machine lock held and the vCPUs stopped.
 */
#ifndef X86V_HW_DEVICE_H
#define X86V_HW_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/compiler.h"
#include "core/statebuf.h"

struct device;

struct device_field {
	const char *name;
	size_t offset; /* in the state struct */
	size_t size;
	unsigned since; /* the class version that added the field */
	bool is_bool; /* bool or an array of bool: the loader accepts only 0 and 1 */
};

/* A member of the state struct type, present since version 1 (or since v). */
#define DEVICE_FIELD(type, member) DEVICE_FIELD_SINCE(type, member, 1)
#define DEVICE_FIELD_SINCE(type, member, v) \
	{ #member, offsetof(type, member), sizeof(((type *)0)->member), (v), false }
/* A bool member (or array of bool). */
#define DEVICE_BOOL(type, member) DEVICE_BOOL_SINCE(type, member, 1)
#define DEVICE_BOOL_SINCE(type, member, v) \
	{ #member, offsetof(type, member), sizeof(((type *)0)->member), (v), true }

struct device_class {
	const char *type; /* "uart16550": a snapshot's record must name the same */
	unsigned version; /* of the state layout; a snapshot from a newer one is refused */
	const struct device_field *fields;
	size_t nfields;
	/* Back to the power-on state (machine reset). */
	void (*reset)(struct device *dev);
	/* Optional: bring the state struct up to date before it is saved (timer
	 * deadlines, requests in flight finished). 0 or -errno. */
	int (*pre_save)(struct device *dev);
	/* Optional but expected: the fields were just loaded over a reset device.
	 * Check every invariant the device relies on and rebuild what follows from
	 * the state. 0, or -EINVAL with a one-line reason in why. */
	int (*post_load)(struct device *dev, char *why, size_t why_len);
	void (*destroy)(struct device *dev);
};

struct device {
	const struct device_class *cls;
	char name[32]; /* unique on the board: "com1", "virtio-blk.0" */
	void *state; /* the plain struct that cls->fields describe */
};

void device_init(struct device *dev, const struct device_class *cls, const char *name, void *state);

/* Writes one record: name, type, version and every field by name. 0 or -errno. */
int device_save(struct device *dev, struct statebuf *out) MUST_CHECK;
/* Resets dev, loads the fields of the record a reader holds over it and runs
 * post_load. 0, or -EINVAL with why filled and dev left reset (wrong type, newer version, a field
 * this version does not know or of another size, a truncated record, a state
 * post_load refuses). */
int device_load(struct device *dev, struct state_reader *in, char *why, size_t why_len) MUST_CHECK;
/* The instance name a record starts with (the reader is left unchanged). */
void device_record_name(const struct state_reader *in, char out[256]);

/* The board's devices, in creation order. */
struct device_list {
	struct device **items;
	size_t count, cap;
};

int device_list_add(struct device_list *list, struct device *dev) MUST_CHECK;
struct device *device_list_find(const struct device_list *list, const char *name);
/* Resets every device, in creation order. */
void device_list_reset(struct device_list *list);
/* Destroys every device, newest first, and empties the list. */
void device_list_destroy(struct device_list *list);

#endif
