// Named tensors of a checkpoint: a safetensors file, shards listed by an index.json, or a PyTorch
// .pth state dict.
//
// The official DiT folders hold `diffusion_pytorch_model.safetensors`, or shards
// `diffusion_pytorch_model-0000k-of-0000n.safetensors` with `diffusion_pytorch_model.safetensors.index.json`
// ({"metadata": {...}, "weight_map": {tensor name: shard file}}); the T5 encoder and the VAEs are
// .pth files. Every file is mapped, not read: the store's tensors are views of the mappings.
// A checkpoint whose every name starts with "model.diffusion_model." (ComfyUI's single-file DiTs)
// is indexed under the names without it, the official ones.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace wan {

// Whether a .safetensors file's name says it is a UMT5 text encoder (`umt5*`: ComfyUI's
// umt5_xxl_*.safetensors), or either that or a VAE (`*vae*`, any case): such files may stand
// beside a single-file DiT in a checkpoint folder (pipeline/checkpoint_files.h) and are not it.
bool is_umt5_file_name(const std::string& filename);
bool is_text_encoder_or_vae_file_name(const std::string& filename);

// The file TensorStore::open reads for a folder of weights: `<base>.safetensors.index.json`, else
// `<base>.safetensors`, else the folder's one .safetensors file of any name (a single-file DiT;
// files named as a text encoder or VAE do not count). Empty when there is none of those;
// `safetensors_files` (optional) gets the number of candidate .safetensors files in the folder
// (several without an index: which one is meant is unknown).
std::string folder_weights_file(const std::string& folder, const std::string& base = "diffusion_pytorch_model",
                                int* safetensors_files = nullptr);

class TensorStore {
 public:
  // `path` is a .safetensors file, an .index.json, a .pth/.pt file (a torch.save zip), or a folder
  // holding `<base>.safetensors.index.json`, `<base>.safetensors`, or else exactly one .safetensors
  // file of any name (a single-file DiT).
  static TensorStore open(const std::string& path, const std::string& base = "diffusion_pytorch_model");

  const std::string& path() const { return path_; }  // what was opened, for messages
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // The tensor (a view of the mapped file); throws an error naming the checkpoint when missing.
  const Tensor& get(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return index_.size(); }
  const std::string& file_of(const std::string& name) const;  // the file the tensor is in

 private:
  struct Item {
    Tensor tensor;
    size_t file;  // index into files_
  };
  const Item& locate(const std::string& name) const;
  void strip_comfyui_prefix();
  void add_safetensors(const std::string& file, const std::vector<std::string>* only);

  std::string path_;
  std::vector<std::string> files_;
  std::map<std::string, Item> index_;
};

}  // namespace wan
