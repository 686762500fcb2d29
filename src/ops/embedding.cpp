#include "ops/embedding.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {

Tensor sinusoidal_embedding(const Tensor& t, int64_t dim) {
  check_cpu_f32(t, "sinusoidal_embedding", "t");
  check_dim(t, 1, "sinusoidal_embedding", "t");
  WAN_CHECK(dim > 0 && dim % 2 == 0, "sinusoidal_embedding: dim ", dim, " must be positive and even");
  Tensor out = Tensor::empty({t.size(0), dim}, DType::F32);
  cpu::sinusoidal_embedding(t.contiguous(), dim, out);
  return out;
}

}  // namespace wan::ops
