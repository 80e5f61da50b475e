#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest test of syslet-cp (TAP): every engine and queue depth copies
# files of 0, 1, 4095, 4096 and 1 MiB + 17 bytes, a sparse one and a
# cold one (chains go asynchronous), and the copies are compared byte
# for byte (cmp); every error path (a
# missing source, a pipe, a directory, an uncreatable destination, the
# same file twice, a full file system, bad usage) gives its message and
# exit status. EXAMPLES_BIN: where syslet-cp is (/opt/syslet/examples).
bin=${EXAMPLES_BIN:-/opt/syslet/examples}
. "$bin/tap.sh"
C=$bin/syslet-cp
T=$(mktemp -d /tmp/copy-test.XXXXXX) || exit 1
tap_dir=$T
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT

for s in 0 1 4095 4096 1048593; do
	head -c $s /dev/urandom > "$T/f$s"
done
# Sparse: 3 MiB with data at 0, in the middle of the second MiB, at the end.
truncate -s 3M "$T/sparse"
printf head | dd of="$T/sparse" conv=notrunc status=none
head -c 5000 /dev/urandom | dd of="$T/sparse" bs=1 seek=1500000 conv=notrunc status=none
printf tail | dd of="$T/sparse" bs=1 seek=3145724 conv=notrunc status=none
files="f0 f1 f4095 f4096 f1048593 sparse"

echo "1..76"
for m in syslet direct uring; do
	for q in 1 16; do
		for f in $files; do
			rm -f "$T/out"
			run "$C" --mode=$m --qd $q "$T/$f" "$T/copy"
			s=0
			[ $rc = 0 ] && [ ! -s "$T/err" ] && cmp "$T/$f" "$T/copy" > "$T/out" 2>&1 || s=1
			ok $s "$m qd $q: $f copied byte for byte"
		done
	done
done
for m in "syslet --pairs 1 --chunk 4096" "syslet --pairs 3 --chunk 512 --qd 16" \
	 "uring --chunk 512 --qd 16" "direct --chunk 512"; do
	for f in f4095 f1048593; do
		run "$C" --mode=$m "$T/$f" "$T/copy"
		s=0
		[ $rc = 0 ] && cmp "$T/$f" "$T/copy" > "$T/out" 2>&1 || s=1
		ok $s "$m: $f copied byte for byte"
	done
done
# A cold source on the 9p root: its pages are dropped before every copy,
# so the reads wait for the host and syslet chains go asynchronous
# (reaped from the ring; --stats counts them).
for m in syslet direct uring; do
	for q in 1 16; do
		sync
		echo 3 > /proc/sys/vm/drop_caches
		run "$C" --mode=$m --qd $q --stats /usr/bin/bash "$T/copy"
		s=0
		[ $rc = 0 ] && cmp /usr/bin/bash "$T/copy" > "$T/out" 2>&1 || s=1
		if [ $m = syslet ]; then
			grep -Eq "chains=[0-9]+ async=[1-9]" "$T/err" || s=1
		fi
		ok $s "$m qd $q: a cold file (/usr/bin/bash on 9p) copied byte for byte"
	done
done
head -c 2000000 /dev/urandom > "$T/copy"
run "$C" "$T/f4095" "$T/copy"
s=0; [ $rc = 0 ] && cmp "$T/f4095" "$T/copy" || s=1
ok $s "a longer destination is truncated"
chmod 640 "$T/f1"
rm -f "$T/new"
run "$C" "$T/f1" "$T/new"
s=0; [ $rc = 0 ] && [ "$(stat -c %a "$T/new")" = 640 ] || s=1
ok $s "a new destination gets the source's permission bits"

for m in syslet direct uring; do
	run "$C" --mode=$m "$T/missing" "$T/copy"
	expect "$m: missing source" 1 "" "cannot open .*/missing: No such file or directory"
	run sh -c 'echo data | "$1" --mode="$2" /proc/self/fd/0 "$3"' sh "$C" $m "$T/copy"
	expect "$m: a pipe as the source" 1 "" "cannot read /proc/self/fd/0 at an offset .*Illegal seek"
	run "$C" --mode=$m "$T" "$T/copy"
	expect "$m: a directory as the source" 1 "" "error reading .*: Is a directory"
done
run "$C" "$T/f1" "$T/no/such/dir/copy"
expect "destination in a missing directory" 1 "" "cannot create .*/no/such/dir/copy: No such file"
cp "$T/f4096" "$T/same"
ln "$T/same" "$T/same-link"
run "$C" "$T/same" "$T/same-link"
s=0; [ $rc = 1 ] && grep -q "are the same file" "$T/err" && cmp "$T/f4096" "$T/same" || s=1
ok $s "the same file under two names: refused, left intact"

mkdir "$T/small"
if mount -t tmpfs -o size=256k tmpfs "$T/small"; then
	for m in syslet direct uring; do
		for q in 1 16; do
			run "$C" --mode=$m --qd $q "$T/f1048593" "$T/small/copy"
			expect "$m qd $q: a full file system" 1 "" \
				"error writing .*/small/copy: No space left on device"
			rm -f "$T/small/copy"
		done
	done
else
	for i in 1 2 3 4 5 6; do ok 1 "a full file system: cannot mount a small tmpfs"; done
fi

run "$C"
expect "no arguments" 2 "" "SRC and DST are needed"
run "$C" "$T/f1"
expect "one argument" 2 "" "SRC and DST are needed"
run "$C" "$T/f1" "$T/copy" "$T/more"
expect "three arguments" 2 "" "SRC and DST are needed"
run "$C" --mode=bogus "$T/f1" "$T/copy"
expect "bad mode" 2 "" "--mode must be"
run "$C" --qd 0 "$T/f1" "$T/copy"
expect "qd 0" 2 "" "--qd must be a number from 1 to 256, not '0'"
run "$C" --chunk 100 "$T/f1" "$T/copy"
expect "chunk too small" 2 "" "--chunk must be"
run "$C" --pairs 65 "$T/f1" "$T/copy"
expect "too many pairs" 2 "" "--pairs must be"
tap_end
