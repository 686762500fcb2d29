/* Checking a downloaded checkpoint before a long load (C API): wan_inspect_checkpoint reads only
 * the files' headers, so a missing expert, a truncated shard or a DiT whose tensors do not match its
 * config shows in milliseconds, part by part; a part's problem says what is wrong. Then the
 * largest tensors of the (low-noise) DiT, from wan_list_tensors.
 *
 *   check_download CHECKPOINT_DIR
 *   check_download --demo DATA_DIR
 *
 * Exit code 0 when every part is complete, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_checkpoint.h"
#include "wan/wan.h"

int main(int argc, char** argv) {
  if (!example_args_ok(argc, argv, "")) return 2;
  const char* checkpoint = example_checkpoint(argv);
  if (!checkpoint) return 1;

  /* The struct is large (every part's path and message): keep it off the stack. */
  wan_checkpoint_info* info = malloc(sizeof *info);
  if (!info) return 1;
  if (wan_inspect_checkpoint(checkpoint, info) != WAN_OK) {
    printf("not a checkpoint: %s\n", wan_last_error());
    free(info);
    return 1;
  }
  printf("%s: %s\n", checkpoint, info->task[0] ? info->task : "(not a whole checkpoint folder)");
  const char* dit = NULL;
  for (int i = 0; i < info->part_count; ++i) {
    const wan_checkpoint_part* p = &info->parts[i];
    printf("  %-17s %-8s %6lld tensors  %s\n", p->role, p->problem[0] ? "PROBLEM" : "ok", (long long)p->tensors,
           p->problem[0] ? p->problem : p->config);
    if (p->present && p->config[0]) dit = p->path; /* the last DiT: the low-noise expert for A14B */
  }
  const int complete = info->complete;

  if (dit) {
    int64_t count = 0;
    if (wan_list_tensors(dit, NULL, 0, &count) == WAN_OK && count > 0) {
      wan_tensor_info* tensors = malloc((size_t)count * sizeof *tensors);
      if (tensors && wan_list_tensors(dit, tensors, count, &count) == WAN_OK) {
        int64_t largest = 0; /* the index of the largest tensor */
        for (int64_t i = 1; i < count; ++i)
          if (tensors[i].bytes > tensors[largest].bytes) largest = i;
        printf("largest DiT tensor: %s, %s, %lld bytes\n", tensors[largest].name, tensors[largest].dtype,
               (long long)tensors[largest].bytes);
      }
      free(tensors);
    }
  }
  printf("%s\n", complete ? "complete: ready to load" : "incomplete: see the problems above");
  free(info);
  return complete ? 0 : 1;
}
