// Helpers shared by the tests: golden-data discovery, temporary folders, random tensors.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/wan_dit_config.h"

namespace wan::test {

// $WAN_GOLDEN_DIR, else tests/data/golden of the source tree.
std::string golden_dir();
// Files in the golden folder whose names start with `prefix` and end with `suffix`, sorted.
std::vector<std::string> golden_files(const std::string& prefix, const std::string& suffix);

// The GoogleTest name of a golden case: the file name without ".io.safetensors", non-alphanumerics as '_'.
std::string golden_case_name(const std::string& path);
// `<dir>/<name><suffix>` for a case `<dir>/<name>.<case>.io.safetensors` (suffix ".pth" or "" for a folder).
std::string golden_sibling(const std::string& case_path, const std::string& suffix);

// A fresh empty folder under the system's temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Tensor random_tensor(const Shape& shape, uint64_t seed, double stddev = 1.0);
// A small T2V-A14B-shaped DiT for GPU tests: width 256 in two heads of 128 (the real models' head
// dim, which our Hopper attention kernel needs), FFN 512, text width 64 and length 40.
WanDiTConfig small_a14b_dit_config(int64_t layers);
// Whether `buffer` (any device) holds `expected` (host) bit for bit in rows [first, first + rows
// of expected) of dim 0 and zeros elsewhere: an op that wrote into a slice of a zeroed buffer
// wrote its rows and nothing else. `why` says what differs when not.
bool holds_rows_only(const Tensor& buffer, int64_t first, const Tensor& expected, std::string& why);
void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

}  // namespace wan::test
