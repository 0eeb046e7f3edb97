/* SPDX-License-Identifier: MIT */
/*
 * Engine registry.
 */
#include <string.h>

#include "engine/engine.h"

const struct engine_ops *const engine_list[] = { &kvm_engine_ops, &soft_engine_ops, NULL };

const struct engine_ops *engine_find(const char *name)
{
	for (size_t i = 0; engine_list[i]; i++)
		if (strcmp(name, engine_list[i]->name) == 0)
			return engine_list[i];
	return NULL;
}
