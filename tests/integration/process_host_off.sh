#!/usr/bin/env bash
# process_host.sh under ASTRID_SANDBOX_POLICY=off: the same gates, caps and
# clean-up, with processes launched unsandboxed and audited as such.
export ASTRID_SANDBOX_POLICY=off
source "$ASTRID_SRC/tests/integration/process_host.sh"
