#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ABI layout checks: compiles abi_check.c once per struct group of the two
# uapi headers (C11, -Werror -pedantic); one TAP line per group.  A
# deliberately wrong group must fail to compile, so the checks are live.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CC:-cc}
src=$top/tests/abi/abi_check.c
groups=(virtio_header virtio_objects virtio_memory virtio_modules
        ioctl_info ioctl_submit ioctl_fence_hostbuf ioctl_numbers)
flags=(-std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only
       -I"$top/include/uapi")

n=0 rc=0
for g in "${groups[@]}"; do
    n=$((n + 1))
    if out=$("$cc" "${flags[@]}" -DGROUP_"$g" "$src" 2>&1); then
        echo "ok $n - $g layout matches the wire format"
    else
        echo "not ok $n - $g layout matches the wire format"
        sed 's/^/# /' <<<"$out" | head -n 20
        rc=1
    fi
done
n=$((n + 1))
if "$cc" "${flags[@]}" -DGROUP_negative_control "$src" >/dev/null 2>&1; then
    echo "not ok $n - a wrong size assertion fails to compile"
    rc=1
else
    echo "ok $n - a wrong size assertion fails to compile"
fi
# The headers must also stand alone in C++ code that includes them.
n=$((n + 1))
if command -v "${CXX:-c++}" >/dev/null; then
    if out=$(printf '#include "vgpu_virtio.h"\n#include "vgpu_ioctl.h"\n' |
            "${CXX:-c++}" -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only \
                -I"$top/include/uapi" - 2>&1); then
        echo "ok $n - both headers compile as C++"
    else
        echo "not ok $n - both headers compile as C++"
        sed 's/^/# /' <<<"$out" | head -n 20
        rc=1
    fi
else
    echo "ok $n - both headers compile as C++ # SKIP no C++ compiler"
fi
echo "1..$n"
exit $rc
