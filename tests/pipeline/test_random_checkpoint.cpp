// Random-weight checkpoints in the official layout: written with the tiny test configs, the
// folder passes the loaders' checks, loads and makes a finite video, for both tasks; the .pth
// files are read by the .pth reader with the official names and dtypes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/stats.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "models/weight_binding.h"
#include "pipeline/generate_frames.h"
#include "pipeline/random_checkpoint.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

std::string metadata_config(const std::string& io_file) {
  return SafetensorsFile::open(test::golden_dir() + "/" + io_file)->metadata().at("config");
}

RandomCheckpointOptions tiny(const std::string& task) {
  RandomCheckpointOptions o;
  o.task = task;
  const bool a14b = task == "t2v-A14B";
  std::ifstream in(test::golden_dir() + (a14b ? "/dit_tiny/config.json" : "/dit_tiny_ti2v/config.json"));
  o.dit_config_json = std::string(std::istreambuf_iterator<char>(in), {});
  o.t5_config_json = metadata_config("t5_tiny.io.safetensors");
  o.vae_config_json = metadata_config(a14b ? "vae21_tiny.io.safetensors" : "vae22_tiny.io.safetensors");
  o.tokenizer_model = std::string(WAN_SOURCE_DIR) + "/tests/data/tokenizer/spiece.model";
  o.shard_bytes = 1 << 20;  // several shards and an index
  return o;
}

class RandomCheckpoint : public ::testing::TestWithParam<std::string> {};

TEST_P(RandomCheckpoint, LoadsAndMakesAFiniteVideo) {
  test::TempDir dir;
  const std::string out = dir.file("random");
  const ConvertReport r = write_random_checkpoint(out, tiny(GetParam()));
  EXPECT_EQ(r.dit_folders, GetParam() == "t2v-A14B" ? 2 : 1);
  EXPECT_GT(r.shards, r.dit_folders);  // 1 MB shards: an index per DiT
  const fs::path dit = GetParam() == "t2v-A14B" ? fs::path(out) / "high_noise_model" : fs::path(out);
  EXPECT_TRUE(fs::exists(dit / "diffusion_pytorch_model.safetensors.index.json"));
  const TensorStore store = TensorStore::open(dit.string());
  for (const std::string& n : store.names()) EXPECT_EQ(store.get(n).dtype(), DType::F32) << n;  // the official fp32
  for (const auto& [name, t] : load_torch_checkpoint(out + "/" + kT5Checkpoint))
    EXPECT_EQ(t.dtype(), DType::BF16) << name;

  const GenerateParams p = test::tiny_request(1, "random weights make noise");
  const auto frames = test::generate_frames(out, p);
  int64_t count = 0;
  for (const Tensor& f : frames) {
    EXPECT_EQ(tensor_stats(f).non_finite, 0);
    count += f.size(1);
  }
  EXPECT_EQ(count, 5);
  EXPECT_THROW(write_random_checkpoint(out, tiny(GetParam())), Error);  // never overwrites
}

INSTANTIATE_TEST_SUITE_P(Tasks, RandomCheckpoint, ::testing::Values("t2v-A14B", "ti2v-5B"),
                         [](const auto& info) { return info.param == "t2v-A14B" ? std::string("A14B") : std::string("TI2V5B"); });

// The fp8_scaled form: one file per DiT without config.json, block weights in E4M3 with one f32
// scale each (6 standard deviations of the N(0, 0.02) draw at E4M3's 448), the rest bf16; the folder loads (its config
// inferred) and makes a finite video; the weights read back are values · scale of the same random
// draw as the bf16 form's, within E4M3's rounding.
TEST(RandomCheckpointFp8Scaled, OneFileWithScalesThatLoads) {
  test::TempDir dir;
  RandomCheckpointOptions o = tiny("t2v-A14B");
  o.dit_fp8_scaled = true;
  const std::string out = dir.file("fp8");
  const ConvertReport r = write_random_checkpoint(out, o);
  EXPECT_EQ(r.shards, 2);  // one file per expert
  const fs::path dit = fs::path(out) / "low_noise_model";
  EXPECT_FALSE(fs::exists(dit / "config.json"));
  EXPECT_TRUE(fs::exists(dit / "diffusion_pytorch_model.safetensors"));
  const TensorStore store = TensorStore::open(dit.string());
  const std::string name = "blocks.1.ffn.2.weight";
  ASSERT_EQ(store.get(name).dtype(), DType::F8_E4M3);
  ASSERT_EQ(store.get("blocks.1.ffn.2.scale_weight").dtype(), DType::F32);
  EXPECT_EQ(store.get("blocks.1.ffn.2.bias").dtype(), DType::BF16);
  EXPECT_EQ(store.get("head.head.weight").dtype(), DType::BF16);
  const Tensor values = store.get(name).to(DType::F32);
  float max_abs = 0;
  for (int64_t i = 0; i < values.numel(); ++i) max_abs = std::max(max_abs, std::abs(values.data<float>()[i]));
  EXPECT_EQ(store.get("blocks.1.ffn.2.scale_weight").to(DType::F32).data<float>()[0], 6 * 0.02f / 448.0f);
  EXPECT_GT(max_abs, 448.0f * 3 / 6);  // a tiny matrix's largest draw: 3-5 deviations
  EXPECT_LE(max_abs, 448.0f);
  // The same draw as the official form's weights (the bf16 form of the same seed and stream).
  RandomCheckpointOptions official = tiny("t2v-A14B");
  official.shard_bytes = int64_t(1) << 40;
  write_random_checkpoint(dir.file("official"), official);
  const Tensor exact = TensorStore::open(dir.file("official") + "/low_noise_model").get(name);
  const double err = rel_l2(read_weight(store, name, DType::F32), exact.to(DType::F32));
  EXPECT_GT(err, 1e-3);  // E4M3 rounding...
  EXPECT_LT(err, 5e-2);  // ...and nothing more
  const GenerateParams p = test::tiny_request(1, "fp8 random weights make noise");
  int64_t count = 0;
  for (const Tensor& f : test::generate_frames(out, p)) {
    EXPECT_EQ(tensor_stats(f).non_finite, 0);
    count += f.size(1);
  }
  EXPECT_EQ(count, 5);
}

// A random text encoder made with bf16 block matrices (what TextToVideo::random runs on the GPU)
// holds the same values as one made in f32 and then held in bf16: no f32 copy on the way.
TEST(RandomTextEncoder, Bf16BlockMatricesAreTheSameValues) {
  T5Config config = T5Config::umt5_xxl();
  config.vocab = 300;
  config.dim = 64;
  config.dim_attn = 64;
  config.dim_ffn = 96;
  config.num_heads = 4;
  config.num_layers = 2;
  const T5Encoder direct = random_t5_encoder(config, 7, DType::BF16);
  T5Encoder held = random_t5_encoder(config, 7);
  EXPECT_EQ(held.weights().blocks[1].ffn_fc1_weight.dtype(), DType::F32);
  held.hold_block_matrices_in(DType::BF16);
  const T5BlockWeights& d = direct.weights().blocks[1];
  const T5BlockWeights& h = held.weights().blocks[1];
  EXPECT_EQ(d.attn_q_weight.dtype(), DType::BF16);
  EXPECT_EQ(d.norm1_weight.dtype(), DType::F32);
  EXPECT_EQ(direct.weights().token_embedding_weight.dtype(), DType::F32);
  const Tensor a = d.ffn_fc2_weight.to(DType::F32), b = h.ffn_fc2_weight.to(DType::F32);
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
}

TEST(RandomCheckpointErrors, ConfigsThatDoNotFitTogether) {
  test::TempDir dir;
  RandomCheckpointOptions o = tiny("ti2v-5B");
  o.task = "t2v-A14B";  // a 48-channel DiT for a 16-channel task
  EXPECT_THROW(write_random_checkpoint(dir.file("x"), o), Error);
  EXPECT_FALSE(fs::exists(dir.file("x")));
  o = tiny("t2v-A14B");
  o.tokenizer_model = dir.file("none.model");
  EXPECT_THROW(write_random_checkpoint(dir.file("y"), o), Error);
}

}  // namespace
}  // namespace wan
