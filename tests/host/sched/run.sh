#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TAP suite: the scheduler's decision logic on synthetic traces.
set -euo pipefail

top=${TOP:-$(cd "$(dirname "$0")/../../.." && pwd)}
build=${BUILD:-$top/build}
make -s -C "$top/tests/host/sched" TOP="$top" BUILD="$build" >&2
exec "$build/bin/tests/test_sched"
