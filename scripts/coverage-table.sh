#!/usr/bin/env bash
# Sum an lcov tracefile ($1) per folder of src/ and print a Markdown table:
# lines and branches hit/found and their percentages, folders under 80 %
# lines marked. Reads only the LF/LH/BRF/BRH totals lcov writes per file.
# Plain POSIX awk (Debian's default awk is mawk).
set -euo pipefail
info=${1:?usage: coverage-table.sh TRACEFILE}
sums=$(awk -v root="$PWD/" '
  /^SF:/ { f = substr($0, 4); if (index(f, root) == 1) f = substr(f, length(root) + 1);
           n = split(f, p, "/"); dir = (n >= 3) ? p[1] "/" p[2] : p[1]; seen[dir] = 1; next }
  /^LF:/ { lf[dir] += substr($0, 4); next }
  /^LH:/ { lh[dir] += substr($0, 4); next }
  /^BRF:/ { bf[dir] += substr($0, 5); next }
  /^BRH:/ { bh[dir] += substr($0, 5); next }
  END { for (d in seen) printf "%s %d %d %d %d\n", d, lh[d], lf[d], bh[d], bf[d] }' "$info" |
  LC_ALL=C sort)
awk '
  function pct(h, f) { return f ? sprintf("%.1f %%", 100 * h / f) : "-" }
  BEGIN { print "| folder | lines | line cov | branches | branch cov |"; print "|---|---:|---:|---:|---:|" }
  { mark = ($3 && 100 * $2 / $3 < 80) ? " (<80)" : ""
    printf "| %s | %d/%d | %s%s | %d/%d | %s |\n", $1, $2, $3, pct($2, $3), mark, $4, $5, pct($4, $5)
    th += $2; tl += $3; tbh += $4; tb += $5 }
  END { printf "| **total** | %d/%d | %s | %d/%d | %s |\n", th, tl, pct(th, tl), tbh, tb, pct(tbh, tb) }' <<<"$sums"
