// An FP8 checkpoint on the GPU in FP8 (--precision fp8): the block weights it stores in E4M3 with
// one scale (or one per row) are used as stored, not dequantised and quantised again. The file
// here is each golden case's DiT with its block weights in E4M3 at a per-tensor scale that puts
// their largest value at 200 (not E4M3's 448, so a second per-row quantisation would move every
// value onto another grid); one block's self-attention k is left dequantised in bf16, so that
// fused q; k; v takes the mixed path (dequantise, quantise). The model the file describes is its
// weights exactly (values · scale, the CPU reference in f32). Against it, the FP8 forward of the
// file must be closer than the FP8 forward of the same weights written dequantised (which are
// quantised again at load), and within the 5e-2 of the golden FP8 tests. And a folder converted to
// fp8 (`wan convert --dtype fp8`) runs in FP8 exactly as its source does.
#include <gtest/gtest.h>

#include <filesystem>

#include "backend/backend.h"
#include "core/precision.h"
#include "core/stats.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "models/wan_dit.h"
#include "models/wan_dit_case.h"
#include "models/wan_dit_cuda.h"
#include "models/wan_dit_weights.h"
#include "pipeline/convert_checkpoint.h"
#include "test_util.h"

namespace wan {
namespace {

std::vector<std::string> dit_cases() { return test::golden_files("dit_", ".io.safetensors"); }

class WanDiTCudaFp8File : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
    if (!fp8_products_supported(cuda_compute_capability()))
      GTEST_SKIP() << "FP8 needs compute capability 8.9: " << cuda_device_summary();
  }
};

// Writes `folder` (the FP8 file, ComfyUI's scale_weight convention) and `dequantised` (the same
// weights as f32 values · scale) from the checkpoint `src`.
void write_fp8_checkpoints(const std::string& src, const std::string& folder, const std::string& dequantised) {
  const TensorStore store = TensorStore::open(src);
  std::vector<std::pair<std::string, Tensor>> fp8, exact;
  for (const std::string& name : store.names()) {
    const Tensor w = store.get(name).to(DType::F32).contiguous();
    if (!is_fp8_block_weight(name)) {
      fp8.emplace_back(name, w);
      exact.emplace_back(name, w);
      continue;
    }
    float max_abs = 0;
    for (int64_t i = 0; i < w.numel(); ++i) max_abs = std::max(max_abs, std::abs(w.data<float>()[i]));
    const float scale = max_abs / 200.0f;
    Tensor q = w.clone();
    for (int64_t i = 0; i < q.numel(); ++i) q.data<float>()[i] /= scale;
    const Tensor values = q.to(DType::F8_E4M3);
    Tensor deq = values.to(DType::F32).contiguous();
    for (int64_t i = 0; i < deq.numel(); ++i) deq.data<float>()[i] *= scale;
    if (name == "blocks.1.self_attn.k.weight") {  // stored in bf16: both copies hold the bf16 values
      fp8.emplace_back(name, deq.to(DType::BF16));
      exact.emplace_back(name, deq.to(DType::BF16).to(DType::F32));
      continue;
    }
    exact.emplace_back(name, deq);
    fp8.emplace_back(name, values);
    fp8.emplace_back(name.substr(0, name.size() - 7) + ".scale_weight", Tensor::from_vector<float>({scale}, {1}));
  }
  std::filesystem::create_directories(folder);
  std::filesystem::create_directories(dequantised);
  save_safetensors(folder + "/wan_fp8_scaled.safetensors", fp8);
  save_safetensors(dequantised + "/diffusion_pytorch_model.safetensors", exact);
  std::filesystem::copy_file(src + "/config.json", dequantised + "/config.json");
}

TEST_P(WanDiTCudaFp8File, StoredE4M3WeightsAreUsedAsStored) {
  const WanDiTCase c = read_wan_dit_case(GetParam());
  test::TempDir dir;
  const std::string file = dir.file("fp8"), exact = dir.file("exact");
  write_fp8_checkpoints(wan_dit_case_checkpoint(GetParam()), file, exact);
  // The model the FP8 file describes, exactly: the dequantised copy's f32 weights are the file's
  // values · scale (and its one bf16 tensor), bit for bit.
  const std::vector<Tensor> ref = WanDiT::load(exact).forward(c.x, c.t, c.context, c.seq_len);
  const std::vector<Tensor> as_stored = WanDiTCuda::load(file, Precision::FP8).forward(c.x, c.t, c.context, c.seq_len);
  const std::vector<Tensor> requantised = WanDiTCuda::load(exact, Precision::FP8).forward(c.x, c.t, c.context, c.seq_len);
  ASSERT_EQ(as_stored.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_EQ(tensor_stats(as_stored[i]).non_finite, 0);
    const double err = rel_l2(as_stored[i], ref[i]), err_requantised = rel_l2(requantised[i], ref[i]);
    std::printf("%s out.%zu: FP8 file in FP8, relative L2 to its exact model %.3e (the same weights quantised "
                "again at load: %.3e)\n", GetParam().c_str(), i, err, err_requantised);
    EXPECT_LE(err, 5e-2) << "out." << i;
    EXPECT_LT(err, err_requantised) << "out." << i << ": the stored E4M3 values were not used as they are";
  }
}

// `wan convert --dtype fp8` writes the block weights as an FP8 run quantises them at load, so an
// FP8 run of the converted folder is the FP8 run of the source, bit for bit.
TEST_P(WanDiTCudaFp8File, AConvertedFp8FolderRunsExactlyAsItsSource) {
  const WanDiTCase c = read_wan_dit_case(GetParam());
  const std::string src = wan_dit_case_checkpoint(GetParam());
  test::TempDir dir;
  convert_checkpoint(src, dir.file("fp8"), DType::F8_E4M3);
  const std::vector<Tensor> from_source = WanDiTCuda::load(src, Precision::FP8).forward(c.x, c.t, c.context, c.seq_len);
  const std::vector<Tensor> converted =
      WanDiTCuda::load(dir.file("fp8"), Precision::FP8).forward(c.x, c.t, c.context, c.seq_len);
  ASSERT_EQ(converted.size(), from_source.size());
  for (size_t i = 0; i < converted.size(); ++i) {
    EXPECT_EQ(tensor_stats(converted[i]).non_finite, 0);
    EXPECT_EQ(rel_l2(converted[i], from_source[i]), 0.0) << "out." << i;
  }
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }
INSTANTIATE_TEST_SUITE_P(Golden, WanDiTCudaFp8File, ::testing::ValuesIn(dit_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(WanDiTCudaFp8File);

}  // namespace
}  // namespace wan
