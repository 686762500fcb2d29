#!/usr/bin/env bash
# End-to-end tests of `wan generate` on the demo checkpoint: the mp4 that ffprobe reads, PNG
# frames, every bad input (non-zero exit, a message naming the problem, no file left behind),
# and Ctrl-C. Usage: generate_test.sh WAN_BINARY
source "$(dirname "$0")/harness.sh"

# expect_error NAME PATTERN ARGS...: exit code != 0, stderr matches PATTERN, $work/out stays empty.
expect_error() {
  local name="$1" pattern="$2"; shift 2
  rm -rf "$work/out"; mkdir -p "$work/out"
  "$WAN" generate --output "$work/out/v.mp4" "$@" >"$work/stdout" 2>"$work/stderr"
  local rc=$?
  if [[ $rc -eq 0 ]]; then bad "$name: exit code 0"; return; fi
  if ! grep -q -- "$pattern" "$work/stderr"; then bad "$name: no '$pattern' in: $(cat "$work/stderr")"; return; fi
  if [[ -n "$(ls -A "$work/out")" ]]; then bad "$name: left files: $(ls -A "$work/out")"; return; fi
  ok "$name"
}

# The demo end to end: 17 frames of 96x64 at 16 fps, H.264 yuv420p, and 17 PNGs.
mkdir -p "$work/out"
if "$WAN" generate --output "$work/out/demo.mp4" --frames-dir "$work/frames" --seed 7 >"$work/stdout" 2>"$work/stderr"; then
  info=$(ffprobe -v error -select_streams v:0 -count_frames \
    -show_entries stream=codec_name,width,height,pix_fmt,r_frame_rate,nb_read_frames -of csv=p=0 "$work/out/demo.mp4")
  [[ "$info" == "h264,96,64,yuv420p,16/1,17" ]] && ok "demo mp4 ($info)" || bad "demo mp4: ffprobe says '$info'"
  [[ $(ls "$work/frames"/frame_*.png | wc -l) -eq 17 ]] && ok "demo png frames" || bad "demo png frames: $(ls "$work/frames" | wc -l)"
  grep -q "repeat with --seed 7" "$work/stdout" && ok "seed printed" || bad "seed not printed"
  grep -q "settings: DiT experts and VAE decoder on the CPU (--device), text encoder on the CPU (--t5-cpu), f32 throughout, one process" "$work/stdout" && ok "settings printed" || bad "settings line: $(grep settings "$work/stdout")"
  [[ $(ls -A "$work/out") == "demo.mp4" ]] && ok "no temporary files" || bad "left: $(ls -A "$work/out")"
else
  bad "demo run failed: $(tail -5 "$work/stderr")"
fi

# The demo folder named as a real one (so its warnings show): a non-official size warns once,
# although the request is checked before loading and again by the run.
if "$WAN" generate --ckpt-dir "$WAN_DEMO_CHECKPOINT" --size 96*64 --frames 5 --steps 2 --seed 3 \
     --output "$work/out/warn.mp4" >"$work/stdout" 2>"$work/stderr"; then
  n=$(grep -c "is not one of t2v-A14B's official sizes" "$work/stderr")
  [[ $n -eq 1 ]] && ok "size warning printed once" || bad "size warning printed $n times: $(cat "$work/stderr")"
else
  bad "non-official size run failed: $(tail -5 "$work/stderr")"
fi
rm -f "$work/out/warn.mp4"

# Official spellings and two guide scales; a random seed is printed.
if "$WAN" generate --output "$work/out/b.mp4" --sample_steps 2 --frame_num 5 --size 64x32 \
     --sample_guide_scale 3,4 --sample_solver dpm++ --base_seed -1 >"$work/stdout" 2>"$work/stderr"; then
  n=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames,width -of csv=p=0 "$work/out/b.mp4")
  [[ "$n" == "64,5" ]] && ok "official flag spellings" || bad "official flags: '$n'"
  grep -q "repeat with --seed [0-9]" "$work/stdout" && ok "random seed printed" || bad "random seed not printed"
else
  bad "official flags run failed: $(tail -3 "$work/stderr")"
fi

expect_error "frame count 4n+1" "must be 4n+1" --frames 10
expect_error "size multiple of 16" "not a multiple of 16" --size 100*64
expect_error "size syntax" "must be W\*H or WxH" --size 100-64
expect_error "solver name" "unknown sample solver 'ddim'" --solver ddim
expect_error "guide scale" "must be a number or LOW,HIGH" --guide-scale high
expect_error "missing folder" "no such checkpoint folder" --ckpt-dir "$work/none"
expect_error "unknown task" "unknown task 'i2v-A14B'" --task i2v-A14B
if ! nvidia-smi -L >/dev/null 2>&1; then expect_error "device without a GPU" "\-\-device cuda: " --device cuda; fi
expect_error "device name" "must be cpu or cuda" --device tpu
expect_error "unknown option" "unknown option '--sample-stepz'" --sample-stepz 3
expect_error "output extension" "must end in .mp4" --output "$work/out/v.avi"
cp -r "$WAN_DEMO_CHECKPOINT" "$work/incomplete"
rm "$work/incomplete/Wan2.1_VAE.pth" "$work/incomplete/low_noise_model/"*.safetensors*
expect_error "incomplete checkpoint names the VAE" "Wan2.1_VAE.pth" --ckpt-dir "$work/incomplete"
expect_error "incomplete checkpoint names the expert" "low_noise_model/" --ckpt-dir "$work/incomplete"
printf 'garbage' > "$work/incomplete/Wan2.1_VAE.pth"; cp "$WAN_DEMO_CHECKPOINT/low_noise_model/"*.safetensors* "$work/incomplete/low_noise_model/"
expect_error "corrupt VAE file" "Wan2.1_VAE.pth" --ckpt-dir "$work/incomplete"

# Ctrl-C between steps: exit 130, no video, no temporary file.
rm -rf "$work/out"; mkdir -p "$work/out"
"$WAN" generate --output "$work/out/c.mp4" --steps 400 >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 100); do grep -q "step 1/400" "$work/stderr" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
if [[ $rc -eq 130 && -z "$(ls -A "$work/out")" ]] && grep -q "stopped by Ctrl-C" "$work/stderr"; then
  ok "Ctrl-C stops cleanly"
else
  bad "Ctrl-C: exit $rc, files: $(ls -A "$work/out"), stderr: $(tail -2 "$work/stderr")"
fi

finish
