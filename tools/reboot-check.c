// SPDX-License-Identifier: GPL-2.0
/*
 * Second boot of make test: checks that the blocks aio_integrity_test
 * (fsynced_writes_for_the_next_boot) wrote through syslet aio and
 * fsync'ed in the first boot are on the scratch disk, with the tag of
 * that run. Prints one TAP result.
 *
 *   reboot-check TAG
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REBOOT_OFFSET (3ULL << 30)
#define REBOOT_BLOCKS 256

int main(int argc, char **argv)
{
	char want[64], buf[4096];
	int fd, i, bad = 0;

	printf("TAP version 13\n1..1\n");
	fd = argc == 2 ? open("/dev/vda", O_RDONLY) : -1;
	for (i = 0; fd >= 0 && i < REBOOT_BLOCKS; i++) {
		snprintf(want, sizeof(want), "syslet-reboot %s %d", argv[1], i);
		if (pread(fd, buf, sizeof(buf), REBOOT_OFFSET + (long long)i * 4096) != 4096 ||
		    strcmp(buf, want)) {
			printf("# block %d: expected '%s'\n", i, want);
			bad = 1;
			break;
		}
	}
	if (fd < 0)
		printf("# cannot open /dev/vda (or no tag given)\n");
	printf("%s 1 aio.fsynced_writes_survive_a_reboot\n", fd < 0 || bad ? "not ok" : "ok");
	return fd < 0 || bad;
}
