#!/usr/bin/env bash
# The seam check: code under broker/ reaches time, randomness, threads, sockets, files and the
# environment only through broker/platform/ (only broker/platform/posix/ touches the OS), and
# never includes anything from sim/ or net-sim/. Exits 1 naming each offending line.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

forbidden='std::chrono::(system_clock|steady_clock|high_resolution_clock|file_clock|utc_clock)'
forbidden+='|std::this_thread|std::thread|std::jthread|std::async|pthread_'
forbidden+='|std::random_device|std::mt19937|[^_a-zA-Z0-9.>]s?rand\(|getrandom'
forbidden+='|getenv\(|setenv\(|environ\b'
forbidden+='|\b(time|clock_gettime|gettimeofday|clock)\(\s*[^)]'
forbidden+='|#include *[<"](sys/[a-z_]+|fcntl|unistd|netinet/[a-z_]+|arpa/inet|netdb|poll|pthread|thread|future|random|ctime|time)\.?h?[>"]'
forbidden+='|#include *<(fstream|filesystem|thread|future|random|ctime)>'
forbidden+='|\b(fopen|open|socket|connect|accept|bind|listen|read|write|pread|pwrite|close|fsync|fdatasync)\(\s*(fd|sock|path|"|[0-9])'
forbidden+='|std::(ifstream|ofstream|fstream|filesystem)'
forbidden+='|#include *["<](sim|net-sim)/'

hits=$(grep -rnE --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc' "$forbidden" broker \
  | grep -v '^broker/platform/posix/' || true)
if [ -n "$hits" ]; then
  echo "seam check FAILED: these lines in broker/ reach the OS or the simulator directly."
  echo "Only broker/platform/posix/ may; route them through broker/platform:"
  echo "$hits"
  exit 1
fi
count=$(find broker -name '*.h' -o -name '*.cpp' | grep -vc '^broker/platform/posix/')
echo "seam check passed: $count files under broker/ (outside broker/platform/posix/) use only the seam"
