// wan bench vae: the VAE decoder on the GPU at a real size with random weights (no checkpoint):
// one warm-up decode of a 3-latent-frame clip of the same size (plans every layer's shapes), then
// the timed decodes of the whole latent (the median of --reps); frames go to the host chunk by
// chunk as in a real run. --dtype picks the activations' dtype (bf16, the default, or f32).
// --encode also times the encoder on a random video (frames come from the host chunk by chunk).
#include <cstdio>
#include <tuple>

#include "args.h"
#include "commands.h"
#include "cli_error.h"
#include "wan/wan.hpp"

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
  CLI_CHECK(wan_cuda_available(), "wan bench vae needs a GPU: ", wan_cuda_device_summary());
  wan_vae_benchmark_params p = wan_vae_benchmark_default_params();
  p.version = int32_t(args.get_int("version", 21));
  CLI_CHECK(p.version == 21 || p.version == 22, "--version must be 21 or 22");
  if (args.has("size")) std::tie(p.width, p.height) = parse_size(*args.get("size"));
  p.frames = int32_t(args.get_int("frames", 0));
  CLI_CHECK(!args.has("frames") || p.frames > 0, "--frames must be positive");
  const std::string dtype = args.get_or("dtype", "bf16");
  CLI_CHECK(dtype == "bf16" || dtype == "f32", "--dtype must be bf16 or f32, got ", dtype);
  p.f32 = dtype == "f32";
  p.reps = int32_t(args.get_int("reps", 1));
  CLI_CHECK(p.reps >= 1, "--reps must be at least 1");
  p.profile = args.has("profile");
  p.encode = args.has("encode");

  std::printf("device: %s\n", wan_cuda_device_summary());
  std::printf("libraries: %s\n", wan_cuda_library_versions());
  wan_vae_benchmark_result r;
  api::check(wan_benchmark_vae(&p, &r));
  std::printf("Wan%s VAE decode, %s activations, %dx%d, %d frames (latent %dx%dx%d): %.3f s (median of %d), %d "
              "frames out, peak GPU memory %.2f GiB (reserved %.2f GiB)\n",
              p.version == 22 ? "2.2" : "2.1", dtype.c_str(), r.width, r.height, r.frames, r.latent_frames,
              r.latent_height, r.latent_width, r.decode_seconds, p.reps, r.frames_out, r.decode_peak_gib,
              r.decode_reserved_gib);
  if (p.profile) std::printf("split (a profiled decode, %s)\n", r.profile);
  if (p.encode)
    std::printf("Wan%s VAE encode, %s activations, %dx%d, %d frames: %.3f s (median of %d), peak GPU memory %.2f "
                "GiB\n",
                p.version == 22 ? "2.2" : "2.1", dtype.c_str(), r.width, r.height, r.frames, r.encode_seconds, p.reps,
                r.encode_peak_gib);
  std::printf("JSON {\"bench\":\"vae\",\"version\":%d,\"dtype\":\"%s\",\"width\":%d,\"height\":%d,"
              "\"frames\":%d,\"seconds\":%.4f,\"peak_gib\":%.3f,\"encode_seconds\":%.4f}\n",
              p.version, dtype.c_str(), r.width, r.height, r.frames, r.decode_seconds, r.decode_peak_gib,
              r.encode_seconds);
  return 0;
}

}  // namespace wan::cli
