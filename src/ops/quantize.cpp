#include "ops/quantize.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/float_formats.h"
#include "core/thread_pool.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

namespace wan::ops {
namespace {

constexpr float kE4M3Max = 448.0f;

}  // namespace

namespace {
Fp8Matrix quantize_fp8_cuda(const Tensor& x, Fp8Scaling scaling) {
#ifdef WAN_HAVE_CUDA
  WAN_CHECK(x.dim() == 2 && x.dtype() == DType::BF16 && x.stride(1) == 1 && x.stride(0) >= x.size(1),
            "quantize_fp8 on CUDA: needs a bf16 GPU matrix [N, K] with contiguous rows, got ", x.describe());
  const int64_t N = x.size(0), K = x.size(1);
  Fp8Matrix q;
  q.values = wan::cuda::empty({N, K}, DType::F8_E4M3);
  if (scaling == Fp8Scaling::PerRow) {
    q.scales = wan::cuda::empty({N}, DType::F32);
    cuda::quantize_rows_fp8(x.data_ptr(), N, K, x.stride(0), q.values, q.scales);
  } else {
    q.scales = wan::cuda::empty({1}, DType::F32);
    Tensor amax = wan::cuda::empty({1}, DType::F32);
    cuda::quantize_tensor_fp8(x.data_ptr(), N, K, x.stride(0), q.values, q.scales, amax);
  }
  return q;
#else
  (void)scaling;
  fail("quantize_fp8: tensor ", x.describe(), " on the GPU, but this build has no CUDA backend");
#endif
}
}  // namespace

Fp8Matrix quantize_fp8(const Tensor& weight, Fp8Scaling scaling) {
  if (weight.defined() && weight.device() == Device::CUDA) return quantize_fp8_cuda(weight, scaling);
  WAN_CHECK(weight.defined() && weight.dim() == 2 && weight.device() == Device::CPU,
            "quantize_fp8: needs a CPU matrix [N, K], got ", weight.defined() ? weight.describe() : "undefined");
  const Tensor w = weight.to(DType::F32).contiguous();
  const int64_t N = w.size(0), K = w.size(1);
  const float* p = w.data<float>();
  std::vector<float> amax(size_t(N), 0.0f);
  std::vector<char> finite(size_t(N), 1);
  parallel_for(N, [&](int64_t a, int64_t b) {
    for (int64_t n = a; n < b; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const float v = std::fabs(p[n * K + k]);
        if (!std::isfinite(v)) finite[size_t(n)] = 0;
        else amax[size_t(n)] = std::max(amax[size_t(n)], v);
      }
  });
  for (int64_t n = 0; n < N; ++n)
    WAN_CHECK(finite[size_t(n)], "quantize_fp8: row ", n, " of ", weight.describe(), " holds a non-finite value");
  Fp8Matrix q;
  if (scaling == Fp8Scaling::PerTensor) {
    const float m = N > 0 ? *std::max_element(amax.begin(), amax.end()) : 0.0f;
    q.scales = Tensor::from_vector<float>({m > 0 ? m / kE4M3Max : 1.0f}, {1});
  } else {
    q.scales = Tensor::empty({N}, DType::F32);
    for (int64_t n = 0; n < N; ++n) q.scales.data<float>()[n] = amax[size_t(n)] > 0 ? amax[size_t(n)] / kE4M3Max : 1.0f;
  }
  q.values = Tensor::empty({N, K}, DType::F8_E4M3);
  auto* out = static_cast<f8e4m3*>(q.values.data_ptr());
  const float* s = q.scales.data<float>();
  const bool per_row = scaling == Fp8Scaling::PerRow;
  parallel_for(N, [&](int64_t a, int64_t b) {
    for (int64_t n = a; n < b; ++n) {
      const float inv = 1.0f / s[per_row ? n : 0];
      for (int64_t k = 0; k < K; ++k) out[n * K + k] = to_f8e4m3(p[n * K + k] * inv);
    }
  });
  return q;
}

Tensor dequantize_fp8(const Fp8Matrix& q) {
  WAN_CHECK(q.values.defined() && q.values.dtype() == DType::F8_E4M3 && q.values.dim() == 2 &&
                q.scales.dtype() == DType::F32 && (q.scales.numel() == 1 || q.scales.numel() == q.values.size(0)),
            "dequantize_fp8: values [N, K] e4m3 and scales [N] or [1] f32 expected");
  const int64_t N = q.values.size(0), K = q.values.size(1);
  Tensor w = Tensor::empty({N, K}, DType::F32);
  const auto* in = static_cast<const f8e4m3*>(q.values.data_ptr());
  const float* s = q.scales.data<float>();
  const bool per_row = q.scales.numel() == N && N != 1;
  float* out = w.data<float>();
  parallel_for(N, [&](int64_t a, int64_t b) {
    for (int64_t n = a; n < b; ++n)
      for (int64_t k = 0; k < K; ++k) out[n * K + k] = to_float(in[n * K + k]) * s[per_row ? n : 0];
  });
  return w;
}

}  // namespace wan::ops
