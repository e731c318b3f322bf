#!/usr/bin/env bash
# The seam check must catch a crafted violation of each kind, and pass a clean tree.
set -u
script="$1/scripts/check-seam.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/broker/platform/posix" "$tmp/broker/storage"
echo '#include <sys/socket.h>' > "$tmp/broker/platform/posix/ok.cpp"
echo 'int f(Runtime& rt) { return rt.random().next(); }' > "$tmp/broker/storage/clean.cpp"
bash "$script" "$tmp" > /dev/null || { echo "FAIL: a clean tree was rejected"; exit 1; }
fails=0
for line in 'auto t = std::chrono::steady_clock::now();' 'std::thread t;' 'int r = rand();' \
            'std::random_device d;' 'const char* h = getenv("HOME");' '#include <sys/socket.h>' \
            '#include <unistd.h>' '#include "sim/world.h"' '#include "net-sim/network.h"' 'std::ofstream f;'; do
  echo "$line" > "$tmp/broker/storage/bad.cpp"
  if bash "$script" "$tmp" > /dev/null; then
    echo "FAIL: not caught: $line"
    fails=$((fails + 1))
  fi
done
[ "$fails" -eq 0 ] && echo "seam check catches every crafted violation"
exit "$fails"
