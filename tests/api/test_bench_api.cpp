// The API's benchmarks and timing (src/api/wan_bench_api.cpp, wan_generate_result's stage times,
// random-weight contexts): bad requests refused before any GPU work; on a GPU, small real-width
// runs whose numbers must add up (tokens from the size, the profiled split within the forward,
// frames out, stage times within the call). Without a GPU: UNSUPPORTED with a message.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"
#include "wan/wan.hpp"

namespace {

TEST(BenchApi, RefusesBadDiTRequestsBeforeTouchingTheGpu) {
  wan_dit_benchmark_params p = wan_dit_benchmark_default_params();
  EXPECT_STREQ(p.task, "t2v-A14B");
  EXPECT_EQ(p.reps, 3);
  wan_dit_benchmark_result r;
  p.frames = 6;
  EXPECT_EQ(wan_benchmark_dit(&p, &r), WAN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(wan_last_error()).find("4n+1"), std::string::npos) << wan_last_error();
  p = wan_dit_benchmark_default_params();
  p.width = 1000;  // not a multiple of 16
  p.height = 720;
  EXPECT_EQ(wan_benchmark_dit(&p, &r), WAN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(wan_last_error()).find("multiple of 16"), std::string::npos) << wan_last_error();
  p = wan_dit_benchmark_default_params();
  p.ulysses = 3;  // 40 heads
  EXPECT_EQ(wan_benchmark_dit(&p, &r), WAN_ERROR_INVALID_ARGUMENT);
  p = wan_dit_benchmark_default_params();
  p.task = "t2v-1.3B";
  EXPECT_EQ(wan_benchmark_dit(&p, &r), WAN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(wan_benchmark_dit(nullptr, &r), WAN_ERROR_INVALID_ARGUMENT);

  wan_vae_benchmark_params v = wan_vae_benchmark_default_params();
  EXPECT_EQ(v.version, 21);
  wan_vae_benchmark_result vr;
  v.version = 23;
  EXPECT_EQ(wan_benchmark_vae(&v, &vr), WAN_ERROR_INVALID_ARGUMENT);
  v = wan_vae_benchmark_default_params();
  v.width = 1284;  // not a multiple of 8
  v.height = 720;
  EXPECT_EQ(wan_benchmark_vae(&v, &vr), WAN_ERROR_INVALID_ARGUMENT);
}

TEST(BenchApi, TimesOneDiTBlockAtTheRealWidth) {
  wan_dit_benchmark_params p = wan_dit_benchmark_default_params();
  p.task = "ti2v-5B";
  p.width = 256;
  p.height = 256;
  p.frames = 5;
  p.layers = 1;
  p.reps = 2;
  wan_dit_benchmark_result r;
  const wan_status s = wan_benchmark_dit(&p, &r);
  if (!wan_cuda_available()) {
    EXPECT_EQ(s, WAN_ERROR_UNSUPPORTED);
    EXPECT_GT(std::string(wan_last_error()).size(), 0u);
    GTEST_SKIP() << "no GPU: refused, as checked";
  }
  ASSERT_EQ(s, WAN_OK) << wan_last_error();
  // 5 frames -> 2 latent frames; 256 / 16 (VAE) / 2 (patch) = 8: 2 * 8 * 8 tokens.
  EXPECT_EQ(r.tokens, 128);
  EXPECT_EQ(r.layers, 1);
  EXPECT_EQ(r.reps, 2);
  EXPECT_GT(r.forward_seconds, 0);
  EXPECT_LE(r.min_seconds, r.forward_seconds);
  EXPECT_GE(r.max_seconds, r.forward_seconds);
  EXPECT_GT(r.tflops, 0);
  EXPECT_GT(r.weights_gib, 0.1);  // one 5B block and the embeddings, the head
  EXPECT_GE(r.peak_gib, r.weights_gib * 0.9);
  EXPECT_GT(r.attention_seconds, 0);
  EXPECT_GT(r.matmul_seconds, 0);
  EXPECT_LE(r.attention_seconds + r.matmul_seconds + r.other_seconds, r.profiled_seconds * 1.05);
  EXPECT_EQ(r.vs_one_gpu, -1);
  EXPECT_EQ(r.output_rank, 1);
}

TEST(BenchApi, TimesTheVaeDecodeAndEncode) {
  wan_vae_benchmark_params p = wan_vae_benchmark_default_params();
  p.version = 22;
  p.width = 64;
  p.height = 64;
  p.frames = 9;
  p.encode = 1;
  p.profile = 1;
  wan_vae_benchmark_result r;
  const wan_status s = wan_benchmark_vae(&p, &r);
  if (!wan_cuda_available()) {
    EXPECT_EQ(s, WAN_ERROR_UNSUPPORTED);
    GTEST_SKIP() << "no GPU: refused, as checked";
  }
  ASSERT_EQ(s, WAN_OK) << wan_last_error();
  EXPECT_EQ(r.frames_out, 9);
  EXPECT_EQ(r.latent_frames, 3);
  EXPECT_EQ(r.latent_height, 4);
  EXPECT_GT(r.decode_seconds, 0);
  EXPECT_GT(r.encode_seconds, 0);
  EXPECT_GT(r.decode_peak_gib, 0);
  EXPECT_NE(std::string(r.profile).find("GPU time"), std::string::npos) << r.profile;
}

// A context of random weights (no checkpoint) runs a whole small video, and the result's stage
// times add up to no more than the call.
TEST(BenchApi, RandomWeightContextReportsStageTimes) {
  wan::api::ContextOptions o;
  o.task = "ti2v-5B";
  o.device = WAN_DEVICE_CPU;
  o.random_weights = wan::api::ContextOptions::RandomWeights{1, 1, std::string(WAN_SOURCE_DIR) +
                                                                       "/tests/data/tokenizer/spiece.model"};
  try {
    wan::api::Context ctx(o);
    FAIL() << "random weights on the CPU were accepted";
  } catch (const wan::api::Error& e) {
    EXPECT_EQ(e.status(), WAN_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("GPU"), std::string::npos) << e.what();
  }
  o.device = WAN_DEVICE_CUDA;
  o.random_weights->tokenizer_model = "missing.model";
  try {
    wan::api::Context ctx(o);
    FAIL() << "a missing tokenizer was accepted";
  } catch (const wan::api::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.model"), std::string::npos) << e.what();
  }
  o.random_weights->tokenizer_model = std::string(WAN_SOURCE_DIR) + "/tests/data/tokenizer/spiece.model";
  if (!wan_cuda_available()) GTEST_SKIP() << "no GPU";
  wan::api::Context ctx(o);
  EXPECT_EQ(ctx.task(), "ti2v-5B");
  wan::api::Request r;
  r.prompt = "a lighthouse in fog";
  r.width = 256;
  r.height = 256;
  r.frames = 5;
  r.steps = 2;
  r.seed = 5;
  int frames = 0;
  r.on_frames = [&](const wan_frames& f) {
    frames += f.count;
    return true;
  };
  const wan_generate_result g = ctx.generate(r);
  EXPECT_EQ(g.frames, 5);
  EXPECT_EQ(frames, 5);
  EXPECT_GT(g.text_seconds, 0);
  EXPECT_GT(g.denoise_seconds, 0);
  EXPECT_EQ(g.high_noise_seconds, 0);  // one model
  EXPECT_GT(g.decode_seconds, 0);
  EXPECT_GE(g.write_seconds, 0);
  EXPECT_LE(g.text_seconds + g.denoise_seconds + g.decode_seconds + g.write_seconds, g.seconds);
  EXPECT_GT(g.peak_gpu_gib, 1.0);  // the 5B DiT's bf16 weights alone are ~9.3 GiB
}

}  // namespace
