#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every test suite this machine can run and print one summary line.
#
# A suite is an executable that prints TAP lines ("ok N - name",
# "not ok N - name", "ok N - name # SKIP reason").  A suite that exits
# non-zero without reporting a failure counts as one failed test, so a
# crash can never pass silently.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export TOP=$top
export BUILD=${BUILD:-$top/build}
logdir=${VGPU_TEST_LOGS:-$BUILD/test-logs}
mkdir -p "$logdir"

# Suites in order: cheap and fundamental first.
suites=(
    tests/abi/run.sh
    tests/host/unit/run.sh
    tests/host/sched/run.sh
    tests/host/sim/run.sh
    guest-userlib/tests/run.sh
    tests/host/integration/run.sh
    tests/host/conformance/run.sh
    tests/host/cuda/run.sh
    tests/host/sanitize/run.sh
    tests/host/fuzz/run.sh
    tests/host/vhost/run.sh
    tests/guest/run.sh
)

pass=0 fail=0 skip=0
for s in "${suites[@]}"; do
    name=${s%/run.sh}
    name=${name//\//-}
    log=$logdir/$name.log
    if [[ ! -x $top/$s ]]; then
        continue
    fi
    echo "=== $s"
    "$top/$s" >"$log" 2>&1
    rc=$?
    p=$(grep -Ec '^ok [0-9]+' "$log" | tr -d ' ')
    s_=$(grep -Ec '^ok [0-9]+.*# *SKIP' "$log" | tr -d ' ')
    f=$(grep -Ec '^not ok [0-9]+' "$log" | tr -d ' ')
    p=$((p - s_))
    if ((rc != 0 && f == 0)); then
        echo "not ok - $s exited with status $rc" | tee -a "$log"
        f=1
    fi
    grep -E '^(not ok|ok [0-9]+.*# *SKIP)' "$log" | sed 's/^/    /'
    echo "    $p passed, $f failed, $s_ skipped (log: ${log#"$top"/})"
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s_))
done

if ((skip)); then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
((fail == 0))
