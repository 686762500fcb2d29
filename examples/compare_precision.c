/* Comparing precision modes on one seed (C API): the same request through every mode this machine
 * has, each compared frame by frame with the first, the CPU's f32 reference:
 *   CPU f32 again   the reference repeated: identical (the engine is deterministic)
 *   GPU bf16        the official --convert_model_dtype arithmetic and a bf16 VAE decoder
 *   GPU fp8         E4M3 weights and activations (Ada or later) and self-attention (Hopper)
 * For each: PSNR over all frames, the largest difference of a pixel channel (0-255) and the frame
 * where the two differ most. (`wan compare A.mp4 B.mp4` does the same for two files.) The demo
 * checkpoint's tiny random weights make noise videos; on a real checkpoint the numbers say what a
 * mode costs in picture.
 *
 *   compare_precision CHECKPOINT_DIR
 *   compare_precision --demo DATA_DIR */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_checkpoint.h"
#include "wan/wan.h"

/* A whole video's RGB frames, filled by the frames callback. */
struct video {
  int width, height, count;
  uint8_t* rgb;
};

static int collect(void* user_data, const wan_frames* f) {
  struct video* v = (struct video*)user_data;
  const size_t frame = (size_t)f->width * (size_t)f->height * 3;
  uint8_t* grown = (uint8_t*)realloc(v->rgb, frame * (size_t)(f->first_index + f->count));
  if (!grown) return 1; /* stop: out of host memory */
  v->rgb = grown;
  memcpy(v->rgb + frame * (size_t)f->first_index, f->rgb, frame * (size_t)f->count);
  v->width = f->width;
  v->height = f->height;
  v->count = f->first_index + f->count;
  return 0;
}

/* One video with `cp`; 0 on success. */
static int make(const wan_context_params* cp, wan_generate_params gp, struct video* out, wan_precision* ran) {
  wan_context* ctx = NULL;
  if (wan_context_create(cp, &ctx) != WAN_OK) {
    fprintf(stderr, "error: %s\n", wan_last_error());
    return 1;
  }
  *ran = wan_context_precision(ctx);
  memset(out, 0, sizeof *out);
  gp.on_frames = collect;
  gp.user_data = out;
  const wan_status s = wan_generate(ctx, &gp, NULL);
  if (s != WAN_OK) fprintf(stderr, "error: %s\n", wan_last_error());
  wan_context_free(ctx);
  return s == WAN_OK ? 0 : 1;
}

static void compare(const char* name, const struct video* ref, const struct video* v) {
  if (v->width != ref->width || v->height != ref->height || v->count != ref->count) {
    printf("%-16s a different video: %dx%d x %d frames\n", name, v->width, v->height, v->count);
    return;
  }
  const size_t frame = (size_t)v->width * (size_t)v->height * 3;
  double total = 0, worst_mse = -1;
  int max_diff = 0, worst = 0;
  for (int f = 0; f < v->count; ++f) {
    double sq = 0;
    for (size_t i = 0; i < frame; ++i) {
      const int d = (int)v->rgb[(size_t)f * frame + i] - (int)ref->rgb[(size_t)f * frame + i];
      sq += (double)d * d;
      if (abs(d) > max_diff) max_diff = abs(d);
    }
    total += sq;
    if (sq / (double)frame > worst_mse) {
      worst_mse = sq / (double)frame;
      worst = f;
    }
  }
  const double mse = total / ((double)frame * v->count);
  if (mse == 0) printf("%-16s identical\n", name);
  else
    printf("%-16s PSNR %.2f dB, max difference %d, worst frame %d (PSNR %.2f dB)\n", name,
           10 * log10(255.0 * 255.0 / mse), max_diff, worst, 10 * log10(255.0 * 255.0 / worst_mse));
}

int main(int argc, char** argv) {
  if (!example_args_ok(argc, argv, "")) return 2;
  const char* checkpoint = example_checkpoint(argv);
  if (!checkpoint) return 1;
  wan_generate_params gp = wan_generate_default_params();
  gp.prompt = "a red kite over a windy beach";
  gp.width = 96; /* small for a quick run; 0 takes the task's official size */
  gp.height = 64;
  gp.frames = 5;
  gp.steps = 3;
  gp.seed = 2026; /* one seed for every mode */

  wan_context_params cp = wan_context_default_params();
  cp.checkpoint_dir = checkpoint;
  wan_precision ran;
  struct video ref, v;
  if (make(&cp, gp, &ref, &ran)) return 1;
  printf("reference: CPU f32, %d frames of %dx%d\n", ref.count, ref.width, ref.height);
  if (make(&cp, gp, &v, &ran)) return 1;
  compare("CPU f32 again", &ref, &v);
  free(v.rgb);
  if (!wan_cuda_available()) {
    printf("no GPU (%s): no GPU modes to compare\n", wan_cuda_device_summary());
  } else {
    cp.device = WAN_DEVICE_CUDA;
    const wan_precision modes[2] = {WAN_PRECISION_BF16, WAN_PRECISION_FP8};
    for (int m = 0; m < 2; ++m) {
      cp.precision = modes[m];
      if (make(&cp, gp, &v, &ran)) return 1;
      if (ran != modes[m]) printf("GPU fp8          not on this GPU (ran bf16): skipped\n");
      else compare(modes[m] == WAN_PRECISION_FP8 ? "GPU fp8" : "GPU bf16", &ref, &v);
      free(v.rgb);
    }
  }
  free(ref.rgb);
  return 0;
}
