// wan info PATH: what a checkpoint folder, a DiT folder or a tensor file holds. wan info --system:
// the machine and the plan for a request. Both on the public API only.
#include <cmath>
#include <cstdio>
#include <tuple>
#include <map>

#include "args.h"
#include "commands.h"
#include "common_options.h"
#include "cli_error.h"
#include "wan/wan.hpp"

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

std::string shape_text(const wan_tensor_info& t) {
  std::string s = "[";
  for (int32_t d = 0; d < t.ndim; ++d) s += (d ? ", " : "") + std::to_string(t.shape[d]);
  return s + "]";
}

void print_tensors(const std::string& path, bool all) {
  const std::vector<wan_tensor_info> tensors = api::list_tensors(path);
  std::map<std::string, int64_t> bytes_by_dtype;
  int64_t total = 0;
  size_t shown = 0;
  for (const wan_tensor_info& t : tensors) {
    bytes_by_dtype[t.dtype] += t.bytes;
    total += t.bytes;
    if (all || shown < 20) {
      std::printf("  %-48s %-8s %s\n", t.name, t.dtype, shape_text(t).c_str());
      ++shown;
    }
  }
  if (shown < tensors.size()) std::printf("  ... %zu more (--all lists them)\n", tensors.size() - shown);
  std::printf("%zu tensors, %.3f GB:", tensors.size(), double(total) / 1e9);
  for (const auto& [dtype, b] : bytes_by_dtype) std::printf(" %s %.3f GB", dtype.c_str(), double(b) / 1e9);
  std::printf("\n");
}

// wan info PATH: the parts of a checkpoint and, for one DiT folder or file, its tensors. Exit 1
// when a part has a problem, so that scripts can check a download.
int checkpoint_info(const std::string& path, bool all) {
  const wan_checkpoint_info info = api::inspect_checkpoint(path);
  std::printf("%s\n", path.c_str());
  if (info.task[0]) std::printf("checkpoint folder of %s\n", info.task);
  for (int32_t i = 0; i < info.part_count; ++i) {
    const wan_checkpoint_part& p = info.parts[i];
    if (info.task[0]) std::printf("%-17s ", p.role);
    if (!p.present) {
      std::printf("MISSING %s\n", p.path);
      continue;
    }
    if (p.config[0])
      std::printf("Wan DiT: %s; %lld parameters (%.3g %s)\n%s", p.config, (long long)p.parameters,
                  p.parameters >= 1'000'000'000 ? double(p.parameters) / 1e9 : double(p.parameters) / 1e6,
                  p.parameters >= 1'000'000'000 ? "B" : "M", info.task[0] ? "                  " : "");
    if (p.tensors) std::printf("%lld tensors, %s\n", (long long)p.tensors, p.dtypes);
    else std::printf("present\n");
    if (p.problem[0]) std::printf("  PROBLEM: %s\n", p.problem);
    else if (p.config[0]) std::printf("%sweights complete: every tensor has the shape the config needs\n",
                                      info.task[0] ? "                  " : "");
  }
  if (!info.task[0] && info.part_count == 1 && info.parts[0].present && info.parts[0].tensors) print_tensors(path, all);
  else if (info.task[0]) std::printf("(wan info on a part's path lists its tensors)\n");
  if (!info.complete) std::printf("incomplete: see the problems above\n");
  return info.complete ? 0 : 1;
}

// The machine and the plan for a request, through the public API only (wan.h's tools and
// wan_predict_memory): what a program embedding the library can print the same way.
int system_info(const Args& args) {
  std::printf("wan %s\n", wan_version());
  std::printf("CPU threads: %d\n", wan_cpu_thread_count());
  std::printf("GPU: %s\n", wan_cuda_device_summary());
  const bool gpu = wan_cuda_available() != 0;
  std::printf("GPUs: %d; several GPUs (--cfg-parallel, --ulysses): %s\n", wan_cuda_device_count(),
              wan_nccl_description());
  constexpr double kGiB = double(1ull << 30);
  wan_device_info d{};
  if (gpu) {
    d = api::device_info(0);
    std::printf("GPU memory: %.1f GiB free of %.1f GiB\n", double(d.free_memory) / kGiB,
                double(d.total_memory) / kGiB);
    std::printf("FP8 (--precision fp8): %s (compute %d.%d; FP8 products need 8.9 or later, FP8 attention 9.0)\n",
                d.fp8 ? (d.compute_capability >= 90 ? "yes" : "yes, products only (attention in bf16)") : "no",
                d.compute_capability / 10, d.compute_capability % 10);
    std::printf("libraries: %s\n", wan_cuda_library_versions());
    std::printf("GPU code in this build: %s\n", wan_cuda_build_targets());
  }
  std::printf("tuning cache: %s\n", wan_tuning_cache_description());
  std::printf("video output: %s\n",
              wan_video_output_available() ? str("H.264 mp4 and PNG (", wan_video_library_versions(), ")").c_str()
                                           : "none (built without FFmpeg)");

  const std::string task = args.get_or("task", "t2v-A14B");
  wan_context_params cp = wan_context_default_params();
  cp.task = task.c_str();
  cp.device = WAN_DEVICE_CUDA;
  cp.ulysses = int32_t(args.get_int("ulysses", 1));
  cp.vae_f32 = args.has("vae-f32") ? 1 : 0;
  cp.precision = precision_option(args);
  const char* precision = precision_name(cp.precision);
  if (args.has("offload"))
    cp.offload = parse_bool_flag(*args.get("offload"), "--offload") ? WAN_OFFLOAD_ON : WAN_OFFLOAD_OFF;
  wan_generate_params gp = wan_generate_default_params();
  if (args.has("size")) std::tie(gp.width, gp.height) = parse_size(*args.get("size"));
  gp.frames = int32_t(args.get_int("frames", 0));
  wan_memory_prediction m;
  api::check(wan_predict_memory(&cp, &gp, &m));
  const bool two_experts = m.experts + m.offloaded_experts == 2;
  std::string residency = two_experts ? "both experts resident" : "one DiT";
  if (m.offloaded_experts > 0)
    residency = args.has("offload") ? "the inactive expert offloaded (--offload true)"
                                    : "the inactive expert offloaded: both do not fit this GPU (--offload false to refuse)";
  auto gib = [](double v) { return str(std::lround(v * 10) / 10.0, " GiB"); };
  std::printf("\n%s, %dx%d, %d frames with --device cuda (%s DiT, %s, %s VAE, text encoder on the GPU one layer at a "
              "time%s):\n  predicted GPU peak %s: %d DiT %s %s + the larger of a forward's activations %s and the VAE "
              "decode %s, + VAE weights %s + %s for workspaces%s\n",
              task.c_str(), m.width, m.height, m.frames, precision, residency.c_str(),
              cp.vae_f32 ? "f32" : "bf16", cp.ulysses > 1 ? str(", Ulysses over ", cp.ulysses, " GPUs").c_str() : "",
              gib(m.peak_gib).c_str(), m.experts, m.experts == 1 ? "expert" : "experts", gib(m.dit_weights_gib).c_str(),
              gib(m.dit_activations_gib).c_str(), gib(m.vae_decode_gib).c_str(), gib(m.vae_weights_gib).c_str(),
              gib(m.margin_gib).c_str(), cp.ulysses > 1 ? " (rank 0; per GPU)" : "");
  if (!gpu)
    std::printf("  no GPU here: wan generate runs on the CPU (--device cpu), which is far slower\n");
  else if (m.fits)
    std::printf("  fits this GPU: wan generate --device cuda can run it\n");
  else
    std::printf("  does not fit this GPU (%.1f GiB free): try %s%s a smaller --size or fewer --frames\n", m.free_gib,
                cp.precision == WAN_PRECISION_BF16 && d.fp8 ? "--precision fp8," : "",
                m.offloaded_experts == 0 && two_experts ? "--offload true," : "");
  return 0;
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "info");
  if (args.has("help")) {
    std::printf("usage: wan info PATH [--all]\n       wan info --system [--task T --size W*H --frames N]\n\nPATH is a checkpoint folder in the official layout, a DiT folder "
                "(config.json + safetensors), a .safetensors\nfile, an .index.json or a PyTorch .pth file; the exit "
                "code is 1 when a part is missing or does not match its config.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  if (args.has("system")) return system_info(args);
  CLI_CHECK(args.positionals().size() == 1, "wan info takes one PATH (or --system); see 'wan info --help'");
  return checkpoint_info(args.positionals()[0], args.has("all"));
}

}  // namespace wan::cli
