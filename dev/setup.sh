#!/usr/bin/env bash
# Installs the Debian packages the engine needs (only those missing), then configures and builds
# the release preset. Safe to run again: it does only what is left to do.
#   dev/setup.sh [preset]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"

packages=(g++ cmake ninja-build nlohmann-json3-dev libgtest-dev libsentencepiece-dev
          pkg-config libavcodec-dev libavformat-dev libswscale-dev libavutil-dev ffmpeg)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

[[ -f "build/$preset/build.ninja" ]] || cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
