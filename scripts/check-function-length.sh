#!/usr/bin/env bash
# The function length check: no function in broker/, sim/, net-sim/, bench/ or tests/ grows past 70
# lines (STYLE.md: short functions), counted from the line that names it to its closing brace.
# Functions come from universal-ctags (their start and end lines), lambdas included. Catch2 test
# cases count too: ctags cannot see them (TEST_CASE is a macro), so a test case is taken from its
# TEST_CASE line in column 0 to the first closing brace in column 0 (the code's formatting puts it
# there, and nowhere inside).
#
# A data table (a function that is one long list, such as the config keys) may be longer: the line
# just before the function (before its `template` line, if any) says so with the comment
#   // data table: longer than 70 lines by design
# Exits 1 naming each function that is too long, 2 when it cannot run.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
limit=70
marker='// data table: longer than 70 lines by design'

command -v ctags > /dev/null || { echo "function length check: ctags is missing (scripts/install-deps.sh installs universal-ctags)"; exit 2; }
ctags --version 2> /dev/null | grep -q 'Universal Ctags' || { echo "function length check: needs universal-ctags, found: $(ctags --version 2>&1 | head -1)"; exit 2; }

folders=()
for f in broker sim net-sim bench tests; do [ -d "$f" ] && folders+=("$f"); done
[ ${#folders[@]} -gt 0 ] || { echo "function length check: no source folders under $root"; exit 2; }

# A macro call at namespace scope without a semicolon hides the next function from ctags; these
# are the ones the code uses, defined away.
tags=$(ctags --languages=C++ --c++-kinds=f --fields=+ne -R -f - \
  -D 'NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(...)=' -D 'NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(...)=' \
  -D 'NLOHMANN_JSON_SERIALIZE_ENUM(...)=' -D 'KEEL_PROTOCOL_FOR_EACH_MESSAGE(...)=' \
  "${folders[@]}" 2> /dev/null) || { echo "function length check: ctags failed"; exit 2; }

# "file<TAB>start<TAB>end<TAB>name" for every function, then every test case.
spans=$(
  printf '%s\n' "$tags" | awk -F'\t' '{
    start = ""; end = ""
    for (i = 4; i <= NF; i++) {
      if ($i ~ /^line:/) start = substr($i, 6)
      if ($i ~ /^end:/) end = substr($i, 5)
    }
    name = $1 ~ /^__anon/ ? "a lambda" : $1
    if (start != "" && end != "") print $2 "\t" start "\t" end "\t" name
  }'
  find "${folders[@]}" -name '*.cpp' -print0 | xargs -0 -r awk '
    FNR == 1 { start = 0 }
    /^(TEST_CASE|TEMPLATE_TEST_CASE|TEMPLATE_PRODUCT_TEST_CASE|SCENARIO)\(/ { start = FNR; name = substr($0, 1, 60) }
    /^}/ && start { print FILENAME "\t" start "\t" FNR "\t" name; start = 0 }'
)
count=$(printf '%s\n' "$spans" | grep -c .)

long=$(printf '%s\n' "$spans" | awk -F'\t' -v limit="$limit" '$3 - $2 + 1 > limit' | sort -t$'\t' -k1,1 -k2,2n)
violations=""
while IFS=$'\t' read -r file start end name; do
  [ -n "$file" ] || continue
  # The line before the function, skipping a template line above its name.
  above=$((start - 1))
  while [ "$above" -gt 0 ] && sed -n "${above}p" "$file" | grep -qE '^\s*template\s*<'; do above=$((above - 1)); done
  if [ "$above" -gt 0 ] && sed -n "${above}p" "$file" | grep -qF "$marker"; then continue; fi
  violations+="$file:$start: $name is $((end - start + 1)) lines (at most $limit)"$'\n'
done <<< "$long"

if [ -n "$violations" ]; then
  echo "function length check FAILED: these functions are longer than $limit lines. Split them into"
  echo "functions that each do one thing (or, for a data table, mark it: $marker):"
  printf '%s' "$violations"
  exit 1
fi
echo "function length check passed: $count functions and test cases in ${folders[*]}, none longer than $limit lines"
