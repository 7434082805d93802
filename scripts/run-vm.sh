#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot the guest image in QEMU (TCG by default) with a vgpu-virtio device
# connected to vgpud, starting vgpud first when its socket is not there.
set -euo pipefail

usage() {
    cat <<USAGE
usage: ${0##*/} [-h] [-n NAME] [-s SOCKET] [-N] [-- COMMAND [ARGS...]]
Boots \$GUEST_OUT/vmlinuz + initrd.img with -device vgpu-virtio.  The
guest runs COMMAND (e.g. /tests/run-guest.sh or /samples/vectorAdd) and
powers off; without COMMAND it starts a shell on the serial console.
The serial console is this script's standard output.

  -n NAME    VM (tenant) name [vm1]
  -s SOCKET  vgpud's vhost-user socket for this VM
             [\$VGPU_RUN_DIR/NAME.sock]; vgpud is started on it if
             nothing listens there, and stopped when the VM exits
  -N         no vgpu-virtio device (boots any QEMU; checks the module
             loads without a device)

Environment:
  BUILD          build directory [<repository>/build]
  QEMU           QEMU binary [\$BUILD/qemu/qemu-system-x86_64]
  GUEST_OUT      guest image directory [\$BUILD/guest]
  VGPUD          vgpud binary [\$BUILD/bin/vgpud]
  VGPUD_ARGS     extra vgpud arguments [--backend=auto]
  VGPU_RUN_DIR   sockets and logs [\${XDG_RUNTIME_DIR:-/tmp}/vgpu-virtio]
  VGPU_VM_MEM    guest memory [512M]
  VGPU_VM_CPUS   guest CPUs [1]
  VGPU_VM_QUEUES vgpu-virtio num-queues [2]
  VGPU_VM_ACCEL  QEMU accelerator [tcg]; kvm where /dev/kvm works
  VGPU_VM_DEVICE_OPTS  more -device properties, e.g. ",queue-size=16"
  VGPU_VM_APPEND extra kernel command line (KEY=VALUE words become the
                 guest command's environment)
  VGPU_QEMU_ARGS extra QEMU arguments (word-split)
USAGE
}

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}
GUEST_OUT=${GUEST_OUT:-$BUILD/guest}
VGPUD=${VGPUD:-$BUILD/bin/vgpud}
VGPUD_ARGS=${VGPUD_ARGS:---backend=auto}
VGPU_RUN_DIR=${VGPU_RUN_DIR:-${XDG_RUNTIME_DIR:-/tmp}/vgpu-virtio}
VGPU_VM_MEM=${VGPU_VM_MEM:-512M}
VGPU_VM_CPUS=${VGPU_VM_CPUS:-1}
VGPU_VM_QUEUES=${VGPU_VM_QUEUES:-2}
VGPU_VM_ACCEL=${VGPU_VM_ACCEL:-tcg}
VGPU_VM_DEVICE_OPTS=${VGPU_VM_DEVICE_OPTS:-}
VGPU_VM_APPEND=${VGPU_VM_APPEND:-}
VGPU_QEMU_ARGS=${VGPU_QEMU_ARGS:-}

name=vm1
sock=
device=1
while getopts "hn:s:N" opt; do
    case $opt in
    h) usage; exit 0 ;;
    n) name=$OPTARG ;;
    s) sock=$OPTARG ;;
    N) device=0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ ${1:-} == -- ]] && shift

die() { echo "run-vm: $*" >&2; exit 1; }

[[ -x $QEMU ]] || die "$QEMU not found (scripts/build-qemu.sh builds it; QEMU= overrides)"
for f in vmlinuz initrd.img; do
    [[ -f $GUEST_OUT/$f ]] || die "$GUEST_OUT/$f missing (run scripts/build-guest-image.sh)"
done

mkdir -p "$VGPU_RUN_DIR"
sock=${sock:-$VGPU_RUN_DIR/$name.sock}
vgpud_pid=

cleanup() {
    if [[ -n $vgpud_pid ]]; then
        kill -TERM "$vgpud_pid" 2>/dev/null || true
        wait "$vgpud_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

dev_args=()
if ((device)); then
    "$QEMU" -device help 2>/dev/null | grep -q '"vgpu-virtio"' ||
        die "$QEMU has no vgpu-virtio device"
    # Probing the socket with a connection would make vgpud see a VM that
    # goes away at once, so an existing socket is taken as served.
    if [[ ! -S $sock ]]; then
        [[ -x $VGPUD ]] || die "$VGPUD not built and nothing serves $sock"
        "$VGPUD" --help 2>&1 | grep -- '--vm name=' | grep -vq 'not in this build' ||
            die "$VGPUD has no vhost-user transport"
        log=$VGPU_RUN_DIR/vgpud-$name.log
        # shellcheck disable=SC2086 # VGPUD_ARGS is a list of words
        "$VGPUD" $VGPUD_ARGS --vm "name=$name,socket=$sock" \
            --socket-path="$VGPU_RUN_DIR/vgpud-$name.local.sock" \
            >"$log" 2>&1 &
        vgpud_pid=$!
        for _ in $(seq 300); do
            [[ -S $sock ]] && break
            kill -0 "$vgpud_pid" 2>/dev/null ||
                die "vgpud exited; log: $(cat "$log")"
            sleep 0.1
        done
        [[ -S $sock ]] || die "vgpud did not create $sock; log: $log"
    fi
    dev_args=(-chardev "socket,id=vgpu0,path=$sock"
              -device "vgpu-virtio,chardev=vgpu0,num-queues=$VGPU_VM_QUEUES$VGPU_VM_DEVICE_OPTS")
fi

accel=$VGPU_VM_ACCEL
cpu=max
[[ $accel == kvm* ]] && cpu=host

append="console=ttyS0 panic=-1 loglevel=4 $VGPU_VM_APPEND"
if (($#)); then
    append+=" -- $*"
fi

serial=(-serial stdio)
[[ -t 0 ]] && serial=(-serial mon:stdio)

qemu_args=(-name "$name" -nodefaults -no-user-config -display none
    -machine "q35,accel=$accel,memory-backend=mem" -cpu "$cpu"
    -smp "$VGPU_VM_CPUS" -m "$VGPU_VM_MEM"
    -object "memory-backend-memfd,id=mem,size=$VGPU_VM_MEM,share=on"
    "${dev_args[@]}"
    -kernel "$GUEST_OUT/vmlinuz" -initrd "$GUEST_OUT/initrd.img"
    -append "$append" "${serial[@]}" -no-reboot)
read -ra extra <<<"$VGPU_QEMU_ARGS"

# Without a vgpud of our own to stop afterwards, QEMU replaces this shell,
# so a caller's signals (and its pid) reach QEMU itself.
if [[ -z $vgpud_pid ]]; then
    exec "$QEMU" "${qemu_args[@]}" "${extra[@]}"
fi
"$QEMU" "${qemu_args[@]}" "${extra[@]}"
