#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints the sim interpreter's throughput (matrixMul 1024x1024 on 1 and 2
# threads) and module-load time.  Numbers only: never pass/fail on time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
BUILD=${BUILD:-$top/build}
N=${SIM_BENCH_N:-1024}

make -s -C "$here" TOP="$top" BUILD="$BUILD"
"$BUILD/obj/tests/bench-sim/sim_bench" "$top/tests/host/sim/kernels/basic.ptx" \
    "$here/bigmod.ptx" "$N"
