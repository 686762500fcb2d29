#!/usr/bin/env bash
# `wan compare` on videos with known differences: identical (the demo mp4 with itself, and its
# PNG frames), one frame changed (reported as the worst frame, the others identical), a constant
# offset (PSNR 20·log10(255/10) = 28.13 dB), thresholds (exit 1 with FAIL), and mismatches.
# Usage: compare_test.sh WAN_BINARY (needs ffmpeg for the flat-colour frames).
source "$(dirname "$0")/harness.sh"
# check NAME EXPECTED_RC PATTERN ARGS...
check() {
  local name="$1" want_rc="$2" pattern="$3"; shift 3
  "$WAN" compare "$@" >"$work/out.txt" 2>&1
  local rc=$?
  if [[ $rc -ne $want_rc ]]; then bad "$name: exit $rc, expected $want_rc: $(cat "$work/out.txt")"; return; fi
  if ! grep -q -- "$pattern" "$work/out.txt"; then bad "$name: no '$pattern' in: $(cat "$work/out.txt")"; return; fi
  ok "$name"
}

"$WAN" generate --output "$work/a.mp4" --frames-dir "$work/A" --seed 5 >/dev/null 2>&1 || { echo "FAILED: generate"; exit 1; }
check "identical mp4" 0 "PSNR: mean inf (identical)" "$work/a.mp4" "$work/a.mp4" --min-psnr 40
check "identical mp4 passes a threshold" 0 "PASS" "$work/a.mp4" "$work/a.mp4" --min-psnr 40 --min-ssim 0.99
check "identical PNG frames" 0 "17 frames of 96x64" "$work/A" "$work/A"

cp -r "$work/A" "$work/B"
cp "$work/A/frame_00010.png" "$work/B/frame_00003.png"
check "one frame changed is the worst" 0 "worst frame: 3 (PSNR [0-9.]* dB" "$work/A" "$work/B"
check "one frame changed: the others identical" 0 "over 1 differing frames" "$work/A" "$work/B"
check "one frame changed fails a threshold" 1 "FAIL" "$work/A" "$work/B" --min-psnr 30

mkdir -p "$work/C" "$work/D"
# Flat RGB frames made directly in rgb24 (no YUV rounding): 0x50 and 0x5a everywhere.
ffmpeg -loglevel error -f lavfi -i "color=c=0x505050:s=64x48,format=rgb24" -frames:v 3 "$work/C/frame_%05d.png"
ffmpeg -loglevel error -f lavfi -i "color=c=0x5a5a5a:s=64x48,format=rgb24" -frames:v 3 "$work/D/frame_%05d.png"
check "constant offset of 10: PSNR 28.13 dB" 0 "PSNR: mean 28.13[0-9]* dB over 3 differing frames" "$work/C" "$work/D"
check "constant offset: max difference 10" 0 "max difference 10" "$work/C" "$work/D"

mkdir -p "$work/E"; for f in $(ls "$work/C" | head -2); do cp "$work/C/$f" "$work/E/"; done
check "frame counts differ" 1 "has 3 frames but .* has 2" "$work/C" "$work/E"
last=$(ls "$work/D" | tail -1); cp "$work/A/frame_00000.png" "$work/D/$last"
check "frame sizes differ" 1 "is 64x48 but" "$work/C" "$work/D"
check "missing file" 1 "no such file or folder" "$work/none.mp4" "$work/a.mp4"
check "not a video" 1 "cannot open" "$work/A/../out.txt" "$work/a.mp4"

finish
