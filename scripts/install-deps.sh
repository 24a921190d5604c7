#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages a command needs, skipping what dpkg already
# has, so that a machine with everything runs no apt-get at all.
#
#   scripts/install-deps.sh [--quiet] PURPOSE...
#
# PURPOSE is what the packages are for (every one when none is given):
#   run     the toolkit itself: diff, probe, report, apply, backport
#   source  Debian's linux-source-6.1, the tree commands use without KDIR
#   build   Kbuild: backport BUILD=1, bench's coccicheck, the boot proof
#   boot    QEMU and the initramfs of the boot proof (boot-test, BOOT=1)
#   test    the rest of what `make check` uses
# --quiet: say nothing when nothing is missing.  Everything said goes to
# stderr: the commands' stdout (a diff, a report) stays theirs alone.
set -euo pipefail

quiet=
if [ "${1:-}" = --quiet ]; then
	quiet=1
	shift
fi

packages_for() {
	case "$1" in
	run)	echo coccinelle git make perl python3 xz-utils quilt ;;
		# spatch; git for diffs and mails; checkpatch.pl is perl;
		# xz unpacks the linux-source tarballs; quilt checks FORMAT=quilt
	source)	echo linux-source-6.1 ;;
	build)	echo gcc bc bison flex libelf-dev libssl-dev kmod cpio ;;
	boot)	echo qemu-system-x86 busybox-static kexec-tools ;;
	test)	echo mypy linux-source-6.12 ;;
		# the type check; the tree that must stay untouched
	*)	echo "deps: error: unknown purpose '$1' (run, source, build, boot, test)" >&2
		exit 2 ;;
	esac
}

[ $# -gt 0 ] || set -- run source build boot test
packages=()
for purpose in "$@"; do
	read -r -a some <<< "$(packages_for "$purpose")"
	packages+=("${some[@]}")
done

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	[ -n "$quiet" ] || echo "deps: all ${#packages[@]} packages installed" >&2
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: error: missing ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
	exit 2
fi
echo "deps: installing ${missing[*]} (once)" >&2
# apt-get's own output goes to stderr too.
apt-get update >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"${missing[@]}" >&2
