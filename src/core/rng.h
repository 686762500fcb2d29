// A small deterministic random generator for tests, demos and benchmark inputs.
//
// Not PyTorch's generator: matching torch.randn bit for bit is the pipeline's concern (noise from
// a seed); this one only needs to be reproducible across platforms and thread counts.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace wan {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64();        // splitmix64
  double uniform();           // [0, 1)
  double normal();            // standard normal (Box-Muller)
  void fill_normal(Tensor& t, double mean = 0.0, double stddev = 1.0);  // any floating dtype, contiguous
  void fill_uniform(Tensor& t, double lo, double hi);

 private:
  uint64_t state_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace wan
