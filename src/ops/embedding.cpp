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

Tensor embedding_lookup(const Tensor& ids, const Tensor& table) {
  check_cpu_f32(table, "embedding_lookup", "table");
  check_dim(table, 2, "embedding_lookup", "table");
  WAN_CHECK(ids.defined() && !dtype_is_floating(ids.dtype()), "embedding_lookup: ids must be integers, got ",
            ids.describe());
  const Tensor idx = ids.to(DType::I64).contiguous();
  const int64_t V = table.size(0);
  for (int64_t i = 0; i < idx.numel(); ++i) {
    const int64_t id = idx.data<int64_t>()[i];
    WAN_CHECK(id >= 0 && id < V, "embedding_lookup: token id ", id, " is outside the vocabulary of ", V);
  }
  Shape shape = ids.shape();
  shape.push_back(table.size(1));
  Tensor out = Tensor::empty(shape, DType::F32);
  cpu::embedding_lookup(idx, table.contiguous(), out);
  return out;
}

}  // namespace wan::ops
