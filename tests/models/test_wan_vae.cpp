// The VAEs beyond the golden cases: images (one latent frame), odd latent sizes, clear errors,
// and decode memory that grows with one chunk rather than with the video.
#include <gtest/gtest.h>

#include "core/memory.h"
#include "core/stats.h"
#include "models/wan_vae.h"
#include "test_util.h"

namespace wan {
namespace {

WanVAE tiny(int version) {
  const std::string dir = test::golden_dir();
  const std::string cfg = version == 22
      ? R"({"dim": 8, "dec_dim": 8, "z_dim": 48, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_scales": [], "temperal_downsample": [false, true, true]})"
      : R"({"dim": 8, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_scales": [], "temperal_downsample": [false, true, true]})";
  return WanVAE::load(dir + (version == 22 ? "/vae22_tiny.pth" : "/vae21_tiny.pth"), WanVAEConfig::from_json(cfg, "cfg", version));
}

TEST(WanVAE, DetectsTheVersionFromTheCheckpoint) {
  EXPECT_EQ(WanVAE::detect_version(test::golden_dir() + "/vae21_tiny.pth"), 21);
  EXPECT_EQ(WanVAE::detect_version(test::golden_dir() + "/vae22_tiny.pth"), 22);
}

TEST(WanVAE, RealConfigs) {
  const WanVAEConfig a = WanVAEConfig::wan21(), b = WanVAEConfig::wan22();
  EXPECT_EQ(a.spatial_stride(), 8);
  EXPECT_EQ(b.spatial_stride(), 16);
  EXPECT_EQ(a.temporal_stride(), 4);
  EXPECT_EQ(a.z_dim, 16);
  EXPECT_EQ(b.z_dim, 48);
  EXPECT_EQ(b.dec_dim, 256);
  // The default Wan 2.1 config does not describe the tiny checkpoint: a shape error naming a tensor.
  try {
    WanVAE::load(test::golden_dir() + "/vae21_tiny.pth", a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.conv1.weight"), std::string::npos) << e.what();
  }
}

TEST(WanVAE, SingleLatentFrameDecodesToOneImage) {
  for (int version : {21, 22}) {
    WanVAE vae = tiny(version);
    const int64_t s = vae.config().spatial_stride();
    const Tensor z = test::random_tensor({vae.config().z_dim, 1, 3, 5}, 1);
    const Tensor img = vae.decode(z);
    EXPECT_EQ(img.shape(), (Shape{3, 1, 3 * s, 5 * s})) << version;
    const TensorStats st = tensor_stats(img);
    EXPECT_EQ(st.non_finite, 0);
    EXPECT_GE(st.min, -1.0);
    EXPECT_LE(st.max, 1.0);
    EXPECT_GT(st.stddev, 1e-4);
    // The first frame of a longer video is the same image: decoding is causal.
    const Tensor z3 = Tensor::empty({vae.config().z_dim, 3, 3, 5}, DType::F32);
    z3.narrow(1, 0, 1).copy_from(z);
    z3.narrow(1, 1, 2).copy_from(test::random_tensor({vae.config().z_dim, 2, 3, 5}, 2));
    const Tensor video = vae.decode(z3);
    EXPECT_EQ(video.size(1), 9);
    EXPECT_LE(rel_l2(video.narrow(1, 0, 1), img), 1e-6) << version;
  }
}

TEST(WanVAE, OddLatentSizesAndImagesEncode) {
  WanVAE vae = tiny(21);
  const Tensor video = vae.decode(test::random_tensor({16, 2, 7, 3}, 3));  // odd spatial size
  EXPECT_EQ(video.shape(), (Shape{3, 5, 56, 24}));
  const Tensor mu = vae.encode(video);
  EXPECT_EQ(mu.shape(), (Shape{16, 2, 7, 3}));
  const Tensor image_mu = vae.encode(video.narrow(1, 0, 1).contiguous());
  EXPECT_EQ(image_mu.shape(), (Shape{16, 1, 7, 3}));
  EXPECT_LE(rel_l2(image_mu, mu.narrow(1, 0, 1)), 1e-6);  // causal encode
}

TEST(WanVAE, ClearErrors) {
  WanVAE vae = tiny(21);
  auto message = [](const std::function<void()>& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message([&] { vae.decode(test::random_tensor({48, 2, 2, 2}, 1)); }).find("has 48 channels"),
            std::string::npos);
  EXPECT_NE(message([&] { vae.decode(test::random_tensor({16, 2, 2}, 1)); }).find("[C, T, H, W]"), std::string::npos);
  EXPECT_NE(message([&] { vae.encode(test::random_tensor({3, 4, 16, 16}, 1)); }).find("1 + 4k frames"),
            std::string::npos);
  EXPECT_NE(message([&] { vae.encode(test::random_tensor({3, 5, 20, 16}, 1)); }).find("multiple of 8"),
            std::string::npos);
}

// Decoding streams: the frames reach the sink chunk by chunk (1, then 4 per latent frame), and
// the memory the decode needs beyond its output does not grow with the number of frames.
TEST(WanVAE, DecodeStreamsChunksWithBoundedMemory) {
  WanVAE vae = tiny(21);
  auto peak_for = [&](int64_t frames, std::vector<int64_t>* chunk_sizes) {
    const Tensor z = test::random_tensor({16, frames, 6, 8}, 4);
    reset_host_memory_peak();
    const int64_t base = host_memory_stats().live_bytes;
    vae.decode(z, [&](const Tensor& chunk) {
      if (chunk_sizes) chunk_sizes->push_back(chunk.size(1));
    });
    return host_memory_stats().peak_bytes - base;
  };
  std::vector<int64_t> sizes;
  const int64_t peak2 = peak_for(2, nullptr);
  const int64_t peak12 = peak_for(12, &sizes);
  EXPECT_EQ(sizes.front(), 1);
  EXPECT_EQ(sizes.size(), 12u);
  for (size_t i = 1; i < sizes.size(); ++i) EXPECT_EQ(sizes[i], 4);
  const int64_t frame_bytes = 3 * 48 * 64 * 4;  // one decoded frame
  // 12 latent frames decode to 45 frames; holding them would add 40+ frames over 2 latent frames.
  EXPECT_LT(peak12 - peak2, 8 * frame_bytes) << "peak " << peak2 << " -> " << peak12;
}

// Random weights (for benchmarks without a checkpoint) decode to finite, non-constant frames.
TEST(WanVAE, RandomWeightsDecodeToFiniteFrames) {
  WanVAEConfig c = WanVAEConfig::wan21();
  c.dim = c.dec_dim = 8;
  WanVAE vae = WanVAE::random(c, 1, Device::CPU);
  const Tensor z = test::random_tensor({c.z_dim, 2, 3, 4}, 2);
  const Tensor video = vae.decode(z);
  ASSERT_EQ(video.shape(), (Shape{3, 5, 24, 32}));
  const TensorStats st = tensor_stats(video);
  EXPECT_EQ(st.non_finite, 0);
  EXPECT_GT(st.stddev, 0.0);
}

}  // namespace
}  // namespace wan
