// The C++ wrapper (wan/wan.hpp) on the demo checkpoint: RAII, defaults, errors as exceptions with
// the status, cancellation, and a callback's own exception coming back out of generate() intact
// (it must not cross the C library); the tools (comparing videos, converting a checkpoint,
// describing the machine).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "test_util.h"
#include "wan/wan.hpp"

namespace {

class CppApi : public ::testing::Test {
 protected:
  void SetUp() override {
    options.checkpoint_dir = dir.file("demo");
    wan::api::prepare_demo_checkpoint(std::string(WAN_SOURCE_DIR) + "/tests/data", options.checkpoint_dir);
    request.prompt = "a paper boat on a river";
    request.width = 64;
    request.height = 32;
    request.frames = 5;
    request.steps = 2;
    request.seed = 3;
  }
  wan::test::TempDir dir;
  wan::api::ContextOptions options;
  wan::api::Request request;
};

TEST_F(CppApi, ResolveFillsTheDefaultsAndRefusesBadRequests) {
  wan::api::Request r;
  r.prompt = "x";
  const wan::api::Request full = wan::api::Context::resolve(options, r);
  EXPECT_EQ(full.width, 1280);
  EXPECT_EQ(full.frames, 81);
  EXPECT_EQ(full.steps, 40);
  r.frames = 6;
  try {
    wan::api::Context::resolve(options, r);
    FAIL() << "6 frames accepted";
  } catch (const wan::api::Error& e) {
    EXPECT_EQ(e.status(), WAN_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("4n+1"), std::string::npos) << e.what();
  }
}

TEST_F(CppApi, GeneratesCancelsAndRethrowsCallbackExceptions) {
  wan::api::Context ctx(options);
  EXPECT_EQ(ctx.task(), "t2v-A14B");
  int frames = 0, steps = 0;
  request.on_frames = [&](const wan_frames& f) {
    frames += f.count;
    return true;
  };
  request.on_progress = [&](const wan_progress& p) {
    if (p.step > 0) ++steps;
    return true;
  };
  const wan_generate_result r = ctx.generate(request);
  EXPECT_EQ(r.frames, 5);
  EXPECT_EQ(frames, 5);
  EXPECT_EQ(steps, 2);

  request.on_progress = [](const wan_progress& p) { return p.step == 0; };  // stop at the first step
  try {
    ctx.generate(request);
    FAIL() << "not cancelled";
  } catch (const wan::api::Error& e) {
    EXPECT_EQ(e.status(), WAN_ERROR_CANCELLED);
  }

  request.on_progress = nullptr;
  request.on_frames = [](const wan_frames&) -> bool { throw std::runtime_error("boom from the callback"); };
  EXPECT_THROW(
      {
        try {
          ctx.generate(request);
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom from the callback");
          throw;
        }
      },
      std::runtime_error);
  // The context still works afterwards.
  request.on_frames = nullptr;
  EXPECT_EQ(ctx.generate(request).frames, 5);
}

TEST_F(CppApi, MissingCheckpointThrowsWithTheFolderName) {
  options.checkpoint_dir = dir.file("nothing-here");
  try {
    wan::api::Context ctx(options);
    FAIL() << "loaded a missing folder";
  } catch (const wan::api::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing-here"), std::string::npos) << e.what();
  }
}

// The memory prediction through the wrapper: TI2V-5B at 1280x704x121 without a checkpoint, the
// plan an H100 whole run confirmed (17.7 GiB predicted, 16.70 measured, bf16 VAE, fifth session).
TEST(CppApiMemory, PredictsTheGpuMemoryWithoutACheckpoint) {
  wan::api::ContextOptions options;
  options.task = "ti2v-5B";
  const wan_memory_prediction m = wan::api::Context::predict_memory(options, wan::api::Request{});
  EXPECT_EQ(m.experts, 1);
  EXPECT_EQ(m.offloaded_experts, 0);
  EXPECT_NEAR(m.peak_gib, 17.7, 0.1);
  EXPECT_EQ(m.width, 1280);  // the task's defaults, filled in
  EXPECT_EQ(m.height, 704);
  EXPECT_EQ(m.frames, 121);
  wan::api::ContextOptions a14b;
  a14b.task = "t2v-A14B";
  a14b.offload = WAN_OFFLOAD_ON;
  const wan_memory_prediction off = wan::api::Context::predict_memory(a14b, wan::api::Request{});
  EXPECT_EQ(off.experts, 1);
  EXPECT_EQ(off.offloaded_experts, 1);
  options.ulysses = 5;  // 24 heads
  try {
    wan::api::Context::predict_memory(options, wan::api::Request{});
    FAIL() << "Ulysses 5 of 24 heads was accepted";
  } catch (const wan::api::Error& e) {
    EXPECT_EQ(e.status(), WAN_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("must divide the DiT's 24 attention heads"), std::string::npos) << e.what();
  }
}

// The tools: comparing videos (the demo's own video against itself and against another seed),
// converting the demo checkpoint, describing the machine; each failure a status with a message.
TEST_F(CppApi, ComparesVideos) {
  if (!wan_video_output_available()) {
    wan_video_comparison c;
    EXPECT_EQ(wan_compare_videos("a.mp4", "b.mp4", &c, nullptr, 0), WAN_ERROR_UNSUPPORTED);
    GTEST_SKIP() << "built without FFmpeg: comparing is refused, as checked";
  }
  wan::api::Context ctx(options);
  const std::string a = dir.file("a.mp4"), b = dir.file("b.mp4");
  request.output_path = a;
  ctx.generate(request);
  request.output_path = b;
  request.seed = 4;
  ctx.generate(request);
  const wan::api::VideoComparison same = wan::api::compare_videos(a, a);
  EXPECT_EQ(same.summary.frames, 5);
  EXPECT_EQ(same.summary.width, 64);
  EXPECT_EQ(same.summary.differing_frames, 0);
  EXPECT_TRUE(std::isinf(same.summary.mean_psnr));
  EXPECT_EQ(same.summary.max_abs, 0);
  ASSERT_EQ(same.frames.size(), 5u);
  const wan::api::VideoComparison other = wan::api::compare_videos(a, b);
  EXPECT_EQ(other.summary.differing_frames, 5);
  EXPECT_GT(other.summary.max_abs, 0);
  EXPECT_LT(other.summary.worst.psnr, 60.0);
  double lowest = other.frames[0].psnr;
  for (const wan_frame_difference& f : other.frames) lowest = std::min(lowest, f.psnr);
  EXPECT_EQ(other.summary.worst.psnr, lowest);
  EXPECT_EQ(other.frames[size_t(other.summary.worst_frame)].psnr, lowest);
  wan_frame_difference two[2];  // room for fewer frames than the video has: the first two
  wan_video_comparison c;
  ASSERT_EQ(wan_compare_videos(a.c_str(), b.c_str(), &c, two, 2), WAN_OK);
  EXPECT_EQ(two[1].psnr, other.frames[1].psnr);
  EXPECT_EQ(wan_compare_videos(a.c_str(), dir.file("none.mp4").c_str(), &c, nullptr, 0), WAN_ERROR_IO);
  EXPECT_NE(std::string(wan_last_error()).find("none.mp4"), std::string::npos) << wan_last_error();
  EXPECT_EQ(wan_compare_videos(a.c_str(), b.c_str(), &c, nullptr, 3), WAN_ERROR_INVALID_ARGUMENT);
}

TEST_F(CppApi, ConvertsACheckpoint) {
  const std::string dst = dir.file("demo-f32");
  const wan_convert_report r = wan::api::convert_checkpoint(options.checkpoint_dir, dst, "f32");
  EXPECT_EQ(r.dit_folders, 2);  // the demo's two experts
  EXPECT_GT(r.tensors, 0);
  EXPECT_GT(r.other_files, 0);
  wan::api::ContextOptions converted = options;
  converted.checkpoint_dir = dst;
  EXPECT_EQ(wan::api::Context(converted).task(), "t2v-A14B");  // it loads
  // "fp8": the blocks' weights in one byte each (with small scales beside), the rest bf16; it loads too.
  const wan_convert_report fp8 = wan::api::convert_checkpoint(options.checkpoint_dir, dir.file("demo-fp8"), "fp8");
  EXPECT_EQ(fp8.dit_folders, 2);
  EXPECT_GT(fp8.tensors, r.tensors);             // a scale beside each block weight
  EXPECT_LT(fp8.bytes_written, r.bytes_written / 3);  // mostly one byte where f32 has four
  converted.checkpoint_dir = dir.file("demo-fp8");
  EXPECT_EQ(wan::api::Context(converted).task(), "t2v-A14B");
  try {
    wan::api::convert_checkpoint(options.checkpoint_dir, dst, "f32");
    FAIL() << "an existing destination was accepted";
  } catch (const wan::api::Error& e) {
    EXPECT_NE(std::string(e.what()).find("exists"), std::string::npos) << e.what();
  }
  wan_convert_report ignored;
  EXPECT_EQ(wan_convert_checkpoint(options.checkpoint_dir.c_str(), dir.file("x").c_str(), "int8", 0, &ignored),
            WAN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(wan_last_error()).find("bf16, f16, f32 or fp8"), std::string::npos) << wan_last_error();
}

// The tuning cache's file as WAN_TUNING_CACHE names it; with a GPU, the file this process opened
// (read once, at the first product) and how many choices it holds for this GPU.
TEST(CppApiTools, DescribesTheTuningCache) {
  const std::string text = wan_tuning_cache_description();
  if (wan_cuda_available()) {
    EXPECT_TRUE(text.find("choices for this GPU and its libraries") != std::string::npos ||
                text == "off (WAN_TUNING_CACHE=off)")
        << text;
    return;
  }
  const char* saved = std::getenv("WAN_TUNING_CACHE");
  const std::string before = saved ? saved : "";
  ::setenv("WAN_TUNING_CACHE", "/some/where/tuning.tsv", 1);
  EXPECT_EQ(std::string(wan_tuning_cache_description()), "/some/where/tuning.tsv (used with a GPU)");
  ::setenv("WAN_TUNING_CACHE", "off", 1);
  EXPECT_EQ(std::string(wan_tuning_cache_description()), "off (WAN_TUNING_CACHE=off)");
  if (saved) ::setenv("WAN_TUNING_CACHE", before.c_str(), 1);
  else ::unsetenv("WAN_TUNING_CACHE");
}

TEST(CppApiTools, DescribesTheMachine) {
  EXPECT_GE(wan_cpu_thread_count(), 1);
  EXPECT_GT(std::string(wan_cuda_library_versions()).size(), 0u);
  // The GPU code this build carries: none without the CUDA backend, else CMake's targets by name.
  const std::string targets = wan_cuda_build_targets();
#ifdef WAN_HAVE_CUDA
  EXPECT_TRUE(targets.find("sm_") != std::string::npos || targets.find("compute_") != std::string::npos) << targets;
#else
  EXPECT_EQ(targets, "");
#endif
  EXPECT_GT(std::string(wan_nccl_description()).size(), 0u);
  EXPECT_NE(std::string(wan_video_library_versions()).find(wan_video_output_available() ? "libavcodec " : "none"),
            std::string::npos) << wan_video_library_versions();
  if (!wan_cuda_available()) {
    wan_device_info info;
    EXPECT_EQ(wan_get_device_info(0, &info), WAN_ERROR_UNSUPPORTED);
    EXPECT_NE(std::string(wan_last_error()).find("no GPU"), std::string::npos) << wan_last_error();
    return;
  }
  const wan_device_info d = wan::api::device_info(0);
  EXPECT_GT(std::string(d.name).size(), 0u);
  EXPECT_GT(d.total_memory, 0);
  EXPECT_GE(d.free_memory, 0);
  EXPECT_EQ(d.fp8, d.compute_capability >= 89 ? 1 : 0);
  wan_device_info none;
  EXPECT_NE(wan_get_device_info(wan_cuda_device_count(), &none), WAN_OK);
}

}  // namespace
