#!/usr/bin/env bash
# Install every Debian 12 package listed in scripts/deps.txt. Idempotent and
# quiet when everything is present; runs `apt-get update` only when needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t pkgs < <(grep -v '^\s*#' "$here/deps.txt" | sed '/^\s*$/d')
missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done
# The MCP servers the tests run (tests/npm, pinned by its package-lock.json):
# installed here so that no test ever fetches; quiet when already installed.
npm_fixtures() {
  local dir="$here/../tests/npm"
  [[ -f "$dir/node_modules/.package-lock.json" ]] &&
    cmp -s <(sed -n '/"packages"/,$p' "$dir/package-lock.json" | grep -c '"resolved"') \
           <(grep -c '"resolved"' "$dir/node_modules/.package-lock.json") && return 0
  if ! command -v npm >/dev/null; then
    echo "deps: npm not found: install nodejs and npm, then run make deps again" >&2
    return 1
  fi
  echo "deps: npm ci in tests/npm (MCP test servers)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
if [[ ${#missing[@]} -eq 0 ]]; then
  npm_fixtures
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'make deps' as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
npm_fixtures
