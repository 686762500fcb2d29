// Writing a state dict as torch.save does (for random-weight checkpoints in the official .pth
// layout): a stored zip (ZIP64 when large) with `<archive>/data.pkl` (pickle protocol 2: an
// OrderedDict of torch._utils._rebuild_tensor_v2 calls on persistent storage ids),
// `<archive>/byteorder`, `<archive>/version` and one `<archive>/data/<k>` member per tensor, its
// data 64-byte aligned as torch aligns it. Written to a temporary name and renamed when complete.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace wan {

// Tensors on the host in f32, f64, f16, bf16, i64, i32, u8 or bool; any layout (written contiguous).
void save_torch_state_dict(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors);

// The same, streamed: tensor k (name, shape and dtype from specs[k]) is made by produce(k) just
// before it is written, so a state dict larger than memory can be written.
struct TensorSpec {
  std::string name;
  Shape shape;
  DType dtype;
};
void save_torch_state_dict(const std::string& path, const std::vector<TensorSpec>& specs,
                           const std::function<Tensor(size_t)>& produce);

}  // namespace wan
