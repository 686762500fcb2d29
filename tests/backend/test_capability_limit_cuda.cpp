// What the engine runs by the GPU's compute capability (core/precision.h), checked on whatever GPU
// the tests have by lowering the capability the engine sees (WAN_CUDA_CAPABILITY_LIMIT,
// backend/backend.h): before 8.9 no FP8 (the API falls back to bf16 with a warning, the DiT refuses
// it), on 8.9 (Ada) FP8 products with a bf16 self-attention, from 9.0 both in FP8. On a GPU below a
// limit the limit changes nothing, and the tests that need a higher one skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "core/error.h"
#include "core/precision.h"
#include "core/stats.h"
#include "models/wan_dit_cuda.h"
#include "test_util.h"
#include "wan/wan.hpp"

namespace wan {
namespace {

constexpr const char* kLimit = "WAN_CUDA_CAPABILITY_LIMIT";

// Sets an environment variable for one scope, restoring what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

int real_capability() {
  ScopedEnv none(kLimit, nullptr);
  return cuda_compute_capability();
}

WanDiTConfig small_config() { return test::small_a14b_dit_config(2); }

TEST(CapabilityLimit, LowersWhatTheEngineSeesAndNeverRaisesIt) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  const int real = real_capability(), outer = cuda_compute_capability();  // outer: as this process was started
  EXPECT_EQ(outer, std::min(real, cuda_capability_limit() > 0 ? cuda_capability_limit() : real));
  ASSERT_GE(real, 50);
  {
    ScopedEnv env(kLimit, "80");
    EXPECT_EQ(cuda_compute_capability(), std::min(real, 80));
    EXPECT_EQ(cuda_device_properties(0).compute_capability, std::min(real, 80));
    if (real > 80)
      EXPECT_NE(cuda_device_summary().find("treated as compute 8.0"), std::string::npos) << cuda_device_summary();
    EXPECT_EQ(wan::api::device_info(0).fp8, 0);
  }
  {
    ScopedEnv env(kLimit, "999");  // above any GPU: nothing changes
    EXPECT_EQ(cuda_compute_capability(), real);
    EXPECT_EQ(cuda_device_summary().find("treated as"), std::string::npos) << cuda_device_summary();
  }
  for (const char* bad : {"8.9", "ada", "5", "89x"}) {
    ScopedEnv env(kLimit, bad);
    try {
      cuda_compute_capability();
      ADD_FAILURE() << kLimit << "=" << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("10·major + minor"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(cuda_compute_capability(), outer);
}

// Before Ada: the DiT refuses FP8 with what to do, the API runs bf16 and says so in its precision.
TEST(CapabilityLimit, BeforeAdaFp8FallsBackToBf16) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  ScopedEnv env(kLimit, "80");
  try {
    WanDiTCuda::random(small_config(), 5, Precision::FP8);
    ADD_FAILURE() << "an FP8 DiT built at compute 8.0";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("8.9"), std::string::npos) << what;
    EXPECT_NE(what.find("--precision bf16"), std::string::npos) << what;
  }
  test::TempDir dir;
  wan::api::ContextOptions options;
  options.checkpoint_dir = dir.file("demo");
  wan::api::prepare_demo_checkpoint(std::string(WAN_SOURCE_DIR) + "/tests/data", options.checkpoint_dir);
  options.device = WAN_DEVICE_CUDA;
  options.precision = WAN_PRECISION_FP8;
  wan::api::Context ctx(options);
  EXPECT_EQ(ctx.precision(), WAN_PRECISION_BF16);
}

// Ada: FP8 products, the self-attention in bf16. The forward must differ from Hopper's (whose
// attention is FP8) and from the bf16 model's (whose products are bf16), and stay as close to the
// bf16 model as Hopper's FP8 forward does or closer (one FP8 op fewer), within the bound the FP8
// goldens use.
TEST(CapabilityLimit, AdaRunsFp8ProductsWithBf16Attention) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  const int real = real_capability();
  if (real < 90) GTEST_SKIP() << "needs a Hopper GPU to compare against: " << cuda_device_summary();
  const WanDiTConfig config = small_config();
  const Tensor x = test::random_tensor({16, 4, 16, 16}, 21);  // [C, F, H, W]: 4·8·8 = 256 tokens
  const Tensor ctx = test::random_tensor({24, config.text_dim}, 22);
  const Tensor t = Tensor::from_vector<float>({641.0f}, {1});
  const int64_t seq_len = 256;
  const Tensor bf16 = WanDiTCuda::random(config, 7, Precision::BF16).forward({x}, t, {ctx}, seq_len)[0];
  Tensor hopper;
  {
    ScopedEnv env(kLimit, nullptr);  // the GPU as it is, whatever limit the process was started with
    const WanDiTCuda hopper_model = WanDiTCuda::random(config, 7, Precision::FP8);
    hopper = hopper_model.forward({x}, t, {ctx}, seq_len)[0];
    ASSERT_EQ(rel_l2(hopper_model.forward({x}, t, {ctx}, seq_len)[0], hopper), 0.0)
        << "the FP8 forward is not repeatable";
  }
  Tensor ada;
  {
    ScopedEnv env(kLimit, "89");
    EXPECT_EQ(wan::api::device_info(0).fp8, 1);
    const WanDiTCuda ada_model = WanDiTCuda::random(config, 7, Precision::FP8);
    EXPECT_EQ(ada_model.precision(), Precision::FP8);
    ada = ada_model.forward({x}, t, {ctx}, seq_len)[0];
  }
  EXPECT_EQ(tensor_stats(ada).non_finite, 0);
  const double ada_vs_hopper = rel_l2(ada, hopper), ada_err = rel_l2(ada, bf16), hopper_err = rel_l2(hopper, bf16);
  std::printf("vs the bf16 forward: Ada's FP8 (bf16 attention) %.3e, Hopper's FP8 %.3e; Ada vs Hopper %.3e\n",
              ada_err, hopper_err, ada_vs_hopper);
  EXPECT_GT(ada_vs_hopper, 0.0) << "the attention ran in FP8 at compute 8.9";
  EXPECT_GT(ada_err, 0.0) << "the products ran in bf16 at compute 8.9";
  EXPECT_LE(ada_err, hopper_err * 1.1);
  EXPECT_LE(ada_err, 5e-2);
}

}  // namespace
}  // namespace wan
