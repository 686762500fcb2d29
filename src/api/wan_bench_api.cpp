// The C API's benchmarks (include/wan/wan.h, "Benchmarks"): the DiT forward and the VAE at real
// sizes with random weights made on the GPU, no checkpoint needed. `wan bench dit` and `wan bench
// vae` print what these return.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/api_guard.h"
#include "backend/backend.h"
#include "core/precision.h"
#include "core/rng.h"
#include "core/stats.h"
#include "dist/process_group.h"
#include "models/wan_dit_config.h"
#include "models/wan_vae.h"
#include "models/vae_layers.h"
#include "pipeline/task_config.h"
#include "wan/wan.h"
#ifdef WAN_HAVE_CUDA
#include "models/wan_dit_cuda.h"
#endif

using wan::api::guarded;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
constexpr double kGiB = double(1ull << 30);

// FLOPs of one batch-1 forward (matrix products and attention; element-wise work not counted).
[[maybe_unused]] double forward_flops(const wan::WanDiTConfig& c, int64_t L) {
  const double D = double(c.dim), F = double(c.ffn_dim), Lt = double(c.text_len), l = double(L);
  const double per_block = 4 * 2 * l * D * D + 2 * 2 * l * D * D + 2 * 2 * Lt * D * D + 2 * 2 * l * D * F +
                           4 * l * l * D + 4 * l * Lt * D;
  const double outside = 2 * l * double(c.in_dim * c.patch_volume()) * D + 2 * Lt * (double(c.text_dim) * D + D * D) +
                         2 * l * D * double(c.patch_volume() * c.out_dim);
  return per_block * double(c.num_layers) + outside;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The GPU is needed by both benchmarks: its absence is UNSUPPORTED, not a bad argument.
wan_status require_gpu(const char* what) {
  return guarded(WAN_ERROR_UNSUPPORTED, [&]() -> wan_status {
#ifndef WAN_HAVE_CUDA
    throw wan::Error(std::string(what) + " needs the CUDA backend; this build has none");
#else
    WAN_CHECK(wan::cuda_available(), what, " needs a GPU: ", wan::cuda_device_summary());
    return WAN_OK;
#endif
  });
}

}  // namespace

wan_dit_benchmark_params wan_dit_benchmark_default_params(void) {
  wan_dit_benchmark_params p{};
  p.task = "t2v-A14B";
  p.reps = 3;
  p.precision = WAN_PRECISION_BF16;
  p.ulysses = 1;
  return p;
}

wan_status wan_benchmark_dit(const wan_dit_benchmark_params* params, wan_dit_benchmark_result* out) {
  const wan::TaskConfig* task = nullptr;
  wan::WanDiTConfig config;
  int64_t W = 0, H = 0, frames = 0;
  std::optional<wan::dist::RankInfo> rank;
  const wan::dist::ParallelConfig parallel{1, params ? std::max(1, int(params->ulysses)) : 1};
  const wan_status bad = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(params && out, "wan_benchmark_dit: params and out must not be NULL");
    task = &wan::task_config(params->task ? params->task : "t2v-A14B");
    config = wan::official_dit_config(*task);
    W = params->width ? params->width : task->default_size.first;
    H = params->height ? params->height : task->default_size.second;
    frames = params->frames ? params->frames : task->frame_num;
    WAN_CHECK(frames >= 1 && (frames - 1) % 4 == 0, "frames must be 4n+1, got ", frames);
    const int64_t grid = task->vae_stride[1] * task->patch[1];
    WAN_CHECK(W > 0 && H > 0 && W % grid == 0 && H % grid == 0, "the size ", W, "x", H, " must be a multiple of ",
              grid, " for ", task->name);
    WAN_CHECK(params->layers >= 0 && params->reps >= 0, "layers and reps must not be negative (0: the default)");
    if (params->layers > 0) config.num_layers = std::min<int64_t>(params->layers, config.num_layers);
    WAN_CHECK(params->precision == WAN_PRECISION_BF16 || params->precision == WAN_PRECISION_FP8, "unknown precision ",
              int(params->precision));
    parallel.validate(config.num_heads);
    if (parallel.world() > 1) {
      rank = wan::dist::rank_from_environment();
      WAN_CHECK(rank, "ulysses runs one process per GPU, and this one has no rank: start them with wan_launch_ranks "
                      "(`wan bench dit --ulysses N`)");
    }
    return WAN_OK;
  });
  if (bad != WAN_OK) return bad;
  if (const wan_status s = require_gpu("wan_benchmark_dit"); s != WAN_OK) return s;
#ifndef WAN_HAVE_CUDA
  return WAN_ERROR_UNSUPPORTED;
#else
  std::shared_ptr<const wan::dist::ProcessGroup> group;
  if (rank) {
    const wan_status s = guarded(WAN_ERROR_UNSUPPORTED, [&] {
      group = wan::dist::ProcessGroup::join(parallel, *rank);
      return WAN_OK;
    });
    if (s != WAN_OK) return s;
  }
  return guarded(WAN_ERROR_INTERNAL, [&] {
    const wan::Precision precision = params->precision == WAN_PRECISION_FP8 ? wan::Precision::FP8 : wan::Precision::BF16;
    WAN_CHECK(precision == wan::Precision::BF16 || wan::fp8_products_supported(wan::cuda_compute_capability()),
              "FP8 needs compute capability 8.9 (Ada) or later; ", wan::cuda_device_summary(),
              " has not: use --precision bf16");
    const int64_t T = (frames - 1) / 4 + 1, h = H / task->vae_stride[1], w = W / task->vae_stride[2];
    const int64_t L = T * (h / 2) * (w / 2);
    wan_dit_benchmark_result r{};
    r.width = int32_t(W);
    r.height = int32_t(H);
    r.frames = int32_t(frames);
    r.layers = int32_t(config.num_layers);
    r.tokens = L;
    r.output_rank = !group || group->is_output_rank() ? 1 : 0;
    r.vs_one_gpu = -1;
    auto t0 = Clock::now();
    wan::WanDiTCuda model = wan::WanDiTCuda::random(config, 1, precision);  // the same weights on every rank
    r.setup_seconds = since(t0);
    r.weights_gib = double(wan::device_memory_stats().in_use) / kGiB;

    wan::Rng rng(7);  // never time on zeros
    wan::Tensor x = wan::Tensor::empty({config.in_dim, T, h, w}, wan::DType::F32);
    rng.fill_normal(x);
    wan::Tensor ctx = wan::Tensor::empty({128, config.text_dim}, wan::DType::F32);
    rng.fill_normal(ctx);
    const wan::Tensor t = wan::Tensor::from_vector<float>({900.0f}, {1});
    if (group) {  // the output must not depend on the split: one GPU's first, then the group's
      const wan::Tensor alone = model.forward({x}, t, {ctx}, L)[0];
      model.set_sequence_parallel(group->ulysses);
      r.vs_one_gpu = wan::rel_l2(model.forward({x}, t, {ctx}, L)[0], alone);
    }
    wan::reset_device_peak_memory();
    model.forward({x}, t, {ctx}, L);  // warm-up: plans, autotuning, the memory pool
    std::vector<double> times;
    const int reps = params->reps > 0 ? params->reps : 3;
    for (int i = 0; i < reps; ++i) {
      const auto s = Clock::now();
      model.forward({x}, t, {ctx}, L);  // returns host tensors: the GPU work is complete
      times.push_back(since(s));
    }
    r.forward_seconds = median(times);
    r.min_seconds = *std::min_element(times.begin(), times.end());
    r.max_seconds = *std::max_element(times.begin(), times.end());
    r.reps = reps;
    r.tflops = forward_flops(config, L) / r.forward_seconds / 1e12 / parallel.world();  // per GPU
    const wan::DeviceMemoryStats mem = wan::device_memory_stats();
    r.peak_gib = double(mem.peak) / kGiB;
    r.reserved_gib = double(mem.reserved) / kGiB;
    // One more forward with CUDA events between stages: where the GPU time goes.
    wan::StreamProfiler profiler(true);
    const auto s0 = Clock::now();
    model.forward({x}, t, {ctx}, L, &profiler);
    r.profiled_seconds = since(s0);
    const auto split = profiler.finish();
    auto seconds = [&](const char* k) { return split.count(k) ? split.at(k) / 1e3 : 0.0; };
    r.attention_seconds = seconds("attention");
    r.matmul_seconds = seconds("matmul");
    r.all_to_all_seconds = seconds("all-to-all");
    r.other_seconds = seconds("other");
    r.host_seconds = r.profiled_seconds - (r.attention_seconds + r.matmul_seconds + r.all_to_all_seconds +
                                           r.other_seconds);
    *out = r;
    return WAN_OK;
  });
#endif
}

wan_vae_benchmark_params wan_vae_benchmark_default_params(void) {
  wan_vae_benchmark_params p{};
  p.version = 21;
  p.reps = 1;
  return p;
}

wan_status wan_benchmark_vae(const wan_vae_benchmark_params* params, wan_vae_benchmark_result* out) {
  wan::WanVAEConfig config;
  int64_t W = 0, H = 0, frames = 0;
  const wan_status bad = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(params && out, "wan_benchmark_vae: params and out must not be NULL");
    WAN_CHECK(params->version == 21 || params->version == 22, "version must be 21 (Wan2.1_VAE, T2V-A14B) or 22 "
              "(Wan2.2_VAE, TI2V-5B), got ", params->version);
    config = params->version == 22 ? wan::WanVAEConfig::wan22() : wan::WanVAEConfig::wan21();
    W = params->width ? params->width : 1280;
    H = params->height ? params->height : (params->version == 22 ? 704 : 720);
    frames = params->frames ? params->frames : (params->version == 22 ? 121 : 81);
    const int64_t stride = config.spatial_stride();
    WAN_CHECK(frames >= 1 && (frames - 1) % 4 == 0, "frames must be 4n+1, got ", frames);
    WAN_CHECK(W > 0 && H > 0 && W % stride == 0 && H % stride == 0, "the size ", W, "x", H,
              " must be a multiple of ", stride);
    WAN_CHECK(params->reps >= 0, "reps must not be negative (0: one)");
    return WAN_OK;
  });
  if (bad != WAN_OK) return bad;
  if (const wan_status s = require_gpu("wan_benchmark_vae"); s != WAN_OK) return s;
  return guarded(WAN_ERROR_INTERNAL, [&] {
    const int64_t stride = config.spatial_stride(), T = (frames - 1) / 4 + 1;
    const int reps = params->reps > 0 ? params->reps : 1;
    wan_vae_benchmark_result r{};
    r.width = int32_t(W);
    r.height = int32_t(H);
    r.frames = int32_t(frames);
    r.latent_frames = int32_t(T);
    r.latent_height = int32_t(H / stride);
    r.latent_width = int32_t(W / stride);
    wan::WanVAE vae = wan::WanVAE::random(config, 1, wan::Device::CUDA);
    vae.to(wan::Device::CUDA, params->f32 ? wan::DType::F32 : wan::DType::BF16);
    wan::Rng rng(3);
    auto latent = [&](int64_t t) {
      wan::Tensor z = wan::Tensor::empty({config.z_dim, t, H / stride, W / stride}, wan::DType::F32);
      rng.fill_normal(z);
      return z;
    };
    int64_t produced = 0;
    auto sink = [&](const wan::Tensor& f) { produced += f.size(1); };  // frames reach the host chunk by chunk
    vae.decode(latent(std::min<int64_t>(T, 3)), sink);  // warm-up: plans for every chunk shape
    wan::device_synchronize();
    wan::reset_device_peak_memory();
    const wan::Tensor z = latent(T);
    std::vector<double> times;
    for (int i = 0; i < reps; ++i) {
      produced = 0;
      const auto t0 = Clock::now();
      vae.decode(z, sink);
      wan::device_synchronize();
      times.push_back(since(t0));
    }
    r.decode_seconds = median(times);
    r.frames_out = int32_t(produced);
    const wan::DeviceMemoryStats mem = wan::device_memory_stats();
    r.decode_peak_gib = double(mem.peak) / kGiB;
    r.decode_reserved_gib = double(mem.reserved) / kGiB;
    if (params->profile) {
      wan::StreamProfiler profiler(true);
      wan::vae::set_profiler(&profiler);
      vae.decode(z, sink);
      wan::vae::set_profiler(nullptr);
      const auto split = profiler.finish();
      double total = 0;
      for (const auto& [name, ms] : split) total += ms;
      std::string text = wan::str("GPU time ", total / 1e3, " s:");
      for (const auto& [name, ms] : split) {
        char item[96];
        std::snprintf(item, sizeof item, " %s %.3f s (%.0f%%)", name.c_str(), ms / 1e3, 100.0 * ms / total);
        text += item;
      }
      std::snprintf(r.profile, sizeof r.profile, "%s", text.c_str());
    }
    if (params->encode) {
      wan::Tensor video = wan::Tensor::empty({3, frames, H, W}, wan::DType::F32);
      rng.fill_normal(video, 0.0, 0.5);
      vae.encode(video.narrow(1, 0, std::min<int64_t>(frames, 5)).contiguous());  // warm-up: plans every shape
      wan::device_synchronize();
      wan::reset_device_peak_memory();
      std::vector<double> enc;
      for (int i = 0; i < reps; ++i) {
        const auto t0 = Clock::now();
        const wan::Tensor mu = vae.encode(video);
        wan::device_synchronize();
        enc.push_back(since(t0));
        WAN_CHECK(mu.size(1) == T, "the encoder gave ", mu.size(1), " latent frames, expected ", T);
      }
      r.encode_seconds = median(enc);
      r.encode_peak_gib = double(wan::device_memory_stats().peak) / kGiB;
    }
    *out = r;
    return WAN_OK;
  });
}
