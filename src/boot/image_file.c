/* SPDX-License-Identifier: MIT */
/*
 * Bounded reads of image files: the size is checked with fstat before any
 * byte is read, so a huge or special file is refused up front.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/image_file.h"

static void file_why(char *why, size_t why_len, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void file_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

int boot_read_file(const char *path, const char *what, uint64_t limit, uint8_t **data, size_t *size, char *why,
		   size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		file_why(why, why_len, "%s: cannot open %s: %s", path, what, strerror(e));
		return -e;
	}
	struct stat st;
	int r = 0;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		file_why(why, why_len, "%s: cannot stat %s: %s", path, what, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		file_why(why, why_len, "%s: %s is not a regular file", path, what);
		goto out;
	}
	if ((uint64_t)st.st_size > limit) {
		r = -EFBIG;
		file_why(why, why_len, "%s: %s too large (%lld bytes, at most %llu)", path,
		       what, (long long)st.st_size, (unsigned long long)limit);
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len + 1);
	if (!buf) {
		r = -ENOMEM;
		file_why(why, why_len, "%s: out of memory reading %s", path, what);
		goto out;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			file_why(why, why_len, "%s: cannot read %s: %s", path, what,
			       n < 0 ? strerror(-r) : "file shrank while reading");
			goto out;
		}
		done += (size_t)n;
	}
	*data = buf;
	*size = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}
