#include "ops/dit_fused.h"

#include <cmath>
#include <map>
#include <mutex>

#include "backend/backend.h"
#include "ops/check.h"
#include "ops/elementwise.h"
#include "ops/norm.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

namespace wan::ops {
namespace {

void check_row_param(const Tensor& p, const Tensor& x, const char* op, const char* arg, bool per_sample) {
  if (!p.defined()) return;
  WAN_CHECK(p.device() == x.device() && p.dtype() == DType::F32 && p.is_contiguous(), op, ": ", arg,
            " must be a contiguous f32 tensor on ", device_name(x.device()), ", got ", p.describe());
  if (per_sample)
    WAN_CHECK(p.dim() == 2 && p.size(0) == x.size(0) && p.size(1) == x.size(2), op, ": ", arg, " ", p.describe(),
              " is not [B, D] for x ", x.describe());
  else
    WAN_CHECK(p.dim() == 1 && p.size(0) == x.size(2), op, ": ", arg, " ", p.describe(), " is not [D]");
}

#ifdef WAN_HAVE_CUDA
// The grids on the GPU, uploaded once per distinct list and kept (a few bytes each): an upload
// waits for the GPU, which a forward captured as a CUDA graph must not do.
Tensor grids_tensor(const std::vector<Grid3>& grids) {
  std::vector<int64_t> flat;
  for (const auto& g : grids) flat.insert(flat.end(), g.begin(), g.end());
  static std::mutex mutex;
  static std::map<std::vector<int64_t>, Tensor> uploaded;
  std::lock_guard<std::mutex> lock(mutex);
  Tensor& t = uploaded[flat];
  if (!t.defined()) t = to_device(Tensor::from_vector(flat, {int64_t(grids.size()), 3}), Device::CUDA);
  return t;
}
#endif

void check_layer_norm_modulate(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& shift,
                               const Tensor& scale) {
  WAN_CHECK(x.defined() && x.dim() == 3 && x.dtype() == DType::F32 && x.is_contiguous(),
            "layer_norm_modulate: x must be a contiguous f32 [B, L, D], got ", x.describe());
  WAN_CHECK(weight.defined() == bias.defined(), "layer_norm_modulate: weight and bias go together");
  WAN_CHECK(shift.defined() == scale.defined(), "layer_norm_modulate: shift and scale go together");
  check_row_param(weight, x, "layer_norm_modulate", "weight", false);
  check_row_param(bias, x, "layer_norm_modulate", "bias", false);
  check_row_param(shift, x, "layer_norm_modulate", "shift", true);
  check_row_param(scale, x, "layer_norm_modulate", "scale", true);
}

}  // namespace

Tensor layer_norm_modulate(const Tensor& x, double eps, const Tensor& weight, const Tensor& bias, const Tensor& shift,
                           const Tensor& scale) {
  check_layer_norm_modulate(x, weight, bias, shift, scale);
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    Tensor out = wan::cuda::empty(x.shape(), DType::BF16);
    cuda::layer_norm_modulate(x, eps, weight, bias, shift, scale, out);
    return out;
#endif
  }
  Tensor y = layer_norm(x, eps, weight, bias);
  if (shift.defined()) y = modulate(y, shift.unsqueeze(1), scale.unsqueeze(1));
  return y.to(DType::BF16);
}

Fp8Matrix layer_norm_modulate_fp8(const Tensor& x, double eps, const Tensor& weight, const Tensor& bias,
                                  const Tensor& shift, const Tensor& scale) {
#ifdef WAN_HAVE_CUDA
  check_layer_norm_modulate(x, weight, bias, shift, scale);
  if (x.device() == Device::CUDA) {
    const int64_t rows = x.size(0) * x.size(1), D = x.size(2);
    Fp8Matrix q{wan::cuda::empty({rows, D}, DType::F8_E4M3), wan::cuda::empty({rows}, DType::F32)};
    if (cuda::layer_norm_modulate_fp8(x, eps, weight, bias, shift, scale, q.values, q.scales)) return q;
  }
#endif
  const Tensor y = layer_norm_modulate(x, eps, weight, bias, shift, scale);  // [B, L, D] bf16
  return quantize_fp8(y.view({-1, y.size(2)}), Fp8Scaling::PerRow);
}

namespace {

// Writes rms_norm_rope(x) into out (which may be x itself on CUDA); x's rows may be strided.
void rms_norm_rope_into(const Tensor& x, const Tensor& weight, double eps, int64_t num_heads,
                        const std::vector<Grid3>& grids, const RopeTable* table, int64_t first_token, Tensor& out) {
  WAN_CHECK(first_token >= 0, "rms_norm_rope: first_token ", first_token, " is negative");
  WAN_CHECK(x.defined() && x.dim() == 3 && x.dtype() == DType::BF16 && x.stride(2) == 1 && x.stride(1) >= x.size(2) &&
                x.stride(0) == x.size(1) * x.stride(1),
            "rms_norm_rope: x must be a bf16 [B, L, D] with contiguous rows, got ", x.describe());
  check_row_param(weight, x, "rms_norm_rope", "weight", false);
  WAN_CHECK(weight.defined(), "rms_norm_rope: weight is undefined");
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  WAN_CHECK(num_heads > 0 && D % num_heads == 0, "rms_norm_rope: ", D, " is not divisible by ", num_heads, " heads");
  const int64_t Dh = D / num_heads;
  if (table) {
    WAN_CHECK(table->head_dim == Dh, "rms_norm_rope: the RoPE table is for head_dim ", table->head_dim, ", not ", Dh);
    WAN_CHECK(int64_t(grids.size()) == B, "rms_norm_rope: ", grids.size(), " grids for batch ", B);
    for (const auto& g : grids)
      WAN_CHECK(g[0] <= table->max_pos && g[1] <= table->max_pos && g[2] <= table->max_pos, "rms_norm_rope: grid ",
                g[0], "x", g[1], "x", g[2], " exceeds the RoPE table's ", table->max_pos, " positions");
  }
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    Tensor grid_t, cos_t, sin_t;
    if (table) {
      if (!table->device_cos.defined()) {
        table->device_cos = to_device(table->cos.to(DType::F32), Device::CUDA);
        table->device_sin = to_device(table->sin.to(DType::F32), Device::CUDA);
      }
      grid_t = grids_tensor(grids);
      cos_t = table->device_cos;
      sin_t = table->device_sin;
    }
    cuda::rms_norm_rope(x, weight, eps, Dh, grid_t, cos_t, sin_t, table ? table->slots[0] : 0,
                        table ? table->slots[1] : 0, first_token, out);
    return;
#endif
  }
  // The reference: the same two bf16 roundings, then the f64 RoPE.
  const Tensor xf = x.contiguous().to(DType::F32);
  Tensor y = Tensor::empty(x.shape(), DType::F32);
  const float* xp = xf.data<float>();
  const float* wp = weight.data<float>();
  float* yp = y.data<float>();
  for (int64_t r = 0; r < B * L; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < D; ++i) ss += double(xp[r * D + i]) * xp[r * D + i];
    const float rrms = float(1.0 / std::sqrt(ss / double(D) + eps));
    for (int64_t i = 0; i < D; ++i) {
      const float n = to_float(to_bf16(xp[r * D + i] * rrms));
      yp[r * D + i] = to_float(to_bf16(n * wp[i]));
    }
  }
  if (table) y = rope_apply_3d(y.view({B, L, num_heads, Dh}), grids, *table, first_token).view({B, L, D});
  out.copy_from(y.to(DType::BF16));
}

}  // namespace

Tensor rms_norm_rope(const Tensor& x, const Tensor& weight, double eps, int64_t num_heads,
                     const std::vector<Grid3>& grids, const RopeTable* table, int64_t first_token) {
  WAN_CHECK(x.defined(), "rms_norm_rope: x is undefined");
  Tensor out = empty_on(x.shape(), DType::BF16, x.device());
  rms_norm_rope_into(x, weight, eps, num_heads, grids, table, first_token, out);
  return out;
}

void rms_norm_rope_(Tensor& x, const Tensor& weight, double eps, int64_t num_heads, const std::vector<Grid3>& grids,
                    const RopeTable* table, int64_t first_token) {
  WAN_CHECK(x.defined(), "rms_norm_rope_: x is undefined");
  rms_norm_rope_into(x, weight, eps, num_heads, grids, table, first_token, x);
}

Tensor block_modulation(const Tensor& e, const Tensor& table) {
  WAN_CHECK(e.defined() && table.defined() && e.dim() == 3 && table.dim() == 3 && e.dtype() == DType::F32 &&
                table.dtype() == DType::F32 && e.is_contiguous() && table.is_contiguous() &&
                e.device() == table.device(),
            "block_modulation: e [B, K or 1, D] and table [N, K, D] must be contiguous f32 on one device, got ",
            e.describe(), " and ", table.describe());
  const int64_t N = table.size(0), K = table.size(1), D = table.size(2), B = e.size(0);
  WAN_CHECK(e.size(2) == D && (e.size(1) == K || e.size(1) == 1), "block_modulation: e ", e.describe(),
            " does not match table ", table.describe());
  Tensor out = empty_on({N, K, B, D}, DType::F32, e.device());
  if (e.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    cuda::block_modulation(e, table, out);
    return out;
#endif
  }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t b = 0; b < B; ++b)
        out.select(0, n).select(0, k).select(0, b).copy_from(
            add(table.select(0, n).select(0, k), e.select(0, b).select(0, e.size(1) == 1 ? 0 : k)));
  return out;
}

namespace {

void check_residual_add(const Tensor& x, const Tensor& y, const Tensor& gate) {
  WAN_CHECK(x.defined() && x.dim() == 3 && x.dtype() == DType::F32 && x.is_contiguous(),
            "residual_add_: x must be a contiguous f32 [B, L, D], got ", x.describe());
  WAN_CHECK(y.defined() && y.shape() == x.shape() && y.dtype() == DType::BF16 && y.is_contiguous() &&
                y.device() == x.device(),
            "residual_add_: y must be a contiguous bf16 tensor like x ", x.describe(), ", got ", y.describe());
  check_row_param(gate, x, "residual_add_", "gate", true);
}

}  // namespace

Tensor residual_layer_norm_modulate_(Tensor& x, const Tensor& y, const Tensor& gate, double eps, const Tensor& weight,
                                     const Tensor& bias, const Tensor& shift, const Tensor& scale) {
  if (!y.defined()) return layer_norm_modulate(x, eps, weight, bias, shift, scale);  // no update pending
  check_residual_add(x, y, gate);
  check_layer_norm_modulate(x, weight, bias, shift, scale);
#ifdef WAN_HAVE_CUDA
  if (x.device() == Device::CUDA) {
    Tensor out = wan::cuda::empty(x.shape(), DType::BF16);
    if (cuda::residual_layer_norm_modulate(x, y, gate, eps, weight, bias, shift, scale, out, nullptr)) return out;
  }
#endif
  residual_add_(x, y, gate);
  return layer_norm_modulate(x, eps, weight, bias, shift, scale);
}

Fp8Matrix residual_layer_norm_modulate_fp8_(Tensor& x, const Tensor& y, const Tensor& gate, double eps,
                                            const Tensor& weight, const Tensor& bias, const Tensor& shift,
                                            const Tensor& scale) {
  if (!y.defined()) return layer_norm_modulate_fp8(x, eps, weight, bias, shift, scale);  // no update pending
  check_residual_add(x, y, gate);
  check_layer_norm_modulate(x, weight, bias, shift, scale);
#ifdef WAN_HAVE_CUDA
  if (x.device() == Device::CUDA) {
    const int64_t rows = x.size(0) * x.size(1), D = x.size(2);
    Fp8Matrix q{wan::cuda::empty({rows, D}, DType::F8_E4M3), wan::cuda::empty({rows}, DType::F32)};
    if (cuda::residual_layer_norm_modulate(x, y, gate, eps, weight, bias, shift, scale, q.values, &q.scales)) return q;
  }
#endif
  residual_add_(x, y, gate);
  return layer_norm_modulate_fp8(x, eps, weight, bias, shift, scale);
}

void residual_add_(Tensor& x, const Tensor& y, const Tensor& gate) {
  check_residual_add(x, y, gate);
  if (x.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    cuda::residual_add(x, y, gate);
    return;
#endif
  }
  const Tensor y32 = y.to(DType::F32);
  if (gate.defined()) gated_residual_(x, y32, gate.unsqueeze(1));
  else add_(x, y32);
}

}  // namespace wan::ops
