// Binding DiT weights by their official names: every mismatch is an error naming file and tensor.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/checkpoint.h"
#include "io/safetensors.h"
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

}  // namespace
}  // namespace wan
