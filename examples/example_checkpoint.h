/* example_checkpoint.h: the examples' first argument, shared by the C examples.
 *
 * example_args_ok: argv holds CHECKPOINT_DIR, or --demo DATA_DIR; otherwise prints the usage
 * (`more`: the example's own further arguments, e.g. " [--gpu-gib N]") and returns 0.
 *
 * argv[1] is a checkpoint folder in the official layout, or --demo with argv[2] the source tree's
 * tests/data: then the built-in demo checkpoint (tiny random weights, so its videos are noise) is
 * assembled into ./wan-demo-checkpoint on first use. The caller has checked that --demo has its
 * DATA_DIR. Returns the folder to load, or NULL after printing why. */
#ifndef WAN_EXAMPLE_CHECKPOINT_H
#define WAN_EXAMPLE_CHECKPOINT_H

#include <stdio.h>
#include <string.h>

#include "wan/wan.h"

static int example_args_ok(int argc, char** argv, const char* more) {
  if (argc >= 2 && !(strcmp(argv[1], "--demo") == 0 && argc < 3)) return 1;
  fprintf(stderr, "usage: %s CHECKPOINT_DIR | --demo DATA_DIR%s\n", argv[0], more);
  return 0;
}

static const char* example_checkpoint(char** argv) {
  static const char* const demo_dir = "wan-demo-checkpoint";
  if (strcmp(argv[1], "--demo") != 0) return argv[1];
  if (wan_prepare_demo_checkpoint(argv[2], demo_dir) != WAN_OK) {
    fprintf(stderr, "error: %s\n", wan_last_error());
    return NULL;
  }
  return demo_dir;
}

#endif /* WAN_EXAMPLE_CHECKPOINT_H */
