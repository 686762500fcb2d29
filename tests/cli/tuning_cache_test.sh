#!/usr/bin/env bash
# The tuning cache end to end on a Hopper GPU: a first `wan bench dit` (bf16, then FP8) times its
# attention choices and stores them in the file WAN_TUNING_CACHE names; a second process takes every
# choice from the file (no timing) and, where the file says our FP8 kernel (a line appended here
# says so, whatever the first run chose), builds no cuDNN FP8 plan; WAN_TUNING_CACHE=off neither
# reads nor writes. Exit 77 (skipped) without a Hopper GPU.
# Usage: tuning_cache_test.sh WAN_BINARY
source "$(dirname "$0")/harness.sh"
# (What the engine treats the GPU as: WAN_CUDA_CAPABILITY_LIMIT=89 makes an H100 an Ada here.)
if ! "$WAN" info --system 2>&1 | grep -q "FP8 (--precision fp8): yes (compute 9.0"; then
  echo "skipped: needs a Hopper GPU (compute 9.0)"; exit 77
fi
cache="$work/tuning.tsv"
bench() {  # PRECISION LOG: two blocks of the 5B config at a small size, debug log kept
  WAN_LOG_LEVEL=debug "$WAN" bench dit --task ti2v-5B --size 256*256 --frames 5 --layers 2 --reps 1 \
    --precision "$1" >"$2" 2>&1
}
for precision in bf16 fp8; do
  first="$work/first-$precision.txt" second="$work/second-$precision.txt"
  if ! WAN_TUNING_CACHE="$cache" bench "$precision" "$first"; then bad "$precision first run: $(cat "$first")"; continue; fi
  grep -qE "planning and choosing took [0-9.e+-]+ s$" "$first" && ok "$precision: first run timed its attention" ||
    bad "$precision: first run did not time: $(grep -i attention "$first")"
  if [[ $precision == fp8 ]]; then
    grep -q "plans built" "$first" && ok "first FP8 run built cuDNN's plans" || bad "first FP8 run: no plans built"
    # Our kernel as the choice of every FP8 problem (the last line of a problem wins).
    grep "attention fp8 " "$cache" | sed "s/"$'\t'"[^"$'\t'"]*\$/"$'\t'"ours/" >"$work/ours.tsv"
    cat "$work/ours.tsv" >>"$cache"
    [[ -s "$work/ours.tsv" ]] && ok "FP8 choices set to ours" || bad "no FP8 line in the file: $(cat "$cache")"
  fi
  if ! WAN_TUNING_CACHE="$cache" bench "$precision" "$second"; then bad "$precision second run: $(cat "$second")"; continue; fi
  if grep -q "planning and choosing took" "$second" && ! grep -E "planning and choosing took" "$second" | grep -qv "from the tuning cache"; then
    ok "$precision: second run took every attention choice from the file"
  else
    bad "$precision: second run: $(grep -E "planning and choosing|chose" "$second")"
  fi
  grep -qE "^forward: median" "$second" && ok "$precision: second run timed its forward" || bad "$precision: no forward line"
done
grep -q "attention bf16 Lq=" "$cache" && grep -q "attention fp8 Lq=" "$cache" && ok "the file holds both precisions' attention" ||
  bad "tuning file: $(cat "$cache")"
grep -q "plans built" "$work/second-fp8.txt" &&
  bad "cuDNN FP8 plans built although the file says ours: $(grep "plans built" "$work/second-fp8.txt")" ||
  ok "no cuDNN FP8 plan where the file says ours"
lines=$(wc -l <"$cache")
WAN_TUNING_CACHE=off bench bf16 "$work/off.txt" && [[ $(wc -l <"$cache") -eq $lines ]] && ! grep -q "from the tuning cache" "$work/off.txt" &&
  ok "WAN_TUNING_CACHE=off neither reads nor writes" || bad "off: $(grep -i tuning "$work/off.txt")"
finish
