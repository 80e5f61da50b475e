#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest test of syslet-treewalk (TAP): every engine and queue depth
# walks a tree built here and must print its exact counts (and a cold
# tree, where syslet chains go asynchronous, as find counts it); every error
# path (a missing or non-directory root, unreadable directories and
# entries, bad usage) gives its message and exit status.
# EXAMPLES_BIN: where syslet-treewalk is (default /opt/syslet/examples).
bin=${EXAMPLES_BIN:-/opt/syslet/examples}
. "$bin/tap.sh"
W=$bin/syslet-treewalk
T=$(mktemp -d /tmp/treewalk-test.XXXXXX) || exit 1
tap_dir=$T
trap 'chmod -R u+rwx "$T"; rm -rf "$T"' EXIT
chmod 755 "$T"

# The tree: 12 directories, 611 files (650 bytes), 3 symlinks, a fifo.
r=$T/root
mkdir -p "$r/a/sub" "$r/b" "$r/c" "$r/d1/d2/d3/d4/d5/d6/d7/d8"
s=
for i in 0 1 2 3 4 5 6 7 8 9; do	# 0 to 9 bytes: 45
	printf '%s' "$s" > "$r/a/f$i"
	s=${s}x
done
i=0
while [ $i -lt 600 ]; do	# 600 x 1 byte, names long enough for 2 buffers
	echo > "$r/b/entry-with-a-rather-long-name-so-that-it-fills-the-buffer-$i"
	i=$((i + 1))
done
printf 12345 > "$r/d1/d2/d3/d4/d5/d6/d7/d8/x"
ln -s ../a "$r/c/to-dir"	# symlinks are not followed
ln -s ../a/f9 "$r/c/to-file"
ln -s nowhere "$r/c/dangling"
mkfifo "$r/c/pipe"
want="entries=627 dirs=12 files=611 symlinks=3 other=1 bytes=650"

echo "1..39"
for m in syslet direct uring; do
	for q in 1 16; do
		run "$W" --mode=$m --qd $q "$r"
		expect "$m qd $q: exact counts" 0 "$want"
	done
done
for b in 1 7; do
	for q in 1 16; do
		run "$W" --mode=syslet --qd $q --batch $b "$r"
		expect "syslet qd $q batch $b (several chains per buffer)" 0 "$want"
	done
done
run "$W" "$r"
expect "default mode (syslet)" 0 "$want"
ln -s "$r" "$T/link-to-root"
run "$W" --mode=syslet "$T/link-to-root"
expect "a symlink as the root is followed" 0 "$want"

# A cold tree on the 9p root (read-only): dentries and inodes are dropped
# before every walk, so getdents64 and statx wait for the host and the
# syslet chains go asynchronous (reaped from the ring; --stats counts
# them). The counts are checked against find's.
c=/usr/include/linux
fe=$(find $c -mindepth 1 | wc -l)
fd=$(find $c -mindepth 1 -type d | wc -l)
ff=$(find $c -mindepth 1 -type f | wc -l)
fl=$(find $c -mindepth 1 -type l | wc -l)
fb=$(find $c -mindepth 1 -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
cold="entries=$fe dirs=$fd files=$ff symlinks=$fl other=$((fe - fd - ff - fl)) bytes=$fb"
for m in syslet direct uring; do
	for q in 1 16; do
		sync
		echo 3 > /proc/sys/vm/drop_caches
		run "$W" --mode=$m --qd $q --stats $c
		s=0
		[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$cold" ] || s=1
		if [ $m = syslet ]; then
			grep -Eq "chains=[0-9]+ async=[1-9]" "$T/err" || s=1
		fi
		ok $s "$m qd $q: a cold tree ($c on 9p) counted as find counts it"
	done
done

mkdir "$T/empty"
for m in syslet direct uring; do
	run "$W" --mode=$m "$T/empty"
	expect "$m: empty directory" 0 "entries=0 dirs=0 files=0 symlinks=0 other=0 bytes=0"
done

for m in syslet direct uring; do
	run "$W" --mode=$m "$T/missing"
	expect "$m: missing root" 1 "" "missing: No such file or directory"
done
run "$W" "$r/a/f1"
expect "a file as the root" 1 "" "f1: Not a directory"

# As nobody: an unreadable directory (open fails) and one that can be
# listed but not searched (each statx fails).
p=$T/perm
mkdir -p "$p/open" "$p/locked" "$p/noexec"
printf abc > "$p/open/f1"
printf def > "$p/open/f2"
: > "$p/locked/x"
: > "$p/noexec/y"
: > "$p/noexec/z"
chmod 755 "$p" "$p/open"
chmod 000 "$p/locked"
chmod 644 "$p/noexec"
for m in syslet direct uring; do
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$W" --mode=$m --qd 16 "$p"
	s=0
	[ "$rc" = 1 ] || s=1
	[ "$(cat "$T/out")" = "entries=5 dirs=3 files=2 symlinks=0 other=0 bytes=6" ] || s=1
	grep -q "open $p/locked: Permission denied" "$T/err" || s=1
	grep -q "statx $p/noexec/y: Permission denied" "$T/err" || s=1
	grep -q "statx $p/noexec/z: Permission denied" "$T/err" || s=1
	grep -q "3 entries could not be read" "$T/err" || s=1
	ok $s "$m: unreadable directory and entries reported, the rest counted"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$W" --mode=$m --quiet "$p"
	s=0
	[ "$rc" = 1 ] || s=1
	[ "$(cat "$T/out")" = "entries=5 dirs=3 files=2 symlinks=0 other=0 bytes=6" ] || s=1
	[ "$(cat "$T/err")" = "syslet-treewalk: 3 entries could not be read" ] || s=1
	ok $s "$m --quiet: only the number of errors on stderr"
done

run "$W"
expect "no directory: usage" 2 "" "no directory given"
run "$W" "$r" "$r"
expect "two directories: usage" 2 "" "one directory only"
run "$W" --mode=bogus "$r"
expect "bad mode" 2 "" "--mode must be"
run "$W" --qd 0 "$r"
expect "qd 0" 2 "" "--qd must be a number from 1 to 1024, not '0'"
run "$W" --qd 1025 "$r"
expect "qd too large" 2 "" "--qd must be"
run "$W" --qd 4x "$r"
expect "qd not a number" 2 "" "--qd must be"
run "$W" --batch 0 "$r"
expect "batch 0" 2 "" "--batch must be"
run "$W" --frobnicate "$r"
expect "unknown option" 2 "" "unknown option"
tap_end
