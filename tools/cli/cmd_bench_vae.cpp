// wan bench vae: the VAE decoder on the GPU at a real size with random weights (no checkpoint):
// one warm-up decode of a 3-latent-frame clip of the same size (plans every layer's shapes), then
// the timed decodes of the whole latent (the median of --reps); frames go to the host chunk by
// chunk as in a real run. --dtype picks the activations' dtype (bf16, the default, or f32).
// --encode also times the encoder on a random video (frames come from the host chunk by chunk).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "args.h"
#include "backend/backend.h"
#include "commands.h"
#include "core/rng.h"
#include "models/vae_layers.h"
#include "models/wan_vae.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"version", true, "21 (Wan2.1_VAE, T2V-A14B) or 22 (Wan2.2_VAE, TI2V-5B) (default 21)", {}},
    {"size", true, "W*H (default 1280*720 for 21, 1280*704 for 22)", {}},
    {"frames", true, "frame count, 4n+1 (default 81 for 21, 121 for 22)", {}},
    {"dtype", true, "activations: bf16 (default; bf16 convolutions) or f32 (TF32 convolutions)", {}},
    {"reps", true, "timed decodes, the median reported (default 1)", {}},
    {"profile", false, "one more decode, its GPU time split between convolutions and the rest", {}},
    {"encode", false, "also time the encoder on a random video of the size (as image-to-video runs it)", {}},
    {"help", false, "show this help", {"h"}},
};

}  // namespace

int cmd_bench_vae(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "bench vae");
  if (args.has("help")) {
    std::printf("usage: wan bench vae [options]\n\nTimes the VAE decoder (and with --encode the encoder) on the GPU with random weights.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  WAN_CHECK(cuda_available(), "wan bench vae needs a GPU: ", cuda_device_summary());
  const int64_t version = args.get_int("version", 21);
  WAN_CHECK(version == 21 || version == 22, "--version must be 21 or 22");
  const WanVAEConfig config = version == 22 ? WanVAEConfig::wan22() : WanVAEConfig::wan21();
  int64_t W = 1280, H = version == 22 ? 704 : 720;
  if (args.has("size")) std::tie(W, H) = parse_size(*args.get("size"));
  const int64_t frames = args.get_int("frames", version == 22 ? 121 : 81), stride = config.spatial_stride();
  WAN_CHECK(frames >= 1 && (frames - 1) % 4 == 0, "--frames must be 4n+1");
  WAN_CHECK(W % stride == 0 && H % stride == 0, "--size must be a multiple of ", stride);
  const int64_t T = (frames - 1) / 4 + 1;
  const std::string dtype_arg = args.get("dtype").value_or("bf16");
  WAN_CHECK(dtype_arg == "bf16" || dtype_arg == "f32", "--dtype must be bf16 or f32, got ", dtype_arg);
  const DType activations = dtype_arg == "bf16" ? DType::BF16 : DType::F32;
  const int64_t reps = args.get_int("reps", 1);
  WAN_CHECK(reps >= 1, "--reps must be at least 1");

  std::printf("device: %s\n", cuda_device_summary().c_str());
  std::printf("libraries: %s\n", cuda_library_versions().c_str());
  WanVAE vae = WanVAE::random(config, 1, Device::CUDA);
  vae.to(Device::CUDA, activations);
  Rng rng(3);
  auto latent = [&](int64_t t) {
    Tensor z = Tensor::empty({config.z_dim, t, H / stride, W / stride}, DType::F32);
    rng.fill_normal(z);
    return z;
  };
  int64_t produced = 0;
  auto sink = [&](const Tensor& f) { produced += f.size(1); };
  vae.decode(latent(std::min<int64_t>(T, 3)), sink);  // warm-up: plans for every chunk shape
  device_synchronize();
  reset_device_peak_memory();
  produced = 0;
  const Tensor z = latent(T);
  std::vector<double> times;
  for (int64_t r = 0; r < reps; ++r) {
    produced = 0;
    const auto t0 = std::chrono::steady_clock::now();
    vae.decode(z, sink);
    device_synchronize();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const double s = times[times.size() / 2];
  const DeviceMemoryStats mem = device_memory_stats();
  std::printf("Wan%s VAE decode, %s activations, %lldx%lld, %lld frames (latent %lldx%lldx%lld): %.3f s (median of "
              "%lld), %lld frames out, peak GPU memory %.2f GiB (reserved %.2f GiB)\n",
              version == 22 ? "2.2" : "2.1", dtype_arg.c_str(), (long long)W, (long long)H, (long long)frames,
              (long long)T, (long long)(H / stride), (long long)(W / stride), s, (long long)reps, (long long)produced,
              double(mem.peak) / double(1ull << 30), double(mem.reserved) / double(1ull << 30));
  if (args.has("profile")) {
    StreamProfiler profiler(true);
    vae::set_profiler(&profiler);
    vae.decode(z, sink);
    vae::set_profiler(nullptr);
    const auto split = profiler.finish();
    double total = 0;
    for (const auto& [name, ms] : split) total += ms;
    std::printf("split (a profiled decode, GPU time %.3f s):", total / 1e3);
    for (const auto& [name, ms] : split) std::printf(" %s %.3f s (%.0f%%)", name.c_str(), ms / 1e3, 100.0 * ms / total);
    std::printf("\n");
  }
  double encode_s = 0;
  if (args.has("encode")) {
    Tensor video = Tensor::empty({3, frames, H, W}, DType::F32);
    rng.fill_normal(video, 0.0, 0.5);
    vae.encode(video.narrow(1, 0, std::min<int64_t>(frames, 5)).contiguous());  // warm-up: plans every shape
    device_synchronize();
    reset_device_peak_memory();
    std::vector<double> enc;
    for (int64_t r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const Tensor mu = vae.encode(video);
      device_synchronize();
      enc.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      WAN_CHECK(mu.size(1) == T, "the encoder gave ", mu.size(1), " latent frames, expected ", T);
    }
    std::sort(enc.begin(), enc.end());
    encode_s = enc[enc.size() / 2];
    std::printf("Wan%s VAE encode, %s activations, %lldx%lld, %lld frames: %.3f s (median of %lld), peak GPU memory "
                "%.2f GiB\n",
                version == 22 ? "2.2" : "2.1", dtype_arg.c_str(), (long long)W, (long long)H, (long long)frames,
                encode_s, (long long)reps, double(device_memory_stats().peak) / double(1ull << 30));
  }
  std::printf("JSON {\"bench\":\"vae\",\"version\":%lld,\"dtype\":\"%s\",\"width\":%lld,\"height\":%lld,"
              "\"frames\":%lld,\"seconds\":%.4f,\"peak_gib\":%.3f,\"encode_seconds\":%.4f}\n",
              (long long)version, dtype_arg.c_str(), (long long)W, (long long)H, (long long)frames, s,
              double(mem.peak) / double(1ull << 30), encode_s);
  return 0;
}

}  // namespace wan::cli
