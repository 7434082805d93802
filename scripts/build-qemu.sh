#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build qemu-system-x86_64 with the vgpu-virtio device from Debian's qemu source package.
#
# Debian 12's qemu source (7.2, Debian's patch series applied by
# dpkg-source) gets the qemu-device/ overlay: its new files are copied to
# their QEMU paths and qemu-device/patches/series is applied with patch.
# Only x86_64-softmmu with the devices a vgpu-virtio VM needs is built.
#
# The download, the source tree and the finished build live in a cache
# outside the checkout, keyed by the source version and a hash of the
# overlay, this script and the protocol header: a warm cache only copies
# the binary, a changed overlay rebuilds incrementally in the cached tree.
set -euo pipefail

usage() {
    cat <<USAGE
usage: ${0##*/} [-h]
Builds QEMU with the vgpu-virtio device into \$BUILD/qemu/qemu-system-x86_64
and copies libvhost-user from the same source into \$BUILD/libvhost-user.

Environment (defaults in brackets):
  VGPU_CACHE     cache root [\$HOME/.cache/vgpu-virtio]
  QEMU_CACHE     QEMU download, source and builds [\$VGPU_CACHE/qemu]
  BUILD          build output directory [<repository>/build]
  QEMU_OUT       where the binary goes [\$BUILD/qemu]
  LIBVHOST_USER_OUT  libvhost-user sources for vgpud [\$BUILD/libvhost-user]
  QEMU_VERSION   Debian source version [newest that apt knows, else cached]
  VGPU_JOBS      parallel compile jobs [2]
  VGPU_QEMU_REBUILD=1  rebuild even if the cache has this build
USAGE
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    usage
    exit 0
fi
if (($#)); then
    usage >&2
    exit 2
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VGPU_CACHE=${VGPU_CACHE:-$HOME/.cache/vgpu-virtio}
QEMU_CACHE=${QEMU_CACHE:-$VGPU_CACHE/qemu}
BUILD=${BUILD:-$REPO/build}
QEMU_OUT=${QEMU_OUT:-$BUILD/qemu}
LIBVHOST_USER_OUT=${LIBVHOST_USER_OUT:-$BUILD/libvhost-user}
VGPU_JOBS=${VGPU_JOBS:-2}
OVERLAY=$REPO/qemu-device
UAPI_HEADER=$REPO/include/uapi/vgpu_virtio.h

# Firmware is not built: Debian's seabios and qemu-system-data provide it.
FIRMWARE_PATH=/usr/share/qemu:/usr/share/seabios
FIRMWARE_FILES=(bios-256k.bin kvmvapic.bin linuxboot_dma.bin)

# Everything not needed to run a q35 VM with vgpu-virtio is left out.  The
# prefix is never installed to; it only has to differ from the firmware
# path so that QEMU does not relocate that path next to the binary.
CONFIGURE_ARGS=(
    --prefix=/opt/vgpu-virtio-qemu
    --firmwarepath="$FIRMWARE_PATH"
    --target-list=x86_64-softmmu
    --without-default-features
    --without-default-devices
    --with-devices-x86_64=vgpu
    --disable-docs
    --disable-tools
    --disable-guest-agent
    --disable-user
    --disable-install-blobs
    --disable-werror
    --with-git-submodules=ignore
    --audio-drv-list=
    --enable-vhost-user
    --enable-kvm
    --enable-trace-backends=log
)

log() { printf 'build-qemu: %s\n' "$*"; }
die() { printf 'build-qemu: error: %s\n' "$*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-source dpkg ninja meson patch python3 \
            sha256sum flock cmp; do
    command -v "$tool" >/dev/null ||
        die "$tool not found; run scripts/deps.sh first"
done
[[ -f "$OVERLAY/patches/series" ]] || die "$OVERLAY/patches/series missing"
[[ -f "$UAPI_HEADER" ]] || die "$UAPI_HEADER missing"

mkdir -p "$QEMU_CACHE"
# One build at a time per cache: concurrent runs share the work tree.
exec 9>"$QEMU_CACHE/.lock"
flock 9

# Newest qemu source version apt knows (several suites may list one).
apt_version() {
    local v best=
    while read -r v; do
        if [[ -z "$best" ]] || dpkg --compare-versions "$v" gt "$best"; then
            best=$v
        fi
    done < <(apt-cache showsrc qemu 2>/dev/null |
             awk '/^Package: /{p=$2} /^Version: /{if (p == "qemu") print $2}')
    printf '%s' "$best"
}

version=${QEMU_VERSION:-$(apt_version)}
if [[ -z "$version" ]]; then
    # No deb-src entry: fall back to a source extracted earlier.
    cached=("$QEMU_CACHE"/src-*)
    [[ -d "${cached[0]}" ]] ||
        die "apt knows no qemu source package and nothing is cached; run scripts/deps.sh"
    version=${cached[-1]##*/src-}
    log "apt has no qemu source; using cached $version"
fi
upstream_ver=${version#*:}            # directory names carry no epoch
SRC=$QEMU_CACHE/src-$upstream_ver     # pristine: Debian patches only
WORK=$QEMU_CACHE/work-$upstream_ver   # overlay applied, incremental build

# Key: everything that changes the binary or the copied libvhost-user.
overlay_hash() {
    {
        (cd "$OVERLAY" && find . -type f -print0 | LC_ALL=C sort -z |
            xargs -0 sha256sum)
        sha256sum <"${BASH_SOURCE[0]}"
        sha256sum <"$UAPI_HEADER"
    } | sha256sum | cut -c1-12
}
key=$upstream_ver-$(overlay_hash)
CACHED=$QEMU_CACHE/$key

install_outputs() {
    log "installing $QEMU_OUT/qemu-system-x86_64 and $LIBVHOST_USER_OUT/"
    mkdir -p "$QEMU_OUT"
    rm -f "$QEMU_OUT/qemu-system-x86_64"
    # A hard link is instant; another file system needs a copy.
    ln "$CACHED/bin/qemu-system-x86_64" "$QEMU_OUT/qemu-system-x86_64" \
        2>/dev/null ||
        cp -p "$CACHED/bin/qemu-system-x86_64" "$QEMU_OUT/qemu-system-x86_64"
    cp -p "$CACHED/BUILD-INFO" "$QEMU_OUT/BUILD-INFO"
    rm -rf "$LIBVHOST_USER_OUT"
    mkdir -p "$(dirname "$LIBVHOST_USER_OUT")"
    cp -a "$CACHED/libvhost-user" "$LIBVHOST_USER_OUT"
}

check_firmware() {
    local f d found
    for f in "${FIRMWARE_FILES[@]}"; do
        found=
        for d in ${FIRMWARE_PATH//:/ }; do
            [[ -e "$d/$f" ]] && found=1
        done
        [[ -n "$found" ]] ||
            log "warning: firmware $f not in $FIRMWARE_PATH (install seabios and qemu-system-data)"
    done
}

if [[ -f "$CACHED/.complete" && "${VGPU_QEMU_REBUILD:-0}" != 1 ]]; then
    log "cached build $key"
    install_outputs
    check_firmware
    exit 0
fi

# --- source --------------------------------------------------------------
if [[ ! -d "$SRC" ]]; then
    dl=$QEMU_CACHE/dl
    mkdir -p "$dl"
    dsc=$dl/qemu_$upstream_ver.dsc
    if [[ ! -f "$dsc" ]]; then
        log "downloading Debian source qemu=$version"
        (cd "$dl" && apt-get source --download-only "qemu=$version")
    fi
    log "extracting $dsc (Debian patch series applied)"
    rm -rf "$SRC.tmp"
    dpkg-source --no-check --no-copy -x "$dsc" "$SRC.tmp" >/dev/null
    mv "$SRC.tmp" "$SRC"
fi
if [[ ! -d "$WORK/src" ]]; then
    log "creating work tree $WORK/src"
    rm -rf "$WORK"
    mkdir -p "$WORK"
    cp -a "$SRC" "$WORK/src.tmp"
    mv "$WORK/src.tmp" "$WORK/src"
fi

# --- overlay -------------------------------------------------------------
# Stage the final contents of every file the overlay touches, then copy
# only files whose contents changed, so that ninja rebuilds only those.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mapfile -t patches < <(grep -v '^[[:space:]]*\(#\|$\)' "$OVERLAY/patches/series")
for p in "${patches[@]}"; do
    [[ -f "$OVERLAY/patches/$p" ]] || die "patch $p listed in series is missing"
    while read -r f; do
        if [[ -f "$SRC/$f" && ! -f "$stage/$f" ]]; then
            mkdir -p "$stage/$(dirname "$f")"
            cp -p "$SRC/$f" "$stage/$f"
        fi
    done < <(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$OVERLAY/patches/$p")
done
for p in "${patches[@]}"; do
    log "applying patch $p"
    patch -d "$stage" -p1 -s --no-backup-if-mismatch -F0 \
        <"$OVERLAY/patches/$p" || die "patch $p does not apply to qemu $version"
done
while IFS= read -r -d '' f; do
    f=${f#./}
    mkdir -p "$stage/$(dirname "$f")"
    cp "$OVERLAY/$f" "$stage/$f"
done < <(cd "$OVERLAY" && find . -path ./patches -prune -o -type f -print0)
# The protocol header in QEMU's portable form, as
# scripts/update-linux-headers.sh writes standard-headers.
mkdir -p "$stage/include/standard-headers/linux"
sed -e 's/__u\([0-9][0-9]*\)/uint\1_t/g' \
    -e 's/__s\([0-9][0-9]*\)/int\1_t/g' \
    -e 's/__le\([0-9][0-9]*\)/uint\1_t/g' \
    -e 's/__be\([0-9][0-9]*\)/uint\1_t/g' \
    -e 's|<linux/types.h>|"standard-headers/linux/types.h"|' \
    "$UAPI_HEADER" >"$stage/include/standard-headers/linux/vgpu_virtio.h"

manifest=$WORK/overlay-manifest
new_manifest=$stage.manifest
(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$new_manifest"
# Files an earlier overlay added or changed but this one does not: restore.
if [[ -f "$manifest" ]]; then
    while read -r f; do
        if ! grep -qxF "$f" "$new_manifest"; then
            if [[ -f "$SRC/$f" ]]; then
                log "restoring $f"
                cp -p "$SRC/$f" "$WORK/src/$f"
            else
                log "removing $f"
                rm -f "$WORK/src/$f"
            fi
        fi
    done <"$manifest"
fi
changed=0
while read -r f; do
    if ! cmp -s "$stage/$f" "$WORK/src/$f"; then
        mkdir -p "$WORK/src/$(dirname "$f")"
        cp "$stage/$f" "$WORK/src/$f"
        changed=$((changed + 1))
    fi
done <"$new_manifest"
mv "$new_manifest" "$manifest"
log "overlay: $(wc -l <"$manifest") files, $changed changed"

# --- configure and build -------------------------------------------------
args_file=$WORK/build/vgpu-configure-args
if [[ ! -f "$WORK/build/build.ninja" ]] ||
   [[ "$(cat "$args_file" 2>/dev/null)" != "${CONFIGURE_ARGS[*]}" ]]; then
    log "configuring (log: $WORK/build/configure.log)"
    rm -rf "$WORK/build"
    mkdir -p "$WORK/build"
    (cd "$WORK/build" &&
        nice ../src/configure "${CONFIGURE_ARGS[@]}" >configure.log 2>&1) || {
        tail -n 30 "$WORK/build/configure.log" >&2
        die "configure failed"
    }
    printf '%s' "${CONFIGURE_ARGS[*]}" >"$args_file"
fi
log "building with $VGPU_JOBS jobs (log: $WORK/build/ninja.log)"
start=$SECONDS
if ! nice ninja -C "$WORK/build" -j "$VGPU_JOBS" qemu-system-x86_64 \
        >"$WORK/build/ninja.log" 2>&1; then
    tail -n 40 "$WORK/build/ninja.log" >&2
    die "build failed"
fi
log "built in $((SECONDS - start)) s"

# --- store in the cache --------------------------------------------------
rm -rf "$CACHED.tmp"
mkdir -p "$CACHED.tmp/bin" "$CACHED.tmp/libvhost-user/include" \
         "$CACHED.tmp/libvhost-user/standard-headers/linux"
cp -p "$WORK/build/qemu-system-x86_64" "$CACHED.tmp/bin/"
# libvhost-user as vgpud compiles it in (-I<dir> -D_GNU_SOURCE): the two
# sources and the headers they include, symlinks resolved.
lvu=$WORK/src/subprojects/libvhost-user
cp -pL "$lvu/libvhost-user.c" "$lvu/libvhost-user.h" "$CACHED.tmp/libvhost-user/"
cp -pL "$lvu/include/atomic.h" "$lvu/include/compiler.h" \
    "$CACHED.tmp/libvhost-user/include/"
for h in virtio_ring.h virtio_types.h types.h; do
    cp -pL "$WORK/src/include/standard-headers/linux/$h" \
        "$CACHED.tmp/libvhost-user/standard-headers/linux/"
done
cp -p "$WORK/src/COPYING" "$CACHED.tmp/libvhost-user/COPYING"
{
    echo "qemu source: Debian qemu $version"
    echo "overlay key: $key"
    echo "configure: ${CONFIGURE_ARGS[*]}"
    echo "firmware: $FIRMWARE_PATH"
} >"$CACHED.tmp/BUILD-INFO"
touch "$CACHED.tmp/.complete"
rm -rf "$CACHED"
mv "$CACHED.tmp" "$CACHED"
log "cached as $CACHED"
# Every overlay edit adds a build; keep the newest few of this version.
mapfile -t old_builds < <(cd "$QEMU_CACHE" &&
    find . -maxdepth 1 -type d -name "$upstream_ver-*" ! -name '*.tmp' \
        -printf '%T@ %f\n' | sort -rn | awk 'NR > 3 {print $2}')
for b in "${old_builds[@]}"; do
    log "pruning old build $b"
    rm -rf "${QEMU_CACHE:?}/$b"
done

install_outputs
check_firmware
"$QEMU_OUT/qemu-system-x86_64" --version | head -n 1
