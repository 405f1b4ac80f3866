#!/usr/bin/env bash
# `make run`: the main job. Boots the kernel in a home of its own
# (build/home unless ASTRID_HOME is set), shows its status and who is
# connected, runs the health checks, and stops it again.
set -euo pipefail
build=${1:-build}
A=$build/bin/astrid
export ASTRID_HOME=${ASTRID_HOME:-$(cd "$build" && pwd)/home}
"$A" version
echo "== doctor (offline)"
# doctor exits 1 when a check fails (e.g. no home yet: it never creates
# one); that is a report, not a build failure.
"$A" doctor --no-daemon || echo "(doctor: some checks failed, see above)"
echo "== start"
"$A" start
trap '"$A" stop >/dev/null 2>&1 || true' EXIT
echo "== status"
"$A" status
echo "== who"
"$A" who
echo "== doctor"
"$A" doctor
echo "== stop"
"$A" stop
trap - EXIT
