// wan info PATH: what a checkpoint folder or a .safetensors file holds.
#include <cstdio>
#include <filesystem>
#include <map>

#include "args.h"
#include "commands.h"
#include "backend/backend.h"
#include "core/precision.h"
#include "core/thread_pool.h"
#include "dist/communicator.h"
#include "dist/parallel.h"
#include "io/checkpoint.h"
#include "io/video_writer.h"
#include "pipeline/memory_plan.h"
#include "wan/wan.h"
#include "models/wan_dit_weights.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"all", false, "list every tensor (default: the first 20)", {}},
    {"system", false, "describe this machine: GPU, libraries, and the plan for --task/--size/--frames", {}},
    {"task", true, "with --system: t2v-A14B or ti2v-5B (default t2v-A14B)", {}},
    {"size", true, "with --system: W*H (default per task)", {}},
    {"frames", true, "with --system: frame count (default per task)", {}},
    {"ulysses", true, "with --system: the plan per GPU with the tokens split over N GPUs", {"ulysses_size"}},
    {"vae-f32", false, "with --system: the plan with the VAE decoder in f32 (wan generate --vae-f32)", {}},
    {"precision", true, "with --system: the plan with the DiT in bf16 (default) or fp8 (wan generate --precision)", {}},
    {"offload", true, "with --system: true/false, T2V-A14B's inactive expert in host memory (default: what wan "
                      "generate chooses for this GPU)", {"offload_model"}},
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

constexpr double kGiB = double(1ull << 30);

int system_info(const Args& args) {
  std::printf("wan %s\n", wan_version());
  std::printf("CPU threads: %d\n", num_threads());
  std::printf("GPU: %s\n", cuda_device_summary().c_str());
  const bool gpu = cuda_available();
  std::printf("GPUs: %d; several GPUs (--cfg-parallel, --ulysses): %s\n", cuda_device_count(),
              dist::nccl_description().c_str());
  if (gpu) {
    const DeviceMemoryInfo mem = device_memory_info();
    const int cc = cuda_compute_capability();
    std::printf("GPU memory: %.1f GiB free of %.1f GiB\n", double(mem.free) / kGiB, double(mem.total) / kGiB);
    std::printf("FP8 (--precision fp8): %s (compute %d.%d; the FP8 DiT needs 9.0 or later)\n", cc >= 90 ? "yes" : "no",
                cc / 10, cc % 10);
    std::printf("libraries: %s\n", cuda_library_versions().c_str());
  }
  std::printf("video output: %s\n", video_writer_available() ? "FFmpeg (H.264 mp4, PNG)" : "none (built without FFmpeg)");

  const TaskConfig& task = task_config(args.get_or("task", "t2v-A14B"));
  int64_t W = task.default_size.first, H = task.default_size.second;
  if (args.has("size")) std::tie(W, H) = parse_size(*args.get("size"));
  const int64_t frames = args.get_int("frames", task.frame_num);
  const WanDiTConfig dit = official_dit_config(task);
  const dist::ParallelConfig parallel{1, int(args.get_int("ulysses", 1))};
  parallel.validate(dit.num_heads);
  GpuPlacement placement;
  placement.ulysses = parallel.ulysses;
  placement.vae_f32 = args.has("vae-f32");
  const auto precision = parse_precision(args.get_or("precision", "bf16"));
  WAN_CHECK(precision, "--precision must be bf16 or fp8, got '", args.get_or("precision", ""), "'");
  placement.fp8 = *precision == Precision::FP8;
  std::string residency = task.two_experts ? "both experts resident" : "one DiT";
  if (args.has("offload")) {
    placement.offload_experts = task.two_experts && parse_bool_flag(*args.get("offload"), "--offload");
    if (placement.offload_experts) residency = "the inactive expert offloaded (--offload true)";
  } else if (gpu && needs_expert_offload(task, dit, task.frame_num, device_memory_info().free, placement)) {
    placement.offload_experts = true;  // what wan generate chooses here
    residency = "the inactive expert offloaded: both do not fit this GPU (--offload false to refuse)";
  }
  const MemoryPlan plan = plan_gpu_memory(task, dit, W, H, frames, placement);
  std::printf("\n%s, %lldx%lld, %lld frames with --device cuda (%s DiT, %s, %s VAE, text encoder on the GPU one "
              "layer at a time%s):\n  predicted GPU peak %s%s\n",
              task.name.c_str(), (long long)W, (long long)H, (long long)frames, precision_name(*precision),
              residency.c_str(),
              placement.vae_f32 ? "f32" : "bf16",
              parallel.ulysses > 1 ? str(", Ulysses over ", parallel.ulysses, " GPUs").c_str() : "",
              plan.describe().c_str(), parallel.ulysses > 1 ? " (rank 0; per GPU)" : "");
  if (gpu) {
    try {
      check_fits(task, dit, W, H, frames, device_memory_info().free, placement);
      std::printf("  fits this GPU: wan generate --device cuda can run it\n");
    } catch (const Error& e) {
      std::printf("  does not fit this GPU: %s\n", e.what());
    }
  } else {
    std::printf("  no GPU here: wan generate runs on the CPU (--device cpu), which is far slower\n");
  }
  return 0;
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "info");
  if (args.has("help")) {
    std::printf("usage: wan info PATH [--all]\n       wan info --system [--task T --size W*H --frames N]\n\nPATH is a DiT folder (config.json + safetensors), a .safetensors "
                "file, an .index.json or a PyTorch .pth file.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  if (args.has("system")) return system_info(args);
  WAN_CHECK(args.positionals().size() == 1, "wan info takes one PATH (or --system); see 'wan info --help'");
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
