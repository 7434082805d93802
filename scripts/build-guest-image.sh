#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the guest: Debian's cloud kernel, vgpu_virtio.ko built against its
# headers, and a busybox initramfs holding the module, libvgpu, the samples,
# vgpu-smi, the guest tests and the benchmark program.
set -euo pipefail

usage() {
    cat <<USAGE
usage: ${0##*/} [-h]
Fetches the guest kernel (scripts/fetch-guest-kernel.sh), builds
vgpu_virtio.ko and the guest tests, and writes
  \$GUEST_OUT/vmlinuz  \$GUEST_OUT/initrd.img  \$GUEST_OUT/vgpu_virtio.ko
The initramfs's /init mounts proc, sys and devtmpfs, loads the virtio
modules and vgpu_virtio.ko, runs the command given on the kernel command
line (vgpu.run=PATH, or everything after "--") or a shell, and powers off.
Guest paths: /samples/*, /usr/bin/vgpu-smi, /tests/run-guest.sh,
/tests/bin/* (kselftest programs), /tests/bench/bench, and libcuda.so.1
in /usr/lib/x86_64-linux-gnu.

Environment:
  BUILD        build output directory [<repository>/build]
  GUEST_OUT    where the three files go [\$BUILD/guest]
  VGPU_CACHE   download cache [\$HOME/.cache/vgpu-virtio]
  KDIR         kernel headers to build against [from the fetched kernel]
  JOBS         make -j value [2]
  VGPU_GUEST_MODULES  kernel modules loaded before vgpu_virtio [virtio_pci]
USAGE
}

[[ "${1:-}" == "-h" ]] && { usage; exit 0; }

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
GUEST_OUT=${GUEST_OUT:-$BUILD/guest}
JOBS=${JOBS:-2}

log() { echo "build-guest-image: $*" >&2; }

kc=$("$top/scripts/fetch-guest-kernel.sh")
release=$(cat "$kc/release")
KDIR=${KDIR:-$kc/kdir}

# --- the module ----------------------------------------------------------
# kbuild of this kernel writes its objects next to the sources, so the
# sources are copied into the build tree, keeping ../include/uapi valid.
obj=$BUILD/obj/guest
mkdir -p "$obj/guest-driver" "$obj/include/uapi"
cp -p "$top"/guest-driver/{Kbuild,Makefile,*.c,*.h} "$obj/guest-driver/"
cp -p "$top"/include/uapi/*.h "$obj/include/uapi/"
log "building vgpu_virtio.ko for $release"
if ! make -C "$obj/guest-driver" KDIR="$(readlink -f "$KDIR")" -j"$JOBS" \
        >"$obj/module-build.log" 2>&1; then
    cat "$obj/module-build.log" >&2
    log "module build failed"
    exit 1
fi
# Warnings are errors in spirit: show them.
grep -E 'warning:|error:' "$obj/module-build.log" >&2 || true
ko=$obj/guest-driver/vgpu_virtio.ko
if [[ $(modinfo -F vermagic "$ko" | cut -d' ' -f1) != "$release" ]]; then
    log "module vermagic does not match $release"
    exit 1
fi

# --- the guest tests -----------------------------------------------------
make -s -C "$top/tests/guest" BUILD="$BUILD" KSFT_INC="$kc/selftests" >&2

# --- the initramfs -------------------------------------------------------
root=$obj/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules} \
         "$root"/tests/{bin,last} \
         "$root"/usr/{bin,sbin} "$root/usr/lib/x86_64-linux-gnu"

busybox=${BUSYBOX:-/bin/busybox}
if [[ ! -x $busybox ]] || ldd "$busybox" >/dev/null 2>&1; then
    log "$busybox is not a static busybox (install busybox-static)"
    exit 1
fi
cp "$busybox" "$root/bin/busybox"

# Virtio transport modules, dependencies first.  The cloud kernel has them
# as modules (CONFIG_VIRTIO_PCI=m), and which helpers virtio_pci needs
# depends on the kernel, so the order comes from modinfo.
mods=$kc/modules
declare -A seen=()
order=()
add_mod() {
    local name=$1 path dep
    [[ -n ${seen[$name]:-} ]] && return 0
    seen[$name]=1
    path=$(find "$mods/kernel" -name "$name.ko*" | head -n1)
    [[ -n $path ]] || { log "module $name not in $release"; exit 1; }
    for dep in $(modinfo -F depends "$path" | tr ',' ' '); do
        add_mod "$dep"
    done
    cp "$path" "$root/lib/modules/"
    order+=("${path##*/}")
}
read -ra guest_mods <<<"${VGPU_GUEST_MODULES:-virtio_pci}"
for m in "${guest_mods[@]}"; do
    add_mod "$m"
done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"
cp "$ko" "$root/lib/modules/vgpu_virtio.ko"

# User-space programs, when built, and the shared libraries they need.
progs=()
if [[ -e $BUILD/lib/libcuda.so.1 ]]; then
    cp -L "$BUILD/lib/libcuda.so.1" "$root/usr/lib/x86_64-linux-gnu/"
    progs+=("$root/usr/lib/x86_64-linux-gnu/libcuda.so.1")
else
    log "note: $BUILD/lib/libcuda.so.1 not built; samples cannot run"
fi
if [[ -x $BUILD/bin/vgpu-smi ]]; then
    cp "$BUILD/bin/vgpu-smi" "$root/usr/bin/"
    progs+=("$root/usr/bin/vgpu-smi")
fi
if [[ -d $BUILD/bin/samples ]]; then
    mkdir -p "$root/samples"
    for f in "$BUILD"/bin/samples/*; do
        [[ -f $f && -x $f ]] || continue
        cp "$f" "$root/samples/"
        progs+=("$root/samples/${f##*/}")
    done
fi
# Tests that take the device away (unbind) run after everything else.
for f in "$BUILD"/bin/tests/guest/*; do
    [[ -f $f && -x $f ]] || continue
    case ${f##*/} in
    vgpu_remove) dir=last ;;
    *) dir=bin ;;
    esac
    cp "$f" "$root/tests/$dir/"
    progs+=("$root/tests/$dir/${f##*/}")
done
# The host benchmark program runs unchanged in the guest (libvgpu picks
# /dev/vgpu0), so the guest-to-daemon figures come from the same code.
if [[ -x $BUILD/bin/tests/bench/bench ]]; then
    mkdir -p "$root/tests/bench"
    cp "$BUILD/bin/tests/bench/bench" "$root/tests/bench/"
    progs+=("$root/tests/bench/bench")
fi
cp "$top/tests/guest/run-guest.sh" "$root/tests/run-guest.sh"
chmod 0755 "$root/tests/run-guest.sh"

# Copy every library ldd resolves (libcuda.so.1 from $BUILD/lib) to the
# same path in the guest, the dynamic loader included.
for p in "${progs[@]}"; do
    # ldd fails on static programs, which need nothing.
    LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu ldd "$p" 2>/dev/null |
        awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }' ||
        true
done | sort -u | while read -r lib; do
    [[ $lib == "$root"/* ]] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
# /init of the vgpu-virtio test guest: mount, load modules, run, power off.
/bin/busybox --install -s
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# Kernel messages stay off the console so test output is not interleaved;
# tests read dmesg themselves.
echo 1 >/proc/sys/kernel/printk

while read -r m; do
    insmod "/lib/modules/$m" || echo "init: insmod $m failed"
done </lib/modules/load-order
if insmod /lib/modules/vgpu_virtio.ko; then
    echo "init: vgpu_virtio loaded"
else
    echo "init: insmod vgpu_virtio.ko failed"
fi
# Probing is synchronous in insmod, but devtmpfs may lag a little behind
# for a device that is present (virtio id 63 = 0x003f).
if grep -qx 0x003f /sys/bus/virtio/devices/*/device 2>/dev/null; then
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -e /dev/vgpu0 ] && break
        sleep 0.1
    done
fi

run=
for word in $(cat /proc/cmdline); do
    case $word in
    vgpu.run=*) run=${word#vgpu.run=} ;;
    esac
done
if [ -n "$run" ] || [ $# -gt 0 ]; then
    echo "init: running ${run:-$*}"
    if [ -n "$run" ]; then
        $run "$@"
    else
        "$@"
    fi
    echo "init: exit status $?"
else
    echo "init: no command given (vgpu.run=); starting a shell"
    setsid cttyhack sh
fi
sync
poweroff -f
INIT
chmod 0755 "$root/init"

mkdir -p "$GUEST_OUT"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --quiet --reproducible) | gzip -9n \
    >"$GUEST_OUT/initrd.img.tmp"
mv "$GUEST_OUT/initrd.img.tmp" "$GUEST_OUT/initrd.img"
cp -L "$kc/vmlinuz" "$GUEST_OUT/vmlinuz"
cp "$ko" "$GUEST_OUT/vgpu_virtio.ko"
echo "$release" >"$GUEST_OUT/release"
log "wrote $GUEST_OUT/{vmlinuz,initrd.img,vgpu_virtio.ko} ($(du -h "$GUEST_OUT/initrd.img" | cut -f1) initrd)"
