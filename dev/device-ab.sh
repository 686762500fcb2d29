#!/usr/bin/env bash
# Same-machine A/B of the DiT forward on the GPU machine: an earlier commit (BASE, packed here with
# `git archive BASE | gzip > .deps/base.tar.gz`, carried with .deps) against the working tree,
# both built with CUDA, `wan bench dit` run alternately (base, new, base, new, ...) ROUNDS times
# for each of AB_SPECS ("task size frames", comma-separated; "none" for no DiT) and AB_PRECISIONS;
# with AB_OPS_ARGS (e.g. "flash only=480p") `bench_ops` of both alternately first. Expects
# dev/device-run.sh to have built build/device already (it builds the working tree if not).
# Results under $OUT/ab_dit.txt and $OUT/ab_ops.txt.
#   AB_SPECS="t2v-A14B 832*480 81" AB_PRECISIONS="bf16" ROUNDS=2 dev/device-ab.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/wan-device-out}"
mkdir -p "$OUT"
deps="$PWD/.deps"
[[ -f "$deps/base.tar.gz" ]] || { echo "missing .deps/base.tar.gz (git archive BASE | gzip > .deps/base.tar.gz)"; exit 1; }
base=/tmp/wan-base
rm -rf "$base" && mkdir -p "$base" && tar xzf "$deps/base.tar.gz" -C "$base"
configure() {  # configure SRC BUILD
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWAN_CUDA=ON -DCMAKE_PREFIX_PATH="$deps/prefix" \
    -DWAN_GTEST_SOURCE_DIR="$deps/googletest" >"$OUT/ab_configure.log" 2>&1
}
[[ -x build/device/wan && -x build/device/bench_ops ]] || { configure . build/device && cmake --build build/device -j "$(nproc)" --target wan bench_ops >"$OUT/ab_build.log" 2>&1; } || { tail -20 "$OUT/ab_build.log"; exit 1; }
configure "$base" "$base/build" && cmake --build "$base/build" -j "$(nproc)" --target wan bench_ops >"$OUT/ab_build_base.log" 2>&1 || { grep -E "error" "$OUT/ab_build_base.log" | head; exit 1; }
if [[ -n "${AB_OPS_ARGS:-}" ]]; then
  for round in $(seq "${ROUNDS:-2}"); do
    for side in base new; do
      bin=build/device/bench_ops
      [[ $side == base ]] && bin="$base/build/bench_ops"
      echo "== $side (round $round): bench_ops $AB_OPS_ARGS"
      "$bin" $AB_OPS_ARGS 2>&1 | tee -a "$OUT/ab_ops.txt" | grep -vE "^JSON|^device|^libraries|^$"
    done
  done
fi
IFS=, read -ra specs <<<"${AB_SPECS:-t2v-A14B 832*480 81}"
[[ "${AB_SPECS:-}" == none ]] && specs=()
for spec in "${specs[@]}"; do
  set -- $spec
  for prec in ${AB_PRECISIONS:-bf16}; do
    for round in $(seq "${ROUNDS:-2}"); do
      for side in base new; do
        bin=build/device/wan
        [[ $side == base ]] && bin="$base/build/wan"
        echo "== $side (round $round): wan bench dit $1 $2 $3 --precision $prec"
        "$bin" bench dit --task "$1" --size "$2" --frames "$3" --reps 2 --precision "$prec" 2>&1 | tee -a "$OUT/ab_dit.txt" | grep -E "forward|split|error"
      done
    done
  done
done
