#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (when missing), configures and builds everything.
# Usage: scripts/bootstrap.sh [BUILD_DIR [meson setup options...]]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config python3 libxsimd-dev libtbb-dev doctest-dev libcereal-dev
          libcli11-dev nlohmann-json3-dev libzip-dev zlib1g-dev libstb-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

build_dir=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" "$@" >&2
fi
# Build every target (meson test alone would build only what the tests need).
ninja -C "$build_dir" >&2
