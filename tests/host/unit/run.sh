#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vgpud unit tests: handle tables, validation (one test per failure),
# protocol encoding and stream/event semantics.  One TAP stream.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-$top/build}
bin=$BUILD/bin/tests/unit
tests=(test_handles test_validate test_protocol test_tenant_info test_copy_chunks test_runq)

if ! make -s -C "$top/tests/host/unit" BUILD="$BUILD" >&2; then
    echo "1..1"
    echo "not ok 1 - unit tests build"
    exit 1
fi

n=0 rc=0
for t in "${tests[@]}"; do
    out=$("$bin/$t" 2>&1)
    trc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*" - "*) n=$((n + 1)); echo "ok $n - $t: ${line#* - }" ;;
        "not ok "*" - "*) n=$((n + 1)); echo "not ok $n - $t: ${line#* - }" ;;
        "#"*) echo "$line" ;;
        esac
    done <<<"$out"
    if ((trc != 0)) && ! grep -q '^not ok' <<<"$out"; then
        n=$((n + 1))
        echo "not ok $n - $t exited with status $trc"
        echo "$out" | tail -n 20 | sed 's/^/# /'
    fi
    ((trc != 0)) && rc=1
done
echo "1..$n"
exit $rc
