// safetensors files: validated, memory-mapped reading, and writing.
//
// Format (https://huggingface.co/docs/safetensors): 8 bytes little-endian header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the
// data; offsets are relative to the data's start. open() validates the whole header before any
// tensor is touched: sizes, JSON, dtypes, shapes against byte counts, offsets inside the data, no
// overlaps and no uncovered bytes (as the reference implementation requires). Every error names
// the file and the problem.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/mapped_file.h"

namespace wan {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin;  // byte offsets in the data section
  uint64_t end;
};

class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // sorted by name
  const SafetensorsEntry* find(const std::string& name) const;
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  // A tensor viewing the mapping (a copy only when the data is misaligned for its dtype).
  Tensor tensor(const std::string& name) const;
  Tensor tensor(const SafetensorsEntry& entry) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::shared_ptr<Storage> data_;  // the data section, as a storage owned by the mapping
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any dtype, any layout) and string metadata; the file appears under `path` only
// once complete (written to a temporary name, then renamed).
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace wan
