# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the project's shell tools. Sourced, never run.
#
# Every tool keeps its state outside the clone, under $SYSLET_CACHE:
#   root/            Debian trixie build root (also the guest's read-only /)
#   src/pristine/    the unpacked linux-source-6.12 tarball, never modified
#   src/linux/       the working tree: pristine + patches/ + the grafted subsystem
#   build/<config>/  O= object directory per config fragment (test, bench, minimal)
#   guest/           user-space programs built for the guest
#   runs/<name>/     one VM run: its command, console log, results
#   logs/            full logs of long steps

set -euo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SYSLET_CACHE=${SYSLET_CACHE:-/var/cache/syslet-rfl}
ROOT=$SYSLET_CACHE/root
SRC_PRISTINE=$SYSLET_CACHE/src/pristine
SRC=$SYSLET_CACHE/src/linux
LOGS=$SYSLET_CACHE/logs
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

mkdir -p "$SYSLET_CACHE" "$LOGS"

say() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# step NAME CMD...: run a long step, print what it does and how long it
# took; its full output goes to $LOGS/NAME.log and is shown on failure.
step() {
	local name=$1; shift
	local log=$LOGS/$name.log t0=$SECONDS rc=0
	say ">> $name ..."
	"$@" >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		say "!! $name failed after $((SECONDS - t0)) s (exit $rc); last lines of $log:"
		tail -n 40 "$log" >&2
		return $rc
	fi
	say "<< $name done in $((SECONDS - t0)) s (log: $log)"
}

# in_root CMD...: run CMD inside the build root with the project and the
# cache bind-mounted at the same paths. The mounts live in a private mount
# namespace, so nothing is left mounted when the command ends.
in_root() {
	unshare --mount --propagation private -- /bin/sh -c '
		root=$1 project=$2 cache=$3; shift 3
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mkdir -p "$root$project" "$root$cache"
		mount --bind "$project" "$root$project"
		mount --bind "$cache" "$root$cache"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
			HOME=/root LANG=C.UTF-8 "$@"
	' in_root "$ROOT" "$PROJECT" "$SYSLET_CACHE" "$@"
}

# sync_tree SRC DST [rsync args]: copy by content. Unchanged files keep
# their mtime, so make rebuilds only what really changed.
sync_tree() {
	local src=$1 dst=$2; shift 2
	mkdir -p "$dst"
	rsync -r --checksum --links --perms --delete "$@" "$src/" "$dst/"
}

# install_if_changed SRC DST: replace DST only when its content differs.
install_if_changed() {
	cmp -s "$1" "$2" 2>/dev/null || { mkdir -p "$(dirname "$2")"; cp "$1" "$2"; }
}
