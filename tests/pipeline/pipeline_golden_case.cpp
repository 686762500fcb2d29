#include "pipeline/pipeline_golden_case.h"

#include "test_util.h"

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "models/wan_dit.h"
#include "models/wan_vae.h"
#include "pipeline/denoise.h"
#include "pipeline/expert_residency.h"
#ifdef WAN_HAVE_CUDA
#include "models/wan_dit_cuda.h"
#endif

namespace wan::test {
namespace {

nlohmann::json meta(const SafetensorsFile& f, const std::string& key) {
  WAN_CHECK(f.metadata().count(key), f.path(), ": metadata has no '", key, "'");
  return nlohmann::json::parse(f.metadata().at(key));
}

std::unique_ptr<DiTModel> load_dit(const std::string& path, bool cuda) {
  if (!cuda) return std::make_unique<WanDiT>(WanDiT::load(path));
#ifdef WAN_HAVE_CUDA
  return std::make_unique<WanDiTCuda>(WanDiTCuda::load(path));
#else
  fail("no CUDA backend in this build");
#endif
}

}  // namespace

std::vector<PipelineResult> run_pipeline_golden(const std::string& case_path, bool cuda, bool offload, size_t* swaps) {
  const auto io = SafetensorsFile::open(case_path);
  const std::filesystem::path path(case_path);
  const std::filesystem::path dir = golden_sibling(case_path, "");
  std::unique_ptr<DiTModel> high = load_dit((dir / "high_noise_model").string(), cuda);
  std::unique_ptr<DiTModel> low = load_dit((dir / "low_noise_model").string(), cuda);
  std::unique_ptr<ExpertResidency> residency;
  if (offload) residency = share_one_gpu(high, low);
  const auto vae_case = SafetensorsFile::open((path.parent_path() / "vae21_tiny.io.safetensors").string());
  WanVAE vae = WanVAE::load((path.parent_path() / "vae21_tiny.pth").string(),
                            WanVAEConfig::from_json(vae_case->metadata().at("config"), vae_case->path(), 21));
  WAN_CHECK(meta(*io, "num_train_timesteps").get<int64_t>() == 1000, case_path, ": num_train_timesteps is not 1000");
  const auto guide = meta(*io, "guide_scale").get<std::vector<double>>();  // [low, high]
  DenoiseInputs in;
  in.noise = io->tensor("noise");
  in.context = io->tensor("context");
  in.context_null = io->tensor("context_null");
  in.high_noise = high.get();
  in.low_noise = low.get();
  in.boundary = meta(*io, "boundary").get<double>();
  in.guide_low = guide[0];
  in.guide_high = guide[1];
  in.steps = meta(*io, "steps").get<int64_t>();
  in.shift = meta(*io, "shift").get<double>();

  std::vector<PipelineResult> results;
  for (const auto& e : io->entries()) {
    if (e.name.rfind("video.", 0) != 0) continue;
    PipelineResult r;
    r.name = e.name;
    r.steps = in.steps;
    in.solver = solver_from_name(e.name.substr(6));
    const Tensor latent = denoise(in, [&](int64_t, int64_t, int64_t, bool is_high) {
      r.high_noise_steps += is_high;
      return true;
    });
    r.video = vae.decode(latent);
    r.reference = io->tensor(e.name);
    results.push_back(std::move(r));
  }
  if (swaps) *swaps = residency ? residency->swaps() : 0;
  return results;
}

}  // namespace wan::test
