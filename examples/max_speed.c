/* The fastest way this machine can make a video (C API):
 *   device     WAN_DEVICE_CUDA when there is a GPU (else the CPU with every core)
 *   precision  WAN_PRECISION_FP8: E4M3 weights and activations (Ada or later) and self-attention
 *              (Hopper); the context falls back to bf16 on an older GPU and says so
 *   offload    WAN_OFFLOAD_OFF: both T2V-A14B experts stay on the GPU (no swap at the boundary)
 *              when the memory prediction says they fit; otherwise AUTO lets the library decide
 *   t5_cpu     0: the text encoder on the GPU too
 * The choices are checked before loading (wan_resolve_params; FP8 on the CPU is refused, which
 * this program shows), then one short video is made and its time printed.
 *
 *   max_speed CHECKPOINT_DIR
 *   max_speed --demo DATA_DIR */
#include <stdio.h>
#include <string.h>

#include "example_checkpoint.h"
#include "wan/wan.h"

int main(int argc, char** argv) {
  if (!example_args_ok(argc, argv, "")) return 2;
  const char* checkpoint = example_checkpoint(argv);
  if (!checkpoint) return 1;
  wan_generate_params gp = wan_generate_default_params();
  gp.prompt = "a hummingbird hovering at a red flower, slow motion";
  gp.width = 96; /* small for a quick run; 0 takes the task's official size */
  gp.height = 64;
  gp.frames = 5;
  gp.steps = 3;
  gp.seed = 7;

  wan_context_params cp = wan_context_default_params();
  cp.checkpoint_dir = checkpoint;
  cp.precision = WAN_PRECISION_FP8;
  cp.device = WAN_DEVICE_CPU;
  /* FP8 is a GPU mode: on the CPU (the f32 reference) it is refused before anything loads. */
  const wan_status refused = wan_resolve_params(&cp, &gp, NULL);
  if (refused == WAN_OK) {
    fprintf(stderr, "error: FP8 on the CPU was accepted\n");
    return 1;
  }
  printf("%-28s refused (%s): %s\n", "FP8 on the CPU", wan_status_string(refused), wan_last_error());

  if (wan_cuda_available()) {
    cp.device = WAN_DEVICE_CUDA;
    cp.offload = WAN_OFFLOAD_OFF;
    if (wan_resolve_params(&cp, &gp, NULL) != WAN_OK) { /* both experts do not fit: let the library place them */
      printf("%-28s %s\n", "both experts resident", wan_last_error());
      cp.offload = WAN_OFFLOAD_AUTO;
    }
  } else {
    cp.precision = WAN_PRECISION_BF16; /* the CPU computes in f32 either way */
    cp.threads = 0;                    /* every core */
    printf("no GPU (%s): the CPU with every core\n", wan_cuda_device_summary());
  }
  wan_context* ctx = NULL;
  if (wan_context_create(&cp, &ctx) != WAN_OK) {
    fprintf(stderr, "error: %s\n", wan_last_error());
    return 1;
  }
  printf("running on the %s, DiT in %s%s\n", cp.device == WAN_DEVICE_CUDA ? "GPU" : "CPU",
         cp.device == WAN_DEVICE_CPU                          ? "f32"
         : wan_context_precision(ctx) == WAN_PRECISION_FP8 ? "FP8"
                                                              : "bf16 (this GPU has no FP8)",
         wan_context_offloads_experts(ctx) ? ", one expert on the GPU at a time" : "");
  wan_generate_result result;
  const wan_status s = wan_generate(ctx, &gp, &result);
  if (s == WAN_OK)
    printf("made %d frames of %dx%d in %.2f s (seed %lld)\n", result.frames, result.width, result.height,
           result.seconds, (long long)result.seed);
  else
    fprintf(stderr, "error: %s\n", wan_last_error());
  wan_context_free(ctx);
  return s == WAN_OK ? 0 : 1;
}
