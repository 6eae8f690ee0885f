#!/usr/bin/env bash
# Installs, from Debian 12 packages, whatever BlazeDB needs to build and test
# that is not already installed. Idempotent; does nothing when all is present.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libsqlite3-dev libssl-dev nlohmann-json3-dev libcli11-dev
  libboost1.74-dev           # Boost.Beast + Asio (header-only here), the net layer only
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  clang libclang-rt-14-dev   # libFuzzer targets
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
