// wan bench dit: the DiT forward on the GPU at a real config with random weights (no checkpoint
// needed): median per-forward time after a warm-up, achieved TFLOP/s, peak GPU memory; a table on
// the terminal and one JSON line for tools.
#include <cstdio>
#include <tuple>
#include <vector>

#include "args.h"
#include "commands.h"
#include "common_options.h"
#include "cli_error.h"
#include "wan/wan.hpp"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"task", true, "t2v-A14B (one expert) or ti2v-5B (default t2v-A14B)", {}},
    {"size", true, "W*H (default per task: 1280*720, 1280*704)", {}},
    {"frames", true, "frame count, 4n+1 (default per task: 81, 121)", {"frame_num"}},
    {"layers", true, "run only this many blocks (default: all)", {}},
    {"reps", true, "timed forwards after one warm-up (default 3)", {}},
    {"precision", true, "bf16 (default) or fp8: E4M3 block weights, activations and self-attention (Hopper)", {}},
    {"ulysses", true, "split the tokens over N GPUs (one process each); also checks the output against one GPU's",
     {"ulysses_size"}},
    {"help", false, "show this help", {"h"}},
};

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "vae") return cmd_bench_vae(std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (!argv.empty() && argv[0] == "e2e") return cmd_bench_e2e(std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (!argv.empty() && argv[0] == "load") return cmd_bench_load(std::vector<std::string>(argv.begin() + 1, argv.end()));
  CLI_CHECK(argv.empty() || argv[0] != "fp8", "the FP8 error table moved to the developers' tool: wan-dev fp8");
  CLI_CHECK(!argv.empty() && (argv[0] == "dit" || argv[0] == "--help" || argv[0] == "-h"),
            "usage: wan bench dit|vae|e2e|load [options]; see 'wan bench dit --help' (and vae, e2e, load)");
  Args args(std::vector<std::string>(argv.begin() + 1, argv.end()), kOptions, "bench dit");
  if (argv[0] != "dit" || args.has("help")) {
    std::printf("usage: wan bench dit [options]\n\nTimes the DiT forward on the GPU at a real config with random "
                "weights.\n\n%s", options_help(kOptions).c_str());
    return 0;
  }
  CLI_CHECK(wan_cuda_available(), "wan bench dit needs a GPU: ", wan_cuda_device_summary());
  wan_dit_benchmark_params p = wan_dit_benchmark_default_params();
  const std::string task = args.get_or("task", "t2v-A14B");
  p.task = task.c_str();
  if (args.has("size")) std::tie(p.width, p.height) = parse_size(*args.get("size"));
  p.frames = int32_t(args.get_int("frames", 0));
  CLI_CHECK(!args.has("frames") || p.frames > 0, "--frames must be positive");
  p.layers = int32_t(args.get_int("layers", 0));
  CLI_CHECK(!args.has("layers") || p.layers > 0, "--layers must be positive");
  p.reps = int32_t(args.get_int("reps", 3));
  CLI_CHECK(p.reps > 0, "--reps must be positive");
  p.precision = precision_option(args);
  const char* precision = precision_name(p.precision);
  p.ulysses = int32_t(args.get_int("ulysses", 1));
  CLI_CHECK(p.ulysses >= 1, "--ulysses must be at least 1");
  if (p.ulysses > 1 && api::process_rank() < 0) {  // the user's process: the same command once per GPU
    std::vector<std::string> rank_args{"bench"};
    rank_args.insert(rank_args.end(), argv.begin(), argv.end());
    return api::launch_ranks(p.ulysses, rank_args);
  }
  const bool report = api::process_rank() <= 0;  // only rank 0 prints; the others run the same forwards
  if (report) {
    std::printf("device: %s\n", wan_cuda_device_summary());
    std::printf("libraries: %s\n", wan_cuda_library_versions());
    if (p.ulysses > 1) std::printf("Ulysses over %d GPUs (%s)\n", p.ulysses, wan_nccl_description());
  }
  wan_dit_benchmark_result r;
  api::check(wan_benchmark_dit(&p, &r));
  if (!report) return 0;
  std::printf("%s, %dx%d, %d frames: %lld tokens, %d layers, %s\n", task.c_str(), r.width, r.height, r.frames,
              (long long)r.tokens, r.layers, precision);
  std::printf("random weights on the GPU: %.1f s, %.2f GiB\n", r.setup_seconds, r.weights_gib);
  if (p.ulysses > 1) std::printf("output against one GPU's: relative L2 %.3e\n", r.vs_one_gpu);
  std::printf("forward: median %.3f s of %d (min %.3f, max %.3f), %.0f TFLOP/s per GPU, peak GPU memory %.2f GiB "
              "(reserved %.2f GiB)\n",
              r.forward_seconds, r.reps, r.min_seconds, r.max_seconds, r.tflops, r.peak_gib, r.reserved_gib);
  std::printf("split (one profiled forward, %.3f s): attention %.3f s, matrix products %.3f s, all-to-all %.3f s, "
              "other GPU work %.3f s, host/embeddings/head %.3f s\n",
              r.profiled_seconds, r.attention_seconds, r.matmul_seconds, r.all_to_all_seconds, r.other_seconds,
              r.host_seconds);
  std::printf("JSON {\"bench\":\"dit\",\"task\":\"%s\",\"width\":%d,\"height\":%d,\"frames\":%d,\"tokens\":%lld,"
              "\"layers\":%d,\"forward_s\":%.4f,\"tflops\":%.1f,\"peak_gib\":%.3f,\"attention_s\":%.4f,"
              "\"matmul_s\":%.4f,\"all_to_all_s\":%.4f,\"other_s\":%.4f,\"ulysses\":%d,\"vs_one_gpu\":%.3e,"
              "\"precision\":\"%s\"}\n",
              task.c_str(), r.width, r.height, r.frames, (long long)r.tokens, r.layers, r.forward_seconds, r.tflops,
              r.peak_gib, r.attention_seconds, r.matmul_seconds, r.all_to_all_seconds, r.other_seconds, p.ulysses,
              r.vs_one_gpu, precision);
  return 0;
}

}  // namespace wan::cli
