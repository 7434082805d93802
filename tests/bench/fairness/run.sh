#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fairness benchmark of the scheduler.
#
# Usage: tests/bench/fairness/run.sh [-h] [--mode sim|vgpud] [fairness options]
#
# --mode sim (default): the scenarios of scheduler.md on a simulated GPU
# (discrete-event model, sched.c against FIFO pass-through in the same
# run).  Prints simulated-GPU numbers only.
# --mode vgpud: the same scenarios as separate client processes
# (fairclient) against a private vgpud, --scheduler=wfq and fifo in the
# same run (vgpud-mode.sh; fairness options are then scenario names:
# two two-100us weighted equal-8 equal-16 light flood long copy join leave caps overhead).  Each client writes a trace (CSV:
# tenant,class,submit_ns,start_ns,end_ns,kernel_ns) reported by
# `fairness --report`, the metrics code of the simulation.
# Environment: BUILD, FAIRNESS_SECONDS, FAIRNESS_KEEP.
set -euo pipefail

usage() {
    sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'
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

case $mode in
sim | vgpud)
    make -s -C "$top/tests/bench/fairness" TOP="$top" BUILD="$build" "$mode" >&2
    ;;
esac
case $mode in
sim)
    exec "$build/bin/tests/bench/fairness" "$@"
    ;;
vgpud)
    exec "$top/tests/bench/fairness/vgpud-mode.sh" "$@"
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
