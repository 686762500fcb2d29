#include "ops/rope.h"

#include <cmath>

#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {

RopeTable rope_table_3d(int64_t head_dim, int64_t max_pos, double theta) {
  WAN_CHECK(head_dim > 0 && head_dim % 2 == 0, "rope: head_dim ", head_dim, " must be positive and even");
  const int64_t c = head_dim / 2;
  WAN_CHECK(c / 3 > 0, "rope: head_dim ", head_dim, " is too small for a 3-D split");
  RopeTable table;
  table.head_dim = head_dim;
  table.max_pos = max_pos;
  table.slots = {c - 2 * (c / 3), c / 3, c / 3};
  table.cos = Tensor::empty({max_pos, c}, DType::F64);
  table.sin = Tensor::empty({max_pos, c}, DType::F64);
  double* cs = table.cos.data<double>();
  double* sn = table.sin.data<double>();
  // rope_params(max_pos, 2·slots, theta) per axis, concatenated: [frame | height | width].
  int64_t col = 0;
  for (int64_t axis = 0; axis < 3; ++axis) {
    const int64_t dim_axis = 2 * table.slots[axis];
    for (int64_t i = 0; i < table.slots[axis]; ++i, ++col) {
      const double freq = 1.0 / std::pow(theta, double(2 * i) / double(dim_axis));
      for (int64_t p = 0; p < max_pos; ++p) {
        const double angle = double(p) * freq;
        cs[p * c + col] = std::cos(angle);
        sn[p * c + col] = std::sin(angle);
      }
    }
  }
  return table;
}

Tensor rope_apply_3d(const Tensor& x, const std::vector<Grid3>& grids, const RopeTable& table, int64_t first_token) {
  check_cpu_f32(x, "rope_apply_3d", "x");
  check_dim(x, 4, "rope_apply_3d", "x");
  WAN_CHECK(x.size(3) == table.head_dim, "rope_apply_3d: x ", x.describe(), " has head_dim ", x.size(3),
            " but the table was built for ", table.head_dim);
  WAN_CHECK(int64_t(grids.size()) == x.size(0), "rope_apply_3d: ", grids.size(), " grids for batch ", x.size(0));
  for (const auto& g : grids) {
    for (int64_t a = 0; a < 3; ++a)
      WAN_CHECK(g[a] >= 0 && g[a] <= table.max_pos, "rope_apply_3d: grid size ", g[a], " exceeds the ",
                table.max_pos, " positions of the RoPE table");
  }
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  WAN_CHECK(first_token >= 0, "rope_apply_3d: first_token ", first_token, " is negative");
  cpu::rope_apply_3d(x.contiguous(), grids, table, first_token, y);
  return y;
}

}  // namespace wan::ops
