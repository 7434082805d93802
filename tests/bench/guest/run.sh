#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest benchmarks: one vgpud serves a VM over vhost-user and the host over
# its local socket; the bench program runs its round-trip and copy
# benchmarks on the host, then inside the VM (libvgpu over /dev/vgpu0),
# and the two are printed side by side.  Figures only: the exit status
# says whether the benchmarks ran, never how fast.
set -euo pipefail

usage() {
    cat <<USAGE
usage: ${0##*/} [-h]
Runs "bench rtt copy" on the host (local socket) and in a VM booted with
scripts/run-vm.sh (vgpu-virtio device), both against the same vgpud, and
prints both next to each other.  Each side's baseline is measured where it
runs: a ping-pong between two processes over a UNIX socket pair and an
in-process memcpy.  Under TCG (the default accelerator) the guest figures
say little about a KVM guest.

Environment:
  BUILD          build directory [<repository>/build]
  QEMU, GUEST_OUT, VGPU_VM_ACCEL, VGPU_VM_MEM  as for scripts/run-vm.sh
  VGPUD, VGPU_BACKEND  as for tests/lib/vgpud.sh [sim]
  BENCH_GUEST_RTT_ITERS      round trips per figure [2000]
  BENCH_GUEST_COPY_MAX_MIB   largest copy [16]
  BENCH_GUEST_TIMEOUT        seconds the VM may run [600]
USAGE
}
[[ ${1:-} == -h ]] && { usage; exit 0; }

top=$(cd "$(dirname "$0")/../../.." && pwd)
export TOP=$top
export BUILD=${BUILD:-$top/build}
export QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}
export GUEST_OUT=${GUEST_OUT:-$BUILD/guest}
iters=${BENCH_GUEST_RTT_ITERS:-2000}
maxmib=${BENCH_GUEST_COPY_MAX_MIB:-16}
limit=${BENCH_GUEST_TIMEOUT:-600}
accel=${VGPU_VM_ACCEL:-tcg}
# shellcheck source=tests/lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"

bench=$BUILD/bin/tests/bench/bench
skip() {
    echo "guest benchmarks skipped: $*"
    exit 0
}
[[ -x $bench && -e $BUILD/lib/libcuda.so.1 ]] || skip "$bench is not built (make all)"
[[ -x $QEMU ]] || skip "$QEMU is not built (scripts/build-qemu.sh)"
"$QEMU" -device help 2>/dev/null | grep -q '"vgpu-virtio"' ||
    skip "$QEMU has no vgpu-virtio device"
"$VGPUD" --help 2>&1 | grep -- '--vm name=' | grep -vq 'not in this build' ||
    skip "vgpud has no vhost-user transport (--vm)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-gbench.XXXXXX")
vm_pid=
cleanup() {
    [[ -n $vm_pid ]] && { kill -TERM "$vm_pid" 2>/dev/null; wait "$vm_pid" 2>/dev/null; }
    vgpud_stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# The image carries the bench program of this build (cached otherwise).
if ! "$top/scripts/build-guest-image.sh" >"$tmp/image.log" 2>&1; then
    tail -n 20 "$tmp/image.log" >&2
    echo "guest benchmarks: the guest image could not be built" >&2
    exit 1
fi

vgpud_start "$tmp" --log-level=warn --vm "name=bench,socket=$tmp/bench.sock"
export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

echo "vgpu-virtio guest benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "host: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
echo "vgpud: backend $VGPU_BACKEND; guest: kernel $(cat "$GUEST_OUT/release"), QEMU accel $accel"
if [[ $accel == tcg* ]]; then
    echo "NOTE: the guest runs under TCG (instruction translation, no KVM):"
    echo "its figures include the emulation and say little about a KVM guest."
fi

BENCH_RTT_ITERS=$iters BENCH_COPY_MAX_MIB=$maxmib "$bench" rtt copy >"$tmp/host.txt"

VGPU_VM_APPEND="BENCH_RTT_ITERS=$iters BENCH_COPY_MAX_MIB=$maxmib ${VGPU_VM_APPEND:-}" \
    timeout -k 10 "$limit" "$top/scripts/run-vm.sh" -n bench -s "$tmp/bench.sock" \
    -- /tests/bench/bench rtt copy </dev/null >"$tmp/guest.log" 2>&1 &
vm_pid=$!
wait "$vm_pid" || true
vm_pid=
tr -d '\r' <"$tmp/guest.log" |
    sed -n '/^init: running/,/^init: exit status/p' | sed '1d;$d' >"$tmp/guest.txt"

echo
echo "=== host, libvgpu over vgpud's local socket"
cat "$tmp/host.txt"
echo
echo "=== guest, libvgpu over /dev/vgpu0 (vgpu-virtio, vhost-user)"
cat "$tmp/guest.txt"

# Side by side: the lines both runs print, by their labels.
median() { awk -v k="$2" 'index($0, k) { for (i = 1; i < NF; i++) if ($i == "median") { print $(i + 1); exit } }' "$1"; }
copyrow() { awk -v s="$2" '$1 == s && $2 == "MiB" { print $3, $5, $6; exit }' "$1"; }
echo
echo "=== side by side (same vgpud, same run)"
printf '  %-40s %12s %12s\n' "" "host" "guest"
for k in "baseline: socket ping-pong" "libcuda cuStreamQuery" "libcuda cuCtxSynchronize"; do
    printf '  %-40s %9s us %9s us\n' "$k median" \
        "$(median "$tmp/host.txt" "$k")" "$(median "$tmp/guest.txt" "$k")"
done
read -r hm hh hd <<<"$(copyrow "$tmp/host.txt" "$maxmib")"
read -r gm gh gd <<<"$(copyrow "$tmp/guest.txt" "$maxmib")"
printf '  %-40s %7s GB/s %7s GB/s\n' "baseline: memcpy $maxmib MiB" "${hm:-?}" "${gm:-?}" \
    "pinned HtoD $maxmib MiB" "${hh:-?}" "${gh:-?}" \
    "pinned DtoH $maxmib MiB" "${hd:-?}" "${gd:-?}"
echo "  (Each column's baseline ran where its figures did.)"
if [[ $accel == tcg* ]]; then
    echo "  (In the guest the copies are done by vgpud on the host, straight from"
    echo "  guest memory, while the guest's own memcpy and ping-pong are translated"
    echo "  code: guest ratios say more about TCG than about the device.)"
fi

if ! grep -q '^init: exit status 0' < <(tr -d '\r' <"$tmp/guest.log"); then
    echo "guest benchmarks: the bench program did not complete in the VM; serial console:" >&2
    tr -d '\r' <"$tmp/guest.log" | tail -n 30 >&2
    exit 1
fi
