// Binding DiT weights by their official names: every mismatch is an error naming file and tensor.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "core/stats.h"
#include "models/wan_dit.h"
#include "test_util.h"

namespace wan {
namespace {

// A copy of the golden tiny DiT, with `edit` applied to its tensor list before writing.
class EditedCheckpoint {
 public:
  explicit EditedCheckpoint(const std::function<void(std::vector<std::pair<std::string, Tensor>>&)>& edit) {
    const std::string src = test::golden_dir() + "/dit_tiny";
    const TensorStore store = TensorStore::open(src);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const auto& name : store.names()) tensors.emplace_back(name, store.get(name));
    edit(tensors);
    save_safetensors(dir_.file("diffusion_pytorch_model.safetensors"), tensors);
    std::filesystem::copy_file(src + "/config.json", dir_.file("config.json"));
  }
  std::string load_error() const {
    try {
      WanDiT::load(dir_.path());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

 private:
  test::TempDir dir_;
};

TEST(WanDiTWeights, TheGoldenCheckpointBindsEveryTensor) {
  const WanDiT model = WanDiT::load(test::golden_dir() + "/dit_tiny");
  EXPECT_EQ(model.weights().blocks.size(), 2u);
  EXPECT_EQ(model.weights().blocks[1].cross_attn.norm_k_weight.shape(), (Shape{256}));
  EXPECT_EQ(model.weights().head_head_weight.dtype(), DType::F32);  // converted at load
}

TEST(WanDiTWeights, MissingTensor) {
  EditedCheckpoint ckpt([](auto& t) {
    std::erase_if(t, [](const auto& p) { return p.first == "blocks.1.ffn.2.bias"; });
  });
  const std::string err = ckpt.load_error();
  EXPECT_NE(err.find("missing tensor 'blocks.1.ffn.2.bias'"), std::string::npos) << err;
}

TEST(WanDiTWeights, WrongShape) {
  EditedCheckpoint ckpt([](auto& t) {
    for (auto& [name, tensor] : t)
      if (name == "blocks.0.self_attn.q.weight") tensor = tensor.narrow(0, 0, 128);
  });
  const std::string err = ckpt.load_error();
  EXPECT_NE(err.find("'blocks.0.self_attn.q.weight' has shape [128, 256]"), std::string::npos) << err;
  EXPECT_NE(err.find("diffusion_pytorch_model.safetensors"), std::string::npos) << err;
}

TEST(WanDiTWeights, NonFloatDType) {
  EditedCheckpoint ckpt([](auto& t) {
    for (auto& [name, tensor] : t)
      if (name == "head.modulation") tensor = tensor.to(DType::I32);
  });
  EXPECT_NE(ckpt.load_error().find("must be floating point"), std::string::npos);
}

TEST(WanDiTWeights, UnusedLeftover) {
  EditedCheckpoint ckpt([](auto& t) { t.emplace_back("img_emb.proj.0.weight", test::random_tensor({4}, 1)); });
  const std::string err = ckpt.load_error();
  EXPECT_NE(err.find("does not use: img_emb.proj.0.weight"), std::string::npos) << err;
}

TEST(WanDiTWeights, OtherFloatDTypesConvert) {
  // An fp16 checkpoint loads too: every floating dtype converts to the compute dtype at load.
  EditedCheckpoint ckpt([](auto& t) {
    for (auto& [name, tensor] : t) tensor = tensor.to(DType::F16);
  });
  EXPECT_EQ(ckpt.load_error(), "");
}

// A scaled FP8 checkpoint (weights in E4M3 with an f32 `scale_weight` each, the "fp8_scaled"
// convention, names under ComfyUI's "model.diffusion_model." prefix, activation scales beside):
// the block matrices come back as values · scale, everything else as stored.
TEST(WanDiTWeights, ScaledFp8WeightsAreDequantised) {
  const TensorStore golden = TensorStore::open(test::golden_dir() + "/dit_tiny");
  const std::string name = "blocks.0.self_attn.q.weight";
  const float scale = 0.01f;
  Tensor values;
  test::TempDir dir;
  {
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const auto& n : golden.names()) {
      const Tensor& t = golden.get(n);
      if (n.find("blocks.") == 0 && n.size() > 7 && n.substr(n.size() - 7) == ".weight" && t.dim() == 2) {
        Tensor scaled = t.to(DType::F32).contiguous().clone();
        for (int64_t i = 0; i < scaled.numel(); ++i) scaled.data<float>()[i] /= scale;
        const Tensor v = scaled.to(DType::F8_E4M3);
        if (n == name) values = v;
        tensors.emplace_back(n, v);
        tensors.emplace_back(n.substr(0, n.size() - 7) + ".scale_weight", Tensor::from_vector<float>({scale}, {1}));
        tensors.emplace_back(n.substr(0, n.size() - 7) + ".scale_input", Tensor::from_vector<float>({1.0f}, {1}));
      } else {
        tensors.emplace_back(n, t);
      }
    }
    tensors.emplace_back("scaled_fp8", Tensor::from_vector<float>({0.0f}, {1}));
    for (auto& [n, t] : tensors) n = "model.diffusion_model." + n;  // as ComfyUI's single files name them
    save_safetensors(dir.file("diffusion_pytorch_model.safetensors"), tensors);
    std::filesystem::copy_file(test::golden_dir() + "/dit_tiny/config.json", dir.file("config.json"));
  }
  const WanDiT fp8 = WanDiT::load(dir.path());
  const WanDiT exact = WanDiT::load(test::golden_dir() + "/dit_tiny");
  const Tensor& q = fp8.weights().blocks[0].self_attn.q_weight;
  const Tensor v = values.to(DType::F32);
  for (int64_t i = 0; i < q.numel(); ++i) ASSERT_EQ(q.data<float>()[i], v.data<float>()[i] * scale) << i;
  // E4M3 keeps ~2^-4 relative: the weights are close to, and not equal to, the originals.
  const double err = rel_l2(q, exact.weights().blocks[0].self_attn.q_weight);
  EXPECT_GT(err, 1e-3);
  EXPECT_LT(err, 5e-2);
  EXPECT_EQ(rel_l2(fp8.weights().head_head_weight, exact.weights().head_head_weight), 0.0);  // not scaled
}

// The FP8 block weights: each block's ten Linear weights (self/cross q, k, v, o; ffn.0, ffn.2), not
// their biases, norms, modulation, embeddings or the head.
TEST(WanDiTWeights, Fp8BlockWeightsAreTheBlocksLinearWeights) {
  const WanDiTConfig c = WanDiTConfig::from_file(test::golden_dir() + "/dit_tiny/config.json");
  WanDiTWeights scratch;
  std::vector<std::string> picked;
  for (const WeightSlot& s : wan_dit_weight_slots(scratch, c))
    if (is_fp8_block_weight(s.name)) picked.push_back(s.name);
  EXPECT_EQ(int64_t(picked.size()), 10 * c.num_layers);
  EXPECT_EQ(picked.front(), "blocks.0.self_attn.q.weight");
  EXPECT_EQ(picked.back(), "blocks." + std::to_string(c.num_layers - 1) + ".ffn.2.weight");
  for (const char* other : {"blocks.0.self_attn.q.bias", "blocks.0.self_attn.norm_q.weight", "blocks.0.norm3.weight",
                            "head.head.weight", "text_embedding.0.weight", "blocks.0.ffn.1.weight", "blocks.self_attn.q.weight"})
    EXPECT_FALSE(is_fp8_block_weight(other)) << other;
}

TEST(WanDiTWeights, AScaleOfAnotherShapeIsRefused) {
  EditedCheckpoint ckpt([](auto& t) {
    for (auto& [name, tensor] : t)
      if (name == "blocks.0.ffn.0.weight") tensor = tensor.to(DType::F8_E4M3);
    t.emplace_back("blocks.0.ffn.0.scale_weight", test::random_tensor({2}, 3));
  });
  const std::string err = ckpt.load_error();
  EXPECT_NE(err.find("a scale must hold one value, one per row"), std::string::npos) << err;
}

// A DiT file without config.json: the config its shapes imply is the one its config.json says
// (the golden tiny DiTs: t2v and ti2v, head dim 128 as every Wan DiT's).
TEST(WanDiTWeights, InfersTheConfigFromTheShapes) {
  for (const char* name : {"dit_tiny", "dit_tiny_ti2v"}) {
    const std::string folder = test::golden_dir() + "/" + name;
    const WanDiTConfig written = WanDiTConfig::from_file(folder + "/config.json");
    const WanDiTConfig inferred = infer_wan_dit_config(TensorStore::open(folder));
    EXPECT_EQ(inferred.to_json(), written.to_json()) << name;
  }
  // A folder with the weights alone loads with the inferred config.
  test::TempDir dir;
  std::filesystem::copy_file(test::golden_dir() + "/dit_tiny_ti2v/diffusion_pytorch_model.safetensors",
                             dir.file("wan2.2_ti2v_5B_comfy.safetensors"));
  EXPECT_EQ(wan_dit_config_of_folder(dir.path()).to_json(),
            WanDiTConfig::from_file(test::golden_dir() + "/dit_tiny_ti2v/config.json").to_json());
  EXPECT_EQ(WanDiT::load(dir.path()).config().model_type, "ti2v");
  // Not a DiT: the error names what is missing.
  test::TempDir other;
  save_safetensors(other.file("x.safetensors"), {{"a", test::random_tensor({2}, 1)}});
  try {
    infer_wan_dit_config(TensorStore::open(other.path()));
    FAIL() << "a file without a DiT's tensors was given a config";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("patch_embedding.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wan
