#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the test guest (busybox sh): the module checks, the kselftest
# programs, the samples, and a kernel-log check, as TAP lines that the
# host's tests/guest/run.sh renumbers.  Each program has a time limit so a
# hang fails instead of stalling the VM.
#
# usage: run-guest.sh [all|nodev|samples|busy]
#   all      module checks, kselftest programs, samples, unload, dmesg
#   nodev    module checks, unload and dmesg only (a VM without the device)
#   samples  the samples only (several VMs at once)
#   busy     the samples in a loop until the VM is killed
#
# Environment (kernel command line or caller): VGPU_GUEST_TIMEOUT seconds
# per program [300]; VGPU_TEST_SMALL (set by this script for concurrent
# runs) makes the tests size their buffers for several processes at once.

mode=${1:-all}
limit=${VGPU_GUEST_TIMEOUT:-300}
dev=/dev/vgpu0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

echo "# guest kernel $(uname -r)"
if [ -d /sys/module/vgpu_virtio ]; then
    ok "vgpu_virtio.ko is loaded"
else
    not_ok "vgpu_virtio.ko is loaded"
fi

have_dev=0
if [ -c $dev ]; then
    have_dev=1
    ok "$dev exists"
else
    skip "$dev exists" "no vgpu-virtio device in this VM"
fi

run_samples() {
    for s in /samples/*; do
        [ -x "$s" ] || continue
        name=${s##*/}
        if [ $have_dev -eq 0 ]; then
            skip "sample $name" "no vgpu-virtio device in this VM"
            continue
        fi
        timeout "$limit" "$s" >/tmp/"$name".out 2>&1
        rc=$?
        sed 's/^/# /' /tmp/"$name".out | tail -n 20
        if [ $rc -eq 0 ]; then
            ok "sample $name"
        else
            not_ok "sample $name (exit status $rc)"
        fi
    done
}

case $mode in
samples)
    run_samples
    echo "1..$n"
    exit 0 ;;
busy)
    round=0
    while :; do
        round=$((round + 1))
        echo "# busy: round $round"
        run_samples
    done ;;
esac

# kselftest programs print their own TAP (ok N name); each line is passed
# on with the program's name, and a program that dies without reporting a
# failure counts as one.
run_kselftests() {
    for t in "$1"/*; do
        [ -x "$t" ] || continue
        name=${t##*/}
        timeout "$limit" "$t" >/tmp/"$name".out 2>&1
        rc=$?
        failed=0
        while IFS= read -r line; do
            case $line in
            "not ok "*)
                failed=1
                rest=${line#not ok }
                not_ok "$name: ${rest#* }" ;;
            "ok "*)
                rest=${line#ok }
                rest=${rest#* }
                case $rest in
                *"# SKIP"*) skip "$name: ${rest%% # SKIP*}" "${rest#*# SKIP }" ;;
                *) ok "$name: $rest" ;;
                esac ;;
            "#"*)
                echo "$line" ;;
            esac
        done </tmp/"$name".out
        if [ $rc -eq 4 ] && ! grep -q '^ok ' /tmp/"$name".out; then
            # KSFT_SKIP: the whole program had nothing to test.
            reason=$(sed -n 's/^1\.\.0 # SKIP //p; s/^ok .*# SKIP //p' \
                /tmp/"$name".out | head -n1)
            skip "$name" "${reason:-skipped}"
        elif [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
            not_ok "$name exited with status $rc"
        fi
    done
}

# Several processes at once, each with its own contexts and fences, on
# the same submission queues: every copy must pass on its own.
run_concurrent() {
    copies=4
    for t in /tests/bin/*; do
        [ -x "$t" ] || continue
        name=${t##*/}
        [ $have_dev -eq 1 ] || continue
        i=0
        while [ $i -lt $copies ]; do
            # The large copies of every copy at once would not fit in RAM.
            VGPU_TEST_SMALL=1 timeout "$limit" "$t" >/tmp/"$name".par$i 2>&1 &
            i=$((i + 1))
        done
        wait
        i=0
        bad=0
        while [ $i -lt $copies ]; do
            grep -q '^# PASSED' /tmp/"$name".par$i || bad=$((bad + 1))
            i=$((i + 1))
        done
        if [ $bad -eq 0 ]; then
            ok "$name: $copies processes at once"
        else
            not_ok "$name: $copies processes at once ($bad failed)"
            grep -h '^not ok\|Expected' /tmp/"$name".par* | head -n 20 |
                sed 's/^/# /'
        fi
    done
}

if [ "$mode" = all ]; then
    run_kselftests /tests/bin
    run_concurrent
    run_samples
    # Programs that take the device away for a moment come last.
    run_kselftests /tests/last
fi

if command -v vgpu-smi >/dev/null 2>&1 && [ $have_dev -eq 1 ]; then
    if vgpu-smi >/tmp/smi.out 2>&1; then
        ok "vgpu-smi"
    else
        not_ok "vgpu-smi"
    fi
    sed 's/^/# /' /tmp/smi.out
    # The VM is one tenant: its own figures, under its name (not a local one).
    if grep -Eq '^This VM / tenant: [^[:space:]]+$' /tmp/smi.out &&
        ! grep -Eq '^This VM / tenant: (local:|not reported)' /tmp/smi.out &&
        grep -Eq '^  Memory used +[0-9]+ MiB \([0-9]+ bytes\)$' /tmp/smi.out; then
        ok "vgpu-smi shows this VM's own figures"
    else
        not_ok "vgpu-smi shows this VM's own figures"
    fi
fi

# Unloading exercises remove() with the device present (no file open).
if rmmod vgpu_virtio; then
    ok "vgpu_virtio.ko unloads"
else
    not_ok "vgpu_virtio.ko unloads"
fi

# Anything the kernel complained about is a failure of the driver.
if dmesg | grep -v 'module verification failed' | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|refcount_t:|list_(add|del) corruption|vgpu.*(error|failed)' >/tmp/dmesg.bad; then
    not_ok "kernel log is clean"
    dmesg | tail -n 80 | sed 's/^/# dmesg: /'

else
    ok "kernel log is clean"
fi
echo "1..$n"
