#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install every Debian package the build, the tests and the demo need.
# Idempotent: packages already present are not touched, and apt-get runs
# only when something is missing.
set -euo pipefail

usage() {
    cat <<USAGE
usage: ${0##*/} [-h]
Installs the Debian 12 packages vgpu-virtio needs (root, or sudo).
Environment: VGPU_DEPS_SKIP=1 skips everything (packages managed elsewhere).
USAGE
}

[[ "${1:-}" == "-h" ]] && { usage; exit 0; }
[[ "${VGPU_DEPS_SKIP:-0}" == 1 ]] && exit 0

# Host build and tests: daemon, library, samples, sanitizers, fuzzing.
host_pkgs=(build-essential pkg-config clang libclang-rt-14-dev llvm
           libzstd-dev zstd python3 shellcheck)

# QEMU from Debian's source package, built with the vgpu-virtio overlay
# (scripts/build-qemu.sh): apt-get source and dpkg-source (dpkg-dev, xz-utils),
# patch for the overlay series (quilt to refresh it), meson/ninja and the
# libraries QEMU 7.2's system emulator requires; firmware at run time.
qemu_pkgs=(dpkg-dev xz-utils patch quilt ninja-build meson python3 pkg-config
           flex bison libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev
           seabios qemu-system-data)

# Guest image: kernel, headers and linux-source are fetched (apt-get download,
# no install) by fetch-guest-kernel.sh; perl runs the kernel's checkpatch.
guest_pkgs=(busybox-static cpio kmod xz-utils gzip perl)

all_pkgs=("${host_pkgs[@]}" "${qemu_pkgs[@]}" "${guest_pkgs[@]}")

missing=()
for p in "${all_pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

SUDO=
[[ $(id -u) -ne 0 ]] && SUDO=sudo

# deb-src entries so that `apt-get source qemu` finds Debian's package.
src_list=/etc/apt/sources.list.d/vgpu-virtio-src.sources
need_update=0
if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    $SUDO tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    need_update=1
fi

if ((${#missing[@]})) || ((need_update)); then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
fi
if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}"
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
