#!/usr/bin/env bash
# `make run`: the main job. Grows with the kernel: today it prints the
# version and runs the offline health checks.
set -euo pipefail
build=${1:-build}
"$build/bin/astrid" version
# doctor exits 1 when a check fails (e.g. no home yet: it never creates
# one); that is a report, not a build failure.
"$build/bin/astrid" doctor --no-daemon || echo "(doctor: some checks failed, see above)"
