// wan bench dit: the DiT forward on the GPU at a real config with random weights (no checkpoint
// needed): median per-forward time after a warm-up, achieved TFLOP/s, peak GPU memory; a table on
// the terminal and one JSON line for tools.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "args.h"
#include "backend/backend.h"
#include "commands.h"
#include "core/rng.h"
#include "core/stats.h"
#include "dist/launcher.h"
#include "dist/process_group.h"
#include "models/wan_dit_config.h"
#include "pipeline/task_config.h"
#ifdef WAN_HAVE_CUDA
#include "models/wan_dit_cuda.h"
#endif

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

// FLOPs of one batch-1 forward (matrix products and attention; element-wise work not counted).
[[maybe_unused]] double forward_flops(const WanDiTConfig& c, int64_t L) {
  const double D = double(c.dim), F = double(c.ffn_dim), Lt = double(c.text_len), l = double(L);
  const double per_block = 4 * 2 * l * D * D + 2 * 2 * l * D * D + 2 * 2 * Lt * D * D + 2 * 2 * l * D * F +
                           4 * l * l * D + 4 * l * Lt * D;
  const double outside = 2 * l * double(c.in_dim * c.patch_volume()) * D + 2 * Lt * (double(c.text_dim) * D + D * D) +
                         2 * l * D * double(c.patch_volume() * c.out_dim);
  return per_block * double(c.num_layers) + outside;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "vae") return cmd_bench_vae(std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (!argv.empty() && argv[0] == "e2e") return cmd_bench_e2e(std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (!argv.empty() && argv[0] == "load") return cmd_bench_load(std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (!argv.empty() && argv[0] == "fp8") return cmd_bench_fp8(std::vector<std::string>(argv.begin() + 1, argv.end()));
  WAN_CHECK(!argv.empty() && (argv[0] == "dit" || argv[0] == "--help" || argv[0] == "-h"),
            "usage: wan bench dit|vae|e2e|load|fp8 [options]; see 'wan bench dit --help' (and vae, e2e, load, fp8)");
  Args args(std::vector<std::string>(argv.begin() + 1, argv.end()), kOptions, "bench dit");
  if (argv[0] != "dit" || args.has("help")) {
    std::printf("usage: wan bench dit [options]\n\nTimes the DiT forward on the GPU at a real config with random "
                "weights.\n\n%s", options_help(kOptions).c_str());
    return 0;
  }
#ifndef WAN_HAVE_CUDA
  fail("wan bench dit needs the CUDA backend; this build has none");
#else
  WAN_CHECK(cuda_available(), "wan bench dit needs a GPU: ", cuda_device_summary());
  const TaskConfig& task = task_config(args.get_or("task", "t2v-A14B"));
  WanDiTConfig config = official_dit_config(task);
  int64_t W = task.default_size.first, H = task.default_size.second;
  if (args.has("size")) std::tie(W, H) = parse_size(*args.get("size"));
  const int64_t frames = args.get_int("frames", task.frame_num);
  WAN_CHECK(frames >= 1 && (frames - 1) % 4 == 0, "--frames must be 4n+1");
  const int64_t grid = task.vae_stride[1] * task.patch[1];
  WAN_CHECK(W % grid == 0 && H % grid == 0, "--size must be a multiple of ", grid);
  if (args.has("layers")) config.num_layers = std::clamp<int64_t>(args.get_int("layers", 1), 1, config.num_layers);
  const int64_t reps = std::max<int64_t>(1, args.get_int("reps", 3));
  const auto precision = parse_precision(args.get_or("precision", "bf16"));
  WAN_CHECK(precision, "--precision must be bf16 or fp8, got '", args.get_or("precision", ""), "'");
  const int64_t T = (frames - 1) / 4 + 1, h = H / task.vae_stride[1], w = W / task.vae_stride[2];
  const int64_t L = T * (h / 2) * (w / 2);
  const dist::ParallelConfig parallel{1, int(args.get_int("ulysses", 1))};
  parallel.validate(config.num_heads);
  std::shared_ptr<const dist::ProcessGroup> group;
  std::vector<std::string> rank_args{"bench"};  // the same command once per GPU
  rank_args.insert(rank_args.end(), argv.begin(), argv.end());
  if (const auto launched = dist::launch_or_join(parallel, rank_args, group)) return *launched;
  // Only rank 0 prints; the others run the same forwards (every forward is collective).
  auto say = [&](auto... a) {
    if (!group || group->is_output_rank()) std::printf(a...);
  };

  say("device: %s\n", cuda_device_summary().c_str());
  say("libraries: %s\n", cuda_library_versions().c_str());
  if (group) say("Ulysses over %d GPUs (%s)\n", parallel.ulysses, dist::nccl_description().c_str());
  say("%s, %lldx%lld, %lld frames: %lld tokens, %lld layers, %s\n", task.name.c_str(), (long long)W, (long long)H,
      (long long)frames, (long long)L, (long long)config.num_layers, precision_name(*precision));
  auto t0 = std::chrono::steady_clock::now();
  WanDiTCuda model = WanDiTCuda::random(config, 1, *precision);  // the same weights on every rank
  say("random weights on the GPU: %.1f s, %.2f GiB\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              double(device_memory_stats().in_use) / double(1ull << 30));

  Rng rng(7);
  Tensor x = Tensor::empty({config.in_dim, T, h, w}, DType::F32);
  rng.fill_normal(x);
  Tensor ctx = Tensor::empty({128, config.text_dim}, DType::F32);
  rng.fill_normal(ctx);
  const Tensor t = Tensor::from_vector<float>({900.0f}, {1});

  double vs_one_gpu = -1;
  if (group) {  // the output must not depend on the split: one GPU's first, then the group's
    const Tensor alone = model.forward({x}, t, {ctx}, L)[0];
    model.set_sequence_parallel(group->ulysses);
    vs_one_gpu = rel_l2(model.forward({x}, t, {ctx}, L)[0], alone);
    say("output against one GPU's: relative L2 %.3e\n", vs_one_gpu);
  }
  reset_device_peak_memory();
  model.forward({x}, t, {ctx}, L);  // warm-up: plans, autotuning, the memory pool
  std::vector<double> times;
  for (int64_t r = 0; r < reps; ++r) {
    const auto s = std::chrono::steady_clock::now();
    model.forward({x}, t, {ctx}, L);  // returns host tensors: the GPU work is complete
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double tflops = forward_flops(config, L) / median / 1e12 / parallel.world();  // per GPU
  const DeviceMemoryStats mem = device_memory_stats();
  // One more forward with CUDA events between stages: where the GPU time goes.
  StreamProfiler profiler(true);
  const auto s0 = std::chrono::steady_clock::now();
  model.forward({x}, t, {ctx}, L, &profiler);
  const double profiled_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  const auto split = profiler.finish();
  auto ms = [&](const char* k) { return split.count(k) ? split.at(k) : 0.0; };
  say("forward: median %.3f s of %lld (min %.3f, max %.3f), %.0f TFLOP/s per GPU, peak GPU memory %.2f GiB "
              "(reserved %.2f GiB)\n",
              median, (long long)reps, times.front(), times.back(), tflops, double(mem.peak) / double(1ull << 30),
              double(mem.reserved) / double(1ull << 30));
  say("split (one profiled forward, %.3f s): attention %.3f s, matrix products %.3f s, all-to-all %.3f s, other GPU "
      "work %.3f s, host/embeddings/head %.3f s\n",
      profiled_s, ms("attention") / 1e3, ms("matmul") / 1e3, ms("all-to-all") / 1e3, ms("other") / 1e3,
      profiled_s - (ms("attention") + ms("matmul") + ms("all-to-all") + ms("other")) / 1e3);
  say("JSON {\"bench\":\"dit\",\"task\":\"%s\",\"width\":%lld,\"height\":%lld,\"frames\":%lld,\"tokens\":%lld,"
              "\"layers\":%lld,\"forward_s\":%.4f,\"tflops\":%.1f,\"peak_gib\":%.3f,\"attention_s\":%.4f,"
              "\"matmul_s\":%.4f,\"all_to_all_s\":%.4f,\"other_s\":%.4f,\"ulysses\":%d,\"vs_one_gpu\":%.3e,"
      "\"precision\":\"%s\"}\n",
              task.name.c_str(), (long long)W, (long long)H, (long long)frames, (long long)L,
              (long long)config.num_layers, median, tflops, double(mem.peak) / double(1ull << 30),
      ms("attention") / 1e3, ms("matmul") / 1e3, ms("all-to-all") / 1e3, ms("other") / 1e3, parallel.ulysses,
      vs_one_gpu, precision_name(*precision));
  return 0;
#endif
}

}  // namespace wan::cli
