#!/usr/bin/env bash
# `make run` itself (scripts/run.sh) against the build under test: a
# throw-away home initialised with the default distro, the local model
# server, one turn with a file read through the fs tool and a write after
# an approval, the audit of the turn, `astrid ps`, a clean stop.
set -u
source "$ASTRID_SRC/tests/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OPENAI_BASE_URL ANTHROPIC_BASE_URL
out=$(TMPDIR=$TEST_TMP bash "$ASTRID_SRC/scripts/run.sh" "$ASTRID_BUILD" 2>&1); rc=$?
expect_eq "scripts/run.sh exits 0" "$rc" "0"
[[ $rc == 0 ]] || echo "$out" | sed 's/^/# /' | tail -n 40
ok_if "init installed the default distro, a line per capsule" \
  bash -c "[[ \$(grep -c '^\[ *[0-9]*/11\] astrid-capsule-.* installed' <<<\"\$1\") == 11 ]]" _ "$out"
ok_if "the lock holds no drift" grep -q '^No drift' <<<"$out"
ok_if "the agent read README.md through the fs tool" grep -q '^tool call: read_file {"path":"README.md"} -> ok: # Astrid in C' <<<"$out"
ok_if "the write was put to an approval" grep -q '^tool call: write_file ' <<<"$out"
if grep -q 'approval flow is not built' <<<"$out"; then
  skip "-y approved the write" "request-approval is not on this branch (issue #15's gate)"
else
  ok_if "-y approved the write" grep -q '^NOTES.md (written after the approval, committed): README.md starts with: # Astrid in C' <<<"$out"
fi
ok_if "the answer is printed" grep -q '^answer: .*README.md starts with "# Astrid in C"' <<<"$out"
ok_if "the audit entries of the turn" bash -c "grep -A3 '^== audit entries of the turn' <<<\"\$1\" | grep -q 'TIMESTAMP *PRINCIPAL'" _ "$out"
ok_if "astrid ps lists the distro's capsules" bash -c "grep -A20 '^== astrid ps' <<<\"\$1\" | grep -q '^astrid-capsule-react '" _ "$out"
ok_if "the daemon stopped" grep -q '^Daemon stopping' <<<"$out"
ok_if "the throw-away home is gone" bash -c "! ls -d '$TEST_TMP'/astrid-run.* >/dev/null 2>&1"
echo "1..$_tap_n"
