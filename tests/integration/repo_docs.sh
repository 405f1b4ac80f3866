#!/usr/bin/env bash
# The repository's own text stays readable: no merge-conflict markers left
# in any tracked file (docs/architecture.md and docs/capsules.md once
# shipped with them), and every doc the README points at exists.
source "$ASTRID_SRC/tests/lib.sh"
cd "$ASTRID_SRC" || exit 1
if git rev-parse --git-dir >/dev/null 2>&1; then
  files=$(git ls-files)
else
  files=$(find . -type f -not -path './build/*' | sed 's|^\./||')
fi
hits=$(printf '%s\n' "$files" | grep -vE '^tests/fuzz/seeds/' |
  xargs -d '\n' grep -nE '^(<<<<<<< |>>>>>>> |=======$)' 2>/dev/null | head -5)
expect_eq "no merge-conflict markers in tracked files" "$hits" ""
for d in docs/architecture.md docs/capsules.md docs/wire.md docs/cli.md docs/admin.md \
         docs/audit.md docs/abi.md CONTRIBUTING.md; do
  ok_if "$d exists" test -s "$d"
done
