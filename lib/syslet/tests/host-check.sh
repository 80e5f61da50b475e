#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# make test's host step for libsyslet (tools/test runs it in the build
# root): one libtest-style line per check, which tools/report.py counts.
#   host-check.sh PROJECT OUT [KHDR]
#     OUT   scratch directory (headers, library, examples)
#     KHDR  the kernel's `make headers_install` output (usr/include of a
#           built kernel): tools/headers-install must give the same bytes
# Checks: the uapi headers as installed, compiled standalone in strict
# ISO C (and <syslet.h> in C and C++); the library's host unit tests
# (tests/host_unit.c, tests/host_ring.c); the section 3 man pages: lint
# (mandoc -Tlint, every message counts but the man-pages title style) and
# their example programs built against the library.
set -u
project=$1 out=$2 khdr=${3:-}
hdr=$out/usr/include
mkdir -p "$out"
results=$out/results
: > "$results"
check() { # name cmd...: runs cmd, its output indented on failure
	name=$1; shift
	if "$@" > "$out/check.log" 2>&1; then
		echo "test $name ... ok" >> "$results"
	else
		echo "test $name ... FAILED" >> "$results"
		sed 's/^/    /' "$out/check.log" >> "$results"
	fi
}

check headers:install "$project/tools/headers-install" "$project/include/uapi" "$hdr"
if [ -n "$khdr" ]; then
	check headers:same-as-kernel-headers_install sh -c '
		for h in linux/syslet.h linux/fdspace.h; do
			cmp "$1/$h" "$2/$h" || exit 1
		done' sh "$hdr" "$khdr"
fi
check headers:no-kernel-annotation-left sh -c \
	'! grep -nE "__user|__force|__iomem|_UAPI" "$1/linux/syslet.h" "$1/linux/fdspace.h"' sh "$hdr"
printf '#include <linux/syslet.h>\n#include <linux/fdspace.h>\nint main(void) { return sizeof(struct syslet_uatom) != 88 || sizeof(struct async_head_user) != 64; }\n' \
	> "$out/uapi.c"
check headers:strict-c99 sh -c 'cc -std=c99 -pedantic-errors -Wall -Wextra -Werror -I"$1" -o "$2/uapi" "$2/uapi.c" && "$2/uapi"' \
	sh "$hdr" "$out"
printf '#include <syslet.h>\nint main(void) { return 0; }\n' > "$out/lib.c"
check headers:syslet.h-in-c11 cc -std=c11 -Wall -Wextra -Werror -I"$hdr" -I"$project/lib/syslet" \
	-fsyntax-only "$out/lib.c"
check headers:syslet.h-in-c++ c++ -x c++ -Wall -Wextra -Werror -I"$hdr" -I"$project/lib/syslet" \
	-fsyntax-only "$out/lib.c"

# The library and its unit tests: their lines go straight to the output.
make -s -C "$project/lib/syslet" O="$out/lib" HDR="$hdr" all "$out/lib/host-test" \
	> "$out/build.log" 2>&1
build=$?
check lib:build sh -c "exit $build"
if [ $build = 0 ]; then
	"$out/lib/host-test" > "$out/unit.log" 2>&1
	unit=$?
	grep '^test ' "$out/unit.log" | grep -v '^test result' | sed 's/^test /test unit:/' >> "$results"
	grep -v '^test \|^running' "$out/unit.log" | sed 's/^/    /' >> "$results"
	check unit:exit sh -c "exit $unit"
	cat "$out/build.log" >> "$out/check.log"
fi

# Section 3 pages.
cd "$project/man"
for page in man3/*.3; do
	first=$(grep -v '^\.\\"' "$page" | head -n 1)
	case "$first" in
	".so "*)	# a link: its target must exist
		check "man:$page" test -f "${first#.so }" ;;
	*)
		check "man:$page" sh -c '
			command -v mandoc > /dev/null || { echo "no mandoc (tools/root-packages.txt)"; exit 1; }
			mandoc -Tlint -W style "$1" | grep -v "STYLE: lower case character in document title" \
				| grep . && exit 1
			exit 0' sh "$page" ;;
	esac
done
# Example programs between the man-pages project's SRC BEGIN/END markers.
for page in man3/*.3; do
	grep -q '^\.\\" SRC BEGIN' "$page" || continue
	name=$(basename "$page" .3)
	awk '/^\.\\" SRC BEGIN/ { on = 1; next } /^\.\\" SRC END/ { on = 0 }
	     on && !/^\./ { print }' "$page" |
		sed -e 's/\\e/\\/g' -e 's/\\-/-/g' -e 's/\\&//g' > "$out/example-$name.c"
	check "man-example:$page" cc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$hdr" \
		-I"$project/lib/syslet" -o "$out/example-$name" "$out/example-$name.c" \
		"$out/lib/libsyslet.a" -lpthread
done

echo "running $(grep -c '^test ' "$results") tests"
cat "$results"
! grep -q '^test .* FAILED$' "$results"
