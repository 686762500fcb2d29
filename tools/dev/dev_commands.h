// The subcommands of `wan-dev`, the engine developers' instruments: they look inside the engine
// (one DiT forward on the CPU reference with a golden case; the FP8 error block by block), so
// they link its internals, unlike `wan`, which uses only the public API. Each takes its arguments
// (after the subcommand name) and returns the exit code; errors are thrown as wan::Error.
#pragma once

#include <string>
#include <vector>

#include "commands.h"  // data_dir(), demo_checkpoint_dir()

namespace wan::cli {

int cmd_dit(const std::vector<std::string>& args);
int cmd_fp8(const std::vector<std::string>& args);

}  // namespace wan::cli
