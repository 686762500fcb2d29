// The CUDA DiT keeps cross-attention's keys and values per text between forwards
// (models/wan_dit_cuda.h): a forward that reuses them must give exactly what one that computes
// them gives, a text that differs in one value must not be served another's, a third text
// replaces the least recently used, and release_text_cache() gives the memory back. And it
// replays the forward of a shape and text seen before from a CUDA graph: each replay must give
// exactly what an uncaptured forward of its own inputs gives. And a guided pair (predict_guided)
// whose second forward takes the first block's self-attention from the first must give exactly
// the two forwards' outputs.
#include <gtest/gtest.h>

#include "backend/backend.h"
#include "core/precision.h"
#include "core/stats.h"
#include "models/wan_dit_cuda.h"
#include "test_util.h"

namespace wan {
namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const Tensor x = a.to(DType::F32).contiguous(), y = b.to(DType::F32).contiguous();
  double m = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) m = std::max(m, double(std::abs(x.data<float>()[i] - y.data<float>()[i])));
  return m;
}

WanDiTConfig small_config() { return test::small_a14b_dit_config(3); }

TEST(WanDiTCudaTextCache, ReusedKeysAndValuesGiveTheSameOutputs) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  const WanDiTConfig config = small_config();
  WanDiTCuda cached = WanDiTCuda::random(config, 11);
  cached.set_cuda_graphs(false);  // the text cache alone (as by default): its memory is what this test counts
  const WanDiTCuda fresh = WanDiTCuda::random(config, 11);  // the same weights, its cache released before each forward
  const Tensor x = test::random_tensor({16, 3, 8, 10}, 1);   // 3 x 4 x 5 = 60 tokens
  const Tensor t = Tensor::from_vector<float>({613.0f}, {1});
  const Tensor a = test::random_tensor({17, 64}, 2), b = test::random_tensor({40, 64}, 3),
               c = test::random_tensor({5, 64}, 4);
  Tensor a_changed = a.clone();
  a_changed.data<float>()[16 * 64 + 63] += 0.5f;  // the last value of the last token
  const auto reference = [&](const Tensor& ctx) {
    fresh.release_text_cache();
    return fresh.forward({x}, t, {ctx}, 64)[0];
  };
  reference(a);  // plans and tunes every shape first, so that both models run the same kernels
  cached.forward({x}, t, {c}, 64);  // and whatever the model itself makes on its first forward
  cached.release_text_cache();

  const int64_t before = device_memory_stats().in_use;
  const Tensor out_a = cached.forward({x}, t, {a}, 64)[0];
  const int64_t one_text = device_memory_stats().in_use - before;
  // Three layers of [text_len, 2·dim] bf16 keys and values.
  EXPECT_GE(one_text, 3 * 40 * 2 * 256 * 2) << "the first text's keys and values stay on the GPU";
  EXPECT_EQ(max_abs_diff(out_a, reference(a)), 0.0);
  const Tensor out_b = cached.forward({x}, t, {b}, 64)[0];
  EXPECT_EQ(max_abs_diff(out_b, reference(b)), 0.0);
  EXPECT_GT(max_abs_diff(out_a, out_b), 1e-3) << "two texts should give two predictions";
  // Both kept: the CFG pattern (prompt, negative prompt) every step.
  for (int step = 0; step < 2; ++step) {
    EXPECT_EQ(max_abs_diff(cached.forward({x}, t, {a}, 64)[0], out_a), 0.0);
    EXPECT_EQ(max_abs_diff(cached.forward({x}, t, {b}, 64)[0], out_b), 0.0);
  }
  // One value changed: a different text, not the cached one.
  const Tensor out_changed = cached.forward({x}, t, {a_changed}, 64)[0];
  EXPECT_EQ(max_abs_diff(out_changed, reference(a_changed)), 0.0);
  EXPECT_GT(max_abs_diff(out_changed, out_a), 0.0);
  // Each new text replaced the least recently used one: two texts' worth of memory at most.
  EXPECT_EQ(max_abs_diff(cached.forward({x}, t, {c}, 64)[0], reference(c)), 0.0);
  EXPECT_EQ(max_abs_diff(cached.forward({x}, t, {a}, 64)[0], out_a), 0.0);
  EXPECT_LE(device_memory_stats().in_use - before, 2 * one_text);
  // Released: back to the memory before the first text, and the same output again after.
  cached.release_text_cache();
  EXPECT_EQ(device_memory_stats().in_use, before);
  EXPECT_EQ(max_abs_diff(cached.forward({x}, t, {b}, 64)[0], out_b), 0.0);
  cached.release_text_cache();
  EXPECT_EQ(cached.replayed_forwards(), 0);
  EXPECT_EQ(fresh.replayed_forwards(), 0);  // every forward of it was its text's first
}

TEST(WanDiTCudaGraph, ReplaysTakeEachForwardsInputs) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  const WanDiTConfig config = small_config();
  WanDiTCuda graphs = WanDiTCuda::random(config, 11);
  graphs.set_cuda_graphs(true);
  WanDiTCuda plain = WanDiTCuda::random(config, 11);
  plain.set_cuda_graphs(false);
  const Tensor a = test::random_tensor({17, 64}, 2), b = test::random_tensor({9, 64}, 3);
  const auto uncaptured = [&](const Tensor& x, const Tensor& t, const Tensor& ctx, int64_t seq_len) {
    plain.release_text_cache();  // each forward its text's first: never captured
    return plain.forward({x}, t, {ctx}, seq_len)[0];
  };
  // First forwards of both shapes (another text): plans, tunes, and makes what each model and
  // shape keep for good (RoPE tables, grid lists), so that the memory count below sees the graphs.
  const Tensor c = test::random_tensor({5, 64}, 4), t0 = Tensor::from_vector<float>({1.0f}, {1});
  for (const auto& [shape, seq_len] : {std::pair<Shape, int64_t>{{16, 3, 8, 10}, 64}, {{16, 2, 8, 6}, 30}}) {
    const Tensor x = test::random_tensor(shape, 9);
    uncaptured(x, t0, c, seq_len);
    graphs.forward({x}, t0, {c}, seq_len);
  }
  graphs.release_text_cache();
  plain.release_text_cache();
  const int64_t before = device_memory_stats().in_use;
  // Denoising steps with CFG: new latents and timesteps every step, two texts.
  for (int step = 0; step < 5; ++step) {
    const Tensor x = test::random_tensor({16, 3, 8, 10}, 10 + step);
    const Tensor t = Tensor::from_vector<float>({float(950 - 170 * step)}, {1});
    for (const Tensor* ctx : {&a, &b})
      EXPECT_EQ(max_abs_diff(graphs.forward({x}, t, {*ctx}, 64)[0], uncaptured(x, t, *ctx, 64)), 0.0)
          << "step " << step;
  }
  EXPECT_EQ(graphs.replayed_forwards(), 8) << "steps 1-4 of each text replay a graph";
  // Another shape (and seq_len): a graph of its own from its second forward on.
  for (int step = 0; step < 3; ++step) {
    const Tensor x = test::random_tensor({16, 2, 8, 6}, 20 + step);  // 2 x 4 x 3 = 24 tokens
    const Tensor t = Tensor::from_vector<float>({float(500 - 100 * step)}, {1});
    EXPECT_EQ(max_abs_diff(graphs.forward({x}, t, {a}, 30)[0], uncaptured(x, t, a, 30)), 0.0) << "step " << step;
  }
  EXPECT_EQ(graphs.replayed_forwards(), 10);
  EXPECT_EQ(plain.replayed_forwards(), 0);
  // The graphs and their memory go with the texts.
  graphs.release_text_cache();
  plain.release_text_cache();
  EXPECT_EQ(device_memory_stats().in_use, before);
}

// predict_guided against two forwards of the same weights, bf16 and FP8 (Ada and later), over
// steps with new latents and timesteps: with padding tokens (seq_len past the grid), without, and
// a latent of one frame.
TEST(WanDiTCudaGuided, SharedFirstAttentionGivesBothForwardsOutputs) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  std::vector<Precision> precisions{Precision::BF16};
  if (fp8_products_supported(cuda_compute_capability())) precisions.push_back(Precision::FP8);
  const WanDiTConfig config = small_config();
  const Tensor a = test::random_tensor({17, 64}, 2), b = test::random_tensor({40, 64}, 3);
  for (const Precision precision : precisions) {
    SCOPED_TRACE(precision == Precision::FP8 ? "fp8" : "bf16");
    WanDiTCuda shared = WanDiTCuda::random(config, 11, precision);
    shared.set_cuda_graphs(false);
    shared.set_guided_sharing(true);
    WanDiTCuda plain = WanDiTCuda::random(config, 11, precision);
    plain.set_cuda_graphs(false);
    struct Case {
      Shape latent;
      int64_t seq_len;
    };
    int step = 0;
    for (const Case& c : {Case{{16, 3, 8, 10}, 64}, Case{{16, 3, 8, 10}, 60}, Case{{16, 1, 6, 14}, 21}}) {
      for (int k = 0; k < 2; ++k, ++step) {
        const Tensor x = test::random_tensor(c.latent, 30 + step);
        const Tensor t = Tensor::from_vector<float>({float(990 - 90 * step)}, {1});
        const auto [cond, uncond] = shared.predict_guided(x, t, a, b, c.seq_len);
        EXPECT_EQ(shared.shared_first_attentions(), step + 1);
        EXPECT_EQ(max_abs_diff(cond, plain.forward({x}, t, {a}, c.seq_len)[0]), 0.0) << "step " << step;
        EXPECT_EQ(max_abs_diff(uncond, plain.forward({x}, t, {b}, c.seq_len)[0]), 0.0) << "step " << step;
        EXPECT_GT(max_abs_diff(cond, uncond), 1e-3) << "two texts should give two predictions";
      }
    }
    // Sharing off: two plain forwards, the same outputs, nothing shared.
    shared.set_guided_sharing(false);
    const Tensor x = test::random_tensor({16, 3, 8, 10}, 77);
    const Tensor t = Tensor::from_vector<float>({321.0f}, {1});
    const auto [cond, uncond] = shared.predict_guided(x, t, a, b, 64);
    EXPECT_EQ(shared.shared_first_attentions(), step);
    EXPECT_EQ(max_abs_diff(uncond, plain.forward({x}, t, {b}, 64)[0]), 0.0);
  }
}

}  // namespace
}  // namespace wan
