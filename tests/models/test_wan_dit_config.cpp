#include <gtest/gtest.h>

#include "models/wan_dit_config.h"
#include "models/wan_dit_weights.h"
#include "test_util.h"

namespace wan {
namespace {

// The keys an official A14B expert's config.json stores (wan22-reference.md §1.2).
const char* kA14BConfig = R"({"_class_name": "WanModel", "_diffusers_version": "0.33.0", "dim": 5120,
  "eps": 1e-06, "ffn_dim": 13824, "freq_dim": 256, "in_dim": 16, "model_type": "t2v", "num_heads": 40,
  "num_layers": 40, "out_dim": 16, "text_len": 512})";

TEST(WanDiTConfig, RealFilesTakeTheOfficialDefaultsForOmittedKeys) {
  const WanDiTConfig c = WanDiTConfig::from_json(kA14BConfig, "config.json");
  EXPECT_EQ(c.text_dim, 4096);
  EXPECT_EQ(c.patch_size, (std::array<int64_t, 3>{1, 2, 2}));
  EXPECT_TRUE(c.qk_norm);
  EXPECT_TRUE(c.cross_attn_norm);
  EXPECT_EQ(c.window_size, (std::array<int64_t, 2>{-1, -1}));
  EXPECT_EQ(c.head_dim(), 128);
  const WanDiTConfig ref = WanDiTConfig::t2v_a14b();
  EXPECT_EQ(c.summary(), ref.summary());
}

TEST(WanDiTConfig, ReadsTheGoldenConfig) {
  const WanDiTConfig c = WanDiTConfig::from_file(test::golden_dir() + "/dit_tiny_ti2v/config.json");
  EXPECT_EQ(c.model_type, "ti2v");
  EXPECT_EQ(c.text_dim, 64);
  EXPECT_EQ(c.in_dim, 48);
  EXPECT_EQ(c.ffn_dim, 640);
}

TEST(WanDiTConfig, ParameterCountsOfTheRealModels) {
  // wan22-reference.md §2.1: ≈ 14.29 B per A14B expert (derived), ≈ 5.0 B for TI2V-5B.
  const double a14b = double(wan_dit_parameter_count(WanDiTConfig::t2v_a14b()));
  EXPECT_NEAR(a14b / 1e9, 14.29, 0.01);
  const double ti2v = double(wan_dit_parameter_count(WanDiTConfig::ti2v_5b()));
  EXPECT_NEAR(ti2v / 1e9, 5.0, 0.05);
}

TEST(WanDiTConfig, ClearErrors) {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      WanDiTConfig::from_json(text, "cfg.json");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"dim": "big"})").find("'dim' has the wrong type"), std::string::npos);
  EXPECT_NE(error_of(R"({"dim": 100, "num_heads": 3})").find("not divisible"), std::string::npos);
  EXPECT_NE(error_of(R"({"model_type": "s2v"})").find("model_type 's2v' is not supported"), std::string::npos);
  EXPECT_NE(error_of(R"({"window_size": [8, 8]})").find("local attention"), std::string::npos);
  EXPECT_NE(error_of(R"({"_class_name": "AutoencoderKLWan"})").find("not a Wan DiT"), std::string::npos);
  EXPECT_NE(error_of(R"({"num_layers": 0})").find("num_layers must be positive"), std::string::npos);
  EXPECT_THROW(WanDiTConfig::from_file("/nonexistent/config.json"), Error);
}

}  // namespace
}  // namespace wan
