#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages the toolkit and its tests need, skipping what
# dpkg already has, so that a machine with everything runs no apt-get at all.
set -euo pipefail

packages=(
	coccinelle		# spatch
	mypy			# the type check in make check
	git make gcc perl python3
	quilt			# backport --format quilt: its quilt push check
	bc bison flex libelf-dev libssl-dev	# Kbuild, for the build check
	kmod cpio		# Kbuild helpers make defconfig expects
	xz-utils		# the linux-source tarballs are .tar.xz
	linux-source-6.1	# before the change: the tree `make diff` converts
	linux-source-6.12	# after the change: must stay untouched
	qemu-system-x86 busybox-static kexec-tools	# the boot proof (boot-test)
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages installed" >&2
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: error: missing ${missing[*]}; run as root: sudo make deps" >&2
	exit 2
fi
echo "deps: installing ${missing[*]}" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
