#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host demo: start vgpud, run every CUDA sample through libcuda.so.1 over
# vgpud's local socket, then all at once as separate tenants while the
# admin socket shows them sharing the device, and stop vgpud.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    cat <<USAGE
usage: ${0##*/} [-h]

Starts vgpud on a temporary socket (the cuda backend when an NVIDIA GPU is
present, the sim CPU interpreter otherwise), runs every sample in
\$BUILD/bin/samples against build/lib/libcuda.so.1 over that socket, prints
each sample's result line, then runs them all at once (one tenant each)
and prints the admin socket's "list" while they share the device, and
stops vgpud.  Build first with "make all" ("make demo" does both).

This demo runs on the host only: the VM path (QEMU device, guest driver)
is not part of it yet.

Environment:
  BUILD          build directory (default: $top/build)
  VGPUD          daemon binary (default: \$BUILD/bin/vgpud)
  VGPUCTL        admin client (default: \$BUILD/bin/vgpuctl)
  VGPU_BACKEND   sim or cuda (default: cuda if nvidia-smi sees a GPU, else sim)
  SAMPLES_DIR    sample binaries (default: \$BUILD/bin/samples)
  DEMO_SAMPLES   space-separated sample names (default: all eight)
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    exit 0
fi
if (($#)); then
    usage >&2
    exit 2
fi

export BUILD=${BUILD:-$top/build}
if [[ -z ${VGPU_BACKEND:-} ]]; then
    VGPU_BACKEND=sim
    if command -v nvidia-smi >/dev/null 2>&1 &&
            nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
        VGPU_BACKEND=cuda
    fi
fi
export VGPU_BACKEND
SAMPLES_DIR=${SAMPLES_DIR:-$BUILD/bin/samples}
read -r -a samples <<<"${DEMO_SAMPLES:-deviceQuery vectorAdd saxpy matrixMul reduction histogram bandwidthTest streams}"

# shellcheck source=SCRIPTDIR/../tests/lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"

for f in "$VGPUD" "$BUILD/lib/libcuda.so.1"; do
    if [[ ! -e $f ]]; then
        echo "demo: $f is missing; run 'make all' first" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-demo.XXXXXX")
trap 'vgpud_stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

echo "== vgpu-virtio host demo"
echo "   Starting vgpud ($VGPU_BACKEND backend) on $tmp/vgpud.sock."
vgpud_start "$tmp"
echo "   vgpud is running (pid $VGPUD_PID)."
echo
export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

failed=()
for s in "${samples[@]}"; do
    echo "== $s"
    if [[ ! -x $SAMPLES_DIR/$s ]]; then
        echo "   missing: $SAMPLES_DIR/$s"
        failed+=("$s")
        continue
    fi
    if out=$("$SAMPLES_DIR/$s" 2>&1); then
        # The last line is the sample's one-line result.
        printf '   %s\n' "$(tail -n 1 <<<"$out")"
    else
        printf '%s\n' "$out" | sed 's/^/   /'
        echo "   FAILED"
        failed+=("$s")
    fi
done

# Sharing: every sample at once, each process its own tenant, plus one
# larger matrix multiply so that the tenants overlap long enough to be seen.
echo
echo "== Sharing one device: ${#samples[@]} samples and a 1024x1024 matrixMul at once"
pids=()
names=()
for s in "${samples[@]}" matrixMul-1024; do
    [[ $s == matrixMul-1024 ]] && args=(-n 1024) || args=()
    exe=$SAMPLES_DIR/${s%-1024}
    [[ -x $exe ]] || continue
    "$exe" "${args[@]}" >"$tmp/share-$s.out" 2>&1 &
    pids+=($!)
    names+=("$s")
done
connected_tenants() {
    vgpud_admin_json list 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for t in json.load(sys.stdin).get("tenants", []) if t.get("connected")))' 2>/dev/null
}
several_connected() { (($(connected_tenants || echo 0) >= 2)); }
if vgpud_poll 20 several_connected; then
    echo "   vgpud admin socket, list (while they run):"
else
    echo "   (the clients finished before a snapshot showed two at once)"
fi
vgpud_admin list | sed 's/^/   /'
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
        printf '   %s\n' "$(tail -n 1 "$tmp/share-${names[$i]}.out")"
    else
        sed 's/^/   /' "$tmp/share-${names[$i]}.out"
        echo "   FAILED (concurrent ${names[$i]})"
        failed+=("${names[$i]} (concurrent)")
    fi
done

echo
echo "== Stopping vgpud (SIGTERM)"
vgpud_stop
trap 'rm -rf "$tmp"' EXIT

echo
echo "What happened: vgpud served ${#samples[@]} CUDA Driver API programs,"
echo "each an unmodified binary linked with -lcuda, through libvgpu"
echo "(build/lib/libcuda.so.1) over a local UNIX socket, executing their"
echo "kernels on the $VGPU_BACKEND backend, first one by one and then all at"
echo "once as separate tenants of one device; every sample checked its"
echo "result against a CPU reference."
echo "Not shown yet: the VM path (QEMU vgpu-virtio device and guest driver);"
echo "this demo runs on the host only."
if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "All ${#samples[@]} samples passed."
