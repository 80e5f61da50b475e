// SPDX-License-Identifier: GPL-2.0
/* threadlet-server's entry point (the program is main.c's ts_main()). */
#include "threadlet_server.h"

int main(int argc, char **argv)
{
	return ts_main(argc, argv);
}
