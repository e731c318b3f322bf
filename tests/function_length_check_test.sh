#!/usr/bin/env bash
# The function length check must catch a crafted long function of each kind (a free function, a
# member function in a header, a test case), let a function of exactly 70 lines and a marked data
# table pass, and pass a clean tree.
set -u
script="$1/scripts/check-function-length.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/broker/storage" "$tmp/tests"

# `lines N`: N - 2 statement lines, so that a function opened and closed around them is N lines.
lines() { for ((i = 0; i < $1 - 2; ++i)); do echo "  x += $i;"; done; }

{
  echo 'int seventy(int x) {'; lines 70; echo '}'
  echo '// data table: longer than 70 lines by design'
  echo 'template <class T>'
  echo 'int table(T x) {'; lines 90; echo '}'
} > "$tmp/broker/storage/clean.cpp"
bash "$script" "$tmp" > /dev/null || { echo "FAIL: a clean tree was rejected"; bash "$script" "$tmp"; exit 1; }

fails=0
expect_caught() {  # $1: what, $2: file, stdin: its text
  cat > "$tmp/$2"
  out=$(bash "$script" "$tmp")
  if [ $? -ne 1 ] || ! grep -q "$2" <<< "$out"; then
    echo "FAIL: not caught: $1"
    fails=$((fails + 1))
  fi
  rm "$tmp/$2"
}
# Each case comes in through < <(...), not a pipe: a pipe would run
# expect_caught in a subshell and lose its count.
expect_caught "a free function of 71 lines" broker/storage/bad.cpp < <(echo 'int long_one(int x) {'; lines 71; echo '}')
expect_caught "a member function in a header" broker/storage/bad.h \
  < <(echo 'struct S {'; echo '  int member(int x) {'; lines 80; echo '  }'; echo '};')
expect_caught "a test case" tests/bad_test.cpp < <(echo 'TEST_CASE("a long test", "[x]") {'; lines 75; echo '}')
expect_caught "a function whose marker is not on the line before it" broker/storage/bad.cpp \
  < <(echo '// data table: longer than 70 lines by design'; echo ''; echo 'int not_marked(int x) {'; lines 75; echo '}')
[ "$fails" -eq 0 ] && echo "function length check catches every crafted long function"
exit "$fails"
