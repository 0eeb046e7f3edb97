/* SPDX-License-Identifier: MIT */
/*
 * Engine registry.
 */
#include <string.h>

#include "engine/engine.h"

const struct engine_ops *engine_find(const char *name)
{
	if (strcmp(name, "kvm") == 0)
		return &kvm_engine_ops;
	return NULL;
}
