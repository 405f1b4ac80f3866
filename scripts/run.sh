#!/usr/bin/env bash
# `make run`: the main job. Grows with the kernel: today it prints the
# version and runs the offline health checks.
set -euo pipefail
build=${1:-build}
"$build/bin/astrid" version
"$build/bin/astrid" doctor --no-daemon
