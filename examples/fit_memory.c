/* Fitting a run into the GPU memory there is (C API). For the official T2V-A14B it asks
 * wan_predict_memory about each way to run, in order of preference:
 *   720p, both experts on the GPU         (fastest; needs an 80 GB card)
 *   720p, the inactive expert offloaded   (one expert on the GPU, the other in host memory)
 *   480p, the inactive expert offloaded   (a smaller video)
 * and takes the first that fits the GPU's free memory, or the budget given with --gpu-gib (to see
 * what a smaller card would do). Then it makes a short video with the chosen offload setting on
 * the given checkpoint (the demo's on this machine's device).
 *
 *   fit_memory CHECKPOINT_DIR [--gpu-gib N]
 *   fit_memory --demo DATA_DIR [--gpu-gib N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_checkpoint.h"
#include "wan/wan.h"

struct choice {
  const char* name;
  int width, height;
  wan_offload offload;
};

int main(int argc, char** argv) {
  if (!example_args_ok(argc, argv, " [--gpu-gib N]")) return 2;
  const char* checkpoint = example_checkpoint(argv);
  if (!checkpoint) return 1;
  const int next = strcmp(argv[1], "--demo") == 0 ? 3 : 2; /* the first argument after the checkpoint's */
  double budget = -1; /* GiB; <0: the GPU's free memory */
  if (argc > next + 1 && strcmp(argv[next], "--gpu-gib") == 0) budget = atof(argv[next + 1]);

  const struct choice choices[] = {{"720p, both experts on the GPU", 1280, 720, WAN_OFFLOAD_OFF},
                                   {"720p, the inactive expert offloaded", 1280, 720, WAN_OFFLOAD_ON},
                                   {"480p, the inactive expert offloaded", 832, 480, WAN_OFFLOAD_ON}};
  const struct choice* chosen = NULL;
  for (size_t i = 0; i < sizeof choices / sizeof choices[0]; ++i) {
    wan_context_params official = wan_context_default_params();
    official.task = "t2v-A14B"; /* the real model's sizes; no checkpoint needed to plan */
    official.offload = choices[i].offload;
    wan_generate_params req = wan_generate_default_params();
    req.width = choices[i].width;
    req.height = choices[i].height;
    wan_memory_prediction m;
    if (wan_predict_memory(&official, &req, &m) != WAN_OK) {
      fprintf(stderr, "error: %s\n", wan_last_error());
      return 1;
    }
    const double have = budget >= 0 ? budget : m.free_gib;
    const int fits = have >= m.peak_gib;
    printf("%-40s %5.1f GiB (%d expert%s %.1f, VAE decode %.1f) %s %.1f GiB\n", choices[i].name, m.peak_gib,
           m.experts, m.experts == 1 ? "" : "s", m.dit_weights_gib, m.vae_decode_gib, fits ? "fits" : "exceeds",
           have);
    if (fits && !chosen) chosen = &choices[i];
  }
  if (!chosen) {
    printf("nothing fits: run on the CPU (WAN_DEVICE_CPU), or on a card with more memory\n");
    return 0;
  }
  printf("chosen: %s\n", chosen->name);

  /* A short run with that choice (the demo is tiny: its size, not the chosen one). */
  wan_context_params cp = wan_context_default_params();
  cp.checkpoint_dir = checkpoint;
  cp.device = wan_cuda_available() ? WAN_DEVICE_CUDA : WAN_DEVICE_CPU;
  cp.offload = chosen->offload;
  wan_context* ctx = NULL;
  if (wan_context_create(&cp, &ctx) != WAN_OK) {
    fprintf(stderr, "error: %s\n", wan_last_error());
    return 1;
  }
  wan_generate_params gp = wan_generate_default_params();
  gp.prompt = "a lighthouse in a storm, waves breaking on the rocks";
  gp.width = 96;
  gp.height = 64;
  gp.frames = 5;
  gp.steps = 3;
  gp.seed = 7;
  wan_generate_result result;
  const wan_status s = wan_generate(ctx, &gp, &result);
  if (s == WAN_OK)
    printf("made %d frames of %dx%d on the %s, experts %s\n", result.frames, result.width, result.height,
           cp.device == WAN_DEVICE_CUDA ? "GPU" : "CPU",
           wan_context_offloads_experts(ctx) ? "one at a time on the GPU" : "where the device keeps them");
  else
    fprintf(stderr, "error: %s\n", wan_last_error());
  wan_context_free(ctx);
  return s == WAN_OK ? 0 : 1;
}
