#!/usr/bin/env bash
# On the GPU machine, after dev/device-run.sh has built build/device (PROFILE_FLASH=1 there runs
# this): where our attention kernel's time goes, for its default tiles (bf16 80 keys, FP8 96) on
# the 480p self-attention of `bench_ops flash only=480p`.
#   $OUT/flash_profile.txt: Nsight Compute on one launch of each (after the warm-ups; clocks left as
#     they are, --clock-control none): the pipes' use, the stall reasons, the instructions with the
#     most stall samples (dev/ncu_stalls.py);
#   $OUT/flash_sass_order.txt: each kernel's products (GMMA), their fences (ARRIVE), waits for them
#     (WAIT1: S, WAIT0: all) and exponentials (EX2xN) in SASS order (dev/sass_order.awk). In the
#     main loop the wait for P·V (WAIT0) belongs after the softmax's exponentials; twelfth session:
#     ptxas had lifted it above them (docs/performance.md).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/wan-device-out}"
mkdir -p "$OUT"
object=build/device/src/CMakeFiles/wan_engine.dir/ops/cuda/flash_attention_sm90.cu.o
[[ -x build/device/bench_ops && -f $object ]] || { echo "build/device is not built: run dev/device-run.sh first"; exit 1; }
ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$OUT/flash_profile.txt"
if [[ -z "$ncu" ]]; then
  echo "no ncu (Nsight Compute) on this machine" | tee "$OUT/flash_profile.txt"
else
  # ncu (2025) demangles the template arguments with their types, "flash_fwd_kernel<(bool)0,
  # (int)80>" (the names ncu listed in the sixteenth session's log); a pattern without the casts
  # matched nothing in the fifteenth session's three calls. The third argument: the kept-maxima
  # launch, which does the work (the exact launch after it returns at once in all but marked CTAs).
  for kernel in "bf16 \\(bool\\)0, \\(int\\)80, \\(bool\\)1" "fp8 \\(bool\\)1, \\(int\\)96, \\(bool\\)1"; do
    name=${kernel%% *} template=${kernel#* }
    # The third launch of that instantiation: bench_ops runs each variant twice before timing it.
    "$ncu" --clock-control none --kernel-name-base demangled -k "regex:.*flash_fwd_kernel<$template>.*" \
      --launch-skip 2 --launch-count 1 --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      --section WarpStateStats --section SourceCounters \
      --metrics sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,sm__pipe_alu_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active \
      -o "$work/$name" build/device/bench_ops flash only=480p >"$work/$name.log" 2>&1 ||
      { echo "ncu failed for $name: $(tail -5 "$work/$name.log")" | tee -a "$OUT/flash_profile.txt"; continue; }
    [[ -f "$work/$name.ncu-rep" ]] ||
      { echo "ncu profiled no kernel for $name; the end of its log: $(tail -8 "$work/$name.log")" | tee -a "$OUT/flash_profile.txt"; continue; }
    {
      echo "== flash_fwd_kernel<$template> ($name), 480p self-attention"
      "$ncu" -i "$work/$name.ncu-rep" --page details | grep -E "SM Frequency|Duration|Throughput|Issue Slots Busy|pct_of_peak|highest-utilized|Shared|Bank|Stall [A-Z]" | grep -v " 0$"
      "$ncu" -i "$work/$name.ncu-rep" --page source --csv --print-source sass >"$work/$name.csv" 2>&1
      python3 dev/ncu_stalls.py "$work/$name.csv" 30
      echo
    } >>"$OUT/flash_profile.txt" 2>&1
  done
fi
if command -v cuobjdump >/dev/null || [[ -x /usr/local/cuda/bin/cuobjdump ]]; then
  "$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)" -sass "$object" | awk -f dev/sass_order.awk >"$OUT/flash_sass_order.txt"
else
  echo "no cuobjdump on this machine" >"$OUT/flash_sass_order.txt"
fi
cat "$OUT/flash_sass_order.txt"
grep -E "^== |SM Frequency|Duration|instructions, | WARPGROUP.DEPBAR" "$OUT/flash_profile.txt" | head -20
