#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sanitizer suite: builds vgpud (with its sim executor) and the vgpud unit
# tests with AddressSanitizer and UndefinedBehaviorSanitizer into
# $BUILD/asan, runs the unit tests, then the integration suite (when it
# exists) against the sanitized daemon (env VGPUD=$BUILD/asan/bin/vgpud),
# and fails if the sanitizers reported anything.  One TAP stream.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
export BUILD=${BUILD:-$top/build}
asan=$BUILD/asan
san_cflags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
logs=$asan/logs

n=0 rc=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; rc=1; }

rm -rf "$logs"
mkdir -p "$logs"
# Reports go to files as well, so a daemon's report is not lost with its log.
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"

build_log=$logs/build.log
if make -s -j2 -C "$top/host-backend" BUILD="$asan" CFLAGS="$san_cflags" \
        >"$build_log" 2>&1 &&
   make -s -j2 -C "$top/tests/host/unit" BUILD="$asan" CFLAGS="$san_cflags" \
        >>"$build_log" 2>&1; then
    ok "vgpud and its unit tests build with ASan and UBSan"
else
    not_ok "vgpud and its unit tests build with ASan and UBSan"
    sed 's/^/# /' "$build_log" | tail -n 30
    echo "1..$n"
    exit 1
fi

for t in test_handles test_validate test_protocol test_copy_chunks test_runq; do
    out=$("$asan/bin/tests/unit/$t" 2>&1)
    trc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*" - "*) ok "asan unit $t: ${line#* - }" ;;
        "not ok "*" - "*) not_ok "asan unit $t: ${line#* - }" ;;
        esac
    done <<<"$out"
    if ((trc != 0)); then
        not_ok "asan unit $t exits cleanly (status $trc)"
        grep -v '^ok' <<<"$out" | tail -n 30 | sed 's/^/# /'
    fi
done

integ=$top/tests/host/integration/run.sh
if [[ -x $integ ]]; then
    out=$(VGPUD=$asan/bin/vgpud "$integ" 2>&1)
    irc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*" - "*"# SKIP"*) n=$((n + 1)); echo "ok $n - asan integration: ${line#* - }" ;;
        "ok "*" - "*) ok "asan integration: ${line#* - }" ;;
        "not ok "*" - "*) not_ok "asan integration: ${line#* - }" ;;
        "#"*) echo "$line" ;;
        esac
    done <<<"$out"
    if ((irc != 0)) && ! grep -q '^not ok' <<<"$out"; then
        not_ok "asan integration suite exits cleanly (status $irc)"
    fi
else
    n=$((n + 1))
    echo "ok $n - asan integration # SKIP tests/host/integration/run.sh does not exist"
fi

reports=$(find "$logs" -name 'asan.*' -o -name 'ubsan.*' 2>/dev/null)
if [[ -z $reports ]]; then
    ok "no sanitizer reports from vgpud or the unit tests"
else
    not_ok "no sanitizer reports from vgpud or the unit tests"
    for f in $reports; do
        echo "# $f:"
        head -n 40 "$f" | sed 's/^/#   /'
    done
fi
echo "1..$n"
exit $rc
