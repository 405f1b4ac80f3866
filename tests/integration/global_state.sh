#!/usr/bin/env bash
# "No global mutable state outside the kernel struct" (CONTRIBUTING.md) with
# its exceptions written down: every non-const static variable in src/ must
# be named, with its file, in CONTRIBUTING.md's list of exceptions. A new one
# fails here until it is moved into an owner or listed with its reason.
source "$ASTRID_SRC/tests/lib.sh"
cd "$ASTRID_SRC" || exit 1

# statics FILE...: "file name" for each non-const static variable declared.
statics() {
  grep -HnE '^[[:space:]]*static [^(]*[;=]' "$@" 2>/dev/null | grep -v 'const' |
    while IFS= read -r hit; do
      local file=${hit%%:*} decl=${hit#*static }
      decl=$(sed -E 's#/[*/].*##; s/=.*//; s/;.*//; s/\[[^]]*\]//g; s/[[:space:]]+$//' <<<"$decl")
      local first=${decl%%,*} rest name
      name=${first##*[ *]}
      printf '%s %s\n' "$file" "$name"
      [[ "$decl" == *,* ]] || continue
      rest=${decl#*,}
      for name in ${rest//,/ }; do printf '%s %s\n' "$file" "${name//\*/}"; done
    done
}

doc=$(sed -n '/^## State and concurrency/,/^## /p' CONTRIBUTING.md)
missing=""
while read -r file name; do
  [[ -z "$file" ]] && continue
  if [[ "$doc" != *"$file"* || "$doc" != *"\`$name\`"* ]]; then
    missing+="$file: $name"$'\n'
  fi
done < <(statics $(find src -name '*.[ch]' | sort))
expect_eq "every non-const static in src/ is a listed exception in CONTRIBUTING.md" "$missing" ""

# The scan sees what it must: a new file-scope counter, a function-scope
# buffer and a second declarator are each reported.
fake=$(mktemp_dir)/x.c
printf 'static int counter;\nvoid f(void)\n{\n    static char buf[64] = "";\n}\nstatic struct s a, b;\nstatic const int ok = 1;\n' >"$fake"
expect_eq "the scan finds each declared name" "$(statics "$fake" | sed 's/^[^ ]* //' | tr '\n' ' ')" \
  "counter buf a b "
