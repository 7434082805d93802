#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host benchmarks: starts a private vgpud (sim backend unless VGPU_BACKEND
# says otherwise), runs the round-trip, launch-rate and copy benchmarks,
# each next to a baseline from the same run, then any benchmark suites in
# subdirectories (tests/bench/*/run.sh; guest/ boots a VM and runs the
# round-trip and copy benchmarks inside it next to the host's).  Reports
# numbers and ratios only; the exit status says whether the benchmarks ran,
# never how fast.
#
# Usage: tests/bench/run.sh [-h] [rtt|launch|copy|all|guest]
# Environment: BUILD, VGPUD, VGPU_BACKEND, BENCH_RTT_ITERS, BENCH_LAUNCHES,
# BENCH_COPY_MAX_MIB.
set -euo pipefail

if [[ ${1:-} == -h ]]; then
    sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
if [[ ${1:-} == guest ]]; then
    exec "$top/tests/bench/guest/run.sh"
fi
export TOP=$top
export BUILD=${BUILD:-$top/build}
# shellcheck source=SCRIPTDIR/../lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"

bench=$BUILD/bin/tests/bench/bench
for f in "$bench" "$VGPUD" "$BUILD/lib/libcuda.so.1"; do
    if [[ ! -e $f ]]; then
        echo "bench: $f is not built (run make all)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-bench.XXXXXX")
cleanup() {
    vgpud_stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

vgpud_start "$tmp" --log-level=warn
export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

echo "vgpu-virtio host benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
echo "vgpud: $VGPUD, backend $VGPU_BACKEND, socket $VGPU_SOCKET"
echo
"$bench" "${1:-all}"
vgpud_stop
trap 'rm -rf "$tmp"' EXIT

# Benchmarks that other parts of the project keep in subdirectories.
if [[ ${1:-all} == all ]]; then
    for sub in "$top"/tests/bench/*/run.sh; do
        [[ -x $sub ]] || continue
        echo
        echo "=== ${sub#"$top"/}"
        "$sub"
    done
fi
