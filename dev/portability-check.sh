#!/usr/bin/env bash
# On the GPU machine, after dev/device-run.sh has built build/device: runs the GPU tests with the
# device code of older GPUs on this one. For each of compute_89 (Ada) and compute_80 (Ampere) it
# rebuilds build/device's CUDA code as that target's PTX alone (the driver compiles it for this
# GPU; the C++ objects are kept) and runs `ctest -L gpu` with the engine treating the GPU as that
# compute capability (WAN_CUDA_CAPABILITY_LIMIT): Ada's FP8 products with a bf16 attention and no
# Hopper kernel, Ampere's bf16 only. Then a build of sm_80 machine code alone, which this GPU
# cannot run, must say so at its first use of the GPU. Restores the default target list at the end.
# PORTABILITY_TARGETS (default "89 80") picks the stages; results under $OUT/portability-*.
#   run with: carry [".deps"], command "dev/device-run.sh && dev/portability-check.sh"
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/wan-device-out}"
build=build/device
[[ -f $build/CMakeCache.txt ]] || { echo "build/device is not configured: run dev/device-run.sh first"; exit 1; }
default_gencode=$(sed -n 's/^set(WAN_CUDA_GENCODE$//;/^ *"-gencode/{s/^ *"\(.*\)"$/\1/;p;q}' CMakeLists.txt)
[[ -n $default_gencode ]] || { echo "cannot read the default WAN_CUDA_GENCODE from CMakeLists.txt"; exit 1; }
status=0
for cc in ${PORTABILITY_TARGETS:-89 80}; do
  start=$(date +%s)
  if ! cmake -S . -B $build "-DWAN_CUDA_GENCODE=-gencode=arch=compute_$cc,code=compute_$cc" >"$OUT/portability-$cc-configure.log" 2>&1 ||
     ! cmake --build $build -j "$(nproc)" >"$OUT/portability-$cc-build.log" 2>&1; then
    echo "compute_$cc: build failed"; grep -E "error" "$OUT/portability-$cc-build.log" | head -20; status=1; continue
  fi
  echo "compute_$cc PTX only: built in $(( $(date +%s) - start )) s"
  WAN_CUDA_CAPABILITY_LIMIT=$cc ctest --test-dir $build -L gpu -j 8 -V >"$OUT/portability-$cc-ctest.log" 2>&1 || status=1
  grep -E "tests passed|tests failed" "$OUT/portability-$cc-ctest.log" | tail -1
  grep -E "Test +#[0-9]+: .*(Failed|Exception)" "$OUT/portability-$cc-ctest.log" | head -10
  echo "  skipped (they need a newer GPU): $(grep -cE "^[0-9]+/[0-9]+ Test .*Skipped" "$OUT/portability-$cc-ctest.log")"
done
# A build whose only target this GPU cannot run (sm_80 machine code, no PTX): the first use of the
# GPU must say so and what to do, not fail at a kernel launch.
if cmake -S . -B $build "-DWAN_CUDA_GENCODE=-gencode=arch=compute_80,code=sm_80" >/dev/null 2>&1 &&
   cmake --build $build -j "$(nproc)" --target wan >"$OUT/portability-foreign-build.log" 2>&1; then
  $build/wan info --system >"$OUT/portability-foreign.txt" 2>&1
  if grep -q "this build has no GPU code that runs on" "$OUT/portability-foreign.txt"; then
    echo "sm_80 code alone on this GPU: refused with a clear message"
  else
    echo "sm_80 code alone on this GPU: no clear message:"; tail -5 "$OUT/portability-foreign.txt"; status=1
  fi
else
  echo "sm_80 code alone: build failed"; status=1
fi
cmake -S . -B $build "-DWAN_CUDA_GENCODE=$default_gencode" >/dev/null 2>&1 && cmake --build $build -j "$(nproc)" >/dev/null 2>&1 ||
  { echo "could not restore the default targets in $build"; status=1; }
exit $status
