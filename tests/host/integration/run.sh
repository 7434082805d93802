#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Integration suite: a private vgpud (sim backend by default) on a temporary
# socket, then the samples, the API-semantics, error-path and raw-protocol
# programs through libcuda.so.1, several clients at once, kill -9 of a busy
# client, and a clean exit on SIGTERM.  Prints one TAP stream.
#
# Environment: BUILD, VGPUD (e.g. a sanitizer build), VGPU_BACKEND,
# VGPU_TEST_TIMEOUT (seconds one program may run before it counts as hung).
# Functions run through trap and vgpud_poll look unreachable to shellcheck.
# shellcheck disable=SC2317
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
export TOP=$top
export BUILD=${BUILD:-$top/build}
# shellcheck source=SCRIPTDIR/../../lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"

bin=$BUILD/bin/tests/integration
samples_bin=$BUILD/bin/samples
samples=(deviceQuery vectorAdd saxpy matrixMul reduction histogram
         bandwidthTest streams)
limit=${VGPU_TEST_TIMEOUT:-600}

n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# Reports @2... (a test name) as passed when status @1 is 0.
result() {
    local rc=$1
    shift
    if ((rc == 0)); then ok "$@"; else not_ok "$@"; fi
}
finish() { echo "1..$n"; }
# Ends the suite: the exit status says whether anything failed.
finish_and_exit() {
    finish
    ((failures == 0))
    exit
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-integration.XXXXXX")
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    vgpud_stop >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

missing=
[[ -x $VGPUD ]] || missing="$VGPUD is not built"
[[ -e $BUILD/lib/libcuda.so.1 ]] || missing="${missing:-$BUILD/lib/libcuda.so.1 is not built}"
[[ -x $bin/api ]] || missing="${missing:-the test programs are not built (make -C tests)}"
if [[ -n $missing ]]; then
    skip "integration suite" "$missing"
    finish
    exit 0
fi
export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# Runs a TAP program and folds its results into this stream, each name
# prefixed with the program's.  A program that dies, hangs, or reports
# fewer results than it planned adds one failure, so a crash cannot pass.
run_tap() {
    local name=$1 prog=$2 out rc planned got
    out=$tmp/$name.tap
    timeout -k 5 "$limit" "$prog" >"$out" 2>"$tmp/$name.err"
    rc=$?
    planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out" | head -n1)
    got=0
    while IFS= read -r line; do
        case $line in
        "ok "*" - "*)
            got=$((got + 1)); ok "$name: ${line#* - }" ;;
        "not ok "*" - "*)
            got=$((got + 1)); not_ok "$name: ${line#* - }" ;;
        "#"*)
            echo "$line" ;;
        esac
    done <"$out"
    sed 's/^/# stderr: /' "$tmp/$name.err" | head -n 40
    if ((rc != 0 && got == ${planned:-0})) && ! grep -q '^not ok' "$out"; then
        not_ok "$name exits with status 0 (it exited with $rc)"
    elif ((got < ${planned:-1})); then
        not_ok "$name reports all of its ${planned:-?} results (it stopped after $got, status $rc)"
    fi
}

# Runs sample @1 and checks its status and its result line.
run_sample() {
    local s=$1 out rc
    shift
    out=$(timeout -k 5 "$limit" "$samples_bin/$s" "$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | sed 's/^/# /' | tail -n 5
    [[ $rc -eq 0 ]] && grep -q "^$s: .*OK" <<<"$out"
}

# Bytes of device memory the admin socket reports for all tenants.
admin_mem() {
    vgpud_admin_json list 2>/dev/null | python3 "$top/tests/lib/admin_mem.py"
}
# Conditions for vgpud_poll.
mem_freed() { local m; m=$(admin_mem); [[ -n $m ]] && ((m <= ${mem_before:-0})); }
no_mem() { [[ $(admin_mem) == 0 ]]; }
hog_ready() { grep -q '^ready' "$tmp/hog.out" || ! kill -0 "$hog" 2>/dev/null; }

# A configured tenant with a 4 MiB device-memory quota for the quota test.
if vgpud_start "$tmp" --tenant name=itest-quota,quota=4M; then
    ok "vgpud starts with the $VGPU_BACKEND backend and listens on its sockets"
else
    not_ok "vgpud starts with the $VGPU_BACKEND backend and listens on its sockets"
    finish
    exit 1
fi

for s in "${samples[@]}"; do
    if [[ ! -x $samples_bin/$s ]]; then
        not_ok "sample $s is built"
        continue
    fi
    run_sample "$s"
    result $? "sample $s runs over the socket and matches the CPU reference"
done

# Kernel printf reaches the client's stdout: one line per thread.  On the
# cuda backend the driver prints device printf on vgpud's own stdout, with
# nothing to say which tenant a line came from, so it cannot be forwarded.
kprintf_name="kernel printf output reaches the client's stdout, one line per thread"
if [[ ${VGPU_BACKEND:-sim} == cuda ]]; then
    skip "$kprintf_name" "the cuda backend leaves device printf on vgpud's stdout"
else
    out=$(timeout -k 5 "$limit" "$bin/kprintf" 31 2>&1)
    rc=$?
    printf '%s\n' "$out" | head -n 8 | sed 's/^/# /'
    lines=0
    for b in 0 1; do
        for t in 0 1 2; do
            grep -qx "kernel says 31 from block $b thread $t" <<<"$out" && lines=$((lines + 1))
        done
    done
    ((rc == 0 && lines == 6))
    result $? "$kprintf_name"
fi

run_tap api "$bin/api"
vgpud_alive
result $? "vgpud is still running after the API tests"
run_tap errors "$bin/errors"
vgpud_alive
result $? "vgpud is still running after the error-path tests"
VGPU_TENANT=itest-quota run_tap quota "$bin/quota"

# vgpuctl against the tenant the quota test used: list, set (accepted and
# refused values, by vgpuctl and by vgpud itself), top, metrics.
ctl() { "$VGPUCTL" --admin-socket "$VGPU_ADMIN_SOCKET" "$@"; }
tenant_field() {  # tenant_field NAME KEY: that tenant's KEY in "list"
    vgpud_admin_json list | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tenants"]:
    if t["name"] == sys.argv[1]:
        print(t[sys.argv[2]])' "$1" "$2"
}
out=$(ctl list 2>&1)
grep -q '^itest-quota ' <<<"$out" && grep -q 'SHARE1S' <<<"$out" &&
    [[ $(tenant_field itest-quota mem_quota) == 4194304 ]]
result $? "vgpuctl list shows the configured tenant with its quota"
ctl set itest-quota weight=2.5 cap=0.5 quota=64M &&
    [[ $(tenant_field itest-quota weight) == 2.5 &&
       $(tenant_field itest-quota cap) == 0.5 &&
       $(tenant_field itest-quota mem_quota) == 67108864 ]]
result $? "vgpuctl set changes a tenant's weight, cap and quota"
# work of a process naming the tenant is charged to it (under its 50 % cap)
VGPU_TENANT=itest-quota run_sample vectorAdd >/dev/null &&
    (($(tenant_field itest-quota gpu_ns) > 0)) &&
    [[ $(tenant_field itest-quota mem_used) == 0 ]]
result $? "a VGPU_TENANT process's GPU time is charged to that tenant"
bad=0
for kv in weight=0 weight=-1 weight=1e9 weight=x cap=1.5 cap=-0.5 quota=-1 \
          quota=1Q colour=red; do
    if msg=$(ctl set itest-quota "$kv" 2>&1) || ! grep -q "vgpuctl: " <<<"$msg"; then
        echo "# set $kv: accepted or no message: $msg"
        bad=1
    fi
done
# vgpud refuses on its own too (a client that skips vgpuctl's checks)
for kv in weight=0 cap=2 quota=-5; do
    msg=$(vgpud_admin_raw "set itest-quota $kv")
    grep -q '"error":".*out of range' <<<"$msg" || { echo "# raw set $kv: $msg"; bad=1; }
done
msg=$(vgpud_admin_raw "set no-such-tenant weight=2")
grep -q '"error":"no tenant' <<<"$msg" || { echo "# unknown tenant: $msg"; bad=1; }
[[ $(tenant_field itest-quota weight) == 2.5 &&
   $(tenant_field itest-quota cap) == 0.5 ]] || bad=1
result $bad "out-of-range settings are refused with a message and change nothing"
out=$(ctl top -n 2 -d 0.1 2>&1)
[[ $(grep -c '^NAME ' <<<"$out") == 2 ]] && grep -q '^itest-quota ' <<<"$out"
result $? "vgpuctl top -n 2 prints the list twice"
out=$(ctl metrics 2>&1)
grep -q '^# TYPE vgpu_tenant_gpu_seconds_total counter$' <<<"$out" &&
    grep -q '^vgpu_tenant_weight{tenant="itest-quota"} 2.5$' <<<"$out" &&
    grep -q '^vgpu_tenant_memory_quota_bytes{tenant="itest-quota"} 67108864$' <<<"$out" &&
    ! grep -qv '^\(# \(HELP\|TYPE\) \|vgpu_[a-z0-9_]*\({tenant="[^"]*"}\)\? [0-9.e+-]*$\)' <<<"$out"
result $? "vgpuctl metrics prints every line in the Prometheus text format"
ctl set itest-quota weight=1 cap=0 quota=4M
run_tap raw "$bin/raw"
vgpud_alive
result $? "vgpud is still running after the raw protocol abuse"
run_sample vectorAdd
result $? "a new client is served correctly after all bad input"

# Several clients at once: each must verify its own result.
conc=(vectorAdd reduction histogram saxpy)
pids=()
for s in "${conc[@]}"; do
    run_sample "$s" >"$tmp/conc-$s.out" 2>&1 &
    pids+=($!)
done
bad=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        bad=1
        echo "# concurrent ${conc[$i]} failed:"
        sed 's/^/#   /' "$tmp/conc-${conc[$i]}.out"
    fi
done
result $bad "${#conc[@]} clients running samples at the same time all get correct results"

# Three API-test processes at once exercise every call path concurrently.
pids=()
for i in 1 2 3; do
    ITEST_SHARED_DEVICE=1 timeout -k 5 "$limit" "$bin/api" >"$tmp/api-conc-$i.out" 2>&1 &
    pids+=($!)
done
bad=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        bad=1
        # Quoted as comments: these results are not this suite's own.
        grep '^not ok\|^#' "$tmp/api-conc-$((i + 1)).out" | head -n 10 | sed 's/^/# /'
    fi
done
result $bad "three API test processes at the same time all pass"

# kill -9 of a client in the middle of work: its memory must be freed.
hog_mib=96
hog_bytes=$((hog_mib << 20))
mem_before=$(admin_mem)
if [[ -z $mem_before ]]; then
    not_ok "the admin socket answers list with per-tenant memory"
else
    ok "the admin socket answers list with per-tenant memory"
    "$bin/hog" "$hog_mib" >"$tmp/hog.out" 2>&1 &
    hog=$!
    bg_pids+=("$hog")
    vgpud_poll "$limit" hog_ready
    mem_busy=$(admin_mem)
    echo "# admin memory: before $mem_before, with the busy client ${mem_busy:-?}"
    ((${mem_busy:-0} >= mem_before + hog_bytes))
    result $? "the admin socket shows the busy client's $hog_mib MiB"
    kill -KILL "$hog" 2>/dev/null
    wait "$hog" 2>/dev/null
    vgpud_poll 30 mem_freed
    result $? "a client killed with SIGKILL mid-work has all its memory freed (now $(admin_mem) bytes)"
    vgpud_admin list | sed 's/^/# list: /' | head -n 5
fi
run_sample vectorAdd
result $? "other clients are served after a client was killed"

# A client that exits without freeing anything: vgpud frees it all.
mem_before=$(admin_mem)
timeout -k 5 "$limit" "$bin/hog" 32 exit >"$tmp/hog-exit.out" 2>&1
rc=$?
((rc == 0)) && vgpud_poll 30 mem_freed
result $? "a client that exits without freeing has all its memory freed (before ${mem_before:-?}, now $(admin_mem) bytes)"

# Every client has gone: nothing may be left allocated.
vgpud_poll 30 no_mem
result $? "once every client has gone no tenant holds device memory (now $(admin_mem) bytes)"
if ! no_mem; then
    vgpud_admin list | sed 's/^/# list: /' | head -n 10
fi

vgpud_stop
rc=$?
result $rc "vgpud exits with status 0 on SIGTERM (status $rc)"
if ((rc != 0)) || grep -qiE 'AddressSanitizer|runtime error:|LeakSanitizer' "$VGPUD_LOG"; then
    sed 's/^/# vgpud: /' "$VGPUD_LOG" | tail -n 40
fi
! grep -qiE 'AddressSanitizer|runtime error:|LeakSanitizer' "$VGPUD_LOG"
result $? "vgpud's log has no sanitizer report"
finish_and_exit
