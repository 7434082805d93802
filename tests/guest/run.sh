#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest suite: builds the guest image, lints the module, boots the Debian
# cloud kernel in QEMU (TCG) and runs the kselftest programs and the
# samples inside; then two VMs on one vgpud, then SIGKILL of a busy VM.
# Prints one TAP stream, the guests' results renumbered into it.
#
# Environment: BUILD, QEMU (default $BUILD/qemu/qemu-system-x86_64, built
# with scripts/build-qemu.sh when missing unless VGPU_NO_QEMU_BUILD=1), VGPUD,
# VGPU_BACKEND (default sim), VGPU_VM_TIMEOUT (seconds one VM may run
# before it counts as hung, default 900).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
export TOP=$top
export BUILD=${BUILD:-$top/build}
# shellcheck source=tests/lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"

QEMU=${QEMU:-$BUILD/qemu/qemu-system-x86_64}
vm_limit=${VGPU_VM_TIMEOUT:-900}
export QEMU

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
result() {
    local rc=$1
    shift
    if ((rc == 0)); then ok "$@"; else not_ok "$@"; fi
}
finish() { echo "1..$n"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-guest.XXXXXX")
vm_pids=()
cleanup() {
    local p
    for p in "${vm_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    vgpud_stop >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# Folds the TAP lines of a guest's serial log @2 into this stream, names
# prefixed with @1.  A guest that did not reach its final "1..N" line
# (crash, panic, hang) adds one failure, so it cannot pass silently.
fold_guest() {
    local prefix=$1 log=$2 line rest
    while IFS= read -r line; do
        line=${line%$'\r'}
        case $line in
        "not ok "*" - "*) not_ok "$prefix: ${line#* - }" ;;
        "ok "*" - "*"# SKIP "*)
            rest=${line#* - }
            skip "$prefix: ${rest%% # SKIP *}" "${rest#*# SKIP }" ;;
        "ok "*" - "*) ok "$prefix: ${line#* - }" ;;
        "# "*) echo "$line" ;;
        esac
    done <"$log"
    if ! tr -d '\r' <"$log" | grep -q '^1\.\.[0-9]'; then
        not_ok "$prefix: guest ran to completion"
        tr -d '\r' <"$log" | tail -n 30 | sed 's/^/# serial: /'
    fi
}

# Boots a VM in the background: @1 name, @2 log, the rest run-vm.sh args.
vm_start() {
    local name=$1 log=$2
    shift 2
    timeout -k 10 "$vm_limit" "$top/scripts/run-vm.sh" -n "$name" "$@" \
        </dev/null >"$log" 2>&1 &
    vm_pids+=($!)
}

# --- build and lint --------------------------------------------------------
if "$top/scripts/build-guest-image.sh" >"$tmp/image.log" 2>&1; then
    ok "guest image builds (kernel $(cat "$BUILD/guest/release"))"
else
    not_ok "guest image builds"
    tail -n 40 "$tmp/image.log" | sed 's/^/# /'
    finish
    exit 0
fi

kc=$("$top/scripts/fetch-guest-kernel.sh" 2>/dev/null)
checkpatch=$kc/src/scripts/checkpatch.pl
if [[ -f $checkpatch ]]; then
    (cd "$top/guest-driver" &&
        perl "$checkpatch" --no-tree --strict --quiet -f \
            ./*.c ./*.h Kbuild Makefile) >"$tmp/checkpatch.log" 2>&1
    rc=$?
    result $rc "guest-driver is checkpatch --strict clean"
    ((rc)) && sed 's/^/# /' "$tmp/checkpatch.log" | head -n 40
else
    skip "guest-driver is checkpatch --strict clean" "no checkpatch.pl in $kc"
fi

# --- a VM without the device: the module loads and unloads cleanly --------
# The suite builds what it boots (cached, so only the first run pays).
if [[ ! -x $QEMU && $QEMU == "$BUILD/qemu/qemu-system-x86_64" &&
      ${VGPU_NO_QEMU_BUILD:-0} != 1 && -x $top/scripts/build-qemu.sh ]]; then
    if ! "$top/scripts/build-qemu.sh" >"$tmp/qemu.log" 2>&1; then
        not_ok "QEMU with vgpu-virtio builds"
        tail -n 40 "$tmp/qemu.log" | sed 's/^/# /'
        finish
        exit 0
    fi
fi
if [[ ! -x $QEMU ]]; then
    skip "guest boots" "$QEMU not built (scripts/build-qemu.sh)"
    finish
    exit 0
fi
vm_start nodev "$tmp/nodev.log" -N -- /tests/run-guest.sh nodev
wait "${vm_pids[-1]}"
fold_guest "no device" "$tmp/nodev.log"

# --- VMs with the device, served by vgpud's vhost-user transport ----------
missing=
if ! "$QEMU" -device help 2>/dev/null | grep -q '"vgpu-virtio"'; then
    missing="$QEMU has no vgpu-virtio device"
elif [[ ! -x $VGPUD ]]; then
    missing="$VGPUD is not built"
elif ! "$VGPUD" --help 2>&1 | grep -- '--vm name=' |
        grep -vq 'not in this build'; then
    missing="vgpud has no vhost-user transport (--vm) in this build"
fi
if [[ -n $missing ]]; then
    skip "guest suite on vgpu-virtio" "$missing"
    skip "two VMs share one vgpud" "$missing"
    skip "SIGKILL of a busy VM leaves the other VM and vgpud intact" "$missing"
    finish
    exit 0
fi

d=$tmp/vgpud
mkdir -p "$d"
if ! vgpud_start "$d" --vm "name=vm1,socket=$d/vm1.sock" \
        --vm "name=vm2,socket=$d/vm2.sock"; then
    not_ok "vgpud starts with two vhost-user sockets"
    finish
    exit 0
fi

# One VM: the whole in-guest suite.
vm_start vm1 "$tmp/vm1.log" -s "$d/vm1.sock" -- /tests/run-guest.sh all
wait "${vm_pids[-1]}"
fold_guest "vm1" "$tmp/vm1.log"

# Two VMs at once, both running every sample.
vm_start vm1 "$tmp/two1.log" -s "$d/vm1.sock" -- /tests/run-guest.sh samples
vm_start vm2 "$tmp/two2.log" -s "$d/vm2.sock" -- /tests/run-guest.sh samples
wait "${vm_pids[-2]}"
wait "${vm_pids[-1]}"
fold_guest "two VMs: vm1" "$tmp/two1.log"
fold_guest "two VMs: vm2" "$tmp/two2.log"

# Reads tenant @1's numeric field @2 from vgpud's admin "list" JSON: the
# largest value over entries of that name, connected or not (empty if there
# is none).  The admin socket is asked directly, one line each way.
tenant_field() {
    python3 - "$VGPU_ADMIN_SOCKET" "$1" "$2" <<'PY' 2>/dev/null
import json, socket, sys
path, name, field = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(path)
s.sendall(b"list\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
vals = [int(t.get(field, 0)) for t in json.loads(buf).get("tenants", [])
        if t.get("name") == name]
if vals:
    print(max(vals))
PY
}

# SIGKILL of a busy VM: vm1 loops over the samples until it has device
# memory, then its QEMU dies; vm2 must finish and vm1's memory be freed.
# No timeout wrapper here: run-vm.sh execs QEMU, so $! is QEMU itself and
# SIGKILL reaches it (a hang is ended by that same kill).
"$top/scripts/run-vm.sh" -n vm1 -s "$d/vm1.sock" -- /tests/run-guest.sh busy \
    </dev/null >"$tmp/kill1.log" 2>&1 &
busy_pid=$!
vm_pids+=("$busy_pid")
vm_start vm2 "$tmp/kill2.log" -s "$d/vm2.sock" -- /tests/run-guest.sh samples
busy=0
for _ in $(seq 600); do
    used=$(tenant_field vm1 mem_used)
    if [[ -n $used && $used != 0 ]]; then
        busy=1
        break
    fi
    kill -0 "$busy_pid" 2>/dev/null || break
    sleep 0.5
done
kill -KILL "$busy_pid" 2>/dev/null
wait "$busy_pid" 2>/dev/null
result $((!busy)) "kill test: vm1 held device memory when it was killed"
wait "${vm_pids[-1]}"
fold_guest "kill test: vm2" "$tmp/kill2.log"
vgpud_alive
result $? "kill test: vgpud survives a VM killed mid-work"
# Only meaningful when vm1 held memory: otherwise it was never there.
freed=1
for _ in $(seq $((busy ? 200 : 0))); do
    used=$(tenant_field vm1 mem_used)
    if [[ -z $used || $used == 0 ]]; then
        freed=0
        break
    fi
    sleep 0.1
done
result $freed "kill test: vgpud freed the killed VM's memory"
((freed)) && vgpud_admin list 2>&1 | sed 's/^/# admin: /'

vgpud_stop
result $? "vgpud exits cleanly on SIGTERM after the VMs"
finish
