#!/usr/bin/env bash
# `wan generate` over two GPUs on the demo checkpoint: CFG-parallel gives the one-GPU video (same
# seed; PSNR >= 40 dB over 8-bit frames), only rank 0 writes, and a bad Ulysses degree (the demo
# has one head) fails before anything loads. Exit 77 (skipped) below 2 GPUs or without FFmpeg.
# Usage: multi_gpu_test.sh WAN_BINARY
source "$(dirname "$0")/harness.sh"
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
if [[ ${gpus:-0} -lt 2 ]]; then echo "skipped: needs 2 GPUs, found ${gpus:-0}"; exit 77; fi
if "$WAN" info --system 2>&1 | grep -q "video output: none"; then echo "skipped: this build has no FFmpeg to write videos"; exit 77; fi

run() { "$WAN" generate --device cuda --seed 9 --frames 9 "$@" >"$work/log.txt" 2>&1; }
if run --output "$work/one.mp4" --frames-dir "$work/one"; then ok "one GPU"; else bad "one GPU: $(cat "$work/log.txt")"; fi
if run --cfg-parallel --output "$work/two.mp4" --frames-dir "$work/two"; then
  ok "CFG-parallel over 2 GPUs"
  grep -q "starting 2 processes, one per GPU (CFG-parallel)" "$work/log.txt" && ok "launcher says so" ||
    bad "launcher line missing: $(cat "$work/log.txt")"
  [[ $(grep -c "^wrote" "$work/log.txt") -eq 2 ]] && ok "rank 0 alone writes (mp4 and PNG lines)" ||
    bad "expected two 'wrote' lines: $(cat "$work/log.txt")"
else
  bad "CFG-parallel: $(cat "$work/log.txt")"
fi
if "$WAN" compare "$work/one" "$work/two" --min-psnr 40 >"$work/cmp.txt" 2>&1; then ok "same video: $(grep PSNR "$work/cmp.txt")"
else bad "videos differ: $(cat "$work/cmp.txt")"; fi
if run --ulysses 2 --output "$work/u.mp4"; then bad "Ulysses 2 of 1 head was accepted"
elif grep -q "must divide the DiT's 1 attention heads" "$work/log.txt"; then ok "Ulysses degree refused"
else bad "Ulysses refusal: $(cat "$work/log.txt")"; fi
[[ ! -e "$work/u.mp4" ]] && ok "no file after the refusal" || bad "u.mp4 was written"
finish
