/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSYNC_WRITER_H
#define FSYNC_WRITER_H
/* The command line program (main.c): its exit status. */
int fw_main(int argc, char **argv);
#endif
