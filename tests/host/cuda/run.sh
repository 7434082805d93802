#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cuda executor without a GPU.  TEST ARRANGEMENT: vgpud A runs the sim
# backend; vgpud B runs --backend=cuda with libvgpu (build/lib/libcuda.so.1)
# as its "driver", pointed at A.  So B's exec_cuda drives a real CUDA
# Driver API implementation (ours, executing on A's CPU simulation), and
# every client below talks to B.  Then: start-up and backend selection,
# a tenant that faults, hangs (B's watchdog) or allocates past the device
# beside a second tenant that must finish with correct results, and the
# whole integration suite (samples, API, errors, raw protocol) through B.
# On a machine with a GPU, scripts/gpu-check.sh runs B on NVIDIA's libcuda.
#
# Environment: BUILD, VGPUD, VGPU_TEST_TIMEOUT (seconds a program may run
# before it counts as hung).
# Functions run through trap and vgpud_poll look unreachable to shellcheck.
# shellcheck disable=SC2317
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
export TOP=$top
export BUILD=${BUILD:-$top/build}
# shellcheck source=SCRIPTDIR/../../lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"

libvgpu=$BUILD/lib/libcuda.so.1
check=$BUILD/bin/tests/cuda/cudacheck
limit=${VGPU_TEST_TIMEOUT:-300}
# B's watchdog, and A's (a backstop, so the sim stops spinning soon after).
watchdog_ms=500
a_watchdog_ms=3000

n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
result() {
    local rc=$1
    shift
    if ((rc == 0)); then ok "$@"; else not_ok "$@"; fi
}

echo "# test arrangement: vgpud --backend=cuda whose libcuda is libvgpu, backed by a sim vgpud"

missing=
[[ -x $VGPUD ]] || missing="$VGPUD is not built"
[[ -e $libvgpu ]] || missing=${missing:-"$libvgpu is not built"}
[[ -x $check ]] || missing=${missing:-"$check is not built (make -C tests)"}
if [[ -n $missing ]]; then
    skip "cuda executor suite" "$missing"
    echo "1..$n"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-cuda.XXXXXX")
a_pid=
cleanup() {
    vgpud_stop >/dev/null 2>&1
    if [[ -n $a_pid ]]; then
        kill -TERM "$a_pid" 2>/dev/null
        wait "$a_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# --- start-up and backend selection -------------------------------------
out=$("$VGPUD" --backend=cuda --libcuda="$tmp/no-such-libcuda.so.1" \
    --socket-path "$tmp/x.sock" 2>&1)
rc=$?
echo "# $out"
((rc != 0)) && grep -q 'no usable CUDA device' <<<"$out"
result $? "--backend=cuda without a usable driver fails at start with a clear message"

timeout -k 5 20 "$VGPUD" --backend=auto --libcuda="$tmp/no-such-libcuda.so.1" \
    --socket-path "$tmp/auto.sock" >"$tmp/auto.log" 2>&1 &
auto=$!
auto_up() { [[ -S $tmp/auto.sock ]] || ! kill -0 "$auto" 2>/dev/null; }
vgpud_poll 20 auto_up
kill -TERM "$auto" 2>/dev/null
wait "$auto"
rc=$?
sed 's/^/# /' "$tmp/auto.log"
((rc == 0)) && grep -q 'using sim' "$tmp/auto.log"
result $? "--backend=auto without a usable driver falls back to sim and says so"

# A: the sim behind B's libcuda.
mkdir -p "$tmp/a"
"$VGPUD" --backend=sim --watchdog-ms=$a_watchdog_ms \
    --socket-path "$tmp/a/vgpud.sock" --admin-socket "$tmp/a/admin.sock" \
    >"$tmp/a/vgpud.log" 2>&1 &
a_pid=$!
a_up() { [[ -S $tmp/a/vgpud.sock ]] || ! kill -0 "$a_pid" 2>/dev/null; }
vgpud_poll 20 a_up
if ! kill -0 "$a_pid" 2>/dev/null; then
    not_ok "the sim vgpud behind the test arrangement starts"
    sed 's/^/# A: /' "$tmp/a/vgpud.log"
    echo "1..$n"
    exit 1
fi

# B: every vgpud the harness starts from here on.
export VGPU_BACKEND=cuda
export VGPUD_ENV="VGPU_SOCKET=$tmp/a/vgpud.sock"
export VGPUD_ARGS="--libcuda=$libvgpu"
mkdir -p "$tmp/b"
if vgpud_start "$tmp/b" --watchdog-ms=$watchdog_ms &&
        grep -q 'backend cuda: vgpu' "$VGPUD_LOG"; then
    ok "vgpud --backend=cuda loads libvgpu as its driver and names the device"
else
    not_ok "vgpud --backend=cuda loads libvgpu as its driver and names the device"
    sed 's/^/# B: /' "$VGPUD_LOG"
    echo "1..$n"
    exit 1
fi
grep 'backend cuda' "$VGPUD_LOG" | sed 's/^/# /'

run() { # run NAME ARGS...: cudacheck through B, output kept in $tmp/NAME.out
    local name=$1
    shift
    timeout -k 5 "$limit" "$check" "$@" >"$tmp/$name.out" 2>&1
}

run verify verify 2
rc=$?
sed 's/^/# /' "$tmp/verify.out"
result $rc "c = a + b through exec_cuda matches the CPU"

# --- hostile tenants beside a victim ------------------------------------
# Runs cudacheck @2 as the hostile tenant while a second tenant computes
# and checks c = a + b; both outcomes must be right.
hostile() {
    local what=$1 why=$2 victim hrc vrc
    run "victim-$what" verify 4 &
    victim=$!
    run "$what" "$what"
    hrc=$?
    wait "$victim"
    vrc=$?
    sed 's/^/# /' "$tmp/$what.out"
    result $hrc "$why"
    grep -q '^verify_wrong_elements 0$' "$tmp/victim-$what.out"
    result $((vrc || $?)) "a second tenant running beside the $what case gets correct results"
}
hostile fault "a faulting kernel gets ILLEGAL_ADDRESS, sticky to its own context"
hostile hang "a kernel past the ${watchdog_ms} ms watchdog gets LAUNCH_TIMEOUT"
grep -q 'watchdog' "$VGPUD_LOG"
result $? "the watchdog says in vgpud's log that it killed a context"
hostile oom "an allocation past the device's memory gets OUT_OF_MEMORY and harms nothing"

run after verify 1
result $? "vgpud still serves new tenants after the hostile cases"
if vgpud_stop; then
    ok "vgpud --backend=cuda exits cleanly on SIGTERM"
else
    not_ok "vgpud --backend=cuda exits cleanly on SIGTERM"
    sed 's/^/# B: /' "$VGPUD_LOG" | tail -n 20
fi

# --- the integration suite through B ------------------------------------
# It starts its own vgpud with VGPU_BACKEND, VGPUD_ARGS and VGPUD_ENV above.
"$top/tests/host/integration/run.sh" >"$tmp/integration.tap" 2>&1
irc=$?
got=0
while IFS= read -r line; do
    case $line in
    "ok "*" - "*) got=$((got + 1)); echo "ok $((n + 1)) - through exec_cuda: ${line#* - }"; n=$((n + 1)) ;;
    "not ok "*" - "*) got=$((got + 1)); not_ok "through exec_cuda: ${line#* - }" ;;
    "#"*) echo "$line" ;;
    esac
done <"$tmp/integration.tap"
if ((got == 0)); then
    not_ok "the integration suite runs through exec_cuda (status $irc)"
    sed 's/^/# /' "$tmp/integration.tap" | tail -n 20
fi

if ! kill -0 "$a_pid" 2>/dev/null; then
    not_ok "the sim vgpud behind the arrangement survived the run"
fi
echo "1..$n"
((failures == 0))
