#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TAP suite of the sim executor: direct unit tests, then the PTX parser
# fuzzed with libFuzzer for a bounded time (SIM_FUZZ_SECONDS, default 20).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
BUILD=${BUILD:-$top/build}
out=$BUILD/obj/tests/sim
fuzz_secs=${SIM_FUZZ_SECONDS:-20}

if ! make -s -C "$here" TOP="$top" BUILD="$BUILD" >"$out.build.log" 2>&1; then
    mkdir -p "$(dirname "$out")"
    echo "not ok 1 - sim tests build (see $out.build.log)"
    exit 1
fi

SIM_KERNELS=$here/kernels "$out/sim_test"
rc=$?
n=$(grep -c '^TAP_ENTRY\|^        TAP_ENTRY' "$here/sim_test.c")
next=$((n + 1))

name="ptx parser survives ${fuzz_secs} s of libFuzzer with ASan and UBSan"
if [[ ! -x $out/fuzz_ptx ]]; then
    echo "ok $next - $name # SKIP clang's libFuzzer runtime is not installed"
else
    corpus=$(mktemp -d)
    trap 'rm -rf "$corpus"' EXIT
    cp "$here"/kernels/*.ptx "$here"/fuzz/*.ptx "$corpus"/ 2>/dev/null
    if "$out/fuzz_ptx" -max_total_time="$fuzz_secs" -timeout=10 -rss_limit_mb=2048 \
           -max_len=16384 -print_final_stats=0 -artifact_prefix="$out.fuzz-" "$corpus" >"$out.fuzz.log" 2>&1; then
        echo "ok $next - $name"
    else
        echo "not ok $next - $name"
        grep -E 'ERROR|SUMMARY|crash-|leak' "$out.fuzz.log" | head -20 | sed 's/^/# /'
        rc=1
    fi
fi
exit $rc
