#!/usr/bin/env bash
# On the GPU machine (see DEVELOPERS.md): build with CUDA, record `wan info --system`, run the
# tests of TEST_LABELS (default gpu|unit|golden; "none" skips them; TEST_REGEX narrows them by
# name), then the benchmarks asked for: BENCH_OPS=1 (default) ops beside PyTorch's (BENCH_OPS_ARGS:
# bench_ops's sections, e.g. "attention fp8"; BENCH_OPS_TORCH=0 skips PyTorch's), BENCH_VAE=1 the VAE decoder, BENCH_DIT=1 the DiT
# forward beside the PyTorch stand-in, BENCH_E2E=1 whole runs with random weights, BENCH_LOAD=1 a 5B checkpoint's load against its read,
# BENCH_FP8_CKPT=1 a real-size fp8_scaled A14B checkpoint's load and a whole run from it,
# PROFILE_FLASH=1 our attention kernel under Nsight Compute and its SASS order (dev/profile-flash.sh),
# BENCH_MULTI=1 several GPUs (Ulysses DiT forwards beside one
# GPU's, and whole TI2V-5B runs of a random checkpoint on one GPU, CFG-parallel and Ulysses), all
# in the same call. SMI_LOG=1 samples the SM clock, power, temperature and throttle reasons every
# 500 ms while the tests and benchmarks run ($OUT/smi.csv; the log's times are the stamps' clock).
# Results go under $OUT.
# The machine has no nlohmann-json, GoogleTest or FFmpeg development files: dev/fetch-device-deps.sh
# puts the first two under .deps/ (carried with the call); FFmpeg is optional for this build.
#   run with: carry [".deps"], command "dev/device-run.sh"
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/wan-device-out}"
mkdir -p "$OUT"
deps="$PWD/.deps"
[[ -d "$deps/prefix" && -d "$deps/googletest" ]] || { echo "missing .deps: run dev/fetch-device-deps.sh and carry .deps"; exit 1; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
# NCCL for several GPUs: the system's, else the copy in PyTorch's environment.
if ! ldconfig -p | grep -q 'libnccl.so.2 '; then
  nccl=$(python3 -c "import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], 'lib', 'libnccl.so.2'))" 2>/dev/null)
  [[ -f "$nccl" ]] && export WAN_NCCL_LIBRARY="$nccl"
fi
echo "NCCL: ${WAN_NCCL_LIBRARY:-libnccl.so.2 on the library path}; NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-unset}"
start=$(date +%s)
stamp() { echo "[$(( $(date +%s) - start )) s] $*"; }
if ! cmake -S . -B build/device -G Ninja -DCMAKE_BUILD_TYPE=Release -DWAN_CUDA=ON \
     -DCMAKE_PREFIX_PATH="$deps/prefix" -DWAN_GTEST_SOURCE_DIR="$deps/googletest" >"$OUT/configure.log" 2>&1; then
  tail -40 "$OUT/configure.log"; exit 1
fi
if ! cmake --build build/device -j "$(nproc)" >"$OUT/build.log" 2>&1; then
  grep -E "error|Error" "$OUT/build.log" | head -40; exit 1
fi
echo "build: $(( $(date +%s) - start )) s"
for task in "t2v-A14B 1280*720 81" "ti2v-5B 1280*704 121"; do
  set -- $task
  build/device/wan info --system --task "$1" --size "$2" --frames "$3" >>"$OUT/info_system.txt" 2>&1
done
grep -E "^GPU|predicted|fits" "$OUT/info_system.txt" | head -6

if [[ "${SMI_LOG:-0}" == 1 ]]; then
  nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,power.limit,temperature.gpu,clocks_throttle_reasons.active \
    --format=csv -lms 500 >"$OUT/smi.csv" 2>&1 &
  smi_pid=$!
  trap 'kill $smi_pid 2>/dev/null' EXIT
  stamp "nvidia-smi sampling into smi.csv (started $(date -u +%H:%M:%S))"
fi

stamp "tests"
if [[ "${TEST_LABELS:-}" != none ]]; then
  # -V keeps every test's output (the measured errors) in ctest.log.
  ctest --test-dir build/device -L "${TEST_LABELS:-gpu|unit|golden}" ${TEST_REGEX:+-R "$TEST_REGEX"} -j 8 -V >"$OUT/ctest.log" 2>&1
  grep -E "tests passed|tests failed" "$OUT/ctest.log" | tail -3
  grep -E "relative L2|FAILED|Failure" "$OUT/ctest.log" | sed 's/^[0-9]*: //' | sort -u | head -40
  grep -E "Test +#[0-9]+: .*(Failed|Exception)" "$OUT/ctest.log" | head -10
fi

if [[ "${BENCH_OPS:-1}" == 1 ]]; then
  echo "== bench_ops (this engine)"
  build/device/bench_ops ${BENCH_OPS_ARGS:-} 2>&1 | tee "$OUT/bench_ops.txt" | grep -v '^JSON'
  if [[ "${BENCH_OPS_TORCH:-1}" == 1 ]]; then
    echo "== torch baseline (same machine, same call)"
    python3 dev/bench/torch_ops.py 2>&1 | tee "$OUT/torch_ops.txt" | grep -v '^JSON'
  fi
fi

# The VAE decoder at real sizes with random weights (BENCH_VAE=1).
if [[ "${BENCH_VAE:-0}" == 1 ]]; then
  IFS=, read -ra vae_specs <<<"${VAE_SPECS:-21 1280*720 81,22 1280*704 121,21 832*480 81}"
  for spec in "${vae_specs[@]}"; do
    set -- $spec
    for dtype in ${VAE_DTYPES:-f32 bf16}; do
      echo "== wan bench vae --version $1 --size $2 --frames $3 --dtype $dtype"
      build/device/wan bench vae --version "$1" --size "$2" --frames "$3" --dtype "$dtype" --reps 2 --profile 2>&1 | tee -a "$OUT/bench_vae.txt" | grep -v '^JSON'
    done
  done
fi

# The DiT forward at real sizes beside the PyTorch stand-in of the official DiT (BENCH_DIT=1):
# DIT_SPECS (comma-separated "task size frames"), DIT_PRECISIONS (default bf16; "bf16 fp8" for
# both), DIT_FLASH ("0 1": each forward once with cuDNN's attention only, WAN_FLASH_SM90=0, and once
# with our Hopper kernel where it wins; default 1), DIT_KEYS ("80/96 176/192": our kernel's key
# tiles in bf16/FP8, WAN_FLASH_BF16_KEYS / WAN_FLASH_FP8_KEYS; default: the built-in choice), DIT_TORCH=0 skips the stand-in.
if [[ "${BENCH_DIT:-0}" == 1 ]]; then
  IFS=, read -ra dit_specs <<<"${DIT_SPECS:-t2v-A14B 832*480 81,t2v-A14B 1280*720 81,ti2v-5B 1280*704 121}"
  for spec in "${dit_specs[@]}"; do
    set -- $spec
    for prec in ${DIT_PRECISIONS:-bf16}; do
      for flash in ${DIT_FLASH:-1}; do
        for keys in ${DIT_KEYS:-default}; do
          bk=${keys%/*} fk=${keys#*/}
          [[ $keys == default ]] && bk="" fk=""
          stamp "== wan bench dit $1 $2 $3 --precision $prec (WAN_FLASH_SM90=$flash, key tiles bf16/fp8: $keys)"
          WAN_FLASH_SM90=$flash WAN_FLASH_BF16_KEYS=$bk WAN_FLASH_FP8_KEYS=$fk WAN_LOG_LEVEL=debug build/device/wan bench dit --task "$1" --size "$2" --frames "$3" --reps "${DIT_REPS:-2}" --precision "$prec" 2>&1 | tee -a "$OUT/bench_dit.txt" | grep -E "forward|random|split|error|libraries|peak|engines|FP8|chose|tuning cache"
        done
      done
    done
    if [[ "${DIT_TORCH:-1}" == 1 ]]; then
      echo "== torch_wan_dit.py $1 $2 $3"
      python3 dev/bench/torch_wan_dit.py --task "$1" --size "$2" --frames "$3" --reps 2 2>&1 | tee -a "$OUT/torch_dit.txt" | tail -2
    fi
  done
fi

# Whole text-to-video runs on this GPU with random weights made on the GPU (BENCH_E2E=1): each of
# E2E_SPECS ("task size steps", comma-separated; default T2V-A14B 832x480, 40 steps) in each of
# E2E_PRECISIONS (default bf16), with E2E_T5_LAYERS text-encoder layers (default 1; 24 is the real one).
if [[ "${BENCH_E2E:-0}" == 1 ]]; then
  IFS=, read -ra e2e_specs <<<"${E2E_SPECS:-t2v-A14B 832*480 40}"
  for spec in "${e2e_specs[@]}"; do
    set -- $spec
    for prec in ${E2E_PRECISIONS:-bf16}; do
      stamp "== wan bench e2e --random $1 --size $2 --steps $3 --precision $prec"
      build/device/wan bench e2e --random "$1" --size "$2" --steps "$3" --t5-layers "${E2E_T5_LAYERS:-1}" \
        --precision "$prec" 2>&1 | tee -a "$OUT/bench_e2e.txt" | grep -vE "^JSON|^device"
    done
  done
fi

# A random TI2V-5B checkpoint in the official fp32 layout (1-layer text encoder), made once.
ckpt=/tmp/wan-5b-random
random_5b_checkpoint() {
  [[ -f "$ckpt/config.json" ]] && return
  stamp "random TI2V-5B checkpoint"
  build/device/wan random-checkpoint "$ckpt" --task ti2v-5B --t5-layers 1 2>&1 | tail -1
}

# Loading a real-size checkpoint against reading its files, both from a cold page cache (BENCH_LOAD=1).
if [[ "${BENCH_LOAD:-0}" == 1 ]]; then
  random_5b_checkpoint
  stamp "== wan bench load (cold page cache): loading against reading the files"
  build/device/wan bench load --ckpt-dir "$ckpt" 2>&1 | tee -a "$OUT/bench_load.txt" | grep -vE "^JSON|info:"
fi

# A T2V-A14B checkpoint in ComfyUI's fp8_scaled form, one file per expert (BENCH_FP8_CKPT=1):
# written once (1-layer text encoder), loaded in FP8 against reading its files (cold page cache),
# then a whole run from it in FP8 (FP8_E2E_SIZE, default 832*480; FP8_E2E_STEPS, default 40; 0 skips).
if [[ "${BENCH_FP8_CKPT:-0}" == 1 ]]; then
  fp8ckpt=/tmp/wan-a14b-fp8-scaled
  if [[ ! -d "$fp8ckpt" ]]; then
    stamp "random T2V-A14B fp8_scaled checkpoint"
    build/device/wan random-checkpoint "$fp8ckpt" --task t2v-A14B --t5-layers 1 --dit-fp8-scaled 2>&1 | tail -1 | tee -a "$OUT/bench_fp8_ckpt.txt"
  fi
  ls -l "$fp8ckpt"/high_noise_model "$fp8ckpt"/low_noise_model | tee -a "$OUT/bench_fp8_ckpt.txt"
  stamp "== wan bench load --precision fp8"
  build/device/wan bench load --ckpt-dir "$fp8ckpt" --precision fp8 2>&1 | tee -a "$OUT/bench_fp8_ckpt.txt" | grep -vE "^JSON|info:"
  if [[ "${FP8_E2E_STEPS:-40}" != 0 ]]; then
    stamp "== wan bench e2e --ckpt-dir (fp8_scaled) ${FP8_E2E_SIZE:-832*480} ${FP8_E2E_STEPS:-40} steps --precision fp8"
    build/device/wan bench e2e --ckpt-dir "$fp8ckpt" --size "${FP8_E2E_SIZE:-832*480}" --steps "${FP8_E2E_STEPS:-40}" \
      --precision fp8 2>&1 | tee -a "$OUT/bench_fp8_ckpt.txt" | grep -vE "^JSON|^device"
  fi
  stamp "done"
fi

# Where our attention kernel's time goes (PROFILE_FLASH=1): Nsight Compute and the SASS order of
# its products, waits and exponentials.
if [[ "${PROFILE_FLASH:-0}" == 1 ]]; then
  stamp "== dev/profile-flash.sh"
  OUT="$OUT" dev/profile-flash.sh
fi

# Several GPUs (BENCH_MULTI=1): the A14B forward on one GPU and split over all of them (Ulysses,
# with the split output checked against one GPU's), then whole TI2V-5B runs of a random checkpoint
# in the official layout (E2E_STEPS steps, 1-layer text encoder: it runs on the CPU either way).
if [[ "${BENCH_MULTI:-0}" == 1 ]]; then
  gpus=$(nvidia-smi -L | grep -c '^GPU')
  for size in ${MULTI_SIZES:-1280*720}; do
    echo "== wan bench dit t2v-A14B $size 81: one GPU, then Ulysses $gpus"
    build/device/wan bench dit --task t2v-A14B --size "$size" --frames 81 --reps 2 2>&1 | tee -a "$OUT/bench_multi.txt" | grep -E "forward|split|error"
    build/device/wan bench dit --task t2v-A14B --size "$size" --frames 81 --reps 2 --ulysses "$gpus" 2>&1 | tee -a "$OUT/bench_multi.txt" | grep -E "Ulysses|forward|split|against|error"
  done
  # Whole TI2V-5B 1280x704x121 runs with random weights (the real 24-layer text encoder, on the
  # GPU), E2E_5B_STEPS steps, one GPU then CFG-parallel (E2E_5B_RANDOM=1), in each of
  # E2E_5B_PRECISIONS (default bf16).
  if [[ "${E2E_5B_RANDOM:-0}" == 1 ]]; then
    for mode in "" $( ((gpus > 1)) && echo --cfg-parallel); do
      for prec in ${E2E_5B_PRECISIONS:-bf16}; do
        stamp "== wan bench e2e --random ti2v-5B ${E2E_5B_STEPS:-50} steps $mode --precision $prec"
        build/device/wan bench e2e --random ti2v-5B --steps "${E2E_5B_STEPS:-50}" --precision "$prec" $mode 2>&1 | tee -a "$OUT/bench_e2e.txt" | grep -vE "^JSON|^device"
      done
    done
  fi
  # Whole A14B 720p runs with random weights made on the GPU (no checkpoint fits this disk):
  # E2E_A14B_STEPS steps at E2E_A14B_SIZE with E2E_A14B_T5_LAYERS text-encoder layers (default 1;
  # 24 is the real one), one GPU then CFG-parallel, in each of E2E_A14B_PRECISIONS (default bf16);
  # E2E_A14B_ARGS adds flags (e.g. "--offload true").
  [[ "${E2E_A14B:-1}" == 1 ]] && for mode in "" $( ((gpus > 1)) && echo --cfg-parallel); do
    for prec in ${E2E_A14B_PRECISIONS:-bf16}; do
      stamp "== wan bench e2e --random t2v-A14B ${E2E_A14B_SIZE:-1280*720} ${E2E_A14B_STEPS:-2} steps $mode --precision $prec"
      build/device/wan bench e2e --random t2v-A14B --size "${E2E_A14B_SIZE:-1280*720}" --t5-layers "${E2E_A14B_T5_LAYERS:-1}" \
        --steps "${E2E_A14B_STEPS:-2}" --precision "$prec" $mode ${E2E_A14B_ARGS:-} 2>&1 | tee -a "$OUT/bench_e2e.txt" | grep -vE "^JSON|^device"
    done
  done
  [[ "${E2E_5B:-1}" == 1 ]] || { stamp "done"; exit 0; }
  random_5b_checkpoint
  for mode in "" "--cfg-parallel" "--ulysses $gpus"; do
    stamp "== wan bench e2e ti2v-5B ${E2E_STEPS:-10} steps $mode"
    build/device/wan bench e2e --ckpt-dir "$ckpt" --steps "${E2E_STEPS:-10}" $mode 2>&1 | tee -a "$OUT/bench_e2e.txt" | grep -vE "^JSON|^device"
  done
  stamp "done"
fi
