#include "io/atomic_folder.h"

#include <unistd.h>

#include <string>

#include "core/error.h"

namespace fs = std::filesystem;

namespace wan {

void build_folder_atomically(const fs::path& dst, const std::function<void(const fs::path& tmp)>& fill,
                             bool replace) {
  const fs::path tmp = dst.string() + ".partial-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  WAN_CHECK(!ec, tmp.string(), ": cannot create: ", ec.message());
  try {
    fill(tmp);
    if (replace) fs::remove_all(dst, ec);
    if (dst.has_parent_path()) fs::create_directories(dst.parent_path(), ec);
    fs::rename(tmp, dst, ec);
    WAN_CHECK(!ec, "cannot move ", tmp.string(), " to ", dst.string(), ": ", ec.message());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace wan
