/* Choosing each setting by hand (C API), and what the library says about a choice it cannot run.
 * Every setting of wan_context_params has a default from wan_context_default_params(); a program
 * overrides what it wants and asks wan_resolve_params whether the choice can run, before loading:
 *   device        WAN_DEVICE_CPU or WAN_DEVICE_CUDA: where the DiT, the VAE and the text encoder run
 *   t5_cpu        keep the text encoder on the CPU even on CUDA (the official --t5_cpu)
 *   vae_f32       the GPU VAE decoder in f32 (as the official VAE) instead of bf16 (faster, less memory)
 *   precision     WAN_PRECISION_BF16 or WAN_PRECISION_FP8: the DiT's arithmetic on the GPU (FP8: Hopper
 *                 or later; refused on the CPU, which computes the f32 reference)
 *   threads       CPU threads (0: all cores)
 *   cfg_parallel  the two CFG branches on two GPUs; ulysses N: the tokens split over N GPUs.
 *                 Both need one process per GPU (`wan generate --cfg-parallel` starts them; see
 *                 wan_nccl_unique_id in wan.h to start them yourself).
 * Then it makes one short video with the settings this machine can run.
 *
 *   choose_settings CHECKPOINT_DIR
 *   choose_settings --demo DATA_DIR */
#include <stdio.h>
#include <string.h>

#include "example_checkpoint.h"
#include "wan/wan.h"

static int check(const char* what, const wan_context_params* cp, const wan_generate_params* gp) {
  const wan_status s = wan_resolve_params(cp, gp, NULL);
  if (s == WAN_OK) printf("%-40s ok\n", what);
  else printf("%-40s refused (%s): %s\n", what, wan_status_string(s), wan_last_error());
  return s == WAN_OK;
}

int main(int argc, char** argv) {
  if (!example_args_ok(argc, argv, "")) return 2;
  const char* checkpoint = example_checkpoint(argv);
  if (!checkpoint) return 1;
  printf("GPUs: %d (%s)\n", wan_cuda_device_count(), wan_cuda_device_summary());

  wan_generate_params gp = wan_generate_default_params();
  gp.prompt = "a paper boat drifting down a rain gutter";
  gp.width = 96; /* small sizes for a quick run; 0 takes the task's official default */
  gp.height = 64;
  gp.frames = 5;
  gp.steps = 3;
  gp.seed = 42;

  wan_context_params cp = wan_context_default_params();
  cp.checkpoint_dir = checkpoint;
  cp.threads = 2;
  check("CPU, 2 threads", &cp, &gp);

  cp.device = WAN_DEVICE_CUDA;
  cp.t5_cpu = 1;
  const int cuda_ok = wan_cuda_available() && check("CUDA, text encoder on the CPU", &cp, &gp);
  cp.vae_f32 = 1;
  if (cuda_ok) check("CUDA, f32 VAE decoder", &cp, &gp);
  cp.vae_f32 = 0;
  cp.precision = WAN_PRECISION_FP8;
  if (cuda_ok) check("CUDA, FP8 DiT", &cp, &gp);
  cp.device = WAN_DEVICE_CPU;
  check("CPU, FP8 DiT", &cp, &gp); /* FP8 is a GPU mode */
  cp.device = WAN_DEVICE_CUDA;
  cp.precision = WAN_PRECISION_BF16;

  cp.cfg_parallel = 1;
  cp.ulysses = 3;
  check("CUDA, CFG-parallel and Ulysses 3", &cp, &gp); /* 3 must divide the head count */
  cp.cfg_parallel = 0;
  cp.ulysses = 0;

  cp.device = WAN_DEVICE_CPU;
  cp.cfg_parallel = 1;
  check("CPU with CFG-parallel", &cp, &gp); /* several GPUs need CUDA */
  cp.cfg_parallel = 0;

  /* Run with what this machine can do. */
  cp.device = cuda_ok ? WAN_DEVICE_CUDA : WAN_DEVICE_CPU;
  cp.t5_cpu = 0;
  wan_context* ctx = NULL;
  if (wan_context_create(&cp, &ctx) != WAN_OK) {
    fprintf(stderr, "error: %s\n", wan_last_error());
    return 1;
  }
  wan_generate_result result;
  const wan_status s = wan_generate(ctx, &gp, &result);
  if (s == WAN_OK)
    printf("made %d frames of %dx%d on the %s in %.1f s (seed %lld)\n", result.frames, result.width, result.height,
           cp.device == WAN_DEVICE_CUDA ? "GPU" : "CPU", result.seconds, (long long)result.seed);
  else
    fprintf(stderr, "error: %s\n", wan_last_error());
  wan_context_free(ctx);
  return s == WAN_OK ? 0 : 1;
}
