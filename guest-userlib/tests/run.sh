#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - libvgpu's TAP suite: export set, header against NVIDIA's,
# unit tests, ABI smoke tests, and (when build/bin/vgpud exists) the API
# tests and NVIDIA-header programs against vgpud's sim backend.
#
# Environment: BUILD (build tree), VGPUD (daemon binary), NVIDIA_INC
# (NVIDIA's include directory, for the header comparisons).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
VGPUD=${VGPUD:-$BUILD/bin/vgpud}
NVIDIA_INC=${NVIDIA_INC:-/usr/local/cuda/include}
out=$BUILD/obj/guest-userlib/tests
lib=$BUILD/lib/libcuda.so.1
ptx=$here/kernels.ptx
tmp=$(mktemp -d)
daemon=
n=0 failed=0

cleanup() {
    if [[ -n ${holder:-} ]]; then
        kill "$holder" 2>/dev/null
    fi
    if [[ -n $daemon ]]; then
        kill "$daemon" 2>/dev/null
        wait "$daemon" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

result() { # result OK|FAIL|SKIP name [reason]
    n=$((n + 1))
    case $1 in
    OK) echo "ok $n - $2" ;;
    SKIP) echo "ok $n - $2 # SKIP $3" ;;
    *) echo "not ok $n - $2"; failed=$((failed + 1)) ;;
    esac
}

# Runs a TAP program and renumbers its results into this suite.
tap() { # tap name cmd...
    local name=$1 rc before=$failed
    shift
    timeout 300 "$@" >"$tmp/out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*" # SKIP"*) n=$((n + 1)); echo "ok $n - $name: ${line#* - }" ;;
        "ok "*) n=$((n + 1)); echo "ok $n - $name: ${line#* - }" ;;
        "not ok "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $name: ${line#* - }" ;;
        "1.."*) ;;
        *) echo "# $line" ;;
        esac
    done <"$tmp/out"
    if ((rc != 0 && failed == before)); then
        result FAIL "$name exits 0 (status $rc)"
    fi
}

if [[ ! -e $lib || ! -x $out/unit ]]; then
    result FAIL "libvgpu and its tests are built (make -C guest-userlib)"
    echo "1..$n"
    exit 1
fi

# The dynamic symbol table holds exactly the names of exports.txt.
nm -D --defined-only "$lib" | awk '{ print $3 }' | sort >"$tmp/have"
sort "$here/../exports.txt" >"$tmp/want"
if diff -u "$tmp/want" "$tmp/have" >"$tmp/diff"; then
    result OK "libcuda.so.1 exports exactly the names of exports.txt"
else
    sed 's/^/# /' "$tmp/diff" | head -20
    result FAIL "libcuda.so.1 exports exactly the names of exports.txt"
fi
if readelf -d "$lib" | grep -q 'SONAME.*\[libcuda\.so\.1\]'; then
    result OK "soname is libcuda.so.1"
else
    result FAIL "soname is libcuda.so.1"
fi

tap unit "$out/unit"
tap exports "$out/exports" "$lib" "$here/../exports.txt"

# The project's header against NVIDIA's: every enumerator and constant has
# the same value, every struct the same size, every prototype the same type.
hdr=$here/../include/cuda.h
if [[ -r $NVIDIA_INC/cuda.h ]]; then
    {
        echo '#include <stdio.h>'
        echo '#include <stdint.h>'
        echo '#include <cuda.h>'
        echo 'int main(void) {'
        grep -oE '^[[:space:]]+(CU|CUDA)_[A-Z0-9_]+ = ' "$hdr" | tr -d ' =\t' |
            sort -u | sed 's/.*/printf("%s %lld\\n", "&", (long long)(&));/'
        grep -oE '^#define (CU|CUDA)_[A-Z0-9_]+\b' "$hdr" | awk '{ print $2 }' |
            grep -v '^CUDA_VERSION$' | sort -u |
            sed 's/.*/printf("%s %lld\\n", "&", (long long)(intptr_t)(&));/'
        for t in CUdevprop CUuuid CUctxCreateParams CUdeviceptr CUdevice \
            CUlaunchAttributeValue CUlaunchAttribute CUlaunchConfig; do
            printf 'printf("sizeof(%s) %%zu\\n", sizeof(%s));\n' "$t" "$t"
        done
        echo 'return 0; }'
    } >"$tmp/values.c"
    if cc -I"$here/../include" -o "$tmp/v_ours" "$tmp/values.c" 2>"$tmp/err" &&
        cc -I"$NVIDIA_INC" -o "$tmp/v_nv" "$tmp/values.c" 2>>"$tmp/err" &&
        "$tmp/v_ours" >"$tmp/ours" && "$tmp/v_nv" >"$tmp/nv" &&
        diff -u "$tmp/nv" "$tmp/ours" >"$tmp/diff"; then
        result OK "cuda.h constants and struct sizes equal NVIDIA's ($(wc -l <"$tmp/ours") checked)"
    else
        sed 's/^/# /' "$tmp/err" "$tmp/diff" 2>/dev/null | head -20
        result FAIL "cuda.h constants and struct sizes equal NVIDIA's"
    fi
    # Redeclaring our prototypes after NVIDIA's header fails on any
    # difference in a parameter or return type.
    {
        echo '#include <cuda.h>'
        awk '/^\/\* Errors\. \*\//{ on = 1 } on && /^#ifdef __cplusplus/{ exit } on' "$hdr"
    } >"$tmp/protos.c"
    if cc -Werror -fsyntax-only -I"$NVIDIA_INC" "$tmp/protos.c" 2>"$tmp/err" &&
        cc -Werror -fsyntax-only -DCUDA_API_PER_THREAD_DEFAULT_STREAM -I"$NVIDIA_INC" \
            "$tmp/protos.c" 2>>"$tmp/err"; then
        result OK "cuda.h prototypes agree with NVIDIA's ($(grep -c '^CUresult' "$tmp/protos.c") functions)"
    else
        sed 's/^/# /' "$tmp/err" | head -20
        result FAIL "cuda.h prototypes agree with NVIDIA's"
    fi
else
    result SKIP "cuda.h constants and struct sizes equal NVIDIA's" "no $NVIDIA_INC/cuda.h"
    result SKIP "cuda.h prototypes agree with NVIDIA's" "no $NVIDIA_INC/cuda.h"
fi

smokes=(abi_smoke_vgpu abi_smoke_nvidia abi_smoke_nvidia_ptds)
for s in "${smokes[@]}"; do
    if [[ -x $out/$s ]]; then
        VGPU_SOCKET=$tmp/none.sock tap "$s (no daemon)" "$out/$s" "$ptx"
    else
        result SKIP "$s (no daemon)" "not built (no NVIDIA cuda.h)"
    fi
done

if [[ ! -x $VGPUD ]]; then
    result SKIP "API tests against vgpud" "no $VGPUD"
    for s in "${smokes[@]}"; do
        result SKIP "$s against vgpud" "no $VGPUD"
    done
    result SKIP "vgpu-smi against vgpud" "no $VGPUD"
    echo "1..$n"
    ((failed == 0))
    exit
fi

sock=$tmp/vgpud.sock
# smi-test: a configured tenant whose figures vgpu-smi must show.
"$VGPUD" --socket-path "$sock" --backend=sim \
    --tenant name=smi-test,weight=2.5,quota=256M >"$tmp/vgpud.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
    [[ -S $sock ]] && break
    sleep 0.1
done
if [[ ! -S $sock ]]; then
    sed 's/^/# vgpud: /' "$tmp/vgpud.log" | head -20
    result FAIL "vgpud starts on a temporary socket"
    echo "1..$n"
    exit 1
fi
export VGPU_SOCKET=$sock VGPU_EXPECT_DAEMON=1
tap api "$out/api" "$ptx" "$here/kernels.fatbin"
for s in "${smokes[@]}"; do
    if [[ -x $out/$s ]]; then
        tap "$s" "$out/$s" "$ptx"
    else
        result SKIP "$s against vgpud" "not built (no NVIDIA cuda.h)"
    fi
done
if "$BUILD/bin/vgpu-smi" >"$tmp/smi" 2>&1 && grep -q 'Memory total' "$tmp/smi"; then
    sed 's/^/# /' "$tmp/smi"
    result OK "vgpu-smi shows the device and its memory"
else
    sed 's/^/# /' "$tmp/smi"
    result FAIL "vgpu-smi shows the device and its memory"
fi
# vgpu-smi's "This VM / tenant" section: the figures of its own tenant,
# memory included that another process of that tenant holds, and none of
# another tenant's.
smi_field() { # smi_field FILE LABEL: the value after LABEL in the section
    sed -n '/^This VM \/ tenant:/,$p' "$1" | sed -n "s/^  $2  *//p" | head -n 1
}
holder=
mkfifo "$tmp/hold.in"
VGPU_TENANT=smi-test "$out/hold" 3145728 <"$tmp/hold.in" >"$tmp/hold.out" 2>&1 &
holder=$!
exec 9>"$tmp/hold.in"
for _ in $(seq 100); do
    grep -q ready "$tmp/hold.out" 2>/dev/null && break
    kill -0 "$holder" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q ready "$tmp/hold.out"; then
    sed 's/^/# hold: /' "$tmp/hold.out"
    result FAIL "a client of tenant smi-test holds 3 MiB"
else
    VGPU_TENANT=smi-test "$BUILD/bin/vgpu-smi" >"$tmp/smi2" 2>&1
    "$BUILD/bin/vgpu-smi" >"$tmp/smi3" 2>&1
    sed 's/^/# /' "$tmp/smi2"
    if grep -qx 'This VM / tenant: smi-test' "$tmp/smi2" &&
        [[ $(smi_field "$tmp/smi2" Weight) == 2.500 &&
           $(smi_field "$tmp/smi2" Cap) == none &&
           $(smi_field "$tmp/smi2" 'Memory used') == '3 MiB (3145728 bytes)' &&
           $(smi_field "$tmp/smi2" 'Memory quota') == '256 MiB (268435456 bytes)' &&
           $(smi_field "$tmp/smi2" Contexts) == 1 &&
           $(smi_field "$tmp/smi2" 'Queue depth') == 0 &&
           $(smi_field "$tmp/smi2" Errors) =~ ^[0-9]+$ &&
           $(smi_field "$tmp/smi2" 'Share 1 s') =~ ^[0-9]+\.[0-9]\ %$ &&
           $(smi_field "$tmp/smi2" 'GPU time') =~ ^[0-9]+\.[0-9]{3}\ s$ ]]; then
        result OK "vgpu-smi shows its tenant's figures, memory of the tenant's other process included"
    else
        result FAIL "vgpu-smi shows its tenant's figures, memory of the tenant's other process included"
    fi
    sed 's/^/# /' "$tmp/smi3" | grep -A3 'This VM'
    if grep -q '^This VM / tenant: local:pid=' "$tmp/smi3" &&
        [[ $(smi_field "$tmp/smi3" 'Memory used') == '0 MiB (0 bytes)' &&
           $(smi_field "$tmp/smi3" Weight) == 1.000 ]]; then
        result OK "vgpu-smi of another tenant shows none of smi-test's figures"
    else
        result FAIL "vgpu-smi of another tenant shows none of smi-test's figures"
    fi
fi
exec 9>&-
wait "$holder" 2>/dev/null
holder=
if kill -0 "$daemon" 2>/dev/null; then
    result OK "vgpud still serves after the library tests"
else
    sed 's/^/# vgpud: /' "$tmp/vgpud.log" | tail -20
    result FAIL "vgpud still serves after the library tests"
fi
kill "$daemon" 2>/dev/null
wait "$daemon" 2>/dev/null

# A second daemon, killed under a client by the client itself.
sock=$tmp/victim.sock
"$VGPUD" --socket-path "$sock" --backend=sim >"$tmp/victim.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
    [[ -S $sock ]] && break
    sleep 0.1
done
VGPU_SOCKET=$sock tap lost "$out/lost" "$daemon"
wait "$daemon" 2>/dev/null
daemon=
echo "1..$n"
((failed == 0))
