// Checkpoints: one file, or shards listed by diffusion_pytorch_model.safetensors.index.json.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/stats.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace wan {
namespace {

using test::TempDir;

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

struct ShardedFixture {
  TempDir dir;
  Tensor a = test::random_tensor({4, 3}, 1), b = test::random_tensor({5}, 2), c = test::random_tensor({2, 2}, 3);
  ShardedFixture() {
    save_safetensors(dir.file("m-00001-of-00002.safetensors"), {{"a", a}, {"b", b}});
    save_safetensors(dir.file("m-00002-of-00002.safetensors"), {{"c", c}});
  }
  void write_index(const std::string& weight_map) {
    test::write_bytes(dir.file("m.safetensors.index.json"),
                      R"({"metadata": {"total_size": 84}, "weight_map": )" + weight_map + "}");
  }
};

TEST(Checkpoint, OpensShardsThroughTheIndex) {
  ShardedFixture f;
  f.write_index(R"({"a": "m-00001-of-00002.safetensors", "b": "m-00001-of-00002.safetensors",
                    "c": "m-00002-of-00002.safetensors"})");
  const TensorStore store = TensorStore::open(f.dir.path(), "m");
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(rel_l2(store.get("a"), f.a), 0.0);
  EXPECT_EQ(rel_l2(store.get("c"), f.c), 0.0);
  EXPECT_NE(store.file_of("c").find("00002"), std::string::npos);
  expect_error([&] { store.get("d"); }, {"no tensor 'd'", f.dir.path()});
}

TEST(Checkpoint, OpensTheGoldenShardedExpert) {
  const TensorStore store = TensorStore::open(test::golden_dir() + "/pipeline_tiny/low_noise_model");
  EXPECT_TRUE(store.contains("head.head.weight"));
  EXPECT_TRUE(store.contains("blocks.1.ffn.2.bias"));
}

TEST(Checkpoint, IndexNamingAMissingShard) {
  ShardedFixture f;
  f.write_index(R"({"a": "m-00001-of-00002.safetensors", "c": "m-00003-of-00003.safetensors"})");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"m-00003-of-00003.safetensors", "missing"});
}

TEST(Checkpoint, IndexNamingATensorTheShardLacks) {
  ShardedFixture f;
  f.write_index(R"({"a": "m-00002-of-00002.safetensors"})");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"'a'", "no such tensor"});
}

TEST(Checkpoint, IndexThatEscapesTheFolder) {
  ShardedFixture f;
  f.write_index(R"({"a": "../m-00001-of-00002.safetensors"})");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"not a file name inside"});
  f.write_index(R"({"a": "/etc/passwd"})");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"not a file name inside"});
}

TEST(Checkpoint, MalformedIndex) {
  ShardedFixture f;
  test::write_bytes(f.dir.file("m.safetensors.index.json"), "{not json");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"index.json", "not valid JSON"});
  test::write_bytes(f.dir.file("m.safetensors.index.json"), R"({"metadata": {}})");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"weight_map"});
  f.write_index(R"({"a": 3})");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"not a file name"});
}

TEST(Checkpoint, FolderWithoutWeights) {
  TempDir dir;
  expect_error([&] { TensorStore::open(dir.path()); },
               {"no weights found", "diffusion_pytorch_model.safetensors"});
  expect_error([&] { TensorStore::open(dir.file("nothing-here")); }, {"no such file"});
}

TEST(Checkpoint, MalformedShardNamesTheShard) {
  ShardedFixture f;
  test::write_bytes(f.dir.file("m-00002-of-00002.safetensors"), "garbage");
  f.write_index(R"({"c": "m-00002-of-00002.safetensors"})");
  expect_error([&] { TensorStore::open(f.dir.path(), "m"); }, {"m-00002-of-00002.safetensors", "too small"});
}

// ComfyUI's single-file DiTs name every tensor "model.diffusion_model.<official name>": indexed
// under the official names. A prefix only some names carry is left alone.
TEST(Checkpoint, ComfyUiPrefixIsStripped) {
  TempDir dir;
  const Tensor a = test::random_tensor({2, 3}, 7), b = test::random_tensor({4}, 8);
  save_safetensors(dir.file("comfy.safetensors"),
                   {{"model.diffusion_model.blocks.0.ffn.0.weight", a}, {"model.diffusion_model.head.modulation", b}});
  const TensorStore store = TensorStore::open(dir.file("comfy.safetensors"));
  EXPECT_EQ(store.names(), (std::vector<std::string>{"blocks.0.ffn.0.weight", "head.modulation"}));
  EXPECT_EQ(rel_l2(store.get("head.modulation"), b), 0.0);
  EXPECT_EQ(store.file_of("head.modulation"), dir.file("comfy.safetensors"));
  save_safetensors(dir.file("mixed.safetensors"), {{"model.diffusion_model.a", a}, {"b", b}});
  EXPECT_EQ(TensorStore::open(dir.file("mixed.safetensors")).names(),
            (std::vector<std::string>{"b", "model.diffusion_model.a"}));
}

// A folder holding one .safetensors file of another name (a single-file DiT as ComfyUI's are
// named) opens as that file; with two such files it is ambiguous and refused.
TEST(Checkpoint, AFolderWithOneSafetensorsFileOfAnyName) {
  TempDir dir;
  const Tensor a = test::random_tensor({2, 3}, 7);
  save_safetensors(dir.file("wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors"), {{"a", a}});
  const TensorStore store = TensorStore::open(dir.path());
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(rel_l2(store.get("a"), a), 0.0);
  save_safetensors(dir.file("other.safetensors"), {{"b", a}});
  expect_error([&] { TensorStore::open(dir.path()); }, {"no weights found", "there are 2"});
}

}  // namespace
}  // namespace wan
