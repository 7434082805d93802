#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzes vgpud's request decoding with libFuzzer for a bounded time
# (FUZZ_SECONDS, default 20), seeded with one valid request per command.
# SKIP when clang or its fuzzer runtime is not installed.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-$top/build}
secs=${FUZZ_SECONDS:-20}
bin=$BUILD/bin/tests/fuzz/fuzz_decode

echo "1..1"
name="request decoding survives ${secs} s of libFuzzer"
if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
    echo "ok 1 - $name # SKIP clang is not installed"
    exit 0
fi
probe=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-fuzz.XXXXXX")
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! "${FUZZ_CC:-clang}" -fsanitize=fuzzer -o "$probe/p" "$probe/p.c" \
        >/dev/null 2>&1; then
    echo "ok 1 - $name # SKIP clang's fuzzer runtime is not installed"
    exit 0
fi
if ! make -s -C "$top/tests/host/fuzz" BUILD="$BUILD" fuzz >"$probe/build.log" 2>&1; then
    echo "not ok 1 - $name (build failed)"
    sed 's/^/# /' "$probe/build.log" | tail -n 30
    exit 1
fi
mkdir -p "$probe/corpus"
if ! FUZZ_WRITE_SEEDS=$probe/corpus "$bin" >"$probe/seed.log" 2>&1; then
    echo "not ok 1 - $name (seeding failed)"
    sed 's/^/# /' "$probe/seed.log" | tail -n 30
    exit 1
fi
cd "$probe" || exit 1
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 corpus >"$probe/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$probe/fuzz.log")
if ((rc == 0)); then
    echo "ok 1 - $name (${runs:-?} inputs)"
else
    echo "not ok 1 - $name"
    grep -v '^#[0-9]' "$probe/fuzz.log" | sed 's/^/# /' | tail -n 40
    for f in "$probe"/crash-* "$probe"/leak-* "$probe"/timeout-*; do
        [[ -e $f ]] && echo "# reproducer: $(basename "$f"): $(xxd -p "$f" | head -c 400)"
    done
    exit 1
fi
