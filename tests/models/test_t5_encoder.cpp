#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "models/t5_encoder.h"
#include "test_util.h"

namespace wan {
namespace {

TEST(T5, RelativeBucketsMatchTheOfficialThresholds) {
  // wan22-reference.md §5.3: exact below 8, then n 8–11→8, 12–15→9, 16–22→10, 23–31→11, 32–45→12,
  // 46–63→13, 64–90→14, ≥91→15; +16 when the key is after the query.
  const std::vector<std::pair<int64_t, int64_t>> ranges = {{8, 11}, {12, 15}, {16, 22}, {23, 31},
                                                           {32, 45}, {46, 63}, {64, 90}, {91, 600}};
  for (int64_t n = 0; n < 8; ++n) {
    EXPECT_EQ(t5_relative_bucket(-n, 32, 128), n);
    if (n > 0) EXPECT_EQ(t5_relative_bucket(n, 32, 128), 16 + n);
  }
  for (size_t b = 0; b < ranges.size(); ++b)
    for (int64_t n = ranges[b].first; n <= ranges[b].second; ++n) {
      EXPECT_EQ(t5_relative_bucket(-n, 32, 128), int64_t(8 + b)) << "rel " << -n;
      EXPECT_EQ(t5_relative_bucket(n, 32, 128), int64_t(24 + b)) << "rel " << n;
    }
}

TEST(T5, DefaultIsUmt5Xxl) {
  const T5Config c = T5Config::umt5_xxl();
  EXPECT_EQ(c.vocab, 256384);
  EXPECT_EQ(c.dim, 4096);
  EXPECT_EQ(c.head_dim(), 64);
  EXPECT_EQ(c.num_layers, 24);
  EXPECT_FALSE(c.shared_pos);
  T5Weights w;
  // ≈ 5.7 B parameters: the 11.4 GB bf16 encoder file.
  EXPECT_NEAR(double(parameter_count(t5_weight_slots(w, c))) * 2 / 1e9, 11.36, 0.05);
}

TEST(T5, ConfigBesideTheCheckpoint) {
  test::TempDir dir;
  test::write_bytes(dir.file("enc.json"), R"({"vocab": 10, "dim": 8, "dim_attn": 8, "dim_ffn": 16,
    "num_heads": 2, "num_layers": 1, "num_buckets": 8, "shared_pos": true})");
  const T5Config c = T5Config::for_checkpoint(dir.file("enc.pth"));
  EXPECT_EQ(c.vocab, 10);
  EXPECT_TRUE(c.shared_pos);
  EXPECT_EQ(T5Config::for_checkpoint(dir.file("other.pth")).dim, 4096);
  EXPECT_THROW(T5Config::from_json(R"({"dim_attn": 10, "num_heads": 3})", "x"), Error);
}

TEST(T5, RejectsBadInputs) {
  const std::string dir = test::golden_dir();
  const T5Encoder enc = T5Encoder::load(dir + "/t5_tiny.pth",
                                        T5Config::from_json(R"({"vocab": 384, "dim": 64, "dim_attn": 64,
      "dim_ffn": 160, "num_heads": 4, "num_layers": 2, "num_buckets": 32, "shared_pos": false})", "cfg"));
  const Tensor ids = Tensor::from_vector<int64_t>({5, 7, 1, 0}, {1, 4});
  EXPECT_THROW(enc.forward(ids, Tensor::from_vector<int64_t>({1, 0, 1, 0}, {1, 4})), Error);  // not a prefix
  EXPECT_THROW(enc.forward(Tensor::from_vector<int64_t>({5, 999, 1, 0}, {1, 4}),
                           Tensor::from_vector<int64_t>({1, 1, 1, 0}, {1, 4})), Error);  // id past the vocab
  const auto ctx = enc.encode(ids, Tensor::from_vector<int64_t>({1, 1, 1, 0}, {1, 4}));
  EXPECT_EQ(ctx[0].shape(), (Shape{3, 64}));
  // The default (XXL) config does not describe the tiny checkpoint: a clear shape error.
  EXPECT_THROW(T5Encoder::load(dir + "/t5_tiny.pth", T5Config::umt5_xxl()), Error);
}

// hold_block_matrices_in(BF16) (the pipeline's choice when the encoder runs on the GPU): the
// matrices held in bf16, and the CPU forward then equals the one of f32 matrices rounded to bf16,
// bit for bit (it converts them back exactly); the norms and embeddings stay f32. Random f32
// weights (not bf16 values, unlike the official file's), so that the rounding shows.
TEST(T5, BlockMatricesHeldInBf16) {
  const T5Config config = T5Config::from_json(R"({"vocab": 384, "dim": 64, "dim_attn": 64,
      "dim_ffn": 160, "num_heads": 4, "num_layers": 2, "num_buckets": 32, "shared_pos": false})", "cfg");
  T5Weights weights;
  Rng rng(5);
  for (const WeightSlot& slot : t5_weight_slots(weights, config)) {
    *slot.tensor = Tensor::empty(slot.shape, DType::F32);
    const bool norm = slot.name.find("norm") != std::string::npos;
    rng.fill_normal(*slot.tensor, norm ? 1.0 : 0.0, norm ? 0.1 : 0.2);
  }
  T5Encoder held(config, weights), rounded(config, weights);
  const T5Encoder exact(config, weights);
  held.hold_block_matrices_in(DType::BF16);
  rounded.hold_block_matrices_in(DType::BF16);
  rounded.hold_block_matrices_in(DType::F32);  // the same values, held in f32
  const Tensor ids = Tensor::from_vector<int64_t>({5, 7, 1, 9, 0}, {1, 5});
  const Tensor mask = Tensor::from_vector<int64_t>({1, 1, 1, 1, 0}, {1, 5});
  const Tensor a = held.forward(ids, mask), b = rounded.forward(ids, mask), c = exact.forward(ids, mask);
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
  // Rounding f32 matrices to bf16 moves the output, by about bf16's precision.
  double diff = 0.0, norm = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff += (a.data<float>()[i] - c.data<float>()[i]) * double(a.data<float>()[i] - c.data<float>()[i]);
    norm += double(c.data<float>()[i]) * c.data<float>()[i];
  }
  EXPECT_GT(std::sqrt(diff / norm), 1e-4);
  EXPECT_LT(std::sqrt(diff / norm), 2e-2);
}

// Loading with bf16 block matrices (what the pipeline does for the GPU) equals loading in f32 and
// holding them in bf16: the golden file is the official bf16 encoder's, so both are its values.
TEST(T5, LoadsBlockMatricesInBf16) {
  const std::string path = test::golden_dir() + "/t5_tiny.pth";
  const T5Config config = T5Config::from_json(R"({"vocab": 384, "dim": 64, "dim_attn": 64,
      "dim_ffn": 160, "num_heads": 4, "num_layers": 2, "num_buckets": 32, "shared_pos": false})", "cfg");
  const T5Encoder direct = T5Encoder::load(path, config, DType::BF16);
  T5Encoder held = T5Encoder::load(path, config);
  held.hold_block_matrices_in(DType::BF16);
  const Tensor ids = Tensor::from_vector<int64_t>({5, 7, 1, 9, 0}, {1, 5});
  const Tensor mask = Tensor::from_vector<int64_t>({1, 1, 1, 1, 0}, {1, 5});
  for (const T5Encoder* e : {&direct, static_cast<const T5Encoder*>(&held)}) {
    const T5BlockWeights& w = e->weights().blocks.back();
    EXPECT_EQ(w.attn_q_weight.dtype(), DType::BF16);
    EXPECT_EQ(w.ffn_fc2_weight.dtype(), DType::BF16);
    EXPECT_EQ(w.norm1_weight.dtype(), DType::F32);
    EXPECT_EQ(e->weights().token_embedding_weight.dtype(), DType::F32);
  }
  EXPECT_EQ(T5Encoder::load(path, config).weights().blocks[0].attn_o_weight.dtype(), DType::F32);
  const Tensor a = direct.forward(ids, mask), b = held.forward(ids, mask);
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << i;
}

}  // namespace
}  // namespace wan
