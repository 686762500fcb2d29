// PyTorch checkpoints (.pth/.pt) as torch.save writes them since PyTorch 1.6: a zip archive with
// `<name>/data.pkl` (the pickled state dict) and `<name>/data/<key>` (one raw storage each).
//
// The pickle is read by a restricted unpickler that understands only what a saved state dict
// holds: dicts and OrderedDicts, tuples, lists, strings, numbers, the storage classes
// (torch.FloatStorage, BFloat16Storage, ...) as persistent ids, and the tensor rebuild calls
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter. Any other global is refused with its name;
// nothing from the file is ever executed. Tensors are views of the mapped storages (offset,
// strides, several tensors sharing one storage); a copy is made only for misaligned storages.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace wan {

// Every tensor of the state dict, in the file's order. Values that are not tensors are skipped.
std::vector<std::pair<std::string, Tensor>> load_torch_checkpoint(const std::string& path);

}  // namespace wan
