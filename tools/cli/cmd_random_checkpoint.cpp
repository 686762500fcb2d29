// wan random-checkpoint OUT: a checkpoint folder in the official layout with random weights at
// the real sizes (or with fewer layers), for loading and whole-run tests without a download; see
// src/pipeline/random_checkpoint.h.
#include <chrono>
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "core/error.h"
#include "pipeline/random_checkpoint.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"task", true, "t2v-A14B or ti2v-5B (default t2v-A14B)", {}},
    {"dit-layers", true, "DiT blocks (default: the real count, 40 / 30)", {}},
    {"t5-layers", true, "text encoder layers (default: the real 24)", {}},
    {"seed", true, "random seed (default 1)", {}},
    {"help", false, "show this help", {"h"}},
};

}  // namespace

int cmd_random_checkpoint(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "random-checkpoint");
  if (args.has("help")) {
    std::printf("usage: wan random-checkpoint OUT [--task T] [--dit-layers N] [--t5-layers N] [--seed S]\n\n"
                "Writes a checkpoint folder in the official layout and file formats with random weights (real sizes,\n"
                "from the parameter counts: A14B ~125 GB, 5B ~35 GB on disk). The tokenizer is the small test model;\n"
                "videos from it are noise.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  WAN_CHECK(args.positionals().size() == 1, "wan random-checkpoint takes one OUT folder; see --help");
  RandomCheckpointOptions o;
  o.task = args.get_or("task", "t2v-A14B");
  o.dit_layers = args.get_int("dit-layers", 0);
  o.t5_layers = args.get_int("t5-layers", 0);
  WAN_CHECK(o.dit_layers >= 0 && o.t5_layers >= 0, "--dit-layers and --t5-layers must be positive");
  o.seed = uint64_t(args.get_int("seed", 1));
  o.tokenizer_model = data_dir() + "/tokenizer/spiece.model";
  const auto t0 = std::chrono::steady_clock::now();
  const ConvertReport r = write_random_checkpoint(args.positionals()[0], o);
  std::printf("wrote %s: %lld DiT folder(s), %lld DiT tensors in %lld shard(s), %.3f GB of DiT weights, %.1f s\n",
              args.positionals()[0].c_str(), (long long)r.dit_folders, (long long)r.tensors, (long long)r.shards,
              double(r.bytes_written) / 1e9,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace wan::cli
