#!/usr/bin/env bash
# Builds what is missing, then runs `wan` with the given arguments; with none, the main job on
# the built-in demo checkpoint (`wan generate`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/dev/setup.sh" release >/dev/null
if (($# == 0)); then set -- generate; fi
exec "$root/build/release/wan" "$@"
