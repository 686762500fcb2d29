// Read-only access to the stored (uncompressed) members of a zip archive, through mmap.
//
// PyTorch's torch.save writes a zip with every member stored, not compressed (and ZIP64 records
// for files over 4 GB, like the 11 GB UMT5-XXL checkpoint), so members are views of the mapping.
// The central directory is validated on open: every member lies inside the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.h"

namespace wan {

struct ZipMember {
  std::string name;
  uint64_t offset;  // of the member's data in the file
  uint64_t size;
  uint16_t method;  // 0 = stored; anything else is refused when read
};

class ZipArchive {
 public:
  static std::shared_ptr<ZipArchive> open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::vector<ZipMember>& members() const { return members_; }
  const ZipMember* find(const std::string& name) const;
  // The member's bytes (a view of the mapping); fails for compressed members.
  const uint8_t* data(const ZipMember& member) const;
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<ZipMember> members_;
};

}  // namespace wan
