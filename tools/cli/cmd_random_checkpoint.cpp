// wan random-checkpoint OUT: a checkpoint folder in the official layout with random weights at
// the real sizes (or with fewer layers), for loading and whole-run tests without a download; on
// the public API (wan_write_random_checkpoint).
#include <chrono>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "cli_error.h"
#include "wan/wan.hpp"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"task", true, "t2v-A14B or ti2v-5B (default t2v-A14B)", {}},
    {"dit-layers", true, "DiT blocks (default: the real count, 40 / 30)", {}},
    {"t5-layers", true, "text encoder layers (default: the real 24)", {}},
    {"seed", true, "random seed (default 1)", {}},
    {"dit-fp8-scaled", false, "each DiT as one fp8_scaled file (E4M3 block weights with scales; A14B ~41 GB)", {}},
    {"help", false, "show this help", {"h"}},
};

}  // namespace

int cmd_random_checkpoint(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "random-checkpoint");
  if (args.has("help")) {
    std::printf("usage: wan random-checkpoint OUT [--task T] [--dit-layers N] [--t5-layers N] [--seed S]\n"
                "                             [--dit-fp8-scaled]\n\n"
                "Writes a checkpoint folder in the official layout and file formats with random weights (real sizes,\n"
                "from the parameter counts: A14B ~125 GB, 5B ~35 GB on disk). The tokenizer is the small test model;\n"
                "videos from it are noise.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  CLI_CHECK(args.positionals().size() == 1, "wan random-checkpoint takes one OUT folder; see --help");
  const std::string task = args.get_or("task", "t2v-A14B"), tokenizer = data_dir() + "/tokenizer/spiece.model";
  wan_random_checkpoint_params p = wan_random_checkpoint_default_params();
  p.task = task.c_str();
  p.dit_layers = int32_t(args.get_int("dit-layers", 0));
  p.t5_layers = int32_t(args.get_int("t5-layers", 0));
  CLI_CHECK(p.dit_layers >= 0 && p.t5_layers >= 0, "--dit-layers and --t5-layers must be positive");
  p.seed = uint64_t(args.get_int("seed", 1));
  p.dit_fp8_scaled = args.has("dit-fp8-scaled") ? 1 : 0;
  p.tokenizer_model = tokenizer.c_str();
  const auto t0 = std::chrono::steady_clock::now();
  const wan_convert_report r = api::write_random_checkpoint(args.positionals()[0], p);
  std::printf("wrote %s: %lld DiT folder(s), %lld DiT tensors in %lld shard(s), %.3f GB of DiT weights, %.1f s\n",
              args.positionals()[0].c_str(), (long long)r.dit_folders, (long long)r.tensors, (long long)r.shards,
              double(r.bytes_written) / 1e9,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace wan::cli
