/* Checking a request before loading anything (C API): wan_resolve_params fills in the task's
 * official defaults, validates the request and the checkpoint folder, and, on a GPU, whether the
 * run fits its free memory -- in milliseconds, where loading an A14B checkpoint takes minutes.
 *
 *   validate_request CHECKPOINT_DIR [WIDTH HEIGHT FRAMES]
 *   validate_request --demo DATA_DIR [WIDTH HEIGHT FRAMES] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_checkpoint.h"
#include "wan/wan.h"

int main(int argc, char** argv) {
  if (!example_args_ok(argc, argv, " [WIDTH HEIGHT FRAMES]")) return 2;
  const int demo = strcmp(argv[1], "--demo") == 0;
  const char* checkpoint = example_checkpoint(argv);
  if (!checkpoint) return 1;
  const int first = demo ? 3 : 2;

  wan_context_params cp = wan_context_default_params();
  cp.checkpoint_dir = checkpoint;
  if (wan_cuda_available()) cp.device = WAN_DEVICE_CUDA;
  printf("GPU: %s\n", wan_cuda_device_summary());

  wan_generate_params gp = wan_generate_default_params();
  gp.prompt = "a hot-air balloon over a canyon";
  if (argc >= first + 3) {
    gp.width = atoi(argv[first]);
    gp.height = atoi(argv[first + 1]);
    gp.frames = atoi(argv[first + 2]);
  }
  wan_generate_params resolved;
  const wan_status s = wan_resolve_params(&cp, &gp, &resolved);
  if (s != WAN_OK) {
    printf("refused (%s): %s\n", wan_status_string(s), wan_last_error());
    return 1;
  }
  printf("ok: %dx%d, %d frames, %d steps, shift %g, guide %g/%g\n", resolved.width, resolved.height, resolved.frames,
         resolved.steps, resolved.shift, resolved.guide_scale_low, resolved.guide_scale_high);
  return 0;
}
