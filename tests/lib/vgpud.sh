# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# vgpud.sh - start and stop a private vgpud for a test or benchmark run.
#
# Source it from bash, then:
#   vgpud_start DIR [ARGS...]  start $VGPUD on DIR/vgpud.sock (admin socket
#                              DIR/admin.sock, log DIR/vgpud.log) and wait
#                              until it accepts connections; exports
#                              VGPU_SOCKET, VGPU_ADMIN_SOCKET, VGPUD_PID
#   vgpud_alive                true while the daemon runs
#   vgpud_admin CMD            one admin request ("list"), printed for people
#   vgpud_admin_json CMD       the same, printed as vgpud's one line of JSON
#   vgpud_stop                 SIGTERM, wait; returns the daemon's exit status
#                              (124 when it had to be killed)
#
# Environment: VGPUD (default $BUILD/bin/vgpud), VGPUCTL (default
# $BUILD/bin/vgpuctl), VGPU_BACKEND (default sim), VGPUD_START_TIMEOUT
# and VGPUD_STOP_TIMEOUT in seconds (readiness bounds, not measurements),
# VGPUD_ARGS (extra options for every daemon started, split on spaces) and
# VGPUD_ENV (NAME=VALUE words, split on spaces, set for the daemon alone:
# a cuda-backend vgpud whose libcuda is libvgpu reaches its own vgpud with
# VGPUD_ENV="VGPU_SOCKET=...", since clients get VGPU_SOCKET of this one).

: "${BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}"
: "${VGPUD:=$BUILD/bin/vgpud}"
: "${VGPUCTL:=$BUILD/bin/vgpuctl}"
: "${VGPU_BACKEND:=sim}"
: "${VGPUD_START_TIMEOUT:=30}"
: "${VGPUD_STOP_TIMEOUT:=20}"

VGPUD_PID=

# Runs the command @2... every 50 ms until it succeeds, for at most @1
# seconds.
vgpud_poll() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# A daemon that exited stays a zombie until it is waited for, and kill -0
# still succeeds on a zombie: look at its state instead.
vgpud_alive() {
    local stat
    [[ -n $VGPUD_PID ]] || return 1
    stat=$(cat "/proc/$VGPUD_PID/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Ready once both sockets exist; a daemon that died ends the wait too.
vgpud_ready_or_dead() {
    ! vgpud_alive || [[ -S $VGPU_SOCKET && -S $VGPU_ADMIN_SOCKET ]]
}

vgpud_dead() {
    ! vgpud_alive
}

vgpud_start() {
    local dir=$1
    shift
    if [[ ! -x $VGPUD ]]; then
        echo "vgpud_start: $VGPUD is not built" >&2
        return 1
    fi
    export VGPU_SOCKET=$dir/vgpud.sock
    export VGPU_ADMIN_SOCKET=$dir/admin.sock
    VGPUD_LOG=$dir/vgpud.log
    rm -f "$VGPU_SOCKET" "$VGPU_ADMIN_SOCKET"
    # shellcheck disable=SC2086 # both are documented as space-separated
    env ${VGPUD_ENV:-} "$VGPUD" --backend="$VGPU_BACKEND" \
        --socket-path "$VGPU_SOCKET" --admin-socket "$VGPU_ADMIN_SOCKET" \
        ${VGPUD_ARGS:-} "$@" >"$VGPUD_LOG" 2>&1 &
    VGPUD_PID=$!
    export VGPUD_PID VGPUD_LOG
    if ! vgpud_poll "$VGPUD_START_TIMEOUT" vgpud_ready_or_dead ||
            ! vgpud_alive; then
        echo "vgpud_start: vgpud did not come up; log:" >&2
        sed 's/^/    /' "$VGPUD_LOG" >&2
        vgpud_stop >/dev/null 2>&1
        return 1
    fi
}

vgpud_admin() {
    if [[ -x $VGPUCTL ]]; then
        "$VGPUCTL" --admin-socket "$VGPU_ADMIN_SOCKET" "$@"
    else
        vgpud_admin_raw "$@"
    fi
}

vgpud_admin_json() {
    if [[ -x $VGPUCTL ]]; then
        "$VGPUCTL" --admin-socket "$VGPU_ADMIN_SOCKET" --json "$@"
    else
        vgpud_admin_raw "$@"
    fi
}

# The admin protocol without vgpuctl: one text line out, one line back.
vgpud_admin_raw() {
    python3 - "$VGPU_ADMIN_SOCKET" "$*" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
sys.stdout.write(buf.decode())
PY
}

vgpud_stop() {
    local rc=0
    [[ -z $VGPUD_PID ]] && return 0
    if kill -TERM "$VGPUD_PID" 2>/dev/null; then
        if ! vgpud_poll "$VGPUD_STOP_TIMEOUT" vgpud_dead; then
            echo "vgpud_stop: vgpud ignored SIGTERM, killing it" >&2
            kill -KILL "$VGPUD_PID" 2>/dev/null
            wait "$VGPUD_PID" 2>/dev/null || true
            VGPUD_PID=
            return 124
        fi
    fi
    # "|| rc=$?" keeps a caller's set -e from ending it here.
    wait "$VGPUD_PID" 2>/dev/null || rc=$?
    VGPUD_PID=
    return "$rc"
}
