// The subcommands of `wan`. Each takes its arguments (after the subcommand name) and returns the
// process exit code; errors are thrown as wan::Error and reported by main.
#pragma once

#include <string>
#include <vector>

namespace wan::cli {

int cmd_info(const std::vector<std::string>& args);
int cmd_dit(const std::vector<std::string>& args);

// The folder of the built-in demo data (the golden tiny checkpoints).
std::string demo_dir();

}  // namespace wan::cli
