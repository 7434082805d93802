#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vgpud's vhost-user transport: a minimal vhost-user frontend drives two
# VM sockets of one vgpud (sim backend) with valid and hostile rings, then
# its valid path again against a vgpud whose executor pins guest RAM (cuda
# on libvgpu), then libFuzzer runs on the ring-request decoder for a
# bounded time.  One TAP stream.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-$top/build}
VGPUD=${VGPUD:-$BUILD/bin/vgpud}
FUZZ_SECONDS=${VGPU_FUZZ_SECONDS:-20}
bin=$BUILD/bin/tests/vhost

n=0 rc=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); echo "not ok $n - $*"; rc=1; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

finish() {
    echo "1..$n"
    exit $rc
}

if ! make -s -C "$top/tests/host/vhost" BUILD="$BUILD" >&2; then
    fail "vhost_front builds"
    finish
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-vhost.XXXXXX")
vgpud_pid=
a_pid=
b_pid=
cleanup() {
    for p in $vgpud_pid $b_pid $a_pid; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT

if [[ ! -x $VGPUD ]]; then
    skip "frontend suite" "$VGPUD not built"
elif ! "$VGPUD" --print-capabilities | grep -q '"vm"'; then
    skip "frontend suite" "vgpud built without libvhost-user (run scripts/build-qemu.sh)"
else
    "$VGPUD" --backend=sim --threads=2 --log-level="${VGPU_TEST_LOG_LEVEL:-info}" \
        --socket-path="$dir/local.sock" --admin-socket="$dir/admin.sock" \
        --vm "name=vmA,socket=$dir/vmA.sock" \
        --vm "name=vmB,socket=$dir/vmB.sock,weight=2" 2>"$dir/vgpud.log" &
    vgpud_pid=$!
    for _ in $(seq 100); do
        [[ -S $dir/vmA.sock && -S $dir/vmB.sock && -S $dir/admin.sock ]] && break
        sleep 0.05
    done
    out=$(VGPU_TEST_DIR=$dir VGPUD_PID=$vgpud_pid VGPU_TOP=$top \
          timeout 300 "$bin/vhost_front" 2>&1)
    frc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*" - "*) ok "${line#* - }" ;;
        "not ok "*" - "*) fail "${line#* - }" ;;
        "#"*) echo "$line" ;;
        esac
    done <<<"$out"
    if ((frc != 0)) && ! grep -q '^not ok' <<<"$out"; then
        fail "vhost_front exits cleanly (status $frc)"
    fi
    if kill -0 "$vgpud_pid" 2>/dev/null; then
        ok "vgpud survived every hostile frontend"
        kill -TERM "$vgpud_pid"
        wait "$vgpud_pid"
        vrc=$?
        vgpud_pid=
        if ((vrc == 0)); then
            ok "vgpud exits cleanly on SIGTERM"
        else
            fail "vgpud exits cleanly on SIGTERM (status $vrc)"
        fi
    else
        wait "$vgpud_pid"
        fail "vgpud survived every hostile frontend (status $?)"
        vgpud_pid=
    fi
    # internal errors, and reports of a sanitizer build (VGPUD=...)
    bad='vgpud: error|ERROR: AddressSanitizer|runtime error:|LeakSanitizer'
    if grep -Eq "$bad" "$dir/vgpud.log"; then
        grep -E "$bad" "$dir/vgpud.log" | head -5 | sed 's/^/# /'
        fail "vgpud logged no internal error"
    else
        ok "vgpud logged no internal error"
    fi
    if grep -q 'Incorrect order for descriptors' "$dir/vgpud.log" &&
       grep -q 'invalid address for buffers' "$dir/vgpud.log"; then
        ok "hostile rings are logged"
    else
        fail "hostile rings are logged"
    fi
fi

# Guest RAM pinning, for real: the frontend's valid path against a vgpud
# whose executor pins (the cuda backend, whose libcuda is libvgpu backed by
# a sim vgpud: the arrangement of tests/host/cuda/run.sh).  The admin list
# counts pinned mappings; the debug log shows every registration and its
# release, which must pair up by the time vgpud exited.
libvgpu=$BUILD/lib/libcuda.so.1
pin_tests=bystander_vm_connects_and_creates_a_context
pin_tests+=,nop_get_info_contexts_and_sg_copies_work
pin_tests+=,a_disconnect_mid_command_frees_everything
pin_tests+=,a_new_memory_table_while_copies_run_keeps_them_valid
pin_tests+=,guest_ram_is_registered_while_mapped
pin_tests+=,bystander_disconnects_cleanly
if [[ ! -x $VGPUD ]] || ! "$VGPUD" --print-capabilities | grep -q '"vm"'; then
    skip "pinning suite" "vgpud not built, or without libvhost-user"
elif [[ ! -e $libvgpu ]]; then
    skip "pinning suite" "$libvgpu not built (make -C guest-userlib)"
else
    mkdir -p "$dir/a" "$dir/b"
    "$VGPUD" --backend=sim --socket-path="$dir/a/vgpud.sock" \
        --admin-socket="$dir/a/admin.sock" 2>"$dir/a/vgpud.log" &
    a_pid=$!
    for _ in $(seq 100); do
        [[ -S $dir/a/vgpud.sock ]] && break
        sleep 0.05
    done
    # A sanitizer build's leak check stays off in this vgpud only: it unloads
    # its driver (libvgpu) at exit, which leaves the driver's connection
    # buffer unreachable.  Every other sanitizer report still counts.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    VGPU_SOCKET=$dir/a/vgpud.sock "$VGPUD" --backend=cuda --libcuda="$libvgpu" \
        --threads=2 --log-level=debug --socket-path="$dir/b/local.sock" \
        --admin-socket="$dir/b/admin.sock" \
        --vm "name=vmA,socket=$dir/b/vmA.sock" \
        --vm "name=vmB,socket=$dir/b/vmB.sock" 2>"$dir/b/vgpud.log" &
    b_pid=$!
    for _ in $(seq 100); do
        [[ -S $dir/b/vmA.sock && -S $dir/b/vmB.sock && -S $dir/b/admin.sock ]] && break
        sleep 0.05
    done
    out=$(VGPU_TEST_DIR=$dir/b VGPUD_PID=$b_pid VGPU_TOP=$top \
          VGPU_EXPECT_PINNED=1 VGPU_FRONT_ONLY=$pin_tests \
          timeout 300 "$bin/vhost_front" 2>&1)
    frc=$?
    while IFS= read -r line; do
        case $line in
        "ok "*" - "*) ok "cuda arrangement: ${line#* - }" ;;
        "not ok "*" - "*) fail "cuda arrangement: ${line#* - }" ;;
        "#"*) echo "$line" ;;
        esac
    done <<<"$out"
    if ((frc != 0)) && ! grep -q '^not ok' <<<"$out"; then
        fail "cuda arrangement: vhost_front exits cleanly (status $frc)"
    fi
    kill -TERM "$b_pid" 2>/dev/null
    wait "$b_pid"
    vrc=$?
    b_pid=
    if ((vrc == 0)); then
        ok "cuda arrangement: vgpud exits cleanly on SIGTERM"
    else
        fail "cuda arrangement: vgpud exits cleanly on SIGTERM (status $vrc)"
        tail -5 "$dir/b/vgpud.log" | sed 's/^/# B: /'
    fi
    kill -TERM "$a_pid" 2>/dev/null
    wait "$a_pid"
    a_pid=
    reg=$(grep -c 'bytes) registered' "$dir/b/vgpud.log")
    unreg=$(grep -c 'bytes) unregistered' "$dir/b/vgpud.log")
    echo "# guest RAM registrations $reg, releases $unreg"
    if ((reg > 0 && reg == unreg)); then
        ok "cuda arrangement: every guest RAM registration was released"
    else
        fail "cuda arrangement: every guest RAM registration was released"
    fi
    bad='vgpud: error|ERROR: AddressSanitizer|runtime error:|LeakSanitizer'
    if grep -Eq "$bad" "$dir/b/vgpud.log"; then
        grep -E "$bad" "$dir/b/vgpud.log" | head -5 | sed 's/^/# B: /'
        fail "cuda arrangement: vgpud logged no internal error"
    else
        ok "cuda arrangement: vgpud logged no internal error"
    fi
fi

# libFuzzer on the ring-request decoder, bounded.
if [[ ! -f $BUILD/libvhost-user/libvhost-user.c ]]; then
    skip "fuzz_chain" "no libvhost-user sources (run scripts/build-qemu.sh)"
elif ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
        ${FUZZ_CC:-clang} -x c -fsanitize=fuzzer -o "$dir/probe" - 2>/dev/null; then
    skip "fuzz_chain" "clang's libFuzzer runtime is missing"
elif ! make -s -C "$top/tests/host/vhost" BUILD="$BUILD" fuzz >&2; then
    fail "fuzz_chain builds"
else
    mkdir -p "$dir/corpus"
    if "$bin/fuzz_chain" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=1024 \
            -seed=1 "$dir/corpus" >"$dir/fuzz.log" 2>&1; then
        ok "fuzz_chain: $(grep -o 'Done [0-9]* runs' "$dir/fuzz.log" | tail -1) without a finding"
    else
        tail -30 "$dir/fuzz.log" | sed 's/^/# /'
        fail "fuzz_chain found a crash"
    fi
fi
finish
