#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the PTX conformance, differential and hostile-kernel programs
# through libvgpu against a private vgpud (sim backend by default) and
# prints one TAP stream.
#
# Environment: BUILD (default <repo>/build), VGPU_BACKEND (sim), and
# CONFORMANCE_NATIVE=1 to run the programs against whatever libcuda.so.1
# the loader finds (a real GPU) without starting vgpud.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
: "${BUILD:=$top/build}"
export BUILD
obj=$BUILD/obj/tests/conformance
progs=(conform_alu conform_mem differential hostile)
n=0

skip_all() {
    echo "ok 1 - conformance suite # SKIP $1"
    echo "1..1"
    exit 0
}

for p in "${progs[@]}"; do
    [[ -x $obj/$p ]] || skip_all "$obj/$p is not built (no cuda.h or libcuda)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-conformance.XXXXXX")
cleanup() {
    if [[ ${CONFORMANCE_NATIVE:-0} != 1 ]] && declare -F vgpud_stop >/dev/null; then
        vgpud_stop >/dev/null 2>&1
    fi
    # Keep the daemon's log: it names the PTX line a module was refused at.
    if [[ -f $tmp/vgpud.log ]]; then
        logs=${VGPU_TEST_LOGS:-$BUILD/test-logs}
        mkdir -p "$logs" && cp "$tmp/vgpud.log" "$logs/conformance-vgpud.log"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

if [[ ${CONFORMANCE_NATIVE:-0} != 1 ]]; then
    # shellcheck source=tests/lib/vgpud.sh disable=SC1091
    . "$top/tests/lib/vgpud.sh"
    [[ -x $VGPUD ]] || skip_all "$VGPUD is not built"
    [[ -e $BUILD/lib/libcuda.so.1 ]] ||
        skip_all "$BUILD/lib/libcuda.so.1 (libvgpu) is not built"
    export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    # A small per-launch instruction budget makes the endless-loop test
    # end quickly; every legitimate kernel here stays far below it.
    budget=()
    if "$VGPUD" --help 2>&1 | grep -q -- '--insn-budget'; then
        budget=("--insn-budget=${CONFORMANCE_INSN_BUDGET:-100000000}")
    fi
    if ! vgpud_start "$tmp" "${budget[@]}"; then
        echo "not ok 1 - vgpud starts with --backend=$VGPU_BACKEND"
        echo "1..1"
        exit 1
    fi
fi
export CONFORMANCE_DIR=$here

# Each program prints its own plan; renumber into one stream.  A program
# that dies without reporting a failure counts as one failed test.
for p in "${progs[@]}"; do
    echo "# $p"
    out=$tmp/$p.out
    (cd "$tmp" && timeout -k 5 "${CONFORMANCE_TIMEOUT:-300}" "$obj/$p") >"$out" 2>&1
    rc=$?
    fails=0
    while IFS= read -r line; do
        if [[ $line =~ ^(not\ )?ok\ [0-9]+(.*)$ ]]; then
            n=$((n + 1))
            [[ -n ${BASH_REMATCH[1]} ]] && fails=$((fails + 1))
            echo "${BASH_REMATCH[1]}ok $n${BASH_REMATCH[2]}"
        elif [[ $line =~ ^1\.\.[0-9]+$ ]]; then
            :
        elif [[ $line == \#* ]]; then
            echo "$line"
        else
            echo "# $line"
        fi
    done <"$out"
    if ((rc != 0 && fails == 0)); then
        n=$((n + 1))
        echo "not ok $n - $p exited with status $rc"
    fi
    if [[ ${CONFORMANCE_NATIVE:-0} != 1 ]] && ! vgpud_alive; then
        n=$((n + 1))
        echo "not ok $n - vgpud survives $p"
        sed 's/^/# vgpud: /' "$VGPUD_LOG" | tail -n 20
        vgpud_start "$tmp" "${budget[@]}" || break
    fi
done
echo "1..$n"
