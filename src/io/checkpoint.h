// Named tensors of a checkpoint: one safetensors file, or shards listed by an index.json.
//
// The official DiT folders hold `diffusion_pytorch_model.safetensors`, or shards
// `diffusion_pytorch_model-0000k-of-0000n.safetensors` with `diffusion_pytorch_model.safetensors.index.json`
// ({"metadata": {...}, "weight_map": {tensor name: shard file}}). Every shard is mapped, not read.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace wan {

class TensorStore {
 public:
  // `path` is a .safetensors file, an .index.json, or a folder holding `<base>.safetensors.index.json`
  // or `<base>.safetensors` (base "diffusion_pytorch_model" for the official DiT folders).
  static TensorStore open(const std::string& path, const std::string& base = "diffusion_pytorch_model");

  const std::string& path() const { return path_; }  // what was opened, for messages
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws an error naming the checkpoint and the tensor when it is missing.
  const SafetensorsEntry& entry(const std::string& name) const;
  Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return index_.size(); }
  const std::string& file_of(const std::string& name) const;

 private:
  struct Location {
    const SafetensorsFile* file;
    const SafetensorsEntry* entry;
  };
  const Location& locate(const std::string& name) const;

  std::string path_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, Location> index_;
};

}  // namespace wan
