/* SPDX-License-Identifier: MIT */
/*
 * Device records (device.h). A record is
 *   name, type (names), version (u32), field count (u32),
 *   then per field: name, size (u32), the bytes.
 * Fields are found by name, so their order and the struct layout can change
 * between versions of x86v; a size change is a new field name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/device.h"

void device_init(struct device *dev, const struct device_class *cls, const char *name, void *state)
{
	dev->cls = cls;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->state = state;
}

int device_save(struct device *dev, struct statebuf *out)
{
	const struct device_class *cls = dev->cls;
	if (cls->pre_save) {
		int r = cls->pre_save(dev);
		if (r < 0)
			return r;
	}
	sb_put_name(out, dev->name);
	sb_put_name(out, cls->type);
	sb_put_u32(out, cls->version);
	sb_put_u32(out, (uint32_t)cls->nfields);
	for (size_t i = 0; i < cls->nfields; i++) {
		const struct device_field *f = &cls->fields[i];
		sb_put_name(out, f->name);
		sb_put_u32(out, (uint32_t)f->size);
		sb_put(out, (const uint8_t *)dev->state + f->offset, f->size);
	}
	return out->failed ? -ENOMEM : 0;
}

void device_record_name(const struct state_reader *in, char out[256])
{
	struct state_reader peek = *in;
	sr_get_name(&peek, out);
}

static const struct device_field *find_field(const struct device_class *cls, const char *name)
{
	for (size_t i = 0; i < cls->nfields; i++)
		if (strcmp(cls->fields[i].name, name) == 0)
			return &cls->fields[i];
	return NULL;
}

int device_load(struct device *dev, struct state_reader *in, char *why, size_t why_len)
{
	const struct device_class *cls = dev->cls;
	char name[256], type[256];
	cls->reset(dev); /* also what a refused record leaves */
	sr_get_name(in, name);
	sr_get_name(in, type);
	uint32_t version = sr_get_u32(in);
	uint32_t nfields = sr_get_u32(in);
	if (!sr_ok(in)) {
		snprintf(why, why_len, "device %s: truncated record", dev->name);
		return -EINVAL;
	}
	if (strcmp(name, dev->name) != 0 || strcmp(type, cls->type) != 0) {
		snprintf(why, why_len, "device %s: the record is for %s (%s), not %s", dev->name, name, type, cls->type);
		return -EINVAL;
	}
	if (version == 0 || version > cls->version) {
		snprintf(why, why_len, "device %s: state version %u, this x86v knows up to %u", dev->name, version,
			 cls->version);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < nfields; i++) {
		char fname[256];
		sr_get_name(in, fname);
		uint32_t size = sr_get_u32(in);
		if (!sr_ok(in))
			break;
		const struct device_field *f = find_field(cls, fname);
		if (!f || f->since > version) {
			snprintf(why, why_len, "device %s: unknown field %s", dev->name, fname);
			return -EINVAL;
		}
		if (size != f->size) {
			snprintf(why, why_len, "device %s: field %s has %u bytes, not %zu", dev->name, fname, size,
				 f->size);
			return -EINVAL;
		}
		/* Through a copy: a bool that is not 0 or 1 must never reach the
		 * state, where the reset that follows a refusal might read it. */
		uint8_t copy[256];
		uint8_t *at = (uint8_t *)dev->state + f->offset;
		uint8_t *dst = f->is_bool && size <= sizeof(copy) ? copy : at;
		sr_get(in, dst, size);
		for (size_t k = 0; f->is_bool && k < size; k++) {
			if (dst[k] > 1) {
				memset(at, 0, size);
				snprintf(why, why_len, "device %s: field %s is not a boolean", dev->name, fname);
				cls->reset(dev);
				return -EINVAL;
			}
		}
		if (dst != at)
			memcpy(at, dst, size);
	}
	if (!sr_ok(in)) {
		snprintf(why, why_len, "device %s: truncated record", dev->name);
		cls->reset(dev);
		return -EINVAL;
	}
	if (cls->post_load) {
		int r = cls->post_load(dev, why, why_len);
		if (r < 0) {
			cls->reset(dev); /* never leave a state the device refused */
			return r;
		}
	}
	return 0;
}

int device_list_add(struct device_list *list, struct device *dev)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 32;
		struct device **items = realloc(list->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->count++] = dev;
	return 0;
}

struct device *device_list_find(const struct device_list *list, const char *name)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i]->name, name) == 0)
			return list->items[i];
	return NULL;
}

void device_list_reset(struct device_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		list->items[i]->cls->reset(list->items[i]);
}

void device_list_destroy(struct device_list *list)
{
	while (list->count) {
		struct device *dev = list->items[--list->count];
		dev->cls->destroy(dev);
	}
	free(list->items);
	*list = (struct device_list){ 0 };
}
