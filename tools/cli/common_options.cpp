#include "common_options.h"

#include "cli_error.h"

namespace wan::cli {

std::string device_option(const Args& args) {
  const std::string device = args.get_or("device", wan_cuda_available() ? "cuda" : "cpu");  // the machine decides
  CLI_CHECK(device == "cpu" || device == "cuda", "--device must be cpu or cuda, got '", device, "'");
  CLI_CHECK(device == "cpu" || wan_cuda_available(), "--device cuda: ", wan_cuda_device_summary(),
            "; use --device cpu");
  return device;
}

wan_precision precision_option(const Args& args) {
  const std::string precision = args.get_or("precision", "bf16");
  CLI_CHECK(precision == "bf16" || precision == "fp8", "--precision must be bf16 or fp8, got '", precision, "'");
  return precision == "fp8" ? WAN_PRECISION_FP8 : WAN_PRECISION_BF16;
}

int parallel_options(const Args& args, const std::string& device, api::ContextOptions& options) {
  options.cfg_parallel = args.has("cfg-parallel");
  options.ulysses = int(args.get_int("ulysses", 1));
  CLI_CHECK(options.ulysses >= 1, "--ulysses must be at least 1");
  const int world = (options.cfg_parallel ? 2 : 1) * options.ulysses;
  CLI_CHECK(world == 1 || device == "cuda", "--cfg-parallel and --ulysses need --device cuda");
  return world;
}

}  // namespace wan::cli
