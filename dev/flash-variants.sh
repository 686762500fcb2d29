#!/usr/bin/env bash
# On the GPU machine, after dev/device-run.sh has built build/device: times versions of our attention
# kernel's source against each other in one call, without a build per version. Each
# $FLASH_VARIANTS/NAME.cu (default .deps/variants, carried with .deps) is a whole replacement of
# src/ops/cuda/flash_attention_sm90.cu; it is compiled with the tree's flags into a copy of
# libwan_engine.a, bench_ops (and wan, for VARIANT_DIT) linked against that copy, and the versions'
# `bench_ops $VARIANT_ARGS` (default "flash only=720p") run in turn, ROUNDS times (default 2).
# The versions are built in parallel; each one's SASS order of products, waits and exponentials is
# printed first (as dev/profile-flash.sh does), with ptxas's C75xx performance remarks; the whole SASS
# of every version goes to $OUT/variants-sass.txt (one file: the device call returns few files).
# Results: $OUT/variants.txt.
#   FLASH_VARIANTS=.deps/variants VARIANT_ARGS="flash only=720p" ROUNDS=2 dev/flash-variants.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/wan-device-out}"
mkdir -p "$OUT"
dir="${FLASH_VARIANTS:-.deps/variants}"
build=${FLASH_BUILD:-build/device}
source_file=src/ops/cuda/flash_attention_sm90.cu
[[ -f $build/src/libwan_engine.a && -f $build/compile_commands.json ]] || { echo "build/device is not built: run dev/device-run.sh first"; exit 1; }
shopt -s nullglob
variants=("$dir"/*.cu)
[[ ${#variants[@]} -gt 0 ]] || { echo "no variants: put NAME.cu files in $dir"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The tree's compile command for the kernel file.
compile=$(python3 -c "
import json, sys
for c in json.load(open('$build/compile_commands.json')):
    if c['file'].endswith('$source_file'): print(c['command'])" )
[[ -n $compile ]] || { echo "no compile command for $source_file in $build"; exit 1; }
member=$(basename "$source_file").o
cuobjdump=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
: >"$OUT/variants.txt"
: >"$OUT/variants-sass.txt"
# Each version built in the background (they share nothing but the read-only build tree), then
# their reports in order.
build_variant() {
  local v=$1 name
  name=$(basename "$v" .cu)
  mkdir -p "$work/$name"
  # Same flags, this source, the object named as the archive's member it replaces.
  local cmd=${compile//$PWD\/$source_file/$PWD/$v}
  cmd="${cmd% -o *} -o $work/$name/$member"
  (cd $build && eval "$cmd") >"$work/$name/compile.log" 2>&1 || { echo "compile failed" >"$work/$name/failed"; return; }
  cp $build/src/libwan_engine.a "$work/$name/libwan_engine.a"
  ar r "$work/$name/libwan_engine.a" "$work/$name/$member" 2>/dev/null
  for target in bench_ops ${VARIANT_DIT:+wan}; do
    link=$(cd $build && ninja -t commands $target | tail -1)
    (cd $build && eval "$(echo "$link" | sed "s|src/libwan_engine.a|$work/$name/libwan_engine.a|g; s| -o $target | -o $work/$name/$target |")") \
      >>"$work/$name/link.log" 2>&1 || echo "link of $target failed" >>"$work/$name/failed"
  done
  # The whole SASS, for reading the order of instructions afterwards.
  "$cuobjdump" -sass "$work/$name/$member" >"$work/$name/sass.txt" 2>&1
}
for v in "${variants[@]}"; do build_variant "$v" & done
wait
for v in "${variants[@]}"; do
  name=$(basename "$v" .cu)
  if [[ -f $work/$name/failed ]]; then
    echo "== $name: $(cat "$work/$name/failed")"
    tail -20 "$work/$name/compile.log" "$work/$name/link.log" 2>/dev/null
    continue
  fi
  {
    echo "== $name: SASS order"
    grep -h "C75" "$work/$name/compile.log" | cut -c1-160
    awk -f dev/sass_order.awk "$work/$name/sass.txt"
  } | tee -a "$OUT/variants.txt"
  # (without the lines that hold only control codes: half the size)
  { echo "==== $name"; grep -vE '^\s*/\* 0x[0-9a-f]+ \*/\s*$' "$work/$name/sass.txt"; } >>"$OUT/variants-sass.txt"
done
args=${VARIANT_ARGS:-flash only=720p}
for round in $(seq "${ROUNDS:-2}"); do
  for v in "${variants[@]}"; do
    name=$(basename "$v" .cu)
    [[ -x $work/$name/bench_ops ]] || continue
    echo "== $name (round $round, $(date -u +%H:%M:%S)): bench_ops $args"
    "$work/$name/bench_ops" $args 2>&1 | grep -vE "^JSON|^device|^libraries|^$"
  done
done | tee -a "$OUT/variants.txt"
# VARIANT_DIT="task size frames precision" (e.g. "t2v-A14B 1280*720 81 fp8"): `wan bench dit` of each
# version in turn as well, ROUNDS times. The versions share one tuning-cache fingerprint: the first
# run's choice between our kernel and cuDNN's is the later runs' too.
if [[ -n ${VARIANT_DIT:-} ]]; then
  read -r task size frames precision <<<"$VARIANT_DIT"
  for round in $(seq "${ROUNDS:-2}"); do
    for v in "${variants[@]}"; do
      name=$(basename "$v" .cu)
      [[ -x $work/$name/wan ]] || continue
      echo "== $name (round $round, $(date -u +%H:%M:%S)): wan bench dit $VARIANT_DIT"
      "$work/$name/wan" bench dit --task "$task" --size "$size" --frames "$frames" --precision "$precision" --reps 2 2>&1 | grep -E "forward|split|error"
    done
  done | tee -a "$OUT/variants.txt"
fi
