#!/usr/bin/env bash
# Installs the Debian packages Keel needs to build and test, and nothing when all are there.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libboost-context-dev   # Boost.Coroutine2 (header-only) and Boost.Context
  catch2                 # Catch2 v2
  libfmt-dev libcli11-dev nlohmann-json3-dev
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev   # record batch compression codecs
  libre2-dev             # consumer group regex subscriptions (KIP-848), as Kafka's RE2/J
  kcat python3-kafka python3-confluent-kafka  # real Kafka clients for the integration tests (librdkafka 2.0.2)
  python3-snappy python3-lz4 python3-zstandard      # kafka-python's codecs for those tests
  universal-ctags        # function boundaries for the function length check
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
