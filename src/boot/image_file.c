/* SPDX-License-Identifier: MIT */
/*
 * Bounded reads of image files: the size is checked with fstat before any
 * byte is read, so a huge or special file is refused up front. A file once
 * opened stays open, and later reads (a machine reset reloads its images)
 * read it again through that descriptor: threads under the sandbox may not
 * open files (core/sandbox.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
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

#define OPEN_FILES_MAX 8

static struct {
	pthread_mutex_t lock;
	struct {
		char *path;
		int fd;
	} files[OPEN_FILES_MAX];
} opened = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Whether fd is (still) the file at path. */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* path's descriptor: the one opened before (unless the path now names
 * another file that can be opened), or a new one, kept when there is room
 * (*keep then says so). -errno when it cannot be opened. */
static int open_image(const char *path, bool *keep)
{
	pthread_mutex_lock(&opened.lock);
	unsigned i = 0;
	while (i < OPEN_FILES_MAX && opened.files[i].path && strcmp(opened.files[i].path, path))
		i++;
	bool known = i < OPEN_FILES_MAX && opened.files[i].path;
	int fd = known && same_file(opened.files[i].fd, path) ? opened.files[i].fd : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && known) {
		fd = opened.files[i].fd; /* replaced, and we may not open files any more: the old one */
	} else if (fd < 0) {
		fd = -errno;
	} else if (known && fd != opened.files[i].fd) {
		close(opened.files[i].fd);
		opened.files[i].fd = fd;
	} else if (!known && i < OPEN_FILES_MAX && (opened.files[i].path = strdup(path))) {
		opened.files[i].fd = fd;
		known = true;
	}
	*keep = known;
	pthread_mutex_unlock(&opened.lock);
	return fd;
}

int boot_read_file(const char *path, const char *what, uint64_t limit, uint8_t **data, size_t *size, char *why,
		   size_t why_len)
{
	bool keep;
	int fd = open_image(path, &keep);
	if (fd < 0) {
		file_why(why, why_len, "%s: cannot open %s: %s", path, what, strerror(-fd));
		return fd;
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
	if (!keep)
		close(fd);
	return r;
}
