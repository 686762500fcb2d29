// The launcher for several GPUs on one host (dist/parallel.h): starts one copy of this program
// per GPU with the rank variables set (`wan generate --cfg-parallel` / `--ulysses N`, and the
// multi-GPU tests), waits for them, and stops the others as soon as one fails (a rank left
// alone would wait forever in a collective).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dist/process_group.h"

namespace wan::dist {

// Runs this program (/proc/self/exe) with `args` as `world` processes, one per GPU, and returns
// the exit code: 0 when all succeed, else the first failure's (128 + signal for a rank killed by
// a signal). Throws before starting anything when there are too few GPUs or no NCCL.
int launch_ranks(int world, const std::vector<std::string>& args);

// The start of a command that runs on config.world() GPUs. In the user's process (no rank in the
// environment): runs the command (`args`, as for launch_ranks) once per GPU and returns its exit
// code. In a rank: joins the others into `group` and returns nullopt. On one GPU: nullopt and no
// group.
std::optional<int> launch_or_join(const ParallelConfig& config, const std::vector<std::string>& args,
                                  std::shared_ptr<const ProcessGroup>& group);

// What launch_ranks does once the ranks' environments are known: `program` with `args` as `world`
// processes, process r with this environment plus `environment(r)` ("NAME=value" strings); on the
// first failure the others get SIGTERM, and SIGKILL after `grace_seconds`.
int run_processes(const std::string& program, int world, const std::vector<std::string>& args,
                  const std::function<std::vector<std::string>(int rank)>& environment, double grace_seconds = 10);

}  // namespace wan::dist
