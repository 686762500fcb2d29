// Text to video from a checkpoint folder: task detection, parameter defaults and validation, and
// the TI2V-5B path (one model, Wan 2.2 VAE) on a tiny folder assembled from the golden models.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/log.h"
#include "core/stats.h"
#include "io/safetensors.h"
#include "io/checkpoint.h"
#include "models/t5_encoder.h"
#include "pipeline/checkpoint_files.h"
#include "pipeline/demo_checkpoint.h"
#include "pipeline/denoise.h"
#include "pipeline/convert_checkpoint.h"
#include "pipeline/text_to_video.h"
#include "pipeline/generate_frames.h"
#include "test_util.h"
#include "wan/wan.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

void write_config(const std::string& io_file, const fs::path& json) {
  std::ofstream(json) << SafetensorsFile::open(io_file)->metadata().at("config");
}

// A TI2V-5B folder with the tiny ti2v DiT, the tiny Wan 2.2 VAE and the tiny T5.
std::string make_ti2v_folder(const test::TempDir& dir) {
  const fs::path g = test::golden_dir(), out = dir.file("ti2v");
  fs::create_directories(out / kT5Tokenizer);
  fs::copy(g / "dit_tiny_ti2v", out, fs::copy_options::recursive);
  fs::copy_file(g / "vae22_tiny.pth", out / "Wan2.2_VAE.pth");
  write_config((g / "vae22_tiny.io.safetensors").string(), out / "Wan2.2_VAE.json");
  fs::copy_file(g / "t5_tiny.pth", out / kT5Checkpoint);
  write_config((g / "t5_tiny.io.safetensors").string(), out / "models_t5_umt5-xxl-enc-bf16.json");
  fs::copy_file(fs::path(WAN_SOURCE_DIR) / "tests/data/tokenizer/spiece.model", out / kT5Tokenizer / "spiece.model");
  return out.string();
}

TEST(TextToVideo, DetectsTheTask) {
  test::TempDir dir;
  EXPECT_EQ(detect_task(make_ti2v_folder(dir)), "ti2v-5B");
  EXPECT_EQ(detect_task(test::golden_dir() + "/pipeline_tiny"), "t2v-A14B");
  EXPECT_THROW(detect_task(dir.file("nothing")), Error);
  EXPECT_THROW(detect_task(dir.path()), Error);  // no model folders, no config.json
}

TEST(TextToVideo, DefaultsAndValidation) {
  const TaskConfig& a14b = task_config("t2v-A14B");
  const GenerateParams p = resolve_params(a14b, {});
  EXPECT_EQ(p.width, 1280);
  EXPECT_EQ(p.height, 720);
  EXPECT_EQ(p.frames, 81);
  EXPECT_EQ(p.steps, 40);
  EXPECT_EQ(p.shift, 12.0);
  EXPECT_EQ(p.guide_low, 3.0);
  EXPECT_EQ(p.guide_high, 4.0);
  EXPECT_EQ(p.negative_prompt, kDefaultNegativePrompt);
  const GenerateParams q = resolve_params(task_config("TI2V-5B"), {});
  EXPECT_EQ(q.width, 1280);
  EXPECT_EQ(q.height, 704);
  EXPECT_EQ(q.frames, 121);
  EXPECT_EQ(q.guide_low, 5.0);
  GenerateParams bad;
  bad.frames = 80;
  EXPECT_THROW(resolve_params(a14b, bad), Error);
  bad = {};
  bad.width = 1280;
  bad.height = 700;
  EXPECT_THROW(resolve_params(a14b, bad), Error);
  bad.height = 720;  // a multiple of 16 but not of 32: fine for A14B, not for 5B (its latent grid is 32)
  EXPECT_THROW(resolve_params(task_config("ti2v-5B"), bad), Error);
  bad.height = 704;
  std::vector<std::string> warnings;
  set_log_sink([&](LogLevel l, const std::string& m) {
    if (l == LogLevel::Warn) warnings.push_back(m);
  });
  resolve_params(a14b, bad);  // 1280*704 is not an official A14B size: a warning
  set_log_sink(nullptr);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("not one of t2v-A14B's official sizes"), std::string::npos);
}

TEST(TextToVideo, Ti2v5BRunsEndToEnd) {
  test::TempDir dir;
  TextToVideo t2v = TextToVideo::load(make_ti2v_folder(dir));
  EXPECT_EQ(t2v.task().name, "ti2v-5B");
  EXPECT_EQ(t2v.task().fps, 24);
  GenerateParams p;
  p.width = 64;
  p.height = 32;
  p.frames = 5;
  p.steps = 2;
  p.prompt = "A cat walks on the grass.";
  set_log_level(LogLevel::Error);
  p = resolve_params(t2v.task(), p);
  set_log_level(LogLevel::Info);
  std::vector<std::string> stages;
  int64_t frames = 0, steps = 0;
  GenerateCallbacks cb;
  cb.on_stage = [&](const std::string& s) { stages.push_back(s); };
  cb.on_step = [&](int64_t, int64_t, int64_t, bool high) {
    EXPECT_FALSE(high);  // one model
    ++steps;
    return true;
  };
  cb.on_frames = [&](const Tensor& f) {
    EXPECT_EQ(f.size(2), 32);
    EXPECT_EQ(f.size(3), 64);
    EXPECT_EQ(tensor_stats(f).non_finite, 0);
    frames += f.size(1);
  };
  t2v.generate(p, cb);
  EXPECT_EQ(frames, 5);
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(stages, (std::vector<std::string>{"text encoder", "denoising", "decoding"}));
  // A callback that stops ends the run with Cancelled.
  cb.on_step = [](int64_t, int64_t, int64_t, bool) { return false; };
  EXPECT_THROW(t2v.generate(p, cb), Cancelled);
}

// FP8 is a GPU mode: asked for on the CPU, loading refuses before reading a weight, saying why.
TEST(TextToVideo, Fp8OnTheCpuIsRefused) {
  test::TempDir dir;
  try {
    TextToVideo::load(make_ti2v_folder(dir), "", Device::CPU, nullptr, DType::BF16, false, Precision::FP8);
    FAIL() << "FP8 on the CPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
}

TEST(TextToVideo, SeededNoiseRepeats) {
  EXPECT_EQ(rel_l2(seeded_noise({2, 3}, 42), seeded_noise({2, 3}, 42)), 0.0);
  EXPECT_GT(rel_l2(seeded_noise({2, 3}, 42), seeded_noise({2, 3}, 43)), 0.1);
  EXPECT_NEAR(tensor_stats(seeded_noise({100000}, 1)).stddev, 1.0, 0.01);
}

// wan convert on the TI2V-5B layout (the DiT in the folder itself): the converted folder loads
// and makes the same video (the tiny weights are bf16 values).
TEST(TextToVideo, ConvertedTi2vFolderMakesTheSameVideo) {
  test::TempDir dir;
  const std::string src = make_ti2v_folder(dir), dst = dir.file("ti2v_bf16");
  const ConvertReport r = convert_checkpoint(src, dst, DType::BF16, 30000);
  EXPECT_EQ(r.dit_folders, 1);
  EXPECT_GT(r.shards, 1);
  EXPECT_TRUE(fs::exists(fs::path(dst) / "config.json"));
  EXPECT_TRUE(fs::exists(fs::path(dst) / "diffusion_pytorch_model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(fs::path(dst) / "Wan2.2_VAE.pth"));
  const GenerateParams p = test::tiny_request(4, "A cat walks on the grass.");
  const auto a = test::generate_frames(src, p), b = test::generate_frames(dst, p);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(rel_l2(b[i], a[i]), 0.0) << i;
}

// The UMT5 encoder's tensors of `t5_pth` in Hugging Face's names with its tokenizer carried as
// ComfyUI's files may carry it (the bytes of `spiece_model_file` as "spiece_model").
std::vector<std::pair<std::string, Tensor>> comfy_text_encoder(const fs::path& t5_pth, const T5Config& config,
                                                                const fs::path& spiece_model_file) {
  const TensorStore store = TensorStore::open(t5_pth.string());
  T5Weights names;
  std::vector<std::pair<std::string, Tensor>> hf;
  for (const WeightSlot& s : t5_weight_slots(names, config)) hf.emplace_back(t5_hugging_face_name(s.name), store.get(s.name));
  const std::string spiece = test::read_bytes(spiece_model_file.string());
  hf.emplace_back(kT5EmbeddedTokenizer,
                  Tensor::from_vector<uint8_t>(std::vector<uint8_t>(spiece.begin(), spiece.end()), {int64_t(spiece.size())}));
  return hf;
}

// Every tensor of a file or DiT folder, for writing it again as one file.
std::vector<std::pair<std::string, Tensor>> all_tensors(const fs::path& path) {
  const TensorStore store = TensorStore::open(path.string());
  std::vector<std::pair<std::string, Tensor>> out;
  for (const std::string& name : store.names()) out.emplace_back(name, store.get(name));
  return out;
}

// Loading `folder` must fail with a message naming every one of `names` (the candidates of a part
// none of which is the official one).
void expect_load_refused_naming(const fs::path& folder, const std::vector<std::string>& names) {
  try {
    TextToVideo::load(folder.string());
    ADD_FAILURE() << folder << " loaded";
  } catch (const Error& e) {
    for (const std::string& name : names) EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
}

// ComfyUI's text encoder and VAE files in place of the official ones (pipeline/checkpoint_files.h):
// the UMT5 encoder in Hugging Face's names as umt5_xxl_fp16.safetensors, the VAE as
// wan2.2_vae.safetensors, and the DiT as one file of another name beside them, as ComfyUI users
// would copy them in; the encoder's file carries its tokenizer, as ComfyUI's may. Same weights,
// so the same video bit for bit, with the tokenizer folder and without it.
TEST(TextToVideo, ComfyUiTextEncoderAndVaeFilesMakeTheSameVideo) {
  test::TempDir dir;
  const std::string official = make_ti2v_folder(dir);
  const fs::path comfy = dir.file("ti2v_comfy"), g = test::golden_dir();
  fs::create_directories(comfy / kT5Tokenizer);
  fs::copy_file(fs::path(official) / kT5Tokenizer / "spiece.model", comfy / kT5Tokenizer / "spiece.model");
  fs::copy_file(g / "dit_tiny_ti2v" / "diffusion_pytorch_model.safetensors", comfy / "wan2.2_ti2v_5B_fp16.safetensors");
  fs::copy_file(g / "dit_tiny_ti2v" / "config.json", comfy / "config.json");
  write_config((g / "t5_tiny.io.safetensors").string(), comfy / "umt5_xxl_fp16.json");
  save_safetensors((comfy / "umt5_xxl_fp16.safetensors").string(),
                   comfy_text_encoder(g / "t5_tiny.pth", T5Config::for_checkpoint((comfy / "umt5_xxl_fp16.safetensors").string()),
                                      comfy / kT5Tokenizer / "spiece.model"));
  save_safetensors((comfy / "wan2.2_vae.safetensors").string(), all_tensors(g / "vae22_tiny.pth"));
  write_config((g / "vae22_tiny.io.safetensors").string(), comfy / "wan2.2_vae.json");
  EXPECT_EQ(find_text_encoder(comfy), comfy / "umt5_xxl_fp16.safetensors");
  EXPECT_EQ(find_vae(comfy, task_config("ti2v-5B")), comfy / "wan2.2_vae.safetensors");
  EXPECT_EQ(fs::path(folder_weights_file(comfy.string())).filename(), "wan2.2_ti2v_5B_fp16.safetensors");
  EXPECT_EQ(detect_task(comfy.string()), "ti2v-5B");
  const GenerateParams p = test::tiny_request(4, "A cat walks on the grass.");
  const auto a = test::generate_frames(official, p), b = test::generate_frames(comfy.string(), p);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(rel_l2(b[i], a[i]), 0.0) << i;

  // Without google/umt5-xxl/ the text encoder file's own tokenizer serves (ComfyUI's "spiece_model").
  EXPECT_EQ(find_tokenizer(comfy, find_text_encoder(comfy)), comfy / kT5Tokenizer);
  fs::remove_all(comfy / "google");
  EXPECT_EQ(find_tokenizer(comfy, find_text_encoder(comfy)), comfy / "umt5_xxl_fp16.safetensors");
  const auto c = test::generate_frames(comfy.string(), p);
  ASSERT_EQ(c.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(rel_l2(c[i], a[i]), 0.0) << i;

  // The official file wins where both are there; two ComfyUI encoders and no official one: which
  // is meant is not guessed.
  fs::copy_file(fs::path(official) / kT5Checkpoint, comfy / kT5Checkpoint);
  EXPECT_EQ(find_text_encoder(comfy), comfy / kT5Checkpoint);
  fs::remove(comfy / kT5Checkpoint);
  fs::copy_file(comfy / "umt5_xxl_fp16.safetensors", comfy / "umt5_xxl_fp8_e4m3fn_scaled.safetensors");
  expect_load_refused_naming(comfy, {"umt5_xxl_fp16.safetensors", "umt5_xxl_fp8_e4m3fn_scaled.safetensors"});
  // Neither: the message names both forms (and, with no tokenizer left, what would serve).
  fs::remove(comfy / "umt5_xxl_fp16.safetensors");
  fs::remove(comfy / "umt5_xxl_fp8_e4m3fn_scaled.safetensors");
  fs::remove(comfy / "wan2.2_vae.safetensors");
  expect_load_refused_naming(comfy, {text_encoder_expectation(), tokenizer_expectation(),
                                     "Wan2.2_VAE.pth (or ComfyUI's wan2.2_vae.safetensors)"});
}

// A T2V-A14B folder of ComfyUI's files only, as its users have them side by side: both experts as
// single files named for their noise level (no config.json: inferred), the UMT5 encoder in Hugging
// Face's names carrying its tokenizer, the VAE as wan_2.1_vae.safetensors; no official file at all.
// The demo checkpoint's weights, so the same video bit for bit; `wan convert` gives the official
// layout back, the same video again.
TEST(TextToVideo, ComfyUiOnlyA14BFolderMakesTheSameVideo) {
  test::TempDir dir;
  const fs::path demo = ensure_demo_checkpoint(dir.file("demo"), std::string(WAN_SOURCE_DIR) + "/tests/data");
  const fs::path comfy = dir.file("a14b_comfy");
  fs::create_directories(comfy);
  save_safetensors((comfy / "wan2.2_t2v_high_noise_14B_fp16.safetensors").string(), all_tensors(demo / "high_noise_model"));
  save_safetensors((comfy / "wan2.2_t2v_low_noise_14B_fp16.safetensors").string(), all_tensors(demo / "low_noise_model"));
  const T5Config t5 = T5Config::for_checkpoint((demo / kT5Checkpoint).string());
  save_safetensors((comfy / "umt5_xxl_fp8_e4m3fn_scaled.safetensors").string(),
                   comfy_text_encoder(demo / kT5Checkpoint, t5, demo / kT5Tokenizer / "spiece.model"));
  fs::copy_file(demo / "models_t5_umt5-xxl-enc-bf16.json", comfy / "umt5_xxl_fp8_e4m3fn_scaled.json");  // tiny model's config
  save_safetensors((comfy / "wan_2.1_vae.safetensors").string(), all_tensors(demo / "Wan2.1_VAE.pth"));
  fs::copy_file(demo / "Wan2.1_VAE.json", comfy / "wan_2.1_vae.json");

  EXPECT_EQ(detect_task(comfy.string()), "t2v-A14B");
  EXPECT_EQ(find_expert(comfy, "high_noise_model"), comfy / "wan2.2_t2v_high_noise_14B_fp16.safetensors");
  EXPECT_EQ(find_expert(comfy, "low_noise_model"), comfy / "wan2.2_t2v_low_noise_14B_fp16.safetensors");
  EXPECT_EQ(find_expert(demo, "low_noise_model"), demo / "low_noise_model");
  // `wan info` (the C API's description) names each part's file; all are there.
  wan_checkpoint_info info{};
  ASSERT_EQ(wan_inspect_checkpoint(comfy.string().c_str(), &info), WAN_OK);
  EXPECT_STREQ(info.task, "t2v-A14B");
  EXPECT_EQ(info.complete, 1);
  std::map<std::string, std::string> file_of;
  for (int32_t i = 0; i < info.part_count; ++i) {
    file_of[info.parts[i].role] = fs::path(info.parts[i].path).filename().string();
    EXPECT_STREQ(info.parts[i].problem, "") << info.parts[i].role;
  }
  EXPECT_EQ(file_of["high_noise_model"], "wan2.2_t2v_high_noise_14B_fp16.safetensors");
  EXPECT_EQ(file_of["low_noise_model"], "wan2.2_t2v_low_noise_14B_fp16.safetensors");
  EXPECT_EQ(file_of["text_encoder"], "umt5_xxl_fp8_e4m3fn_scaled.safetensors");
  EXPECT_EQ(file_of["tokenizer"], "umt5_xxl_fp8_e4m3fn_scaled.safetensors");
  EXPECT_EQ(file_of["vae"], "wan_2.1_vae.safetensors");

  const GenerateParams p = test::tiny_request(9, "a lighthouse at dusk");
  const auto a = test::generate_frames(demo.string(), p), b = test::generate_frames(comfy.string(), p);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(rel_l2(b[i], a[i]), 0.0) << i;

  const std::string converted = dir.file("a14b_official");
  const ConvertReport r = convert_checkpoint(comfy.string(), converted, DType::BF16, 1 << 30);
  EXPECT_EQ(r.dit_folders, 2);
  EXPECT_TRUE(fs::exists(fs::path(converted) / "high_noise_model" / "config.json"));
  EXPECT_FALSE(fs::exists(fs::path(converted) / "wan2.2_t2v_high_noise_14B_fp16.safetensors"));
  const auto c = test::generate_frames(converted, p);
  ASSERT_EQ(c.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(rel_l2(c[i], a[i]), 0.0) << i;

  // Two files named as one expert, and no folder: which is meant is not guessed.
  fs::copy_file(comfy / "wan2.2_t2v_high_noise_14B_fp16.safetensors",
                comfy / "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors");
  expect_load_refused_naming(comfy, {"wan2.2_t2v_high_noise_14B_fp16.safetensors",
                                     "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors"});
}

}  // namespace
}  // namespace wan
