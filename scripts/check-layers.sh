#!/usr/bin/env bash
# `make check-layers` (run by `make test`): the floors of docs/architecture.md
# are executable. The table between the "check-layers: begin/end" markers
# there says which folders form each floor, its archive and which floors it
# may depend on; this script reads it and checks two things:
#
#   includes  every `#include "..."` of every .c/.h in a floor's folders
#             resolves to a file of the same floor or of a floor it may
#             depend on. A violation names file, line, include and rule.
#   links     every floor's archive, linked alone (--whole-archive) into an
#             empty program with only the archives of the floors below it,
#             leaves nothing unresolved: an upward call fails the link.
#             Needs the archives in BUILD/lib (make builds them first).
#
# The one allowed exception, ALLOWED_CLI_EXCEPTIONS (Makefile), adds floors
# to the `cli` row until the daemon serves capsule installs (branch
# dinstall); taken from the environment when set, else from the Makefile.
#
# usage: check-layers.sh [--root DIR] [--build DIR] [--includes|--links]
# Environment for --links: CC, LDFLAGS (sanitizer flags of the build),
# SYS_LIBS (system libraries: not floors). Exit 0 clean, 1 violations,
# 2 usage or an unreadable table.
set -uo pipefail

root=. build=build mode=all
while [[ $# -gt 0 ]]; do
  case $1 in
  --root) root=$2; shift 2 ;;
  --build) build=$2; shift 2 ;;
  --includes) mode=includes; shift ;;
  --links) mode=links; shift ;;
  *) echo "usage: $0 [--root DIR] [--build DIR] [--includes|--links]" >&2; exit 2 ;;
  esac
done
cd "$root" || exit 2
doc=docs/architecture.md
gen=${GEN_DIR:-$build/gen}
if [[ -z "${ALLOWED_CLI_EXCEPTIONS+x}" ]]; then
  ALLOWED_CLI_EXCEPTIONS=$(sed -n 's/^ALLOWED_CLI_EXCEPTIONS[[:space:]]*:=[[:space:]]*//p' Makefile 2>/dev/null)
fi
read -r -a cli_exceptions <<<"${ALLOWED_CLI_EXCEPTIONS:-}"

# ---------------------------------------------------------------- the table
# Rows: | floor | `name` | `folder/`, ... | `archive` or — | dep, dep or — |
declare -A floor_of folders_of archive_of deps_of
names=()
while IFS=';' read -r fl name dirs ar deps; do
  names+=("$name")
  floor_of[$name]=$fl folders_of[$name]=$dirs archive_of[$name]=$ar deps_of[$name]=$deps
done < <(awk -F'|' '
  /<!-- check-layers: begin/ { on = 1; next }
  /<!-- check-layers: end/ { on = 0 }
  !on || !/^\|/ || /^\|[ -]*\|[ -]*\|/ || ++row == 1 { next }
  function clean(s) { gsub(/[`,]/, " ", s); gsub(/—/, "", s); gsub(/[ \t]+/, " ", s);
                      sub(/^ /, "", s); sub(/ $/, "", s); return s }
  { printf "%s;%s;%s;%s;%s\n", clean($2), clean($3), clean($4), clean($5), clean($6) }
' "$doc")
if [[ ${#names[@]} -eq 0 ]]; then
  echo "check-layers: no floor table between the check-layers markers in $doc" >&2; exit 2
fi
rank() { [[ $1 == top ]] && echo 99 || echo "$1"; }
bad_table=0
for n in "${names[@]}"; do
  for d in ${deps_of[$n]}; do
    if [[ -z "${floor_of[$d]+x}" ]]; then
      echo "check-layers: $doc: $n may depend on '$d', which is no floor of the table" >&2; bad_table=1
    elif (( $(rank "${floor_of[$d]}") >= $(rank "${floor_of[$n]}") )); then
      echo "check-layers: $doc: $n (floor ${floor_of[$n]}) may depend on $d (floor ${floor_of[$d]}): only floors below" >&2
      bad_table=1
    fi
  done
done
for d in "${cli_exceptions[@]}"; do
  [[ -n "${floor_of[$d]+x}" ]] || { echo "check-layers: ALLOWED_CLI_EXCEPTIONS names '$d', no floor" >&2; bad_table=1; }
done
[[ $bad_table -eq 0 ]] || exit 2

allowed() { # allowed NAME: the floors NAME may depend on, exceptions included
  local a=${deps_of[$1]}
  [[ $1 == cli && ${#cli_exceptions[@]} -gt 0 ]] && a+=" ${cli_exceptions[*]}"
  echo "$a"
}
if [[ ${#cli_exceptions[@]} -gt 0 ]]; then
  echo "check-layers: exception (ALLOWED_CLI_EXCEPTIONS, removed when dinstall lands): cli may also depend on ${cli_exceptions[*]}"
fi

# floor_at PATH: the floor whose folder is the longest prefix of PATH ("" if none)
floor_at() {
  local p=$1 best="" bestlen=0 n f
  for n in "${names[@]}"; do
    for f in ${folders_of[$n]}; do
      if [[ $p == "$f"* && ${#f} -gt $bestlen ]]; then best=$n bestlen=${#f}; fi
    done
  done
  REPLY=$best
}
# normalize PATH: drop "./" and fold "dir/.." lexically (into REPLY)
normalize() {
  local IFS=/ part out=()
  for part in $1; do
    case $part in
    '' | .) ;;
    ..) [[ ${#out[@]} -gt 0 ]] && unset 'out[${#out[@]}-1]' ;;
    *) out+=("$part") ;;
    esac
  done
  REPLY="${out[*]}"
}

rc=0
# ---------------------------------------------------------------- includes
check_includes() {
  local files=() n f nfiles=0 nincl=0 bad=0
  for n in "${names[@]}"; do
    for f in ${folders_of[$n]}; do
      [[ $f == build/* ]] && continue # generated: not written by hand
      [[ -d $f ]] || { echo "check-layers: $doc: folder $f of $n does not exist" >&2; return 2; }
      while IFS= read -r x; do files+=("$x"); done < <(find "${f%/}" -name '*.[ch]' | LC_ALL=C sort)
    done
  done
  nfiles=${#files[@]}
  local hit file line inc dir target tf self
  while IFS= read -r hit; do
    file=${hit%%:*}; hit=${hit#*:}; line=${hit%%:*}; hit=${hit#*:}
    inc=${hit#*\"}; inc=${inc%%\"*}
    nincl=$((nincl + 1))
    dir=${file%/*}
    target=""
    if [[ -f "$dir/$inc" ]]; then normalize "$dir/$inc"; target=$REPLY
    elif [[ -f "include/$inc" ]]; then target=include/$inc
    elif [[ -f "src/$inc" ]]; then normalize "src/$inc"; target=$REPLY
    elif [[ -f "$gen/$inc" ]]; then target=build/gen/$inc
    elif [[ $inc == */* && -d "src/${inc%%/*}" ]]; then target=src/$inc
    elif [[ $inc == */* && -d "include/${inc%%/*}" ]]; then target=include/$inc
    fi
    floor_at "$file"; self=$REPLY
    if [[ -z $target ]]; then
      echo "$file:$line: #include \"$inc\": no such file under $dir/, include/, src/ or $gen/"
      bad=1; continue
    fi
    floor_at "$target"; tf=$REPLY
    if [[ -z $tf ]]; then
      echo "$file:$line: #include \"$inc\": $target belongs to no floor; $self may depend on: $(allowed "$self")"
      bad=1; continue
    fi
    [[ $tf == "$self" ]] && continue
    if [[ " $(allowed "$self") " != *" $tf "* ]]; then
      echo "$file:$line: #include \"$inc\": $self (floor ${floor_of[$self]}) may not include $tf (floor ${floor_of[$tf]}); $self may depend on: ${deps_of[$self]:-nothing}"
      bad=1
    fi
  done < <([[ $nfiles -gt 0 ]] && grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${files[@]}")
  if [[ $bad -ne 0 ]]; then
    echo "check-layers: includes: FAILED (rules: $doc, section Floors)"
    return 1
  fi
  echo "check-layers: includes: $nincl includes of $nfiles files follow the floor table"
}

# ---------------------------------------------------------------- links
closure() { # closure NAME: every floor NAME's archive needs at link time
  local todo more seen=" " d
  read -r -a todo <<<"$(allowed "$1")"
  while [[ ${#todo[@]} -gt 0 ]]; do
    d=${todo[0]}; todo=("${todo[@]:1}")
    [[ $seen == *" $d "* ]] && continue
    seen+="$d "
    read -r -a more <<<"${deps_of[$d]}"
    todo+=("${more[@]}")
  done
  echo $seen
}
check_links() {
  local tmp n a d deps=() out bad=0 linked=0
  if [[ -z "${SYS_LIBS+x}" ]]; then
    echo "check-layers: links: SYS_LIBS unset (the system libraries); run it through make check-layers" >&2
    return 2
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  # symbol -> "floor (object)", for naming where an unresolved call points
  for n in "${names[@]}"; do
    a=$build/lib/${archive_of[$n]}
    [[ -n ${archive_of[$n]} && -f $a ]] || continue
    nm -A -g --defined-only "$a" 2>/dev/null | awk -v m="$n" '{ split($1, p, ":"); print $NF, m " (" p[2] ")" }'
  done >"$tmp/defs"
  printf 'int main(void)\n{\n    return 0;\n}\n' >"$tmp/main.c"
  ${CC:-cc} ${LDFLAGS:-} -c -o "$tmp/main.o" "$tmp/main.c" || return 2
  for n in "${names[@]}"; do
    [[ -z ${archive_of[$n]} ]] && continue
    a=$build/lib/${archive_of[$n]}
    [[ -f $a ]] || { echo "check-layers: links: $a missing (run make first)"; bad=1; continue; }
    deps=()
    for d in $(closure "$n"); do
      [[ -n ${archive_of[$d]} ]] && deps+=("$build/lib/${archive_of[$d]}")
    done
    # shellcheck disable=SC2086 # LDFLAGS and SYS_LIBS are word lists
    if out=$(${CC:-cc} ${LDFLAGS:-} -o "$tmp/alone" "$tmp/main.o" -Wl,--whole-archive "$a" \
      -Wl,--no-whole-archive -Wl,--start-group "${deps[@]}" -Wl,--end-group ${SYS_LIBS:-} 2>&1); then
      linked=$((linked + 1)); continue
    fi
    bad=1
    local syms
    syms=$(grep -o "undefined reference to \`[^']*'" <<<"$out" | sed "s/.*\`//; s/'$//" | sort -u)
    if [[ -z $syms ]]; then
      echo "check-layers: links: $n (${archive_of[$n]}) does not link alone:"; sed 's/^/    /' <<<"$out" | head -20
      continue
    fi
    local s where
    for s in $syms; do
      where=$(awk -v s="$s" '$1 == s { sub(/^[^ ]* /, ""); print; exit }' "$tmp/defs")
      echo "check-layers: links: $n (${archive_of[$n]}) calls $s, defined in ${where:-no floor and no system library}; $n may depend on: $(allowed "$n")"
    done
  done
  if [[ $bad -ne 0 ]]; then
    echo "check-layers: links: FAILED (an archive linked with only the floors below it left symbols unresolved)"
    return 1
  fi
  echo "check-layers: links: $linked archives each link alone with only the floors below"
}

if [[ $mode == all || $mode == includes ]]; then
  check_includes; r=$?; [[ $r -gt $rc ]] && rc=$r
fi
if [[ $mode == all || $mode == links ]]; then
  check_links; r=$?; [[ $r -gt $rc ]] && rc=$r
fi
exit $rc
