// A DiT input/output case in the golden file format (tests/data/golden/README.md):
// `x.i`, `context.i`, `t`, optional `out.i` and `block_out.k` tensors, and the parameters
// `batch`, `seq_len`, `grids` as JSON strings in the safetensors metadata.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace wan {

struct WanDiTCase {
  std::string path;
  int64_t batch = 0;
  int64_t seq_len = 0;
  std::vector<std::vector<int64_t>> grids;  // [F, H', W'] per sample, from the metadata
  std::vector<Tensor> x;                    // [C, T, H, W] per sample
  std::vector<Tensor> context;              // [L_i, text_dim] per sample
  Tensor t;                                 // [B] or [B, seq_len]
  std::vector<Tensor> out;                  // expected [C, T, H, W] per sample (may be empty)
  std::vector<Tensor> block_out;            // expected [B, seq_len, dim] per block (may be empty)
};

// Reads a case; fails with a message naming the file when a tensor or parameter is missing.
WanDiTCase read_wan_dit_case(const std::string& path);

// The checkpoint folder of a case file by the golden naming rule: `<dir>/<name>.<case>.io.safetensors`
// uses the folder `<dir>/<name>/`.
std::string wan_dit_case_checkpoint(const std::string& case_path);

}  // namespace wan
