// A folder that appears complete or not at all: `fill` writes into a temporary sibling
// (`<dst>.partial-<pid>`), which is renamed to `dst` when fill returns; on any error the temporary
// folder is removed and the error propagates. With `replace`, an existing `dst` is removed just
// before the rename; without it, the rename fails on an existing non-empty `dst`.
#pragma once

#include <filesystem>
#include <functional>

namespace wan {

void build_folder_atomically(const std::filesystem::path& dst,
                             const std::function<void(const std::filesystem::path& tmp)>& fill, bool replace = false);

}  // namespace wan
