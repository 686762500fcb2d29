#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the release build's unit, io, golden,
# api and cli tests (gpu tests skip without a GPU), the loader (io) tests again under
# AddressSanitizer + UBSan, and a build without CUDA and FFmpeg with its C API test.
#   WAN_GOLDEN_DIR=... dev/test.sh   runs the golden tests on another folder of cases.
set -euo pipefail
cd "$(dirname "$0")/.."
dev/setup.sh release
ctest --preset release --output-on-failure

[[ -f build/asan/build.ninja ]] || cmake --preset asan >/dev/null
cmake --build --preset asan --target test_io
ctest --preset asan -L io --output-on-failure

# The engine as a machine without CUDA and FFmpeg builds it: it compiles, and the C API test
# passes there (mp4 output refused up front, frames through the callbacks).
cmake -S . -B build/minimal -G Ninja -DCMAKE_BUILD_TYPE=Release -DWAN_CUDA=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON >/dev/null
cmake --build build/minimal --target wan wan-dev test_c_api
mkdir -p build/minimal/api-work
build/minimal/tests/test_c_api tests/data build/minimal/api-work
