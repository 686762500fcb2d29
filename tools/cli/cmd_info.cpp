// wan info PATH: what a checkpoint folder or a .safetensors file holds.
#include <cstdio>
#include <filesystem>
#include <map>

#include "args.h"
#include "commands.h"
#include "io/checkpoint.h"
#include "models/wan_dit_weights.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"all", false, "list every tensor (default: the first 20)", {}},
    {"help", false, "show this help", {"h"}},
};

void print_tensors(const TensorStore& store, bool all) {
  std::map<std::string, int64_t> bytes_by_dtype;
  int64_t total = 0;
  size_t shown = 0;
  for (const std::string& name : store.names()) {
    const Tensor& t = store.get(name);
    const int64_t bytes = int64_t(t.nbytes());
    bytes_by_dtype[dtype_name(t.dtype())] += bytes;
    total += bytes;
    if (all || shown < 20) {
      std::printf("  %-48s %-8s %s\n", name.c_str(), dtype_name(t.dtype()), shape_str(t.shape()).c_str());
      ++shown;
    }
  }
  if (shown < store.size()) std::printf("  ... %zu more (--all lists them)\n", store.size() - shown);
  std::printf("%zu tensors, %.3f GB:", store.size(), double(total) / 1e9);
  for (const auto& [dtype, b] : bytes_by_dtype) std::printf(" %s %.3f GB", dtype.c_str(), double(b) / 1e9);
  std::printf("\n");
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "info");
  if (args.has("help")) {
    std::printf("usage: wan info PATH [--all]\n\nPATH is a DiT folder (config.json + safetensors), a .safetensors "
                "file, an .index.json or a PyTorch .pth file.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  WAN_CHECK(args.positionals().size() == 1, "wan info takes one PATH; see 'wan info --help'");
  const std::string path = args.positionals()[0];
  const TensorStore store = TensorStore::open(path);
  std::printf("%s\n", path.c_str());
  const auto config_path = std::filesystem::path(path) / "config.json";
  if (std::filesystem::is_directory(path) && std::filesystem::exists(config_path)) {
    const WanDiTConfig config = WanDiTConfig::from_file(config_path.string());
    std::printf("Wan DiT: %s\n", config.summary().c_str());
    std::printf("parameters: %lld (%.2f B)\n", (long long)wan_dit_parameter_count(config),
                double(wan_dit_parameter_count(config)) / 1e9);
    check_wan_dit_checkpoint(store, config);
    std::printf("weights: complete, every tensor has the shape the config needs\n");
  }
  print_tensors(store, args.has("all"));
  return 0;
}

}  // namespace wan::cli
