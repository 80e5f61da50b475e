# SPDX-License-Identifier: GPL-2.0
# Sourced by the examples' guest tests: a TAP counter and `run`, which
# keeps a command's exit status, stdout and stderr for the checks.
tap_n=0
tap_fail=0
ok() { # STATUS NAME: one TAP result, passed when STATUS is 0
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $tap_n $2"
	else
		echo "not ok $tap_n $2"
		tap_fail=$((tap_fail + 1))
		sed 's/^/# stdout: /' "$tap_dir/out"
		sed 's/^/# stderr: /' "$tap_dir/err"
		echo "# exit status: $rc"
	fi
}
run() { # CMD...: runs it; $rc, $tap_dir/out, $tap_dir/err
	"$@" > "$tap_dir/out" 2> "$tap_dir/err"
	rc=$?
}
# expect NAME RC STDOUT [STDERR-PATTERN]: the last run exited with RC,
# printed exactly STDOUT, and its stderr matches the pattern (grep -E),
# or is empty when no pattern is given.
expect() {
	s=0
	[ "$rc" = "$2" ] || s=1
	[ "$(cat "$tap_dir/out")" = "$3" ] || s=1
	if [ $# -ge 4 ]; then
		grep -Eq -- "$4" "$tap_dir/err" || s=1
	else
		[ -s "$tap_dir/err" ] && s=1
	fi
	ok $s "$1"
}
tap_end() {
	echo "# $tap_n tests, $tap_fail failed"
	[ "$tap_fail" = 0 ]
}
