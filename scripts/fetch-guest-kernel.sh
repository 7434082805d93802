#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetch Debian's current cloud kernel, its headers and kselftest_harness.h
# into the cache, and print the directory they were unpacked into.
#
# The ABI number is never written down: the linux-image-cloud-amd64
# metapackage names the current image at run time, because the archive
# moves on and old images disappear from it.
set -euo pipefail

usage() {
    cat <<USAGE
usage: ${0##*/} [-h]
Downloads (apt-get download, no root install) the kernel image that
Debian's linux-image-cloud-amd64 depends on, the matching linux-headers,
linux-kbuild and linux-source packages, unpacks them with dpkg-deb -x and
prints the cache directory on stdout.  Idempotent.

Layout of the printed directory:
  root/              the unpacked packages (boot/, lib/modules/, usr/src/)
  kdir               symlink to the headers tree, usable as KDIR
  vmlinuz            symlink to the kernel image
  modules            symlink to lib/modules/<release>
  selftests/         kselftest_harness.h (+ kselftest.h) from linux-source
  src/scripts/       checkpatch.pl from linux-source
  release            the kernel release string (uname -r in the guest)

Environment:
  VGPU_CACHE           cache root (default: \$HOME/.cache/vgpu-virtio)
  VGPU_KERNEL_META     metapackage to resolve (default: linux-image-cloud-amd64)
  VGPU_KERNEL_PACKAGE  image package to use instead of resolving the metapackage
USAGE
}

[[ "${1:-}" == "-h" ]] && { usage; exit 0; }

cache=${VGPU_CACHE:-$HOME/.cache/vgpu-virtio}
meta=${VGPU_KERNEL_META:-linux-image-cloud-amd64}

log() { echo "fetch-guest-kernel: $*" >&2; }

# Resolve the metapackage to the image package it currently depends on.
image_pkg=${VGPU_KERNEL_PACKAGE:-}
if [[ -z $image_pkg ]]; then
    image_pkg=$(apt-cache depends "$meta" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
    if [[ -z $image_pkg ]]; then
        # An empty package list means apt-get update never ran here.
        log "apt-cache does not know $meta; running apt-get update"
        apt-get update -q >&2
        image_pkg=$(apt-cache depends "$meta" |
            sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
    fi
fi
[[ -n $image_pkg ]] || { log "cannot resolve $meta"; exit 1; }

# linux-image-6.1.0-NN-cloud-amd64 -> release 6.1.0-NN-cloud-amd64
release=${image_pkg#linux-image-}
flavour=${release##*-cloud-}
abi=${release%-cloud-"$flavour"}
version=$(apt-cache show "$image_pkg" | sed -n 's/^Version: //p' | head -n1)
[[ -n $version ]] || { log "no version for $image_pkg"; exit 1; }

dir=$cache/guest/$release
root=$dir/root
stamp=$dir/.complete-$version

if [[ ! -e $stamp ]]; then
    debs=$dir/debs
    rm -rf "$root" "$debs"
    mkdir -p "$debs" "$root"
    # linux-kbuild-6.1 must be the same build as the headers, so pin it.
    upstream=${abi%%-*}
    major=${upstream%.*}
    pkgs=("$image_pkg=$version"
          "linux-headers-$release=$version"
          "linux-headers-$abi-common=$version"
          "linux-kbuild-$major=$version"
          "linux-source-$major")
    log "downloading ${pkgs[*]}"
    (cd "$debs" && apt-get download -q "${pkgs[@]}" >&2)
    for deb in "$debs"/linux-image-*.deb "$debs"/linux-headers-*.deb \
               "$debs"/linux-kbuild-*.deb; do
        dpkg-deb -x "$deb" "$root"
    done

    # The headers' Makefile includes the common tree by absolute path;
    # point it at the unpacked copy so kbuild runs without installing.
    hdr=$root/usr/src/linux-headers-$release
    sed -i "s|^include /usr/src/|include $root/usr/src/|" "$hdr/Makefile"

    # Only the selftest harness and checkpatch (to lint the module) are
    # taken from the large source package, in one pass over the tarball.
    src_deb=$(ls "$debs"/linux-source-*.deb)
    tarball=$(dpkg-deb -c "$src_deb" | awk '{print $NF}' |
        grep -E 'linux-source-[0-9.]+\.tar\.xz$' | head -n1)
    tarball=${tarball#./}
    mkdir -p "$dir/src"
    dpkg-deb --fsys-tarfile "$src_deb" |
        tar -xO "./$tarball" |
        xz -dc |
        tar -x -C "$dir/src" --strip-components=1 --wildcards \
            '*/tools/testing/selftests/kselftest_harness.h' \
            '*/tools/testing/selftests/kselftest.h' \
            '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
            '*/scripts/const_structs.checkpatch'
    rm -rf "$dir/selftests"
    mv "$dir/src/tools/testing/selftests" "$dir/selftests"
    rm -rf "$dir/src/tools"
    rm -rf "$debs"

    ln -sfn "root/usr/src/linux-headers-$release" "$dir/kdir"
    ln -sfn "root/boot/vmlinuz-$release" "$dir/vmlinuz"
    ln -sfn "root/lib/modules/$release" "$dir/modules"
    echo "$release" >"$dir/release"
    rm -f "$dir"/.complete-*
    touch "$stamp"
    log "unpacked $image_pkg $version into $dir"
fi

echo "$dir"
