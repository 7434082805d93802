#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The one command for a machine with an NVIDIA GPU: build, run the samples
# and API tests natively and through vgpud --backend=cuda, benchmark native
# against virtual in the same run, run the hostile cases beside a second
# tenant, and write one Markdown report (default build/gpu-report.md).
# Functions run through trap and vgpud_poll look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    cat <<USAGE
usage: ${0##*/} [-h]

Runs on a machine with an NVIDIA GPU and its driver (libcuda.so.1):
  1. builds (make all; when that fails, e.g. QEMU cannot be fetched without
     network, the host components one by one; a missing part is skipped and
     the report says so);
  2. runs the samples and the API test program natively (NVIDIA's libcuda,
     no vgpud) and through vgpud --backend=cuda on a local socket, then the
     whole integration suite through vgpud --backend=cuda;
  3. benchmarks native against virtual in the same run with one binary
     (cudacheck): pinned and pageable HtoD/DtoH at 256 MiB, synchronous
     launch round trip, asynchronous empty-kernel launch throughput; plus
     tests/bench through vgpud;
  4. runs the fairness scenarios against vgpud where tests/bench/fairness
     supports it (else the report says it does not yet);
  5. runs a faulting kernel, a hanging kernel (vgpud's watchdog) and an
     allocation past the device's memory, each beside a second tenant that
     must compute correct results;
  6. writes \$GPU_CHECK_REPORT with the GPU, driver, date, Markdown tables
     against the targets and the raw numbers.

Exit status: 0 all checks passed (performance targets are reported, met or
not, and never change the status); 1 a correctness check failed; 2 usage or
build failure; 77 no usable GPU was found (the report says so; nothing else
ran).

Environment (defaults in brackets):
  BUILD                 build tree [$top/build]
  GPU_CHECK_LIBCUDA     driver library for the native runs and for vgpud
                        --libcuda [libcuda.so.1 found by ldconfig]
  GPU_CHECK_REPORT      report path [\$BUILD/gpu-report.md]
  GPU_CHECK_SKIP_BUILD  1: use the build tree as it is [0]
  GPU_CHECK_WATCHDOG_MS vgpud's launch watchdog in the run [2000]
  GPU_CHECK_COPY_MIB    copy size [256]
  GPU_CHECK_RTT_ITERS   synchronous launches timed [2000]
  GPU_CHECK_LAUNCHES    asynchronous launches timed [200000]
  GPU_CHECK_TIMEOUT     seconds one program may run [600]

Test arrangement (no GPU): GPU_CHECK_LIBCUDA=\$BUILD/lib/libcuda.so.1 makes
libvgpu play NVIDIA's driver: the script then starts a sim vgpud for it,
so "native" means libvgpu straight to a sim vgpud and "virtual" means
through a second vgpud --backend=cuda.  The report is marked as such; its
numbers say nothing about a GPU.
USAGE
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    exit 0
fi
if (($# > 0)); then
    usage >&2
    exit 2
fi

export BUILD=${BUILD:-$top/build}
export TOP=$top
report=${GPU_CHECK_REPORT:-$BUILD/gpu-report.md}
watchdog_ms=${GPU_CHECK_WATCHDOG_MS:-2000}
copy_mib=${GPU_CHECK_COPY_MIB:-256}
rtt_iters=${GPU_CHECK_RTT_ITERS:-2000}
launches=${GPU_CHECK_LAUNCHES:-200000}
limit=${GPU_CHECK_TIMEOUT:-600}
jobs=$(nproc 2>/dev/null || echo 2)

# shellcheck source=SCRIPTDIR/../tests/lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-gpu-check.XXXXXX")
backing_pid=
cleanup() {
    vgpud_stop >/dev/null 2>&1 || true
    if [[ -n $backing_pid ]]; then
        kill -TERM "$backing_pid" 2>/dev/null || true
        wait "$backing_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

log() { echo "gpu-check: $*" >&2; }
notes=()            # lines for the report's "Skipped / notes" section
note() { notes+=("$*"); log "$*"; }
failures=0
checks=()           # "| check | result |" rows
check() { # check RC NAME
    if (("$1" == 0)); then
        checks+=("| $2 | pass |")
    else
        checks+=("| $2 | **FAIL** |")
        failures=$((failures + 1))
    fi
}

# ---- 1. build --------------------------------------------------------------
build_log=$tmp/build.log
if [[ ${GPU_CHECK_SKIP_BUILD:-0} != 1 ]]; then
    log "building (make all), log in $report's raw section"
    if ! make -C "$top" -j"$jobs" all >"$build_log" 2>&1; then
        note "make all failed (QEMU needs its source from the network); building the host components one by one"
        for d in host-backend guest-userlib samples tests; do
            make -C "$top/$d" -j"$jobs" >>"$build_log" 2>&1 ||
                note "make -C $d failed; what needs it is skipped"
        done
    fi
fi
check_bin=$BUILD/bin/tests/cuda/cudacheck
libvgpu=$BUILD/lib/libcuda.so.1
for f in "$VGPUD" "$libvgpu" "$check_bin"; do
    if [[ ! -e $f ]]; then
        log "$f is not built; see $build_log"
        tail -n 30 "$build_log" >&2 2>/dev/null || true
        exit 2
    fi
done

# ---- 2. find the GPU -------------------------------------------------------
find_libcuda() {
    local p
    p=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 .*x86-64/ { print $NF; exit }')
    if [[ -z $p ]]; then
        for p in /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 \
                 /usr/local/nvidia/lib64/libcuda.so.1 /usr/lib/wsl/lib/libcuda.so.1; do
            [[ -e $p ]] && break
            p=
        done
    fi
    echo "$p"
}
libcuda=${GPU_CHECK_LIBCUDA:-$(find_libcuda)}
arrangement=0
if [[ -n $libcuda && -e $libcuda && -e $libvgpu &&
      $(readlink -f "$libcuda") == $(readlink -f "$libvgpu") ]]; then
    arrangement=1
fi
# The native side loads the driver by soname from a directory of its own,
# so nothing of this build's lib/ can stand in for it by accident.
native_dir=$tmp/native-lib
mkdir -p "$native_dir"
[[ -n $libcuda && -e $libcuda ]] && ln -s "$(readlink -f "$libcuda")" "$native_dir/libcuda.so.1"

date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
host=$(uname -n)
gpu_name=
driver=
if command -v nvidia-smi >/dev/null 2>&1; then
    gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1 || true)
    driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n1 || true)
fi

if ((arrangement)); then
    # A sim vgpud plays the GPU behind libvgpu-as-driver.
    mkdir -p "$tmp/backing"
    "$VGPUD" --backend=sim --watchdog-ms=$((watchdog_ms * 4)) \
        --socket-path "$tmp/backing/vgpud.sock" \
        --admin-socket "$tmp/backing/admin.sock" >"$tmp/backing/vgpud.log" 2>&1 &
    backing_pid=$!
    backing_up() { [[ -S $tmp/backing/vgpud.sock ]] || ! kill -0 "$backing_pid" 2>/dev/null; }
    vgpud_poll 20 backing_up || true
    backing_env=(VGPU_SOCKET="$tmp/backing/vgpud.sock")
    note "TEST ARRANGEMENT: GPU_CHECK_LIBCUDA is libvgpu; \"native\" is libvgpu on a sim vgpud, not a GPU"
else
    backing_env=()
fi

# native CMD...: runs CMD on the machine's driver, no vgpud involved.
native() {
    env "${backing_env[@]}" LD_LIBRARY_PATH="$native_dir" \
        timeout -k 5 "$limit" "$@"
}
# virtual CMD...: runs CMD on libvgpu through the vgpud --backend=cuda.
virtual() {
    env LD_LIBRARY_PATH="$BUILD/lib" VGPU_SOCKET="$VGPU_SOCKET" \
        timeout -k 5 "$limit" "$@"
}

probe_rc=0
if [[ ! -e $native_dir/libcuda.so.1 ]]; then
    probe_rc=1
    echo "no libcuda.so.1 found (set GPU_CHECK_LIBCUDA)" >"$tmp/probe.out"
else
    native "$check_bin" verify 1 >"$tmp/probe.out" 2>&1 || probe_rc=$?
fi
if ((probe_rc != 0)); then
    mkdir -p "$(dirname "$report")"
    {
        echo "# vgpu-virtio GPU check"
        echo
        echo "Date: $date_utc, host $host."
        echo
        echo "**No usable GPU was found**; nothing was measured."
        echo
        echo "Driver library tried: ${libcuda:-none found}."
        echo
        echo '```'
        cat "$tmp/probe.out"
        echo '```'
    } >"$report"
    log "no usable GPU (see $report)"
    exit 77
fi
cuda_name=$(sed -n 's/^device //p' "$tmp/probe.out")
cuda_api=$(sed -n 's/^driver_api //p' "$tmp/probe.out")
gpu_name=${gpu_name:-$cuda_name}
log "GPU: $gpu_name, driver ${driver:-?} (CUDA API $cuda_api)"

# ---- vgpud --backend=cuda on the same driver -------------------------------
export VGPU_BACKEND=cuda
VGPUD_ARGS="--libcuda=$(readlink -f "$libcuda")"
export VGPUD_ARGS
export VGPUD_ENV="${backing_env[*]}"
mkdir -p "$tmp/vgpud"
if ! vgpud_start "$tmp/vgpud" --watchdog-ms="$watchdog_ms" --log-level=info; then
    log "vgpud --backend=cuda did not start"
    exit 1
fi
vgpud_line=$(grep -m1 "backend cuda" "$VGPUD_LOG" | sed "s/^vgpud: info: //" || true)

# ---- 2b. samples and API tests, native and virtual -------------------------
samples=(deviceQuery vectorAdd saxpy matrixMul reduction histogram bandwidthTest streams)
sample_rows=()
for s in "${samples[@]}"; do
    bin=$BUILD/bin/samples/$s
    if [[ ! -x $bin ]]; then
        note "sample $s is not built"
        continue
    fi
    row="| $s |"
    for side in native virtual; do
        if "$side" "$bin" >"$tmp/$s.$side.out" 2>&1 && grep -q "^$s: .*OK" "$tmp/$s.$side.out"; then
            row+=" pass |"
        else
            row+=" **FAIL** |"
            failures=$((failures + 1))
        fi
    done
    sample_rows+=("$row")
done

tap_count() { # tap_count FILE: "passed/total"
    local p t
    p=$(grep -c '^ok ' "$1" || true)
    t=$(grep -cE '^(not )?ok ' "$1" || true)
    echo "$p/$t"
}
api_bin=$BUILD/bin/tests/integration/api
api_rows=()
if [[ -x $api_bin ]]; then
    for side in native virtual; do
        rc=0
        "$side" "$api_bin" >"$tmp/api.$side.tap" 2>&1 || rc=$?
        api_rows+=("| api ($side) | $(tap_count "$tmp/api.$side.tap") | $([[ $rc == 0 ]] && echo pass || echo '**FAIL**') |")
        ((rc == 0)) || failures=$((failures + 1))
    done
else
    note "the API test program is not built"
fi

# ---- 3. benchmarks, native and virtual in the same run ----------------------
bench() { # bench SIDE ARGS... >> $tmp/bench.SIDE
    "$1" "$check_bin" "${@:2}" >>"$tmp/bench.$1" 2>&1 || {
        note "cudacheck ${*:2} ($1) failed: $(tail -n1 "$tmp/bench.$1")"
        failures=$((failures + 1))
    }
}
: >"$tmp/bench.native"
: >"$tmp/bench.virtual"
for side in native virtual; do
    bench "$side" copy "$copy_mib"
    bench "$side" rtt "$rtt_iters"
    bench "$side" launch "$launches"
done
val() { sed -n "s/^$2 //p" "$tmp/bench.$1" | tail -n1; }
# target ROW: "| metric | native | virtual | ratio | target | met |"
target_row() { # target_row NAME KEY UNIT KIND LIMIT
    local name=$1 key=$2 unit=$3 kind=$4 lim=$5 nv vv
    nv=$(val native "$key")
    vv=$(val virtual "$key")
    if [[ -z $nv || -z $vv ]]; then
        echo "| $name | ${nv:-n/a} | ${vv:-n/a} | | | not measured |"
        return
    fi
    awk -v n="$nv" -v v="$vv" -v name="$name" -v unit="$unit" -v kind="$kind" -v lim="$lim" 'BEGIN {
        if (kind == "ratio") {
            r = n > 0 ? v / n : 0
            met = r >= lim
            printf "| %s | %s %s | %s %s | %.1f %% | >= %g %% of native | %s |\n",
                name, n, unit, v, unit, r * 100, lim * 100, met ? "met" : "**NOT met**"
        } else {
            d = v - n
            met = d <= lim
            printf "| %s | %s %s | %s %s | +%.2f us | <= native + %g us | %s |\n",
                name, n, unit, v, unit, d, lim, met ? "met" : "**NOT met**"
        }
    }'
}
target_rows=(
    "$(target_row "pinned HtoD ${copy_mib} MiB" pinned_htod_gbps GB/s ratio 0.98)"
    "$(target_row "pinned DtoH ${copy_mib} MiB" pinned_dtoh_gbps GB/s ratio 0.98)"
    "$(target_row "pageable HtoD ${copy_mib} MiB" pageable_htod_gbps GB/s ratio 0.90)"
    "$(target_row "pageable DtoH ${copy_mib} MiB" pageable_dtoh_gbps GB/s ratio 0.90)"
    "$(target_row "sync launch round trip (median)" sync_launch_rtt_median_us us delta 10)"
    "$(target_row "async empty-kernel launches" async_launch_per_s /s ratio 0.70)"
)

# tests/bench through vgpud (its own baselines; rtt and launch need vgpud).
bench_rc=0
if [[ -x $BUILD/bin/tests/bench/bench ]]; then
    virtual "$BUILD/bin/tests/bench/bench" all >"$tmp/tests-bench.out" 2>&1 || bench_rc=$?
    ((bench_rc == 0)) || note "tests/bench through vgpud exited with $bench_rc"
else
    note "tests/bench is not built"
fi

# ---- 4. fairness ----------------------------------------------------------
fair_rc=0
if [[ -x $top/tests/bench/fairness/run.sh ]]; then
    VGPU_SOCKET=$VGPU_SOCKET timeout -k 5 "$limit" "$top/tests/bench/fairness/run.sh" \
        --mode vgpud >"$tmp/fairness.out" 2>&1 || fair_rc=$?
    if ((fair_rc == 77)); then
        note "fairness on the GPU: not available: $(head -c 300 "$tmp/fairness.out" | tr '\n' ' ')"
    elif ((fair_rc != 0)); then
        note "fairness --mode vgpud exited with $fair_rc"
    fi
else
    note "tests/bench/fairness is missing"
fi

# ---- 5. hostile tenants beside a victim -----------------------------------
hostile() { # hostile CASE DESCRIPTION
    local what=$1 why=$2 victim hrc=0 vrc=0
    virtual "$check_bin" verify 8 >"$tmp/victim-$what.out" 2>&1 &
    victim=$!
    virtual "$check_bin" "$what" >"$tmp/$what.out" 2>&1 || hrc=$?
    wait "$victim" || vrc=$?
    grep -q '^verify_wrong_elements 0$' "$tmp/victim-$what.out" || vrc=1
    check "$hrc" "$why"
    check "$vrc" "second tenant beside the $what case: correct results"
}
hostile fault "faulting kernel: ILLEGAL_ADDRESS, sticky to its own context"
hostile hang "hanging kernel: LAUNCH_TIMEOUT after the ${watchdog_ms} ms watchdog"
hostile oom "allocation past device memory: OUT_OF_MEMORY, nothing else harmed"
rc=0
virtual "$check_bin" verify 1 >"$tmp/after.out" 2>&1 || rc=$?
check "$rc" "vgpud serves a new tenant after the hostile cases"
rc=0
vgpud_stop || rc=$?
check "$rc" "vgpud --backend=cuda exits cleanly on SIGTERM"
cp "$VGPUD_LOG" "$tmp/vgpud-cuda.log"

# the whole integration suite through vgpud --backend=cuda
rc=0
VGPU_TEST_TIMEOUT=$limit "$top/tests/host/integration/run.sh" >"$tmp/integration.tap" 2>&1 || rc=$?
check "$rc" "integration suite through vgpud --backend=cuda ($(tap_count "$tmp/integration.tap") ok)"

# ---- 6. the report ----------------------------------------------------------
mkdir -p "$(dirname "$report")"
{
    echo "# vgpu-virtio GPU check"
    echo
    if ((arrangement)); then
        echo "**TEST ARRANGEMENT, not a GPU run:** libvgpu played NVIDIA's driver on a sim vgpud."
        echo
    fi
    echo "| | |"
    echo "|---|---|"
    echo "| GPU | $gpu_name |"
    echo "| driver | ${driver:-unknown (no nvidia-smi)}, CUDA driver API $cuda_api |"
    echo "| date | $date_utc |"
    echo "| host | $host, $(nproc) CPUs |"
    echo "| driver library | $(readlink -f "$libcuda") |"
    echo "| vgpud | $vgpud_line |"
    echo "| commit | $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown) |"
    echo
    echo "## Native against virtual (same run)"
    echo
    echo "| metric | native | virtual | virtual/native | target | |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${target_rows[@]}"
    echo
    echo "Fairness targets of scheduler.md on real kernels: see below."
    echo
    echo "## Samples and API tests"
    echo
    echo "| sample | native | virtual |"
    echo "|---|---|---|"
    printf '%s\n' "${sample_rows[@]}"
    echo
    if ((${#api_rows[@]})); then
        echo "| program | ok/total | |"
        echo "|---|---|---|"
        printf '%s\n' "${api_rows[@]}"
        echo
    fi
    echo "## Isolation and correctness checks"
    echo
    echo "| check | result |"
    echo "|---|---|"
    printf '%s\n' "${checks[@]}"
    echo
    echo "## Fairness"
    echo
    echo '```'
    cat "$tmp/fairness.out" 2>/dev/null || echo "not run"
    echo '```'
    echo
    if ((${#notes[@]})); then
        echo "## Skipped and notes"
        echo
        printf -- '- %s\n' "${notes[@]}"
        echo
    fi
    echo "## Raw numbers"
    for f in bench.native bench.virtual tests-bench.out hang.out fault.out oom.out; do
        [[ -e $tmp/$f ]] || continue
        echo
        echo "### $f"
        echo
        echo '```'
        cat "$tmp/$f"
        echo '```'
    done
    echo
    echo "### integration suite through vgpud --backend=cuda (failures and comments)"
    echo
    echo '```'
    grep -vE '^ok ' "$tmp/integration.tap" | tail -n 60 || true
    echo '```'
    echo
    echo "### vgpud --backend=cuda log (tail)"
    echo
    echo '```'
    tail -n 30 "$tmp/vgpud-cuda.log"
    echo '```'
    if [[ -s $build_log ]]; then
        echo
        echo "### build log (tail)"
        echo
        echo '```'
        tail -n 20 "$build_log"
        echo '```'
    fi
} >"$report"
log "report: $report ($failures failed checks)"
((failures == 0)) || exit 1
exit 0
