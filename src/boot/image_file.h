/* SPDX-License-Identifier: MIT */
/*
 * Reading the user's image files (firmware, kernels, initrds) for the loaders.
 */
#ifndef X86V_BOOT_IMAGE_FILE_H
#define X86V_BOOT_IMAGE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"

/* Reads a whole regular file of at most limit bytes into a malloc'ed buffer
 * (one spare NUL byte after the data). what names the file in messages
 * ("kernel", "firmware image"). 0, or -errno with a one-line why. */
int boot_read_file(const char *path, const char *what, uint64_t limit, uint8_t **data, size_t *size, char *why,
		   size_t why_len) MUST_CHECK;

#endif
