#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo: one vgpud serving two VMs that run every CUDA sample at once
# through the vgpu-virtio device and guest driver (--host: the samples on
# the host over vgpud's local socket instead).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    cat <<USAGE
usage: ${0##*/} [-h] [--host]

Default (the VM path): builds the guest image when needed
(scripts/build-guest-image.sh, cached), starts one vgpud (the cuda backend
when an NVIDIA GPU is present, the sim CPU interpreter otherwise) with a
vhost-user socket for each of two VMs, vm1 and vm2 (weight 1 each), and
its admin socket; boots both VMs at once with scripts/run-vm.sh (QEMU with
-device vgpu-virtio, serial consoles to log files); in each the guest's
/init loads vgpu_virtio.ko and runs every sample from /samples.  Prints
each sample's result line prefixed with its VM, vgpud's tenant list
(vgpuctl list) while the VMs run and at the end, stops vgpud and prints a
summary.  Exits non-zero if any sample failed or a VM did not finish.

When QEMU with the device, the guest kernel or vgpud's vhost-user transport
cannot be had, it says why and runs the host demo instead.

--host: the host demo: vgpud on a local socket, every sample through
build/lib/libcuda.so.1, one by one and then all at once as separate
tenants, with the admin socket's list while they share the device.

Build first with "make all" ("make demo" does both).

Environment:
  BUILD          build directory (default: $top/build)
  VGPUD          daemon binary (default: \$BUILD/bin/vgpud)
  VGPUCTL        admin client (default: \$BUILD/bin/vgpuctl)
  VGPU_BACKEND   sim or cuda (default: cuda if nvidia-smi sees a GPU, else sim)
  QEMU           QEMU with vgpu-virtio (default: \$BUILD/qemu/qemu-system-x86_64)
  GUEST_OUT      guest image directory (default: \$BUILD/guest)
  DEMO_LOG_DIR   serial consoles and logs of the VM demo (default: \$BUILD/demo)
  DEMO_VM_TIMEOUT  seconds a VM may run before it counts as hung (default: 900)
  DEMO_LIST_INTERVAL  seconds between tenant lists while VMs run (default: 20)
  SAMPLES_DIR    host demo: sample binaries (default: \$BUILD/bin/samples)
  DEMO_SAMPLES   host demo: space-separated sample names (default: all eight)
  VGPU_VM_MEM, VGPU_VM_ACCEL, ...  passed on to scripts/run-vm.sh
USAGE
}

mode=vm
case ${1:-} in
-h | --help) usage; exit 0 ;;
--host) mode=host; shift ;;
esac
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
QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}
GUEST_OUT=${GUEST_OUT:-$BUILD/guest}
DEMO_LOG_DIR=${DEMO_LOG_DIR:-$BUILD/demo}
DEMO_VM_TIMEOUT=${DEMO_VM_TIMEOUT:-900}
DEMO_LIST_INTERVAL=${DEMO_LIST_INTERVAL:-20}
SAMPLES_DIR=${SAMPLES_DIR:-$BUILD/bin/samples}
export QEMU GUEST_OUT
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
vm_pids=()
cleanup() {
    local p
    for p in "${vm_pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    vgpud_stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

t_start=$SECONDS

# ---------------------------------------------------------------------------
# The host demo (--host, and the fallback).
host_demo() {
    local s out exe i args=() pids=() names=() failed=()

    echo "== vgpu-virtio host demo"
    echo "   Starting vgpud ($VGPU_BACKEND backend) on $tmp/vgpud.sock."
    vgpud_start "$tmp"
    echo "   vgpud is running (pid $VGPUD_PID)."
    echo
    export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

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
    # larger matrix multiply so that the tenants overlap long enough to be
    # seen.
    echo
    echo "== Sharing one device: ${#samples[@]} samples and a 1024x1024 matrixMul at once"
    for s in "${samples[@]}" matrixMul-1024; do
        args=()
        [[ $s == matrixMul-1024 ]] && args=(-n 1024)
        exe=$SAMPLES_DIR/${s%-1024}
        [[ -x $exe ]] || continue
        "$exe" "${args[@]}" >"$tmp/share-$s.out" 2>&1 &
        pids+=($!)
        names+=("$s")
    done
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

    echo
    echo "What happened: vgpud served ${#samples[@]} CUDA Driver API programs,"
    echo "each an unmodified binary linked with -lcuda, through libvgpu"
    echo "(build/lib/libcuda.so.1) over a local UNIX socket, executing their"
    echo "kernels on the $VGPU_BACKEND backend, first one by one and then all at"
    echo "once as separate tenants of one device; every sample checked its"
    echo "result against a CPU reference.  Wall time $((SECONDS - t_start)) s."
    if ((${#failed[@]})); then
        echo "FAILED: ${failed[*]}"
        return 1
    fi
    echo "All ${#samples[@]} samples passed."
}

connected_tenants() {
    vgpud_admin_json list 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for t in json.load(sys.stdin).get("tenants", []) if t.get("connected")))' 2>/dev/null
}
several_connected() { (($(connected_tenants || echo 0) >= 2)); }

# ---------------------------------------------------------------------------
# The VM demo.

# Why the VM demo cannot run here (empty when it can); builds what is
# missing and cached first: QEMU (when at its default path) and the guest
# image.
vm_missing() {
    if [[ ! -x $QEMU && $QEMU == "$BUILD/qemu/qemu-system-x86_64" ]]; then
        echo "   Building QEMU with vgpu-virtio (scripts/build-qemu.sh, log $DEMO_LOG_DIR/qemu-build.log)." >&2
        if ! "$top/scripts/build-qemu.sh" >"$DEMO_LOG_DIR/qemu-build.log" 2>&1; then
            echo "QEMU could not be built (see $DEMO_LOG_DIR/qemu-build.log)"
            return
        fi
    fi
    if [[ ! -x $QEMU ]]; then
        echo "$QEMU does not exist"
        return
    fi
    if ! "$QEMU" -device help 2>/dev/null | grep -q '"vgpu-virtio"'; then
        echo "$QEMU has no vgpu-virtio device"
        return
    fi
    if ! "$VGPUD" --help 2>&1 | grep -- '--vm name=' |
            grep -vq 'not in this build'; then
        echo "$VGPUD has no vhost-user transport (--vm) in this build"
        return
    fi
    echo "   Guest image: scripts/build-guest-image.sh (cached; log $DEMO_LOG_DIR/guest-image.log)." >&2
    if ! "$top/scripts/build-guest-image.sh" >"$DEMO_LOG_DIR/guest-image.log" 2>&1; then
        echo "the guest image could not be built (Debian cloud kernel or headers missing?): $(tail -n 1 "$DEMO_LOG_DIR/guest-image.log")"
        return
    fi
}

# One tenant list from the admin socket, for people (vgpuctl's table).
show_list() {
    echo "   -- vgpuctl list ($1)"
    vgpud_admin list 2>&1 | sed 's/^/   /' || true
}

# Keeps, per VM, the largest value seen of every numeric field of its
# tenant in $tmp/peak.NAME (JSON), since vgpud drops a VM's tenant when the
# VM goes away; prints "1" when every VM has a tenant with contexts (all of
# them busy), "0" otherwise.  Fields are taken as they come, so columns
# that vgpud adds (GPU time, shares) show up in the summary unparsed.
sample_tenants() {
    vgpud_admin_json list 2>/dev/null | python3 -c '
import json, os, sys
d, names = sys.argv[1], sys.argv[2:]
try:
    tenants = json.load(sys.stdin).get("tenants", [])
except ValueError:
    tenants = []
busy = set()
for t in tenants:
    n = t.get("name")
    if n not in names:
        continue
    if t.get("connected") and t.get("contexts", 0):
        busy.add(n)
    p = os.path.join(d, "peak." + n)
    try:
        peak = json.load(open(p))
    except (OSError, ValueError):
        peak = {}
    for k, v in t.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and \
                k not in ("id", "weight"):
            peak[k] = max(peak.get(k, v), v)
    json.dump(peak, open(p, "w"))
print(1 if len(busy) == len(names) else 0)
' "$tmp" "${vms[@]}" 2>/dev/null || echo 0
}

# What vgpud reported of VM @1, from sample_tenants' record.
tenant_summary() {
    python3 -c '
import json, sys
try:
    p = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("vgpud: no tenant seen")
    sys.exit(0)
out = ["vgpud (last seen): %s requests" % p.get("requests", "?"),
       "peak device memory %.1f MiB" % (p.get("mem_used", 0) / 2.0**20)]
# GPU time as a person reads it, and anything else about time that vgpud
# adds later, as it comes.  Shares are left to the vgpuctl list taken while
# both VMs ran: the peak of a share says nothing once one VM has left.
def show(k, v):
    if k == "gpu_ns":
        return "GPU time %.3f s" % (v / 1e9)
    return "%s %s" % (k, v)
out += [show(k, v) for k, v in sorted(p.items())
        if "time" in k or k.endswith("_ns")]
print(", ".join(out))
' "$tmp/peak.$1" 2>/dev/null || echo "vgpud: ?"
}

# Passes on the new complete lines of VM @1's serial log: every sample's
# result line prefixed with the VM's name; a failed sample with its output.
# Counts in pass[], fail[], and finished[] once the guest printed its "1..N".
declare -A seen=() pass=() fail=() finished=() outbuf=()
scan_vm() {
    local vm=$1 log=$DEMO_LOG_DIR/$1.serial.log line name k=0
    [[ -f $log ]] || return 0
    while IFS= read -r line; do
        k=$((k + 1))
        line=${line%$'\r'}
        case $line in
        "# "*)
            outbuf[$vm]+="${line#\# }"$'\n' ;;
        "ok "*" - sample "*"# SKIP "*)
            name=${line#* - sample }
            printf '   %-4s %-14s SKIPPED: %s\n' "$vm" "${name%% # SKIP*}" "${line#*# SKIP }"
            fail[$vm]=$((${fail[$vm]:-0} + 1))
            outbuf[$vm]= ;;
        "ok "*" - sample "*)
            name=${line#* - sample }
            printf '   %-4s %-14s %s\n' "$vm" "$name" \
                "$(printf '%s' "${outbuf[$vm]:-}" | tail -n 1)"
            pass[$vm]=$((${pass[$vm]:-0} + 1))
            outbuf[$vm]= ;;
        "not ok "*" - sample "*)
            name=${line#* - sample }
            printf '   %-4s %-14s FAILED (%s)\n' "$vm" "${name%% (*}" "$name"
            printf '%s' "${outbuf[$vm]:-}" | sed "s/^/   $vm   | /"
            fail[$vm]=$((${fail[$vm]:-0} + 1))
            outbuf[$vm]= ;;
        "ok "*" - "* | "not ok "*" - "*)
            printf '   %-4s %s\n' "$vm" "$line"
            [[ $line == not* ]] && fail[$vm]=$((${fail[$vm]:-0} + 1))
            outbuf[$vm]= ;;
        "1.."[0-9]*)
            finished[$vm]=1 ;;
        esac
    done < <(tail -n +"$((${seen[$vm]:-0} + 1))" "$log")
    # read stops before a last line without its newline yet: it is read
    # again, whole, on the next call.
    seen[$vm]=$((${seen[$vm]:-0} + k))
}

vm_demo() {
    local vm i alive next_list=0 shown_busy=0 rc=0 spec=()

    echo "   Guest: Debian cloud kernel $(cat "$GUEST_OUT/release" 2>/dev/null || echo '?'),"
    echo "   vgpu_virtio.ko, libvgpu as libcuda.so.1, the samples in /samples."
    for vm in "${vms[@]}"; do
        spec+=(--vm "name=$vm,socket=$tmp/$vm.sock,weight=1")
    done
    vgpud_start "$tmp" "${spec[@]}"
    echo "   vgpud pid $VGPUD_PID: vhost-user sockets $tmp/{vm1,vm2}.sock,"
    echo "   admin socket $VGPU_ADMIN_SOCKET (its log is kept as $DEMO_LOG_DIR/vgpud.log)."

    echo
    echo "== Booting ${vms[*]} at once (QEMU ${VGPU_VM_ACCEL:-tcg}, serial consoles in $DEMO_LOG_DIR/VM.serial.log)"
    for vm in "${vms[@]}"; do
        rm -f "$tmp/peak.$vm"
        timeout -k 10 "$DEMO_VM_TIMEOUT" "$top/scripts/run-vm.sh" -n "$vm" \
            -s "$tmp/$vm.sock" -- /tests/run-guest.sh samples \
            </dev/null >"$DEMO_LOG_DIR/$vm.serial.log" 2>&1 &
        vm_pids+=($!)
    done
    echo "   Each VM's /init loads vgpu_virtio.ko and runs every sample; results as they come:"

    # Poll the serial logs and the admin socket until both VMs powered off.
    while :; do
        alive=0
        for i in "${!vm_pids[@]}"; do
            kill -0 "${vm_pids[$i]}" 2>/dev/null && alive=1
        done
        for vm in "${vms[@]}"; do
            scan_vm "$vm"
        done
        ((alive)) || break
        if [[ $(sample_tenants) == 1 ]] && ((!shown_busy)); then
            shown_busy=1
            show_list "while both VMs run"
            next_list=$((SECONDS + DEMO_LIST_INTERVAL))
        elif ((shown_busy && SECONDS >= next_list)); then
            show_list "while the VMs run"
            next_list=$((SECONDS + DEMO_LIST_INTERVAL))
        fi
        sleep 0.25
    done
    for i in "${!vm_pids[@]}"; do
        wait "${vm_pids[$i]}" || echo "   ${vms[$i]}: run-vm.sh exit status $? (see $DEMO_LOG_DIR/${vms[$i]}.serial.log)"
    done
    vm_pids=()
    for vm in "${vms[@]}"; do
        scan_vm "$vm"
    done
    ((shown_busy)) ||
        echo "   (the VMs finished before a snapshot showed both with device contexts)"
    sample_tenants >/dev/null
    show_list "after the VMs powered off"
    if [[ $(vgpud_admin_json list 2>/dev/null | python3 -c '
import json, sys
print(len(json.load(sys.stdin).get("tenants", [])))' 2>/dev/null) == 0 ]]; then
        echo "   (no VM tenants left: vgpud tore each down, freeing its memory, when its QEMU went away)"
    fi

    echo
    echo "== Stopping vgpud (SIGTERM)"
    vgpud_stop || rc=$?
    # The log lives in the temporary directory, which goes at exit.
    cp "$VGPUD_LOG" "$DEMO_LOG_DIR/vgpud.log" 2>/dev/null || true
    ((rc == 0)) || echo "   vgpud exit status $rc (log $DEMO_LOG_DIR/vgpud.log)"

    echo
    echo "== Summary"
    for vm in "${vms[@]}"; do
        printf '   %-4s %d/%d samples passed%s; %s\n' \
            "$vm" "${pass[$vm]:-0}" "$((${pass[$vm]:-0} + ${fail[$vm]:-0}))" \
            "$( [[ -n ${finished[$vm]:-} ]] || echo ', DID NOT FINISH')" \
            "$(tenant_summary "$vm")"
        if [[ -z ${finished[$vm]:-} || ${fail[$vm]:-0} != 0 || ${pass[$vm]:-0} == 0 ]]; then
            rc=1
            [[ -n ${finished[$vm]:-} ]] || tr -d '\r' <"$DEMO_LOG_DIR/$vm.serial.log" |
                tail -n 15 | sed "s/^/   $vm serial| /"
        fi
    done
    echo "   wall time $((SECONDS - t_start)) s (image build and VM boots included)"
    echo
    if ((rc)); then
        echo "FAILED (serial consoles and vgpud.log in $DEMO_LOG_DIR)"
        return 1
    fi
    echo "What happened: two QEMU VMs, each with -device vgpu-virtio, ran the"
    echo "unmodified CUDA samples through libvgpu and /dev/vgpu0 in the guest;"
    echo "one vgpud served both over vhost-user, reading the virtqueues from"
    echo "guest memory, as two tenants, executing on the $VGPU_BACKEND backend;"
    echo "every sample checked its result against a CPU reference."
    echo "All samples passed in both VMs."
}

if [[ $mode == host ]]; then
    host_demo
    exit
fi
mkdir -p "$DEMO_LOG_DIR"
vms=(vm1 vm2)
echo "== vgpu-virtio demo: two VMs sharing one vgpud ($VGPU_BACKEND backend)"
why=$(vm_missing)
if [[ -n $why ]]; then
    echo "demo: the VM demo cannot run: $why."
    echo "demo: running the host demo instead (scripts/demo.sh --host)."
    echo
    host_demo
    exit
fi
vm_demo
