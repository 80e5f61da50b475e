// SPDX-License-Identifier: GPL-2.0
/* fsync-writer's entry point (the program is main.c's fw_main()). */
#include "fsync_writer.h"

int main(int argc, char **argv)
{
	return fw_main(argc, argv);
}
