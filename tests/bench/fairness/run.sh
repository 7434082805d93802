#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fairness benchmark of the scheduler.
#
# Usage: tests/bench/fairness/run.sh [-h] [--mode sim|vgpud] [fairness options]
#
# --mode sim (default): the scenarios of scheduler.md on a simulated GPU
# (discrete-event model, sched.c against FIFO pass-through in the same
# run).  Prints simulated-GPU numbers only.
# --mode vgpud: the same scenarios as separate client processes against a
# real vgpud.  Not available yet: it needs the scheduler inside vgpud's
# dispatcher.  Such a driver writes one trace per scenario and policy
# (CSV: tenant,class,submit_ns,start_ns,end_ns) and reports it with
# `fairness --from-trace FILE --weights W1,W2,...`, the code that reports
# the simulation.  Environment: BUILD.
set -euo pipefail

usage() {
    sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'
}

top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
mode=sim
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    exit 0
fi
if [[ ${1:-} == --mode ]]; then
    mode=${2:?--mode needs sim or vgpud}
    shift 2
fi

make -s -C "$top/tests/bench/fairness" TOP="$top" BUILD="$build" >&2
case $mode in
sim)
    exec "$build/bin/tests/bench/fairness" "$@"
    ;;
vgpud)
    echo "fairness: --mode vgpud is not available yet (the scheduler is not" \
         "yet wired into vgpud's dispatcher); run --mode sim" >&2
    exit 77
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
