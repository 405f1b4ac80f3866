# Helpers for shell test suites (sourced). Each check prints one TAP line.
#   ok_if "name" cmd...     passes when the command exits 0
#   expect_eq "name" got want
#   skip "name" "reason"
# Environment from tests/run.sh: ASTRID_SRC, ASTRID_BUILD, ASTRID_SHARED.
: "${ASTRID_SRC:?run through tests/run.sh}" "${ASTRID_BUILD:?}"
BIN=$ASTRID_BUILD/bin
# Suites start daemons in fresh homes: no first-run `astrid init` there
# (tests/integration/distro.sh and make_run.sh turn it back on).
export ASTRID_NO_AUTO_INIT=${ASTRID_NO_AUTO_INIT:-1}
_tap_n=0
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
not_ok() { _tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $1"; [[ $# -gt 1 ]] && echo "# $2"; return 0; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP $2"; }
ok_if() { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n" "command failed: $*"; fi; }
expect_eq() {
  if [[ "$2" == "$3" ]]; then ok "$1"; else not_ok "$1" "got [$2] want [$3]"; fi
}
# Every suite gets one scratch root, removed at exit; mktemp_dir makes fresh
# directories under it (safe to call in $(...)).
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/astrid-test.XXXXXX")
trap 'rm -rf "$TEST_TMP"' EXIT
mktemp_dir() { mktemp -d "$TEST_TMP/d.XXXXXX"; }
