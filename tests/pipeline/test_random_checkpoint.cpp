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
