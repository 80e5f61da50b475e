/* SPDX-License-Identifier: GPL-2.0 */
#ifndef THREADLET_SERVER_H
#define THREADLET_SERVER_H
/* The command line program (main.c): its exit status. */
int ts_main(int argc, char **argv);
#endif
