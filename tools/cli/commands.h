// The subcommands of `wan`, built on the public API only (include/wan). Each takes its arguments
// (after the subcommand name) and returns the process exit code; errors are thrown as CommandError
// (cli_error.h: the CLI's own checks) or wan::api::Error and reported by run_command.
#pragma once

#include <string>
#include <vector>

namespace wan::cli {

int cmd_info(const std::vector<std::string>& args);
int cmd_generate(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_bench_vae(const std::vector<std::string>& args);
int cmd_bench_e2e(const std::vector<std::string>& args);
int cmd_bench_load(const std::vector<std::string>& args);
int cmd_compare(const std::vector<std::string>& args);
int cmd_convert(const std::vector<std::string>& args);
int cmd_random_checkpoint(const std::vector<std::string>& args);

// The demo data: tests/data of the source tree (WAN_DATA_DIR overrides), and the folder where the
// demo checkpoint is assembled (WAN_DEMO_CHECKPOINT overrides).
std::string data_dir();
std::string demo_checkpoint_dir();

}  // namespace wan::cli
