#!/usr/bin/env bash
# Gathers what the GPU machine lacks into .deps/ (git-ignored; carry it with the device call):
# nlohmann-json's headers and CMake files, and GoogleTest's sources, from this machine's Debian
# packages (dev/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps && mkdir -p .deps/prefix/include .deps/prefix/share/cmake
cp -r /usr/include/nlohmann .deps/prefix/include/
cp -r /usr/share/cmake/nlohmann_json .deps/prefix/share/cmake/
cp -r /usr/src/googletest .deps/googletest
du -sh .deps
