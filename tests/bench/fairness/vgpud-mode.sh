#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The fairness scenarios against a real vgpud: each tenant a separate
# client process (fairclient) over the local socket, each scenario run
# once with --scheduler=wfq and once with --scheduler=fifo in the same
# run, both reported by `fairness --report` from the clients' traces.
#
# Usage: vgpud-mode.sh [SCENARIO...]   (default: all, in this order:
#        two two-100us weighted equal-8 equal-16 light flood long copy
#        join leave caps overhead)
# Environment: BUILD, VGPU_BACKEND (default sim), FAIRNESS_SECONDS (run
# time per scenario and policy, default 4), FAIRNESS_KEEP (a directory
# that keeps the traces and vgpud's logs).  Prints; never passes or fails on time.
set -euo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
export BUILD=$build
# shellcheck source=../../lib/vgpud.sh
source "$top/tests/lib/vgpud.sh"
client=$build/bin/tests/bench/fairclient
report=$build/bin/tests/bench/fairness
secs=${FAIRNESS_SECONDS:-4}
export LD_LIBRARY_PATH=$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

for f in "$VGPUD" "$client" "$report" "$build/lib/libcuda.so.1"; do
    if [[ ! -e $f ]]; then
        echo "fairness: $f is not built" >&2
        exit 77
    fi
done
work=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    vgpud_stop >/dev/null 2>&1 || true
    if [[ -n ${FAIRNESS_KEEP:-} ]]; then
        mkdir -p "$FAIRNESS_KEEP" && cp "$work"/*.csv "$FAIRNESS_KEEP"/ 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Weighted tenants need vgpud --tenant (weights of named tenants) and
# libvgpu's VGPU_TENANT (which processes form a tenant); without them
# every client process is a tenant of weight 1.
has_tenants=0
if "$VGPUD" --help 2>&1 | grep -q -- '--tenant'; then
    has_tenants=1
fi

ms() { echo $(($1 * 1000000)); }
us() { echo $(($1 * 1000)); }

declare -A cost alone_p99

# What fairclient needs for an item: a kernel of @1 ns, or for "cBYTES" a
# host-to-device copy of BYTES.
item_args() {
    if [[ $1 == c* ]]; then
        echo --copy-bytes "${1#c}"
    else
        echo --kernel-ns "$1"
    fi
}

# The standalone cost of one host-to-device copy of @1 bytes, back to back.
calibrate_copy() {
    local b=$1 depth=$2 t out c n
    t=$("$client" --now)
    out=$("$client" --copy-bytes "$b" --depth "$depth" \
        --start $((t + 300000000)) --until $((t + 300000000 + secs * 250000000)) \
        --calibrate)
    read -r c n _ <<<"$out"
    cost[c$b]=$c
    printf '  %8.1f MiB copy alone, back to back (depth %s): %.3f ms per item (%s items)\n' \
        "$(bc -l <<<"$b/1048576")" "$depth" "$(bc -l <<<"$c/1000000")" "$n"
}

# One client alone, back to back (or periodic), on a FIFO vgpud: the
# standalone cost of one kernel of @1 ns (mean spacing of completions) and
# for periodic runs the alone p99 of submit to end.
calibrate() {
    local k=$1 depth=$2 period=${3:-0} t out keep=()
    ((period)) && keep=(--out "$work/alone.$k.csv")
    # Back to back a quarter of the run time; periodic the whole run time,
    # for enough samples (one per period) that its p99 means something.
    local len=$((secs * 250000000))
    ((period)) && len=$((secs * 1000000000))
    t=$("$client" --now)
    out=$("$client" --kernel-ns "$k" --depth "$depth" --period-ns "$period" \
        --start $((t + 300000000)) --until $((t + 300000000 + len)) \
        --calibrate "${keep[@]}")
    read -r c n p50 p99 err <<<"$out"
    if ((period)); then
        alone_p99[$k]=$p99
        printf '  %8.3f ms kernel every %.0f ms alone: p50 %.3f ms, p99 %.3f ms (%s items; kernel clock offset +-%.1f us)\n' \
            "$(bc -l <<<"$k/1000000")" "$(bc -l <<<"$period/1000000")" \
            "$(bc -l <<<"$p50/1000000")" "$(bc -l <<<"$p99/1000000")" "$n" \
            "$(bc -l <<<"$err/1000")"
    else
        cost[$k]=$c
        printf '  %8.3f ms kernel alone, back to back (depth %s): %.3f ms per item (%s items)\n' \
            "$(bc -l <<<"$k/1000000")" "$depth" "$(bc -l <<<"$c/1000000")" "$n"
    fi
}

# run_policy POLICY ID DURATION_NS SPEC...: SPEC =
# weight:kernel_ns:depth:period_ns[:join_ms[:cap[:leave_ms]]] (join_ms:
# starts that late; cap: the tenant's maximum share, wfq only; leave_ms:
# stops then)
run_policy() {
    local pol=$1 id=$2 dur=$3 i=0 spec w k d p j cap l t start args=()
    shift 3
    args=(--scheduler="$pol")
    if ((has_tenants)); then
        for spec in "$@"; do
            IFS=: read -r w k d p j cap l <<<"$spec"
            args+=(--tenant "name=t$i,weight=$w${cap:+,cap=$cap}")
            i=$((i + 1))
        done
    fi
    vgpud_start "$work/d" "${args[@]}"
    t=$("$client" --now)
    # Start together once every client has its context and module.
    start=$((t + 1500000000))
    i=0
    pids=()
    for spec in "$@"; do
        IFS=: read -r w k d p j cap l <<<"$spec"
        # shellcheck disable=SC2046 # two words by design
        VGPU_TENANT=t$i "$client" --tenant "$i" $(item_args "$k") \
            --cost-ns "${cost[$k]:-$k}" --depth "$d" --period-ns "$p" \
            --start "$start" --begin $((start + ${j:-0} * 1000000)) \
            --until $((start + ${l:-0} * 1000000 + (${l:-0} ? 0 : dur))) \
            --out "$work/$id.$pol.$i.part" &
        pids+=($!)
        i=$((i + 1))
    done
    for p in "${pids[@]}"; do
        wait "$p" || echo "fairness: $id: a client failed under $pol" >&2
    done
    pids=()
    vgpud_stop || true
    if [[ -n ${FAIRNESS_KEEP:-} ]]; then
        mkdir -p "$FAIRNESS_KEEP" && cp "$VGPUD_LOG" "$FAIRNESS_KEEP/$id.$pol.log"
    fi
    cat "$work/$id.$pol".*.part >"$work/$id.$pol.csv" 2>/dev/null || true
    rm -f "$work/$id.$pol".*.part
}

# scenario ID TITLE TARGETS LIGHT_INDEX ALONE_P99 SPEC...
scenario() {
    local id=$1 title=$2 targets=$3 light=$4 alone=$5 spec w k d p weights=
    shift 5
    for spec in "$@"; do
        IFS=: read -r w k d p <<<"$spec"
        weights+=${weights:+,}$w
    done
    run_policy wfq "$id" $((secs * 1000000000)) "$@"
    run_policy fifo "$id" $((secs * 1000000000)) "$@"
    "$report" --report "$id" --title "$title" --trace "$work/$id.wfq.csv" \
        --fifo-trace "$work/$id.fifo.csv" --weights "$weights" \
        --duration-ms $((secs * 1000)) --light "$light" \
        --alone-p99-ns "$alone" --targets "$targets" ${join:+--join "$join"} \
        ${leave:+--leave "$leave"} \
        ${alone_trace:+--alone-trace "$alone_trace"} ${caps:+--caps "$caps"}
}

join=
leave=
alone_trace=
caps=

mkdir -p "$work/d"
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(two two-100us weighted equal-8 equal-16 light flood long
    copy join leave caps overhead)
want() {
    local s
    for s in "${scenarios[@]}"; do [[ $s == "$1" ]] && return 0; done
    return 1
}

rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "Fair-share benchmark against vgpud ($VGPU_BACKEND backend), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, tree $rev."
echo "Each tenant is a client process launching a %globaltimer spin kernel; metrics"
echo "from the clients' completion times x standalone cost, $secs s per scenario and"
echo "policy, wfq next to fifo of the same run.  Tenants with weights: $( ((has_tenants)) && echo "vgpud --tenant" || echo "not available (every process weight 1)")."
echo "calibration (FIFO vgpud, one client):"
vgpud_start "$work/d" --scheduler=fifo
for k in $(us 20) $(us 100) $(us 200) $(ms 1) $(ms 2) $(ms 5) $(ms 10) $(ms 20); do
    d=$((8000000 / k + 2))
    calibrate "$k" $((d > 64 ? 64 : d))
done
want light && calibrate "$(us 200)" 1 "$(ms 10)"
if want copy; then
    calibrate_copy $((256 << 20)) 2
    calibrate_copy $((16 << 20)) 4
fi
vgpud_stop || true

one=$(ms 1)
two=$(ms 2)
five=$(ms 5)
if want two; then
    scenario two "2 equal tenants, 1 ms vs 20 ms kernels (long enough that launch overhead is small on sim)" \
        "<= 2 (max <= 4);;;" -1 0 "1:$one:10:0" "1:$(ms 20):2:0"
fi
if want two-100us; then
    scenario two-100us "2 equal tenants, 100 us vs 10 ms kernels (as scheduler.md states it)" \
        "<= 2 (max <= 4);;;" -1 0 "1:$(us 100):80:0" "1:$(ms 10):3:0"
fi
if want weighted; then
    if ((has_tenants)); then
        scenario weighted "4 tenants weighted 1:2:4:8, 1 ms kernels" \
            "max <= 3;>= 0.995;>= 0.98;" -1 0 \
            "1:$one:10:0" "2:$one:10:0" "4:$one:10:0" "8:$one:10:0"
    else
        echo; echo "== weighted: skipped, vgpud has no --tenant (weights)"
    fi
fi
if want equal-8; then
    scenario equal-8 "8 equal tenants, 1 ms and 5 ms kernels in turn" \
        ";>= 0.995;;" -1 0 "1:$one:10:0" "1:$five:3:0" "1:$one:10:0" \
        "1:$five:3:0" "1:$one:10:0" "1:$five:3:0" "1:$one:10:0" "1:$five:3:0"
fi
if want equal-16; then
    specs=()
    for i in $(seq 8); do specs+=("1:$one:10:0" "1:$five:3:0"); done
    scenario equal-16 "16 equal tenants, 1 ms and 5 ms kernels in turn" \
        ";>= 0.995;;" -1 0 "${specs[@]}"
fi
if want light; then
    heavy=()
    alone_trace=$work/alone.$(us 200).csv
    for n in 1 3 7; do
        heavy+=("1:$one:10:0")
        while ((${#heavy[@]} < n)); do heavy+=("1:$one:10:0"); done
        scenario "light-$n" "light tenant (200 us kernel every 10 ms) beside $n heavy (1 ms kernels)" \
            ";;;<= 1 heavy kernel + 0.5 ms" 0 "${alone_p99[$(us 200)]}" \
            "1:$(us 200):1:$(ms 10)" "${heavy[@]}"
    done
    alone_trace=
fi
if want flood; then
    scenario flood "flood adversary: 20 us kernels, 1000 queued, against 2 ms kernels" \
        ";;;" -1 0 "1:$(us 20):1000:0" "1:$two:6:0"
fi
if want long; then
    # The sim time-slices a kernel that holds the engine 50 ms while
    # another context waits, as a GPU does; vgpud charges the long
    # tenant each kernel's full 250 ms all the same.
    scenario long "long-kernel adversary: 250 ms kernels against 1 ms kernels" \
        ";;;" -1 0 "1:$(ms 250):2:0" "1:$one:10:0"
fi
if want copy; then
    # 16 MiB rather than 1 MiB: a 1 MiB copy stays in the host caches on
    # sim (50 GB/s alone against 16 GB/s), so standalone cost would not
    # be a ground truth for it beside a copy flood.
    scenario copy "copy flood: 256 MiB host-to-device copies against 16 MiB ones (pinned)" \
        ";;;" -1 0 "1:c$((256 << 20)):2:0" "1:c$((16 << 20)):4:0"
fi
if want join; then
    # Tenant 2 joins 1.5 s in; converged = every backlogged tenant within
    # 5 pp of its share in every 250 ms window after (10 ms steps).
    join=2:1500
    scenario join "2 equal tenants (1 ms kernels), a third (2 ms kernels) joins at 1.5 s" \
        ";;;" -1 0 "1:$one:10:0" "1:$one:10:0" "1:$two:6:0:1500"
    join=
fi
if want leave; then
    # Tenant 2 of three leaves 2 s in; converged = the two left within 5 pp
    # of half each in every 250 ms window after.
    leave=2:2000
    scenario leave "3 equal tenants (1 ms kernels), one leaves at 2 s" \
        ";;;" -1 0 "1:$one:10:0" "1:$one:10:0" "1:$one:10:0:0::2000"
    leave=
fi
if want caps; then
    if ((has_tenants)); then
        caps=0.3,0.7
        scenario caps "2 tenants capped at 30 % and 70 %, 2 ms kernels (fifo has no caps)" \
            ";;;" -1 0 "1:$two:6:0:0:0.3" "1:$two:6:0:0:0.7"
        caps=
    else
        echo; echo "== caps: skipped, vgpud has no --tenant (caps)"
    fi
fi
if want overhead; then
    # One tenant alone, back to back: what the scheduler costs against
    # FIFO pass-through, per kernel size (kernels done, ground truth).
    echo
    echo "== overhead: one tenant alone, back to back, wfq vs fifo (target >= 0.98 mean, >= 0.95 each, kernels >= 50 us)"
    echo "  (engine idle, GPU-timed: gaps between the tenant's own kernels, the"
    echo "  executor's hand-over from one kernel to the next, under every scenario)"
    printf '  %-10s %10s %10s %8s  %s\n' kernel "wfq items" "fifo items" ratio \
        "idle wfq / fifo"
    for k in $(us 50) $(us 100) $(ms 1) $(ms 10); do
        d=$((8000000 / k + 2))
        d=$((d > 64 ? 64 : d))
        for pol in wfq fifo; do
            run_policy "$pol" "overhead-$k" $((secs * 1000000000)) "1:$k:$d:0"
        done
        nw=$(wc -l <"$work/overhead-$k.wfq.csv")
        nf=$(wc -l <"$work/overhead-$k.fifo.csv")
        iw=$("$report" --idle "$work/overhead-$k.wfq.csv" --duration-ms $((secs * 1000)))
        if_=$("$report" --idle "$work/overhead-$k.fifo.csv" --duration-ms $((secs * 1000)))
        printf '  %7.3f ms %10s %10s %8.3f  %s / %s %%\n' "$(bc -l <<<"$k/1000000")" \
            "$nw" "$nf" "$(bc -l <<<"$nw/($nf+0.000001)")" "$iw" "$if_"
    done
fi
