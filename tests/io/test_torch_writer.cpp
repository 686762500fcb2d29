// save_torch_state_dict against our .pth reader (itself tested on files torch.save wrote): every
// dtype, shapes including a scalar and an empty tensor, non-contiguous inputs, the 64-byte data
// alignment torch uses, and the tiny golden T5 rewritten and read back as the same state dict.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/stats.h"
#include "io/torch_checkpoint.h"
#include "io/torch_writer.h"
#include "io/zip_archive.h"
#include "test_util.h"

namespace wan {
namespace {

TEST(TorchWriter, RoundTripsEveryDtypeAndShape) {
  test::TempDir dir;
  const Tensor a = test::random_tensor({3, 5}, 1);
  std::vector<std::pair<std::string, Tensor>> in = {
      {"blocks.0.weight", a},
      {"blocks.0.bias", test::random_tensor({7}, 2).to(DType::BF16)},
      {"half", test::random_tensor({2, 2, 2}, 3).to(DType::F16)},
      {"ids", Tensor::from_vector(std::vector<int64_t>{1, -2, 3000000000LL}, {3})},
      {"scalar", Tensor::from_vector(std::vector<float>{4.5f}, {})},
      {"empty", Tensor::zeros({0, 4}, DType::F32)},
      {"transposed", a.permute({1, 0})},  // written contiguous
  };
  const std::string path = dir.file("w.pth");
  save_torch_state_dict(path, in);
  const auto out = load_torch_checkpoint(path);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].first, in[i].first);
    EXPECT_EQ(out[i].second.dtype(), in[i].second.dtype()) << in[i].first;
    EXPECT_EQ(out[i].second.shape(), in[i].second.shape()) << in[i].first;
    if (in[i].second.numel() > 0)
      EXPECT_EQ(rel_l2(out[i].second.to(DType::F64), in[i].second.to(DType::F64)), 0.0) << in[i].first;
  }
  const auto zip = ZipArchive::open(path);
  for (const auto& m : zip->members())
    if (m.name.find("/data/") != std::string::npos) EXPECT_EQ(m.offset % 64, 0u) << m.name;
}

TEST(TorchWriter, RewritesTheGoldenT5AsTheSameStateDict) {
  test::TempDir dir;
  const auto original = load_torch_checkpoint(test::golden_dir() + "/t5_tiny.pth");
  save_torch_state_dict(dir.file("t5.pth"), original);
  const auto back = load_torch_checkpoint(dir.file("t5.pth"));
  ASSERT_EQ(back.size(), original.size());
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].first, original[i].first);
    EXPECT_EQ(rel_l2(back[i].second.to(DType::F64), original[i].second.to(DType::F64)), 0.0) << back[i].first;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("t5.pth") + ".partial"));
}

}  // namespace
}  // namespace wan
