// A read-only memory mapping of a whole file.
//
// Checkpoints are tens of gigabytes: they are mapped, never read into a buffer, and tensors view
// the mapping directly (the mapping lives as long as any tensor that views it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace wan {

class MappedFile {
 public:
  // Throws wan::Error naming the file and the system's reason when it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace wan
