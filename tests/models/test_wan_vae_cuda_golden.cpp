// The VAE decoder and encoder on the GPU, channels-last, against the official outputs of every
// vae*.io.safetensors case:
//  - f32 activations (TF32 convolutions and products): relative L2 <= 1e-2, the bound of one
//    reduced-precision model call (tests/data/golden/README.md; TF32 keeps 10 mantissa bits).
//  - bf16 activations (bf16 convolutions, f32 norms and attention): these tiny random-weight VAEs
//    amplify rounding ~20x (rounding only the weights to bf16 moves the f32 output by 7e-3), so no
//    bf16 computation of them meets 1e-2. The bound is what bf16 storage itself costs: the CPU
//    reference with the GPU's bf16 roundings emulated (WanVAE::to(CPU, BF16): convolution weights,
//    inputs, outputs and residual sums) measures it, and the GPU may exceed it by half (its
//    accumulation order, and roundings the emulation leaves out: the attention's input and output).
// Also: the GPU decoder agrees with the CPU reference on an odd latent (3 frames, 5x7), within
// the same bounds against the CPU's f32 output; the GPU encoder matches the official `mu` within
// the same kind of bounds, and on an odd clip (5 frames, not square) the CPU reference.
#include <gtest/gtest.h>

#include <algorithm>

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

// The bound of a GPU decode with `activations` against the official f32 output (see the top).
double bound_for(DType activations, const std::string& path, const SafetensorsFile& io, const Tensor& z,
                 const Tensor& ref) {
  if (activations == DType::F32) return 1e-2;
  WanVAE emulated = open_vae(path, io);
  emulated.to(Device::CPU, DType::BF16);
  const double cost = rel_l2(emulated.decode(z), ref);
  std::printf("%s: bf16 storage emulated on the CPU costs relative L2 %.3e\n", path.c_str(), cost);
  EXPECT_GT(cost, 1e-5) << "the emulation rounds nothing";
  return std::max(1e-2, 1.5 * cost);
}

TEST_P(WanVAECudaGolden, DecodeMatchesOfficialOutput) {
  const auto io = SafetensorsFile::open(GetParam());
  const Tensor ref = io->tensor("video"), z = io->tensor("z");
  for (DType activations : {DType::F32, DType::BF16}) {
    WanVAE vae = open_vae(GetParam(), *io);
    vae.to(Device::CUDA, activations);
    ASSERT_EQ(vae.device(), Device::CUDA);
    const Tensor video = vae.decode(z);
    ASSERT_EQ(video.shape(), ref.shape());
    const double err = rel_l2(video, ref), bound = bound_for(activations, GetParam(), *io, z, ref);
    std::printf("%s video on CUDA (%s activations): relative L2 %.3e (bound %.3e)\n", GetParam().c_str(),
                dtype_name(activations), err, bound);
    EXPECT_LE(err, bound) << dtype_name(activations);
    EXPECT_GT(tensor_stats(video).stddev, 1e-3);
  }
}

// The encoder on the GPU: the official `mu` of `video_in` within the decoder's bounds (f32: 1e-2;
// bf16: 1.5x what the CPU emulation of bf16 storage costs the encoder, at least 1e-2).
TEST_P(WanVAECudaGolden, EncodeMatchesOfficialOutput) {
  const auto io = SafetensorsFile::open(GetParam());
  const Tensor ref = io->tensor("mu"), video = io->tensor("video_in");
  for (DType activations : {DType::F32, DType::BF16}) {
    double bound = 1e-2;
    if (activations == DType::BF16) {
      WanVAE emulated = open_vae(GetParam(), *io);
      emulated.to(Device::CPU, DType::BF16);
      const double cost = rel_l2(emulated.encode(video), ref);
      std::printf("%s: bf16 storage emulated on the CPU costs the encoder relative L2 %.3e\n", GetParam().c_str(),
                  cost);
      EXPECT_GT(cost, 1e-5) << "the emulation rounds nothing";
      bound = std::max(bound, 1.5 * cost);
    }
    WanVAE vae = open_vae(GetParam(), *io);
    vae.to(Device::CUDA, activations);
    const Tensor mu = vae.encode(video);
    ASSERT_EQ(mu.shape(), ref.shape());
    EXPECT_EQ(mu.device(), Device::CPU);
    const double err = rel_l2(mu, ref);
    std::printf("%s mu on CUDA (%s activations): relative L2 %.3e (bound %.3e)\n", GetParam().c_str(),
                dtype_name(activations), err, bound);
    EXPECT_LE(err, bound) << dtype_name(activations);
    EXPECT_GT(tensor_stats(mu).stddev, 1e-3);
  }
}

TEST_P(WanVAECudaGolden, OddLatentMatchesTheCpuReference) {
  const auto io = SafetensorsFile::open(GetParam());
  WanVAE cpu = open_vae(GetParam(), *io);
  const Tensor z = test::random_tensor({cpu.config().z_dim, 3, 5, 7}, 5);
  const Tensor ref = cpu.decode(z);
  for (DType activations : {DType::F32, DType::BF16}) {
    WanVAE gpu = open_vae(GetParam(), *io);
    gpu.to(Device::CUDA, activations);
    const Tensor got = gpu.decode(z);
    ASSERT_EQ(got.shape(), ref.shape());
    const double err = rel_l2(got, ref);
    std::printf("%s odd latent on CUDA vs CPU (%s activations): relative L2 %.3e\n", GetParam().c_str(),
                dtype_name(activations), err);
    const double bound = bound_for(activations, GetParam(), *io, z, ref);
    EXPECT_LE(err, bound) << dtype_name(activations);
    // The device decoder can go back to the CPU and gives the reference again (bf16 convolution
    // weights stay rounded: within the bf16 bound then).
    gpu.to(Device::CPU);
    EXPECT_LE(rel_l2(gpu.decode(z), ref), activations == DType::F32 ? 1e-6 : bound) << dtype_name(activations);
  }
}

TEST_P(WanVAECudaGolden, OddClipEncodesAsOnTheCpu) {
  const auto io = SafetensorsFile::open(GetParam());
  WanVAE cpu = open_vae(GetParam(), *io);
  const int64_t s = cpu.config().spatial_stride();
  const Tensor video = test::random_tensor({3, 5, 3 * s, 2 * s}, 11, 0.5);
  const Tensor ref = cpu.encode(video);
  WanVAE gpu = open_vae(GetParam(), *io);
  gpu.to(Device::CUDA, DType::F32);
  const double err = rel_l2(gpu.encode(video), ref);
  std::printf("%s odd clip encoded on CUDA vs CPU (f32 activations): relative L2 %.3e\n", GetParam().c_str(), err);
  EXPECT_LE(err, 1e-2);
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, WanVAECudaGolden, ::testing::ValuesIn(vae_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WanVAECudaGolden);

}  // namespace
}  // namespace wan
