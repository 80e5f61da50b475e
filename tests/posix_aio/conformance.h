/* SPDX-License-Identifier: GPL-2.0 */
/*
 * POSIX AIO conformance suite: helpers shared by the case files.
 *
 * Every case prints lines of observable results only (return values,
 * errno names, aio_error()/aio_return() values, data digests), nothing
 * that depends on timing, so that the output of a run against glibc and
 * of a run against libsyslet-aio can be compared byte for byte.
 */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#define _GNU_SOURCE
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Signals the suite uses for notifications; blocked in every thread. */
#define SIG_A (SIGRTMIN + 1)
#define SIG_B (SIGRTMIN + 2)
#define SIG_C (SIGRTMIN + 3)
#define SIG_D (SIGRTMIN + 4)

extern char tmpdir[];
extern pthread_t main_thread;

/* Print one result line (flushed: fork() must not duplicate it). */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "0", or the errno's name ("EINVAL"). */
const char *en(int e);
/* FNV-1a of a buffer, as 16 hex digits in a static buffer per call slot. */
uint64_t digest(const void *p, size_t n);
/* A fresh file in the suite's directory, opened with FLAGS. */
int tmpfile_open(const char *name, int flags);
/* A file of N bytes of pattern SEED. */
int make_file(const char *name, size_t n, unsigned seed);
void fill(void *buf, size_t n, unsigned seed);
/* An aiocb for FD, BUF, N bytes at OFF, no notification. */
void setcb(struct aiocb *cb, int fd, void *buf, size_t n, off_t off);
/* Wait (aio_suspend(), restarting after EINTR) until CB is finished. */
void wait_cb(struct aiocb *cb);
/* "err=E ret=R" of a finished request, in a static buffer. */
const char *res(struct aiocb *cb);
/* The next notification signal among SIG_A..SIG_D within 5 s: its
 * description, or "none". */
const char *take_signal(void);
void msleep(int ms);

/* the cases */
void case_read_write(void);
void case_short_file_eof(void);
void case_cached_reads(void);
void case_device_reads(void);
void case_bad_buffers(void);
void case_zero_large(void);
void case_fsync(void);
void case_fsync_after_writes(void);
void case_errors(void);
void case_suspend(void);
void case_suspend_eintr(void);
void case_cancel(void);
void case_cancel_kernel(void);
void case_cancel_started(void);
void case_same_fd_order(void);
void case_aio64(void);
void case_lio(void);
void case_lio_nowait(void);
void case_notify_signal(void);
void case_notify_thread(void);
void case_threads(void);
void case_many_inflight(void);
void case_fork(void);
void case_fork_child_io(void);
void case_read_runs(void);
void case_helper_fork(void);
void case_exit_exec(void);
void case_reap_paths(void);
void case_reap_eintr(void);
void case_reap_longjmp(void);
void case_reap_cancel(void);
void case_reap_cancel_slow(void);
/* SA_CANCEL_DEV, else a file of the suite's, opened O_DIRECT (cases_reap.c) */
int reap_open_direct(char **what);
void inflight_then(const char *how);

#endif
