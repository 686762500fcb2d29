// The UMT5 encoder in Hugging Face's tensor names (as ComfyUI's repackaged umt5_xxl_*.safetensors
// files keep them), from every t5_*.io.safetensors golden case's checkpoint rewritten that way:
// it must load and encode bit for bit as the official file does (a tokenizer carried in it aside),
// and in ComfyUI's fp8_scaled form (E4M3 matrices with a scale per row and the marker) bit for bit
// as the same dequantised values in the official names: the names and the scales change nothing else.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "core/stats.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "models/t5_encoder.h"
#include "ops/quantize.h"
#include "test_util.h"

namespace wan {
namespace {

using Named = std::vector<std::pair<std::string, Tensor>>;

std::vector<std::string> t5_cases() { return test::golden_files("t5_", ".io.safetensors"); }

class T5HuggingFaceNames : public ::testing::TestWithParam<std::string> {};

// The checkpoint's tensors by official name (f32, contiguous), and which are block matrices.
Named official_tensors(const std::string& pth, const T5Config& config, std::vector<bool>& matrix) {
  const TensorStore store = TensorStore::open(pth);
  T5Weights slots_of;
  const std::vector<WeightSlot> slots = t5_weight_slots(slots_of, config);
  const std::vector<Tensor*> matrices = t5_block_matrices(slots_of);
  Named out;
  for (const WeightSlot& s : slots) {
    out.emplace_back(s.name, store.get(s.name).to(DType::F32).contiguous());
    matrix.push_back(std::find(matrices.begin(), matrices.end(), s.tensor) != matrices.end());
  }
  return out;
}

TEST_P(T5HuggingFaceNames, EncodeAsTheOfficialNamesDo) {
  const auto io = SafetensorsFile::open(GetParam());
  const T5Config config = T5Config::from_json(io->metadata().at("config"), GetParam());
  const std::string pth = test::golden_sibling(GetParam(), ".pth");
  std::vector<bool> matrix;
  const Named official = official_tensors(pth, config, matrix);
  const test::TempDir dir;

  // Hugging Face's names, with the tied copy of the token embedding transformers saves beside it
  // and a tokenizer carried as ComfyUI's files may ("spiece_model": the model's bytes as u8).
  Named hf;
  for (const auto& [name, t] : official) hf.emplace_back(t5_hugging_face_name(name), t);
  hf.emplace_back("encoder.embed_tokens.weight", official.front().second);
  ASSERT_EQ(official.front().first, "token_embedding.weight");
  const std::string spiece = test::read_bytes(std::string(WAN_SOURCE_DIR) + "/tests/data/tokenizer/spiece.model");
  ASSERT_FALSE(spiece.empty());
  hf.emplace_back(kT5EmbeddedTokenizer,
                  Tensor::from_vector<uint8_t>(std::vector<uint8_t>(spiece.begin(), spiece.end()), {int64_t(spiece.size())}));
  save_safetensors(dir.file("umt5_hf.safetensors"), hf);
  EXPECT_TRUE(t5_store_uses_hugging_face_names(TensorStore::open(dir.file("umt5_hf.safetensors"))));
  EXPECT_FALSE(t5_store_uses_hugging_face_names(TensorStore::open(pth)));
  EXPECT_EQ(t5_embedded_tokenizer(dir.file("umt5_hf.safetensors")), spiece);
  EXPECT_EQ(t5_embedded_tokenizer(pth), std::nullopt);

  // ComfyUI's fp8_scaled form of it, and the values it stands for in the official names.
  Named scaled, dequantised;
  for (size_t i = 0; i < official.size(); ++i) {
    const auto& [name, t] = official[i];
    if (!matrix[i]) {
      scaled.emplace_back(t5_hugging_face_name(name), t);
      dequantised.emplace_back(name, t);
      continue;
    }
    const ops::Fp8Matrix q = ops::quantize_fp8(t, ops::Fp8Scaling::PerRow);
    const std::string hf_name = t5_hugging_face_name(name);
    scaled.emplace_back(hf_name, q.values);
    scaled.emplace_back(hf_name.substr(0, hf_name.size() - 7) + ".scale_weight", q.scales);  // X.weight -> X.scale_weight
    dequantised.emplace_back(name, ops::dequantize_fp8(q));
  }
  scaled.emplace_back("scaled_fp8", Tensor::from_vector<float>({0.0f}, {1}));
  save_safetensors(dir.file("umt5_fp8_scaled.safetensors"), scaled);
  save_safetensors(dir.file("dequantised.safetensors"), dequantised);

  const Tensor ids = io->tensor("ids"), mask = io->tensor("mask");
  const Tensor reference = T5Encoder::load(pth, config).forward(ids, mask);
  const Tensor from_hf = T5Encoder::load(dir.file("umt5_hf.safetensors"), config).forward(ids, mask);
  EXPECT_EQ(rel_l2(from_hf, reference), 0.0);
  EXPECT_LE(rel_l2(from_hf, io->tensor("out")), 1e-4);  // the golden itself, as T5Golden checks

  const Tensor from_fp8 = T5Encoder::load(dir.file("umt5_fp8_scaled.safetensors"), config).forward(ids, mask);
  const Tensor from_values = T5Encoder::load(dir.file("dequantised.safetensors"), config).forward(ids, mask);
  EXPECT_EQ(rel_l2(from_fp8, from_values), 0.0);
  const double fp8_error = rel_l2(from_fp8, reference);
  std::printf("%s: fp8_scaled encoder vs the official weights' %.3e\n", GetParam().c_str(), fp8_error);
  // The E4M3 values are not the f32 ones (the file was read as FP8), and a tiny random encoder is
  // sensitive to them (t5_tiny: 1.9e-1), but the output is still that encoder's, not noise.
  EXPECT_GT(fp8_error, 0.0);
  EXPECT_LT(fp8_error, 0.5);
}

// A file that mixes the two namings, or lacks a tensor, is refused naming what is wrong.
TEST_P(T5HuggingFaceNames, IncompleteFileIsRefusedByName) {
  const auto io = SafetensorsFile::open(GetParam());
  const T5Config config = T5Config::from_json(io->metadata().at("config"), GetParam());
  std::vector<bool> matrix;
  const Named official = official_tensors(test::golden_sibling(GetParam(), ".pth"), config, matrix);
  Named hf;
  for (const auto& [name, t] : official)
    if (name != "blocks.0.ffn.fc2.weight") hf.emplace_back(t5_hugging_face_name(name), t);
  const test::TempDir dir;
  save_safetensors(dir.file("umt5_partial.safetensors"), hf);
  try {
    T5Encoder::load(dir.file("umt5_partial.safetensors"), config);
    FAIL() << "a file without encoder.block.0.layer.1.DenseReluDense.wo.weight loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.block.0.layer.1.DenseReluDense.wo.weight"), std::string::npos)
        << e.what();
  }
}

TEST(T5HuggingFaceNames, NameMapping) {
  EXPECT_EQ(t5_hugging_face_name("token_embedding.weight"), "shared.weight");
  EXPECT_EQ(t5_hugging_face_name("norm.weight"), "encoder.final_layer_norm.weight");
  EXPECT_EQ(t5_hugging_face_name("blocks.23.ffn.gate.0.weight"), "encoder.block.23.layer.1.DenseReluDense.wi_0.weight");
  EXPECT_EQ(t5_hugging_face_name("blocks.3.ffn.fc1.weight"), "encoder.block.3.layer.1.DenseReluDense.wi_1.weight");
  EXPECT_EQ(t5_hugging_face_name("blocks.3.ffn.fc2.weight"), "encoder.block.3.layer.1.DenseReluDense.wo.weight");
  EXPECT_EQ(t5_hugging_face_name("blocks.0.pos_embedding.embedding.weight"),
            "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
  EXPECT_EQ(t5_hugging_face_name("blocks.7.norm2.weight"), "encoder.block.7.layer.1.layer_norm.weight");
  EXPECT_THROW(t5_hugging_face_name("blocks.7.mystery.weight"), Error);
  EXPECT_THROW(t5_hugging_face_name("head.weight"), Error);
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) { return test::golden_case_name(info.param); }

INSTANTIATE_TEST_SUITE_P(Golden, T5HuggingFaceNames, ::testing::ValuesIn(t5_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(T5HuggingFaceNames);

}  // namespace
}  // namespace wan
