/* Basic text to video through the C API: load a checkpoint, make one video, write it as mp4.
 *
 *   basic_text_to_video CHECKPOINT_DIR OUTPUT.mp4 ["prompt"]
 *   basic_text_to_video --demo DATA_DIR OUTPUT.mp4      (the built-in demo: tiny, makes noise)
 *
 * Only the prompt and the output are set; everything else takes the task's official defaults
 * (T2V-A14B: 1280x720, 81 frames, 40 steps). */
#include <stdio.h>
#include <string.h>

#include "example_checkpoint.h"
#include "wan/wan.h"

static int print_progress(void* user_data, const wan_progress* p) {
  (void)user_data;
  if (p->step == 0)
    fprintf(stderr, "%s...\n", p->stage);
  else
    fprintf(stderr, "step %d/%d (t=%d)\n", p->step, p->total_steps, p->timestep);
  return 0; /* nonzero would stop the run */
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CHECKPOINT_DIR OUTPUT.mp4 [prompt]\n       %s --demo DATA_DIR OUTPUT.mp4\n", argv[0],
            argv[0]);
    return 2;
  }
  const int demo = strcmp(argv[1], "--demo") == 0;
  if (demo && argc < 4) {
    fprintf(stderr, "--demo needs DATA_DIR (the source tree's tests/data) and OUTPUT.mp4\n");
    return 2;
  }
  const char* checkpoint = example_checkpoint(argv);
  if (!checkpoint) return 1;
  const char* output = demo ? argv[3] : argv[2];

  wan_context_params cp = wan_context_default_params();
  cp.checkpoint_dir = checkpoint;
  if (wan_cuda_available()) cp.device = WAN_DEVICE_CUDA; /* the DiT on the GPU when there is one */
  wan_context* ctx = NULL;
  wan_status status = wan_context_create(&cp, &ctx);
  if (status != WAN_OK) {
    fprintf(stderr, "error (%s): %s\n", wan_status_string(status), wan_last_error());
    return 1;
  }

  wan_generate_params gp = wan_generate_default_params();
  gp.prompt = (!demo && argc > 3) ? argv[3] : "A red fox trots through fresh snow at dawn, steam rising from its breath.";
  gp.output_path = output;
  gp.on_progress = print_progress;
  if (demo) { /* the demo's tiny models: a small, quick video */
    gp.width = 96;
    gp.height = 64;
    gp.frames = 9;
    gp.steps = 4;
  }
  wan_generate_result result;
  status = wan_generate(ctx, &gp, &result);
  if (status != WAN_OK) {
    fprintf(stderr, "error (%s): %s\n", wan_status_string(status), wan_last_error());
    wan_context_free(ctx);
    return 1;
  }
  printf("wrote %s: %d frames of %dx%d, seed %lld, %.1f s\n", output, result.frames, result.width, result.height,
         (long long)result.seed, result.seconds);
  wan_context_free(ctx);
  return 0;
}
