// The VAE decoder on the GPU (f32 tensors, TF32 convolutions and products) against the official
// outputs of every vae*.io.safetensors case: relative L2 <= 1e-2 (the bound of one reduced-
// precision model call, tests/data/golden/README.md; TF32 keeps 10 mantissa bits). Also: the GPU
// decoder agrees with the CPU reference on an odd latent (3 frames, 5x7) of the same weights.
#include <gtest/gtest.h>

#include "backend/backend.h"
#include "core/stats.h"
#include "io/safetensors.h"
#include "models/wan_vae.h"
#include "test_util.h"

namespace wan {
namespace {

std::vector<std::string> vae_cases() { return test::golden_files("vae", ".io.safetensors"); }

WanVAE open_vae(const std::string& path, const SafetensorsFile& io) {
  const std::string pth = test::golden_sibling(path, ".pth");
  return WanVAE::load(pth, WanVAEConfig::from_json(io.metadata().at("config"), path, WanVAE::detect_version(pth)));
}

class WanVAECudaGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_P(WanVAECudaGolden, DecodeMatchesOfficialOutput) {
  const auto io = SafetensorsFile::open(GetParam());
  WanVAE vae = open_vae(GetParam(), *io);
  vae.to(Device::CUDA);
  ASSERT_EQ(vae.device(), Device::CUDA);
  const Tensor video = vae.decode(io->tensor("z"));
  const Tensor ref = io->tensor("video");
  ASSERT_EQ(video.shape(), ref.shape());
  const double err = rel_l2(video, ref);
  std::printf("%s video on CUDA: relative L2 %.3e\n", GetParam().c_str(), err);
  EXPECT_LE(err, 1e-2);
  EXPECT_GT(tensor_stats(video).stddev, 1e-3);
}

TEST_P(WanVAECudaGolden, OddLatentMatchesTheCpuReference) {
  const auto io = SafetensorsFile::open(GetParam());
  WanVAE cpu = open_vae(GetParam(), *io), gpu = open_vae(GetParam(), *io);
  gpu.to(Device::CUDA);
  const Tensor z = test::random_tensor({cpu.config().z_dim, 3, 5, 7}, 5);
  const Tensor ref = cpu.decode(z), got = gpu.decode(z);
  ASSERT_EQ(got.shape(), ref.shape());
  const double err = rel_l2(got, ref);
  std::printf("%s odd latent on CUDA vs CPU: relative L2 %.3e\n", GetParam().c_str(), err);
  EXPECT_LE(err, 1e-2);
  // The device decoder can go back to the CPU and gives the reference again.
  gpu.to(Device::CPU);
  EXPECT_LE(rel_l2(gpu.decode(z), ref), 1e-6);
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, WanVAECudaGolden, ::testing::ValuesIn(vae_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WanVAECudaGolden);

}  // namespace
}  // namespace wan
