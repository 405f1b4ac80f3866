#!/usr/bin/env bash
# The $ASTRID_HOME layout is built in one place (include/astrid/home.h,
# src/lib/util/home.c): no other C file formats a path under the home. A
# hand-formatted "%s/run/system.sock" elsewhere drifts from the layout the
# day the layout changes, so it fails here; call the astrid_home_* function
# named after the path instead (add one to home.c for a new kind of path).
source "$ASTRID_SRC/tests/lib.sh"
cd "$ASTRID_SRC" || exit 1

# What a hand-built home path looks like in C source.
patterns=(
  # "%s/run/...", "%.3000s/home/%s": the home joined to a top-level directory
  '%[-.0-9*]*s/(etc|home|run|keys|var|bin|secrets|wit|log)([/"]|$)'
  # "run/system.sock", "keys/runtime.key": a path relative to the home
  '"(etc|home|run|keys|var|bin|secrets|wit|log)/'
  # ".local/capsules", ".config/env": inside a principal's home
  '"[^"]*\.(local|config)[/"]'
  # the fixed file names of the layout
  '"[^"]*(system\.(sock|token|ready)|runtime\.(key|pub)|state\.db|daemon\.lock|cli-context\.toml|layout-version|audit\.jsonl|\.env\.json)"'
  # the generic join, kept for home.c itself
  'astrid_home_path\('
)

# file|text: hits that are not paths (messages and labels naming a path for
# a human, or a layout that is not the home's).
allowed=(
  'src/cli/capsule_util.c|"home/%s/.local/capsules, home/default/.local/capsules and ./.astrid/capsules)\n",'
  'src/cli/capsule_config.c|"home/{agent}/.config/env/{capsule}.env.json. A running daemon then reloads."'
  'src/cli/capsule_show.c|"agent'"'"'s home/{p}/.local/capsules, then in ./.astrid/capsules."'
  'src/cli/cmd_doctor.c|"groups.toml"'
  'src/client/client.c|"Daemon exited prematurely (status %d); see %s/log/"'
  'src/kernel/req_capsule.c|"home/%s/.local/capsules, home/default/.local/capsules and the "'
  'src/kernel/req_capsule.c|"home/%s/.local/capsules, home/default/.local/capsules and "'
  'src/kernel/boot.c|"etc/profiles/default.toml %s no group, grant or revoke: re-seeded it "'

  'src/build/pack.c|"%s/wit", capsule_dir'
  'src/build/pack.c|"wit/%s", sub'
  'src/build/pack.c|"wit/deps/astrid/astrid.wit"'
  # a capsule source directory's wit/ (the installer reads it; not the home's)
  'src/capsule/topics.c|"%s/wit", src'
  'src/capsule/topics.c|"wit/"'
  'src/lib/wit/schema.c|"wit/%s: %s", sub'
  'src/lib/wit/schema.c|"wit/%s", sub'
)

# scan DIR...: every offending line as file:line:text, comments skipped.
scan() {
  local re
  re=$(IFS='|'; echo "${patterns[*]}")
  find "$@" -name '*.[ch]' -not -path '*/lib/util/home.c' -not -path '*/astrid/home.h' \
      -print0 2>/dev/null | sort -z |
    xargs -0 grep -HnE "($re)" 2>/dev/null |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)' |
    while IFS= read -r hit; do
      local file=${hit%%:*} ok=0 a
      for a in "${allowed[@]}"; do
        [[ "$file" == "${a%%|*}" && "$hit" == *"${a#*|}"* ]] && { ok=1; break; }
      done
      [[ $ok -eq 1 ]] || printf '%s\n' "$hit"
    done
}

hits=$(scan src include)
expect_eq "no file but src/lib/util/home.c formats a path under \$ASTRID_HOME" "$hits" ""

# Every allowed exception still exists: a stale one would hide a new hit.
for a in "${allowed[@]}"; do
  ok_if "allowed exception still present: ${a%%|*}" grep -qF -- "${a#*|}" "${a%%|*}"
done

# The check can fail: each kind of hand-built path is caught.
fake=$(mktemp_dir)/src
mkdir -p "$fake"
cases=(
  'snprintf(p, n, "%s/run/system.sock", home);'
  'snprintf(p, n, "%.3000s/home/%s/x", home, who);'
  'astrid_path_join(p, n, home, "keys/runtime.key", err);'
  'astrid_path_join(p, n, ph, ".local/capsules", err);'
  'snprintf(p, n, "%s/%s.env.json", dir, name);'
  'astrid_home_path(p, n, home, "run", err);'
)
for c in "${cases[@]}"; do
  printf 'void f(void)\n{\n    %s\n}\n' "$c" >"$fake/x.c"
  got=$(scan "$fake")
  ok_if "caught: $c" test -n "$got"
done
printf '/* see home/{p}/.local/capsules and "%%s/run/x" */\n// "run/system.sock"\n' >"$fake/x.c"
expect_eq "comments are not paths" "$(scan "$fake")" ""
