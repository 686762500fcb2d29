// The grid of a grid-stride loop: enough blocks of `per_block` items for n items, at least one, at
// most 65535 (the loop covers the rest).
#pragma once

#include <algorithm>
#include <cstdint>

namespace wan::ops::cuda {

inline unsigned grid_for(int64_t n, int64_t per_block = 256) {
  return unsigned(std::max<int64_t>(1, std::min<int64_t>((n + per_block - 1) / per_block, 65535)));
}

}  // namespace wan::ops::cuda
