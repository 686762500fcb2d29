#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the release build's unit, io, golden and
# cli tests, then the loader (io) tests again under AddressSanitizer + UBSan.
#   WAN_GOLDEN_DIR=... dev/test.sh   runs the golden tests on another folder of cases.
set -euo pipefail
cd "$(dirname "$0")/.."
dev/setup.sh release
ctest --preset release --output-on-failure

[[ -f build/asan/build.ninja ]] || cmake --preset asan >/dev/null
cmake --build --preset asan --target test_io
ctest --preset asan -L io --output-on-failure
