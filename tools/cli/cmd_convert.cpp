// wan convert SRC DST: a checkpoint folder rewritten once in the compute dtype (bf16 by default)
// for fast reloads, through the public API (wan_convert_checkpoint).
#include <chrono>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "cli_error.h"
#include "wan/wan.hpp"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"dtype", true, "bf16, f16, f32 or fp8 (default bf16; fp8: the blocks' weights as --precision fp8 runs them)", {}},
    {"shard-gb", true, "largest shard in GB (default 5)", {}},
    {"help", false, "show this help", {"h"}},
};

}  // namespace

int cmd_convert(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "convert");
  if (args.has("help")) {
    std::printf("usage: wan convert SRC DST [--dtype bf16|f16|f32|fp8] [--shard-gb N]\n\nSRC is an official checkpoint "
                "folder (T2V-A14B, TI2V-5B) or one DiT folder; DST, a new folder, gets the same layout with the DiT "
                "weights in DTYPE\nand every other file linked or copied.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  CLI_CHECK(args.positionals().size() == 2, "wan convert takes SRC and DST; see 'wan convert --help'");
  const std::string dtype_name = args.get_or("dtype", "bf16");
  CLI_CHECK(dtype_name == "bf16" || dtype_name == "f16" || dtype_name == "f32" || dtype_name == "fp8",
            "--dtype must be bf16, f16, f32 or fp8, got '", dtype_name, "'");
  const double shard_gb = args.get_double("shard-gb", 5);
  CLI_CHECK(shard_gb > 0, "--shard-gb must be positive");
  const auto t0 = std::chrono::steady_clock::now();
  const wan_convert_report r =
      api::convert_checkpoint(args.positionals()[0], args.positionals()[1], dtype_name, int64_t(shard_gb * 1e9));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s: %lld DiT folder(s), %lld tensors in %lld shard(s), %.3f GB read -> %.3f GB written (%s), "
              "%lld other file(s) linked or copied, %.1f s\n",
              args.positionals()[1].c_str(), (long long)r.dit_folders, (long long)r.tensors, (long long)r.shards,
              double(r.bytes_read) / 1e9, double(r.bytes_written) / 1e9, dtype_name.c_str(), (long long)r.other_files,
              s);
  return 0;
}

}  // namespace wan::cli
