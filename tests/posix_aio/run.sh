#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# POSIX AIO conformance (issue #18): builds libsyslet-aio.so and the
# suite with plain gcc, runs the suite against glibc's implementation and
# against the library, and requires the same output byte for byte.
#
#   tests/posix_aio/run.sh [-O DIR] [-n N] [-b | -B DIR] [-T]
#
#   -O DIR   build and output directory (default tests/posix_aio/build)
#   -n N     run the library side N times (flake hunting; default 1)
#   -b       build only (tools/build-guest, into the guest's /opt/syslet)
#   -B DIR   run what -b built in DIR, without building (make test)
#   -T       one TAP result for the whole run, the rest as comments
#
# Runs, each compared with the glibc run:
#   library   LD_PRELOAD + SYSLET_AIO_FORCE=1 + SYSLET_AIO_NOWAIT=0: the
#             io_submit() path for every request, even on a kernel without
#             the syslet engine (stock io_submit() of buffered I/O is
#             synchronous, but correct);
#   nowait    the same with the page-cache attempt on (the default) and
#             no helper thread (SYSLET_AIO_HELPER=0): a cached aio_read()
#             finishes inside the call (preadv2 with RWF_NOWAIT), the rest
#             through io_submit();
#   helper    the page-cache attempt made by the helper thread for every
#             read that could make it inline (SYSLET_AIO_HELPER=2), a miss
#             passed on to io_submit();
#   fallback  LD_PRELOAD + SYSLET_AIO_DISABLE=1: every call to glibc;
#   auto      LD_PRELOAD alone: io_submit() iff kernel.syslet_aio is 1.
# The library's SYSLET_AIO_STATS=1 line of the suite's own process must
# show the path it was meant to take (io_submit requests, or none), so
# that no run passes by silently falling back. Then the library-only
# case (fork_child_io) against its expected output, interpose (every
# POSIX AIO symbol version an old or new binary has binds to the library)
# and a second unmodified program, Debian's stress-ng (its aio stressor).
# Exit 0 when all pass; otherwise 1, with the differences printed.

set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
O=$here/build
N=1
build_only=0
bin=
tap=0
while getopts O:n:bB:T opt; do
	case $opt in
	O) O=$OPTARG ;;
	n) N=$OPTARG ;;
	b) build_only=1 ;;
	B) bin=$OPTARG ;;
	T) tap=1 ;;
	*) echo "usage: $0 [-O DIR] [-n N] [-b | -B DIR] [-T]" >&2; exit 2 ;;
	esac
done
if [ $tap = 1 ]; then
	log=$(mktemp)
	"$0" -O "$O" -n "$N" ${bin:+-B "$bin"} >"$log" 2>&1
	rc=$?
	echo "TAP version 13"
	echo "1..1"
	sed 's/^/# /' "$log"
	rm -f "$log"
	[ $rc = 0 ] && echo "ok 1 posix_aio: conformance against glibc" ||
		echo "not ok 1 posix_aio: conformance against glibc (exit status $rc)"
	exit $rc
fi
mkdir -p "$O" || exit 2
O=$(cd "$O" && pwd)
CC=${CC:-gcc}
TIMEOUT=${TIMEOUT:-300}

if [ -z "$bin" ]; then
	bin=$O
	# -B: the output directory may hold objects of another checkout
	make -s -B -C "$root/lib/posix-aio" O="$O/lib" || exit 2
	$CC -O2 -g -Wall -Werror -pthread -o "$O/conformance" "$here/conformance.c" \
		"$here/cases_wait_cancel.c" "$here/cases_lio_notify.c" "$here/cases_proc.c" \
		"$here/cases_reap.c" "$here/cases_reap_jump.c" "$here/cases_read.c" \
		"$here/cases_helper.c" -lrt -ldl || exit 2
	$CC -O2 -g -Wall -Werror -pthread -o "$O/interpose" "$here/interpose.c" -lrt -ldl || exit 2
	$CC -O2 -g -Wall -Werror -pthread -o "$O/tun_order" "$here/tun_order.c" -lrt || exit 2
	[ $build_only = 1 ] && exit 0
fi
lib=$bin/lib/libsyslet-aio.so

failed=0
fail() {
	echo "posix_aio: FAIL: $*"
	failed=1
}

# Cached reads take the library's page-cache attempt only where the
# kernel offers RWF_NOWAIT: not on tmpfs (make test's guest), so there
# the suite's cached_reads case reads a block device.
cached_env=
[ -b /dev/nullb0 ] && [ -w /dev/nullb0 ] && cached_env=SA_CACHED_DEV=/dev/nullb0

# run NAME ENV...: the suite under ENV; stdout to NAME.out, stderr (first
# line: the suite's pid) to NAME.err
run() {
	name=$1
	shift
	# shellcheck disable=SC2086 # empty or one assignment
	env $cached_env "$@" timeout "$TIMEOUT" sh -c 'echo "pid $$" >&2; exec "$0"' "$bin/conformance" \
		</dev/null >"$O/$name.out" 2>"$O/$name.err"
	rc=$?
	[ $rc -eq 0 ] || fail "$name: exit status $rc$( [ $rc -eq 124 ] && echo ' (timeout)')"
}

# stats NAME: the library's statistics line of the suite's process
stats() {
	pid=$(sed -n 's/^pid //p' "$O/$1.err" | head -n 1)
	grep "^syslet-aio\[$pid\]:" "$O/$1.err" | tail -n 1
}

field() { # field LINE KEY
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

compare() { # compare NAME: NAME.out against glibc.out
	if cmp -s "$O/glibc.out" "$O/$1.out"; then
		echo "posix_aio: $1: identical to glibc ($(wc -l <"$O/$1.out") lines)"
	else
		fail "$1: output differs from glibc's (< glibc, > $1):"
		diff "$O/glibc.out" "$O/$1.out"
	fi
}

# expect NAME MODE: the stats line says MODE and, for io_submit, that the
# library really submitted (and fell back to glibc only for what it must)
expect() {
	s=$(stats "$1")
	if [ -z "$s" ]; then
		fail "$1: no statistics line from libsyslet-aio (was it loaded?)"
		return
	fi
	echo "posix_aio: $1: $s"
	mode=$(field "$s" mode)
	case $2 in nowait | helper | auto) want=io_submit ;; *) want=$2 ;; esac
	[ "$mode" = "$want" ] || { fail "$1: library mode $mode, expected $want"; return; }
	k=$(field "$s" kernel)
	g=$(field "$s" glibc)
	p=$(field "$s" passthrough)
	w=$(field "$s" nowait)
	h=$(field "$s" helper)
	hh=$(field "$s" helper_hit)
	if [ "$want" = io_submit ]; then
		# the suite makes over 7,000 requests on regular files, and
		# only a few dozen on pipes and the like, which go to glibc;
		# with the page-cache attempt on, cached reads finish in the
		# call or on the helper thread
		[ "$((k + w + hh))" -ge 7000 ] ||
			fail "$1: only $k requests went through io_submit(), $w finished in the call, $hh on the helper"
		case $2 in
		nowait | auto)
			# cached_reads alone makes 512, most of them cached, each
			# the first of its run (so not the helper's)
			[ "$w" -ge 256 ] || fail "$1: only $w cached reads finished in the call"
			[ "$2" = auto ] || [ "$h" = 0 ] ||
				fail "$1: $h reads handed to the helper with SYSLET_AIO_HELPER=0" ;;
		helper)
			# every read the inline path could make (cached_reads:
			# 504, read_runs: over 1,000); the block device's hit
			[ "$w" = 0 ] || fail "$1: $w reads finished in the call with SYSLET_AIO_HELPER=2"
			[ "$h" -ge 1000 ] || fail "$1: only $h reads handed to the helper"
			[ -z "$cached_env" ] || [ "$hh" -ge 256 ] ||
				fail "$1: only $hh handed reads finished from the page cache" ;;
		*)
			[ "$w" = 0 ] || fail "$1: $w reads finished in the call with SYSLET_AIO_NOWAIT=0"
			[ "$h" = 0 ] || fail "$1: $h reads handed to the helper with SYSLET_AIO_NOWAIT=0" ;;
		esac
		[ "$g" -le 100 ] || fail "$1: $g requests went to glibc"
		# every request of the suite's process is over and freed
		[ "$(field "$s" live)" = 0 ] || fail "$1: requests left allocated at exit"
	else
		[ "$k" -eq 0 ] || fail "$1: $k requests went through io_submit() in fallback mode"
		[ "$p" -gt 0 ] || fail "$1: no call passed to glibc in fallback mode"
	fi
}

run glibc
[ -s "$O/glibc.out" ] || fail "glibc run printed nothing"
i=0
while [ $i -lt "$N" ]; do
	i=$((i + 1))
	run library LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_NOWAIT=0 SYSLET_AIO_STATS=1
	compare library
	expect library io_submit
	run nowait LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_HELPER=0 SYSLET_AIO_STATS=1
	compare nowait
	expect nowait nowait
	run helper LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_HELPER=2 SYSLET_AIO_STATS=1 \
		SA_RACE_ROUNDS=5000 MALLOC_PERTURB_=165
	compare helper
	expect helper helper
done
run fallback LD_PRELOAD="$lib" SYSLET_AIO_DISABLE=1 SYSLET_AIO_STATS=1
compare fallback
expect fallback glibc
run auto LD_PRELOAD="$lib" SYSLET_AIO_STATS=1
compare auto
if [ "$(cat /proc/sys/kernel/syslet_aio 2>/dev/null)" = 1 ]; then
	expect auto auto
else
	expect auto glibc
fi

# A fork() child's own requests: glibc's can wait for ever (see
# cases_proc.c), so this runs against the library only.
cat >"$O/fork_child_io.expected" <<'EOF'
fork_child_io: child: pipe read err=EINPROGRESS cancel=1 suspend=-1/EAGAIN
fork_child_io: child: write rc=0 err=0 ret=4096
fork_child_io: child: read rc=0 err=0 ret=4096 digest=4eda843aace76b87
fork_child_io: parent: child status=0 writes bad=0 pipe err=0 ret=5 data=after
EOF
LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 timeout "$TIMEOUT" "$bin/conformance" fork_child_io \
	</dev/null >"$O/fork_child_io.out" 2>&1
if cmp -s "$O/fork_child_io.expected" "$O/fork_child_io.out"; then
	echo "posix_aio: fork_child_io (library only): as expected"
else
	fail "fork_child_io (library only): (< expected, > library)"
	diff "$O/fork_child_io.expected" "$O/fork_child_io.out"
fi

# fork() right after a run of reads handed to the helper (library only:
# glibc's child can wait for ever on its request lock).
cat >"$O/helper_fork.expected" <<'EOF'
helper_fork: child: consistent=1 own run bad=0
helper_fork: parent: child status=0 reads bad=0
EOF
for helper in 2 1; do
	# shellcheck disable=SC2086 # empty or one assignment
	env $cached_env LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_HELPER=$helper timeout "$TIMEOUT" \
		"$bin/conformance" helper_fork </dev/null >"$O/helper_fork.out" 2>&1
	if cmp -s "$O/helper_fork.expected" "$O/helper_fork.out"; then
		echo "posix_aio: helper_fork (library only, SYSLET_AIO_HELPER=$helper): as expected"
	else
		fail "helper_fork (library only, SYSLET_AIO_HELPER=$helper): (< expected, > library)"
		diff "$O/helper_fork.expected" "$O/helper_fork.out"
	fi
done

# Two reads of a tun device keep their order (tun_order.c): glibc and the
# library must print the same.
rc=0
timeout "$TIMEOUT" "$bin/tun_order" </dev/null >"$O/tun_order.glibc" 2>&1 || rc=$?
if [ $rc = 3 ]; then
	echo "posix_aio: tun_order: not run (no tun device or network namespace here)"
else
	LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 timeout "$TIMEOUT" "$bin/tun_order" \
		</dev/null >"$O/tun_order.lib" 2>&1
	if [ $rc = 0 ] && cmp -s "$O/tun_order.glibc" "$O/tun_order.lib"; then
		echo "posix_aio: tun_order: identical to glibc ($(tail -1 "$O/tun_order.lib"))"
	else
		fail "tun_order: (< glibc exit $rc, > library)"
		diff "$O/tun_order.glibc" "$O/tun_order.lib"
	fi
fi

# Cached reads of a tmpfs file (which answers RWF_NOWAIT with EOPNOTSUPP)
# finish inside aio_read() too, with a plain preadv2() (cached.c): the
# cached_reads case on tmpfs, glibc against the library without its
# helper, the same output, and at least 480 of its 504 non-empty reads
# finished in the call (the first one on a file system not seen before
# asks RWF_NOWAIT and goes through io_submit(), which makes the
# io_context a plain read needs; the backoff skips one more). Where
# /dev/shm is not tmpfs (a host without it) the run is reported as not
# made.
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	env -u SA_CACHED_DEV TMPDIR=/dev/shm timeout "$TIMEOUT" "$bin/conformance" cached_reads \
		</dev/null >"$O/tmpfs_reads.glibc" 2>&1
	env -u SA_CACHED_DEV TMPDIR=/dev/shm LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_HELPER=0 \
		SYSLET_AIO_STATS=1 timeout "$TIMEOUT" "$bin/conformance" cached_reads </dev/null \
		>"$O/tmpfs_reads.lib" 2>"$O/tmpfs_reads.err"
	s=$(grep '^syslet-aio' "$O/tmpfs_reads.err" | tail -n 1)
	w=$(field "$s" nowait)
	if ! cmp -s "$O/tmpfs_reads.glibc" "$O/tmpfs_reads.lib"; then
		fail "tmpfs_reads: output differs from glibc's (< glibc, > library)"
		diff "$O/tmpfs_reads.glibc" "$O/tmpfs_reads.lib"
	elif [ "${w:-0}" -lt 480 ]; then
		fail "tmpfs_reads: only ${w:-0} of 504 cached tmpfs reads finished in the call: $s"
	else
		echo "posix_aio: tmpfs_reads: identical to glibc, $w reads finished in the call"
	fi
else
	echo "posix_aio: tmpfs_reads: not run (/dev/shm is not tmpfs here)"
fi

# Who reaps the ring (library only, reap.c): fio's loop of O_DIRECT reads
# (of null_blk if there is one, else of a file: completions after
# io_submit() returns) must have a caller wait in io_getevents(); a
# notification and aio_error() polling with nobody in aio_suspend() must
# still see their completion within 1 s.
cat >"$O/reap_paths.expected" <<'EOF'
reap_paths: 2048 reads at QD 32 bad=0
reap_paths: 64 reads at QD 1 bad=0 a caller waited in io_getevents()=1
reap_paths: SIGEV_SIGNAL, nobody waiting: rc=0 {sig=A code=SI_ASYNCIO value=77 pid=self uid=self} within 1 s=1 then err=0 ret=4096 by the reaper=1
reap_paths: SIGEV_THREAD, nobody waiting: rc=0 ran=1 within 1 s=1 then err=0 ret=4096
reap_paths: 64 reads at QD 1 bad=0 a caller waited in io_getevents()=1
reap_paths: aio_error() polling: rc=0 within 1 s=1 then err=0 ret=4096
EOF
reap_dev=
[ -b /dev/nullb0 ] && reap_dev=SA_CANCEL_DEV=/dev/nullb0
# shellcheck disable=SC2086 # empty or one assignment
env $reap_dev LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_STATS=1 timeout "$TIMEOUT" \
	"$bin/conformance" reap_paths </dev/null >"$O/reap_paths.out" 2>"$O/reap_paths.err"
if cmp -s "$O/reap_paths.expected" "$O/reap_paths.out"; then
	echo "posix_aio: reap_paths (library only): as expected; $(grep '^syslet-aio' "$O/reap_paths.err")"
else
	fail "reap_paths (library only): (< expected, > library)"
	diff "$O/reap_paths.expected" "$O/reap_paths.out"
	cat "$O/reap_paths.err"
fi

# No completion lost when a caller leaves aio_suspend() abnormally while
# it reaps (library only, suspend.c): a handler that siglongjmp()s out,
# 2,000 times; pthread_cancel() of a thread in aio_suspend(), 200 times.
cat >"$O/reap_jump.expected" <<'EOF'
reap_longjmp: 2000 rounds, jumped out of aio_suspend()>=100=1 all reads ended=1 1 s waits that timed out=0 bad=0
reap_cancel: 200 cancellations, each within 1 s=1 reads never ended=0 the other thread went on=1 bad=0
EOF
# shellcheck disable=SC2086 # empty or one assignment
env $reap_dev LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_STATS=1 timeout "$TIMEOUT" \
	"$bin/conformance" reap_longjmp reap_cancel </dev/null >"$O/reap_jump.out" 2>"$O/reap_jump.err"
if cmp -s "$O/reap_jump.expected" "$O/reap_jump.out"; then
	echo "posix_aio: reap_longjmp, reap_cancel (library only): as expected; $(grep -v '^syslet-aio' "$O/reap_jump.err" | tr '\n' ' ')"
else
	fail "reap_longjmp, reap_cancel (library only): (< expected, > library)"
	diff "$O/reap_jump.expected" "$O/reap_jump.out"
	cat "$O/reap_jump.err"
fi

# aio_cancel() of a read the kernel runs (library only): on the patched
# kernel with a slow block device (make test's null_blk, 5 ms per I/O),
# read-ahead off so 1 MiB is 256 reads one after the other.
dev=/dev/nullb0
ra=/sys/block/nullb0/queue/read_ahead_kb
if [ "$(cat /proc/sys/kernel/syslet_aio 2>/dev/null)" = 1 ] && [ -b $dev ] && [ -w $ra ]; then
	ra_was=$(cat $ra)
	echo 0 >$ra
	SA_CANCEL_DEV=$dev LD_PRELOAD="$lib" SYSLET_AIO_STATS=1 timeout "$TIMEOUT" \
		sh -c 'echo "pid $$" >&2; exec "$0" cancel_kernel' "$bin/conformance" \
		</dev/null >"$O/cancel_kernel.out" 2>"$O/cancel_kernel.err"
	# a read the page-cache attempt half-copied, then queued or in flight,
	# cancelled at once: never AIO_CANCELED with its buffer written (which
	# state it is in depends on timing: three runs)
	exp="cancel_started: partial=4096 lio=0 rc=0 consistent=1"
	for i in 1 2 3; do
		SA_CANCEL_DEV=$dev LD_PRELOAD="$lib" SYSLET_AIO_STATS=1 timeout "$TIMEOUT" \
			"$bin/conformance" cancel_started </dev/null >"$O/cancel_started.out" \
			2>"$O/cancel_started.err"
		if [ "$(cat "$O/cancel_started.out")" = "$exp" ]; then
			echo "posix_aio: cancel_started $i (library only): $(grep -v '^pid' "$O/cancel_started.err" | tr '\n' ' ')"
		else
			fail "cancel_started (library only): expected \"$exp\", got: $(cat "$O/cancel_started.out" "$O/cancel_started.err")"
		fi
	done
	# a handler interrupts a caller asleep in io_getevents() for a
	# kernel request: glibc's EINTR semantics
	cat >"$O/reap_eintr.expected" <<'EOF'
reap_eintr: timeout, no SA_RESTART: rc=-1 errno=EINTR handler=1 err=EINPROGRESS
reap_eintr: no timeout, no SA_RESTART: rc=-1 errno=EINTR handler=1 err=EINPROGRESS
reap_eintr: timeout, SA_RESTART: rc=-1 errno=EINTR handler=1 err=EINPROGRESS
reap_eintr: no timeout, SA_RESTART: rc=0 errno=- handler=1 err=0
EOF
	# and a thread cancelled while it sleeps there acts at once
	echo "reap_cancel_slow: rc=0 in flight when cancelled=1 cancelled within 200 ms=1 then ended=1 err=0 ret=1048576" \
		>>"$O/reap_eintr.expected"
	SA_CANCEL_DEV=$dev LD_PRELOAD="$lib" SYSLET_AIO_STATS=1 timeout "$TIMEOUT" \
		"$bin/conformance" reap_eintr reap_cancel_slow </dev/null >"$O/reap_eintr.out" 2>"$O/reap_eintr.err"
	if cmp -s "$O/reap_eintr.expected" "$O/reap_eintr.out"; then
		echo "posix_aio: reap_eintr, reap_cancel_slow (library only): as expected; $(tr '\n' ' ' <"$O/reap_eintr.err")"
	else
		fail "reap_eintr, reap_cancel_slow (library only): (< expected, > library)"
		diff "$O/reap_eintr.expected" "$O/reap_eintr.out"
	fi
	echo "$ra_was" >$ra
	s=$(stats cancel_kernel)
	echo "posix_aio: cancel_kernel (library only): $(grep -v '^pid\|^syslet-aio' "$O/cancel_kernel.err")"
	if grep -q "^cancel_kernel: consistent=1 ended_early=1$" "$O/cancel_kernel.out" &&
		[ "$(field "$s" io_cancel)" -ge 1 ]; then
		echo "posix_aio: cancel_kernel: cancelled through io_cancel(): $s"
	else
		fail "cancel_kernel: $(cat "$O/cancel_kernel.out"); $s"
	fi
else
	echo "posix_aio: cancel_kernel, cancel_started, reap_eintr, reap_cancel_slow: not run (needs kernel.syslet_aio=1 and $dev)"
fi

# Every symbol version binds to glibc without the library, to the library
# with it; the library serves calls made through old and new versions.
if "$bin/interpose" libc.so.6 >"$O/interpose-glibc.out" 2>&1; then
	echo "posix_aio: interpose without LD_PRELOAD: $(tail -n 1 "$O/interpose-glibc.out")"
else
	fail "interpose without LD_PRELOAD:"
	cat "$O/interpose-glibc.out"
fi
if LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1 SYSLET_AIO_NOWAIT=0 "$bin/interpose" libsyslet-aio.so \
	>"$O/interpose-lib.out" 2>&1 &&
	grep -q "io_submit by the library: new=yes old=yes" "$O/interpose-lib.out" &&
	grep -q "^old lio_listio: rc=0 ret=4096 member sigev_notify=SIGEV_NONE" "$O/interpose-lib.out"; then
	echo "posix_aio: interpose with LD_PRELOAD: $(tail -n 1 "$O/interpose-lib.out")," \
		"old and new references served through io_submit()"
else
	fail "interpose with LD_PRELOAD:"
	cat "$O/interpose-lib.out"
fi

# A second unmodified program: Debian's stress-ng, whose aio stressor
# makes aio_read64()/aio_write64()/aio_error64()/aio_cancel64() calls on
# a temporary file and checks what it reads (--verify). It must pass
# with glibc and with the library; a traced run (the library's own
# statistics die with the stressor's _exit()) counts the requests
# io_submit() took and the reads that finished in the call (a preadv2
# with RWF_NOWAIT that returned data): none with glibc, one per request
# with the library.
SNG_OPS=${SNG_OPS:-2000}
SNG_TRACE=
sng() { # sng NAME [ENV...]: stress-ng's aio stressor under ENV, in $O ($SNG_TRACE first)
	name=$1
	shift
	(cd "$O" && $SNG_TRACE env "$@" timeout "$TIMEOUT" stress-ng --aio 2 --aio-requests 16 \
		--aio-ops "$SNG_OPS" --verify --metrics-brief --timeout 120 --temp-path "$O" \
		>"$O/sng-$name.out" 2>&1)
}
sng_submits() { # sng_submits NAME [ENV...]: requests the library's kernel paths took
	SNG_TRACE="strace -f -qq -e trace=io_submit,preadv2 -o sng-$1.strace" sng "$@" ||
		{ echo -1; return; }
	# each call's result, also on "<... resumed>" lines: io_submit()'s
	# count of iocbs, one per RWF_NOWAIT read that returned data
	awk '/io_submit/ && / = [0-9]+$/ { n += $NF }
	     /preadv2\(.*RWF_NOWAIT/ && / = [0-9]+$/ { n++ }
	     /preadv2 resumed>.*RWF_NOWAIT/ && / = [0-9]+$/ { n++ }
	     END { print n + 0 }' "$O/sng-$1.strace"
}
if command -v stress-ng >/dev/null && command -v strace >/dev/null; then
	for v in glibc library; do
		if [ $v = glibc ]; then
			sng $v
		else
			sng $v LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1
		fi
		rc=$?
		if [ $rc = 0 ] && grep -q "passed: 2: aio" "$O/sng-$v.out" &&
			grep -q "failed: 0" "$O/sng-$v.out"; then
			echo "posix_aio: stress-ng --aio ($v): passed," \
				"$(awk '$2 == "metrc:" && $4 == "aio" { print $5 " requests in " $6 " s" }' \
					"$O/sng-$v.out")"
		else
			fail "stress-ng --aio ($v): exit status $rc:"
			cat "$O/sng-$v.out"
		fi
	done
	g=$(sng_submits glibc-traced)
	k=$(sng_submits library-traced LD_PRELOAD="$lib" SYSLET_AIO_FORCE=1)
	echo "posix_aio: stress-ng --aio traced: requests io_submit() or RWF_NOWAIT took: glibc $g, library $k"
	[ "$g" = 0 ] || fail "stress-ng --aio with glibc: $g requests through io_submit() (or a failed run)"
	[ "$k" -ge "$SNG_OPS" ] || fail "stress-ng --aio with the library: only $k requests through io_submit() or RWF_NOWAIT"
else
	fail "stress-ng or strace missing (tools/root-packages.txt installs both)"
fi

if [ $failed -eq 0 ]; then
	echo "posix_aio: PASS"
	exit 0
fi
echo "posix_aio: FAIL (outputs and logs in $O)"
exit 1
