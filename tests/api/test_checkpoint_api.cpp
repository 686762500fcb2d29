// The checkpoint tools of the API (src/api/wan_checkpoint_api.cpp): describing a checkpoint folder
// part by part, with what is wrong with a part reported in the part; listing a file's tensors;
// refusing bad requests for a random checkpoint before writing anything.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"
#include "wan/wan.hpp"

namespace fs = std::filesystem;

namespace {

class CheckpointApi : public ::testing::Test {
 protected:
  void SetUp() override {
    demo = dir.file("demo");
    wan::api::prepare_demo_checkpoint(std::string(WAN_SOURCE_DIR) + "/tests/data", demo);
  }
  const wan_checkpoint_part* part(const wan_checkpoint_info& info, const std::string& role) {
    for (int32_t i = 0; i < info.part_count; ++i)
      if (role == info.parts[i].role) return &info.parts[i];
    return nullptr;
  }
  wan::test::TempDir dir;
  std::string demo;
};

TEST_F(CheckpointApi, DescribesAWholeFolderPartByPart) {
  const wan_checkpoint_info info = wan::api::inspect_checkpoint(demo);
  EXPECT_STREQ(info.task, "t2v-A14B");
  EXPECT_EQ(info.complete, 1);
  ASSERT_EQ(info.part_count, 5);
  for (const char* role : {"high_noise_model", "low_noise_model", "text_encoder", "tokenizer", "vae"}) {
    const wan_checkpoint_part* p = part(info, role);
    ASSERT_NE(p, nullptr) << role;
    EXPECT_EQ(p->present, 1) << role;
    EXPECT_STREQ(p->problem, "") << role;
  }
  const wan_checkpoint_part* low = part(info, "low_noise_model");
  // The demo DiT (tests/data: dim 128, ffn 512, 2 blocks, text_dim 64): 69 tensors in two shards.
  EXPECT_EQ(low->tensors, 69);
  EXPECT_NE(std::string(low->config).find("dim 128"), std::string::npos) << low->config;
  EXPECT_EQ(low->parameters, 720832);
  EXPECT_NE(std::string(low->dtypes).find("bf16"), std::string::npos) << low->dtypes;
  int64_t listed_bytes = 0;
  for (const wan_tensor_info& t : wan::api::list_tensors(low->path)) listed_bytes += t.bytes;
  EXPECT_EQ(low->bytes, listed_bytes);
  EXPECT_EQ(part(info, "tokenizer")->tensors, 0);
  EXPECT_GT(part(info, "vae")->tensors, 0);
  EXPECT_GT(part(info, "text_encoder")->tensors, 0);
}

TEST_F(CheckpointApi, ReportsWhatIsWrongInThePartAndStillDescribesTheRest) {
  fs::remove(fs::path(demo) / "Wan2.1_VAE.pth");
  // The low-noise expert's config now asks for a wider model than its weights are.
  const fs::path config = fs::path(demo) / "low_noise_model" / "config.json";
  std::stringstream text;
  text << std::ifstream(config).rdbuf();
  std::string json = text.str();
  const size_t at = json.find("\"ffn_dim\": 512");
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, std::string("\"ffn_dim\": 512").size(), "\"ffn_dim\": 640");
  fs::remove(config);
  std::ofstream(config) << json;

  const wan_checkpoint_info info = wan::api::inspect_checkpoint(demo);
  EXPECT_EQ(info.complete, 0);
  ASSERT_EQ(info.part_count, 5);
  EXPECT_EQ(part(info, "vae")->present, 0);
  EXPECT_STREQ(part(info, "vae")->problem, "missing");
  const wan_checkpoint_part* low = part(info, "low_noise_model");
  EXPECT_EQ(low->present, 1);
  EXPECT_NE(std::string(low->problem).find("ffn"), std::string::npos) << low->problem;
  EXPECT_EQ(low->tensors, 69);  // still counted
  EXPECT_STREQ(part(info, "high_noise_model")->problem, "");
}

// ComfyUI's text encoder and VAE files in place of the official ones (by their names; the contents
// here are the demo's own files, which the store reads by content): described as those parts. Two
// candidate text encoders and no official one: the part says so, naming both.
TEST_F(CheckpointApi, DescribesComfyUiTextEncoderAndVaeFiles) {
  const fs::path d(demo);
  fs::rename(d / "models_t5_umt5-xxl-enc-bf16.pth", d / "umt5_xxl_fp16.safetensors");
  fs::rename(d / "Wan2.1_VAE.pth", d / "wan_2.1_vae.safetensors");
  wan_checkpoint_info info = wan::api::inspect_checkpoint(demo);
  EXPECT_STREQ(info.task, "t2v-A14B");
  EXPECT_EQ(info.complete, 1);
  EXPECT_EQ(fs::path(part(info, "text_encoder")->path).filename(), "umt5_xxl_fp16.safetensors");
  EXPECT_EQ(fs::path(part(info, "vae")->path).filename(), "wan_2.1_vae.safetensors");
  EXPECT_GT(part(info, "text_encoder")->tensors, 0);
  EXPECT_GT(part(info, "vae")->tensors, 0);

  fs::copy_file(d / "umt5_xxl_fp16.safetensors", d / "umt5_xxl_fp8_e4m3fn_scaled.safetensors");
  info = wan::api::inspect_checkpoint(demo);
  EXPECT_STREQ(info.task, "t2v-A14B");
  EXPECT_EQ(info.complete, 0);
  const std::string problem = part(info, "text_encoder")->problem;
  EXPECT_NE(problem.find("umt5_xxl_fp16.safetensors"), std::string::npos) << problem;
  EXPECT_NE(problem.find("umt5_xxl_fp8_e4m3fn_scaled.safetensors"), std::string::npos) << problem;
}

TEST_F(CheckpointApi, DescribesOneDiTFolderAndOneFile) {
  const std::string dit = demo + "/high_noise_model";
  const wan_checkpoint_info folder = wan::api::inspect_checkpoint(dit);
  EXPECT_STREQ(folder.task, "");
  ASSERT_EQ(folder.part_count, 1);
  EXPECT_STREQ(folder.parts[0].role, "dit");
  EXPECT_EQ(folder.parts[0].parameters, 720832);
  EXPECT_EQ(folder.complete, 1);

  const wan_checkpoint_info file = wan::api::inspect_checkpoint(demo + "/Wan2.1_VAE.pth");
  ASSERT_EQ(file.part_count, 1);
  EXPECT_STREQ(file.parts[0].role, "tensors");
  EXPECT_STREQ(file.parts[0].config, "");
  EXPECT_EQ(file.complete, 1);
  EXPECT_EQ(file.parts[0].tensors, int64_t(wan::api::list_tensors(demo + "/Wan2.1_VAE.pth").size()));

  wan_checkpoint_info out;
  EXPECT_EQ(wan_inspect_checkpoint(dir.file("nothing").c_str(), &out), WAN_ERROR_IO);
  EXPECT_NE(std::string(wan_last_error()).find("nothing"), std::string::npos) << wan_last_error();
  // A lone file that is not a tensor file is the caller's error, not a part's remark.
  EXPECT_EQ(wan_inspect_checkpoint((demo + "/google/umt5-xxl/spiece.model").c_str(), &out), WAN_ERROR_IO);
  EXPECT_EQ(wan_inspect_checkpoint(nullptr, &out), WAN_ERROR_INVALID_ARGUMENT);
}

TEST_F(CheckpointApi, ListsTensorsSortedWithShapes) {
  const std::string dit = demo + "/low_noise_model";
  int64_t count = -1;
  ASSERT_EQ(wan_list_tensors(dit.c_str(), nullptr, 0, &count), WAN_OK);
  EXPECT_EQ(count, 69);
  const std::vector<wan_tensor_info> all = wan::api::list_tensors(dit);
  ASSERT_EQ(all.size(), 69u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(std::string(all[i - 1].name), std::string(all[i].name));
  bool found = false;
  for (const wan_tensor_info& t : all)
    if (std::string(t.name) == "blocks.0.ffn.0.weight") {  // nn.Linear(dim 128, ffn 512): [512, 128]
      found = true;
      EXPECT_STREQ(t.dtype, "bf16");
      ASSERT_EQ(t.ndim, 2);
      EXPECT_EQ(t.shape[0], 512);
      EXPECT_EQ(t.shape[1], 128);
      EXPECT_EQ(t.bytes, 512 * 128 * 2);
    }
  EXPECT_TRUE(found);
  wan_tensor_info two[2];  // room for fewer than there are: the first two, and the count of all
  ASSERT_EQ(wan_list_tensors(dit.c_str(), two, 2, &count), WAN_OK);
  EXPECT_EQ(count, 69);
  EXPECT_STREQ(two[1].name, all[1].name);
  EXPECT_EQ(wan_list_tensors(dit.c_str(), nullptr, 3, &count), WAN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(wan_list_tensors(dir.file("none.safetensors").c_str(), nullptr, 0, &count), WAN_ERROR_IO);
}

// A ComfyUI-style expert: one .safetensors file of its own name and no config.json. The folder
// is described with the config inferred from the shapes, and makes the same video.
TEST_F(CheckpointApi, ASingleFileExpertWithoutConfigMakesTheSameVideo) {
  const std::string single = dir.file("single");
  fs::copy(demo, single, fs::copy_options::recursive);
  const fs::path high = fs::path(single) / "high_noise_model";
  fs::rename(high / "diffusion_pytorch_model.safetensors", high / "wan2.2_t2v_high_noise_14B_comfy.safetensors");
  fs::remove(high / "config.json");

  const wan_checkpoint_info info = wan::api::inspect_checkpoint(single);
  EXPECT_EQ(info.complete, 1);
  const wan_checkpoint_part* p = part(info, "high_noise_model");
  ASSERT_NE(p, nullptr);
  EXPECT_NE(std::string(p->config).find("inferred"), std::string::npos) << p->config;
  EXPECT_EQ(p->parameters, 720832);

  auto video = [&](const std::string& folder, wan_device device = WAN_DEVICE_CPU) {
    wan::api::ContextOptions o;
    o.checkpoint_dir = folder;
    o.device = device;
    wan::api::Context ctx(o);
    wan::api::Request r;
    r.prompt = "a kite over the dunes";
    r.width = 64;
    r.height = 32;
    r.frames = 5;
    r.steps = 2;
    r.seed = 11;
    std::string rgb;
    r.on_frames = [&](const wan_frames& f) {
      rgb.append(reinterpret_cast<const char*>(f.rgb), size_t(f.count) * f.width * f.height * 3);
      return true;
    };
    ctx.generate(r);
    return rgb;
  };
  const std::string original = video(demo), from_single = video(single);
  EXPECT_EQ(original.size(), size_t(5 * 64 * 32 * 3));
  EXPECT_TRUE(original == from_single) << "the single-file expert changed the video";
  if (wan_cuda_available()) {  // the GPU's loader: the same video within rounding (kernels may be re-chosen)
    const std::string a = video(demo, WAN_DEVICE_CUDA), b = video(single, WAN_DEVICE_CUDA);
    ASSERT_EQ(a.size(), b.size());
    int largest = 0;
    for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(int(uint8_t(a[i])) - int(uint8_t(b[i]))));
    EXPECT_LE(largest, 2);
  }

  // Converting writes the official layout: the inferred config as config.json beside the shards.
  const std::string converted = dir.file("converted");
  wan::api::convert_checkpoint(single, converted);
  EXPECT_TRUE(fs::exists(fs::path(converted) / "high_noise_model" / "config.json"));
  const wan_checkpoint_info after = wan::api::inspect_checkpoint(converted);
  EXPECT_EQ(after.complete, 1);
  EXPECT_EQ(std::string(part(after, "high_noise_model")->config).find("inferred"), std::string::npos);
  EXPECT_STREQ(part(after, "high_noise_model")->config, part(info, "low_noise_model")->config);
}

// A TI2V-5B folder whose DiT is one file of its own name without config.json: the task comes from
// the weights' shapes (48 latent channels); the parts still missing are named.
TEST_F(CheckpointApi, FindsTheTaskOfAFolderFromItsDiTShapes) {
  const fs::path folder = dir.file("ti2v");
  fs::create_directories(folder / "google" / "umt5-xxl");
  fs::copy_file(wan::test::golden_dir() + "/dit_tiny_ti2v/diffusion_pytorch_model.safetensors",
                folder / "wan2.2_ti2v_5B_fp16.safetensors");
  fs::copy_file(fs::path(demo) / "models_t5_umt5-xxl-enc-bf16.pth", folder / "models_t5_umt5-xxl-enc-bf16.pth");
  fs::copy_file(fs::path(demo) / "google" / "umt5-xxl" / "spiece.model", folder / "google" / "umt5-xxl" / "spiece.model");
  const wan_checkpoint_info info = wan::api::inspect_checkpoint(folder.string());
  EXPECT_STREQ(info.task, "ti2v-5B");
  EXPECT_EQ(info.complete, 0);
  const wan_checkpoint_part* dit = part(info, "dit");
  ASSERT_NE(dit, nullptr);
  EXPECT_STREQ(dit->problem, "");
  EXPECT_NE(std::string(dit->config).find("ti2v"), std::string::npos) << dit->config;
  EXPECT_STREQ(part(info, "vae")->problem, "missing");  // Wan2.2_VAE.pth
  EXPECT_EQ(part(info, "text_encoder")->present, 1);
}

TEST_F(CheckpointApi, RefusesABadRandomCheckpointRequestBeforeWriting) {
  const std::string tokenizer = std::string(WAN_SOURCE_DIR) + "/tests/data/tokenizer/spiece.model";
  wan_random_checkpoint_params p = wan_random_checkpoint_default_params();
  EXPECT_STREQ(p.task, "t2v-A14B");
  EXPECT_EQ(p.seed, 1u);
  p.tokenizer_model = tokenizer.c_str();
  const std::string out = dir.file("random");
  auto refused = [&](const wan_random_checkpoint_params& q, const std::string& dst, const char* says) {
    EXPECT_EQ(wan_write_random_checkpoint(dst.c_str(), &q, nullptr), WAN_ERROR_INVALID_ARGUMENT) << says;
    EXPECT_NE(std::string(wan_last_error()).find(says), std::string::npos) << wan_last_error();
  };
  wan_random_checkpoint_params q = p;
  q.task = "t2v-1.3B";
  refused(q, out, "t2v-1.3B");
  q = p;
  q.dit_layers = -1;
  refused(q, out, "negative");
  q = p;
  q.tokenizer_model = nullptr;
  refused(q, out, "SentencePiece");
  q.tokenizer_model = "missing.model";
  refused(q, out, "missing.model");
  refused(p, demo, "exists already");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(wan_write_random_checkpoint(out.c_str(), nullptr, nullptr), WAN_ERROR_INVALID_ARGUMENT);
}

}  // namespace
