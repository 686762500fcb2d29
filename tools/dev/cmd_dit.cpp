// wan-dev dit: one forward of the diffusion transformer on the CPU reference backend.
//
// With a case file (golden format) its inputs are used and the outputs compared with the case's
// reference; otherwise random latents and text embeddings of the given sizes. Without
// --checkpoint the built-in demo checkpoint (the tiny DiT of the golden data) runs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "args.h"
#include "dev_commands.h"
#include "core/rng.h"
#include "core/stats.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "models/wan_dit.h"
#include "models/wan_dit_case.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"checkpoint", true, "DiT folder (config.json + safetensors); default: the built-in demo checkpoint", {}},
    {"case", true, "inputs (and reference outputs) in the golden .io.safetensors format", {}},
    {"frames", true, "latent frames T (random inputs; default 3)", {}},
    {"height", true, "latent height H (default 8)", {}},
    {"width", true, "latent width W (default 12)", {}},
    {"timestep", true, "timestep value (random inputs; default 500)", {}},
    {"text-tokens", true, "text embedding length (random inputs; default 16)", {}},
    {"seed", true, "seed of the random inputs (default 0)", {}},
    {"output", true, "write the prediction(s) out.i to this .safetensors file", {}},
    {"threads", true, "CPU threads (default: all cores)", {}},
    {"tolerance", true, "relative L2 bound when comparing with a case's reference (default 1e-4)", {}},
    {"help", false, "show this help", {"h"}},
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

WanDiTCase random_case(const WanDiTConfig& cfg, const Args& args) {
  WanDiTCase c;
  const int64_t T = args.get_int("frames", 3), H = args.get_int("height", 8), W = args.get_int("width", 12);
  const int64_t text = args.get_int("text-tokens", 16);
  WAN_CHECK(T > 0 && H > 0 && W > 0, "--frames, --height and --width must be positive");
  WAN_CHECK(text > 0 && text <= cfg.text_len, "--text-tokens must be in [1, ", cfg.text_len, "]");
  Rng rng(uint64_t(args.get_int("seed", 0)));
  c.batch = 1;
  Tensor x = Tensor::empty({cfg.in_dim, T, H, W}, DType::F32);
  rng.fill_normal(x);
  Tensor ctx = Tensor::empty({text, cfg.text_dim}, DType::F32);
  rng.fill_normal(ctx);
  c.x = {x};
  c.context = {ctx};
  c.t = Tensor::from_vector<float>({float(args.get_double("timestep", 500.0))}, {1});
  const auto& p = cfg.patch_size;
  c.seq_len = (T / p[0]) * (H / p[1]) * (W / p[2]);
  return c;
}

}  // namespace

int cmd_dit(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "wan-dev dit");
  if (args.has("help")) {
    std::printf("usage: wan-dev dit [options]\n\nRuns the Wan DiT once on the CPU reference backend and reports time and "
                "output statistics.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  WAN_CHECK(args.positionals().empty(), "wan-dev dit takes no positional arguments; see 'wan-dev dit --help'");
  if (args.has("threads")) set_num_threads(int(args.get_int("threads", 0)));

  const bool demo = !args.has("checkpoint");
  std::string checkpoint = args.get_or("checkpoint", "");
  std::string case_path = args.get_or("case", "");
  if (demo) {
    checkpoint = (std::filesystem::path(data_dir()) / "golden" / "dit_tiny").string();
    if (case_path.empty() && !args.has("frames") && !args.has("height") && !args.has("width"))
      case_path = (std::filesystem::path(data_dir()) / "golden" / "dit_tiny.single.io.safetensors").string();
    std::printf("no --checkpoint: using the built-in demo checkpoint %s\n", checkpoint.c_str());
  }

  auto t0 = std::chrono::steady_clock::now();
  const WanDiT model = WanDiT::load(checkpoint);
  std::printf("loaded %s (%s) in %.2f s\n", checkpoint.c_str(), model.config().summary().c_str(), seconds_since(t0));

  const WanDiTCase c = case_path.empty() ? random_case(model.config(), args) : read_wan_dit_case(case_path);
  if (!case_path.empty()) std::printf("inputs from %s\n", case_path.c_str());
  std::printf("batch %lld, seq_len %lld, latent %s, %d threads\n", (long long)c.x.size(), (long long)c.seq_len,
              c.x[0].describe().c_str(), num_threads());

  t0 = std::chrono::steady_clock::now();
  const std::vector<Tensor> out = model.forward(c.x, c.t, c.context, c.seq_len);
  std::printf("forward: %.3f s\n", seconds_since(t0));

  bool ok = true;
  const double tolerance = args.get_double("tolerance", 1e-4);
  for (size_t i = 0; i < out.size(); ++i) {
    const TensorStats s = tensor_stats(out[i]);
    std::printf("out.%zu %s: mean %.6g std %.6g min %.6g max %.6g%s\n", i, out[i].describe().c_str(), s.mean,
                s.stddev, s.min, s.max, s.non_finite ? " NON-FINITE VALUES" : "");
    ok = ok && s.non_finite == 0;
    if (i < c.out.size()) {
      const double err = rel_l2(out[i], c.out[i]);
      const bool pass = err <= tolerance;
      std::printf("out.%zu vs reference: relative L2 %.3e (%s %.0e)\n", i, err, pass ? "<=" : "EXCEEDS", tolerance);
      ok = ok && pass;
    }
  }
  if (args.has("output")) {
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (size_t i = 0; i < out.size(); ++i) tensors.emplace_back("out." + std::to_string(i), out[i]);
    save_safetensors(*args.get("output"), tensors);
    std::printf("wrote %s\n", args.get("output")->c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace wan::cli
