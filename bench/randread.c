/* SPDX-License-Identifier: MIT */
/*
 * make bench's random-read load (bench/linux-io.sh), built static on the host
 * and shipped in the guest's initramfs: N reads of 4 KiB at random 4 KiB-
 * aligned offsets of a block device, with O_DIRECT, one at a time (queue
 * depth 1, what `fio --rw=randread --bs=4k --iodepth=1 --direct=1` does).
 *
 *   randread DEVICE N
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: randread DEVICE N\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_DIRECT);
	uint64_t size = 0;
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0 || size < 4096) {
		perror(argv[1]);
		return 1;
	}
	void *buf;
	if (posix_memalign(&buf, 4096, 4096))
		return 1;
	long n = atol(argv[2]);
	uint64_t blocks = size / 4096, x = 0x9e3779b97f4a7c15ULL;
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (pread(fd, buf, 4096, (off_t)(x % blocks) * 4096) != 4096) {
			perror("pread");
			return 1;
		}
	}
	return 0;
}
