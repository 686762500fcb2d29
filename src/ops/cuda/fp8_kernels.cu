// FP8 E4M3 kernels of ops/quantize.h, ops/linear_fp8.h and ops/attention_fp8.h: quantisation of
// bf16 rows with one scale per row or per tensor, and the bias/GELU pass for products whose
// epilogue cuBLASLt cannot fuse. Quantisation mirrors the CPU's quantize_fp8 operation for
// operation (scale = amax / 448 in f32, value · (1 / scale) rounded to nearest even), so the GPU's
// E4M3 values equal the CPU's bit for bit on the same bf16 input.
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cstdint>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fp8_device.h"
#include "ops/cuda/grid.h"

namespace wan::ops::cuda {
namespace {

constexpr int kThreads = 256;

using fp8::scale_of;
using fp8::to_e4m3;
__device__ inline float block_max(float v) { return fp8::block_max<kThreads>(v); }

// One row's |max| over this block's threads (the caller reduces across them) and one row's values
// times `inv` as E4M3. VEC: K % 4 == 0 and an 8-byte aligned row, 4 values a load and a store.
template <bool VEC>
__device__ inline float row_absmax(const __nv_bfloat16* __restrict__ xr, int64_t K) {
  float m = 0.0f;
  if constexpr (VEC) {
    const uint2* xv = reinterpret_cast<const uint2*>(xr);
    for (int64_t i = threadIdx.x; i < K / 4; i += kThreads) {
      const uint2 u = xv[i];
      const __nv_bfloat162 a = *reinterpret_cast<const __nv_bfloat162*>(&u.x);
      const __nv_bfloat162 b = *reinterpret_cast<const __nv_bfloat162*>(&u.y);
      m = fmaxf(m, fmaxf(fmaxf(fabsf(__low2float(a)), fabsf(__high2float(a))),
                         fmaxf(fabsf(__low2float(b)), fabsf(__high2float(b)))));
    }
  } else {
    for (int64_t i = threadIdx.x; i < K; i += kThreads) m = fmaxf(m, fabsf(__bfloat162float(xr[i])));
  }
  return m;
}

template <bool VEC>
__device__ inline void quantize_row(const __nv_bfloat16* __restrict__ xr, int64_t K, float inv,
                                    __nv_fp8_storage_t* __restrict__ out) {
  if constexpr (VEC) {
    const uint2* xv = reinterpret_cast<const uint2*>(xr);
    uint32_t* o = reinterpret_cast<uint32_t*>(out);
    for (int64_t i = threadIdx.x; i < K / 4; i += kThreads) {
      const uint2 u = xv[i];
      const __nv_bfloat162 a = *reinterpret_cast<const __nv_bfloat162*>(&u.x);
      const __nv_bfloat162 b = *reinterpret_cast<const __nv_bfloat162*>(&u.y);
      o[i] = fp8::pack4(__low2float(a), __high2float(a), __low2float(b), __high2float(b), inv);
    }
  } else {
    for (int64_t i = threadIdx.x; i < K; i += kThreads) out[i] = to_e4m3(__bfloat162float(xr[i]) * inv);
  }
}

// One block per row: the row's |max|, its scale, then the quantised values (the row is read twice;
// it is in L2 the second time for the widths of the DiT, 3-28 KB per row).
template <bool VEC>
__global__ void quantize_rows_kernel(const __nv_bfloat16* __restrict__ x, int64_t ld, int64_t K,
                                     __nv_fp8_storage_t* __restrict__ out, float* __restrict__ scales) {
  const int64_t r = blockIdx.x;
  const float s = scale_of(block_max(row_absmax<VEC>(x + r * ld, K))), inv = 1.0f / s;
  if (threadIdx.x == 0) scales[r] = s;
  quantize_row<VEC>(x + r * ld, K, inv, out + r * K);
}

// |max| over rows [rows, cols] (row stride ld) into *amax (zeroed before; floats >= 0 order as
// their bit patterns, so an unsigned atomicMax is a float max). Blocks stride over the rows, one
// atomic per block.
template <bool VEC>
__global__ void absmax_kernel(const __nv_bfloat16* __restrict__ x, int64_t rows, int64_t cols, int64_t ld,
                              float* __restrict__ amax) {
  float m = 0.0f;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) m = fmaxf(m, row_absmax<VEC>(x + r * ld, cols));
  m = block_max(m);
  if (threadIdx.x == 0) atomicMax(reinterpret_cast<unsigned int*>(amax), __float_as_uint(m));
}

// values (packed [rows, cols]) = x / scale with scale = *amax / 448; block 0 writes the scale
// (and its inverse when asked).
template <bool VEC>
__global__ void quantize_tensor_kernel(const __nv_bfloat16* __restrict__ x, int64_t rows, int64_t cols, int64_t ld,
                                       const float* __restrict__ amax, __nv_fp8_storage_t* __restrict__ out,
                                       float* __restrict__ scale, float* __restrict__ inverse) {
  const float s = scale_of(*amax), inv = 1.0f / s;
  if (blockIdx.x == 0 && threadIdx.x == 0) {
    *scale = s;
    if (inverse) *inverse = inv;
  }
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) quantize_row<VEC>(x + r * ld, cols, inv, out + r * cols);
}

__device__ inline float gelu_tanh(float v) {
  return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
}

__global__ void bias_act_kernel(__nv_bfloat16* __restrict__ y, int64_t n, int64_t N, const __nv_bfloat16* __restrict__ bias,
                                bool gelu) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float v = __bfloat162float(y[i]);
    if (bias) v += __bfloat162float(bias[i % N]);
    if (gelu) v = gelu_tanh(v);
    y[i] = __float2bfloat16_rn(v);
  }
}

__global__ void scale_bias_act_kernel(__nv_bfloat16* __restrict__ y, int64_t n, int64_t N,
                                      const float* __restrict__ xs, bool x_vec, const float* __restrict__ ws,
                                      bool w_vec, const __nv_bfloat16* __restrict__ bias, bool gelu) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t m = i / N, c = i % N;
    float v = __bfloat162float(y[i]) * xs[x_vec ? m : 0] * ws[w_vec ? c : 0];
    if (bias) v += __bfloat162float(bias[c]);
    if (gelu) v = gelu_tanh(v);
    y[i] = __float2bfloat16_rn(v);
  }
}

// The same over rows of N % 8 == 0 with 16-byte aligned rows, scales and bias: blocks stride over
// the rows, each thread takes 8 values (one 16-byte load and store), no index division.
__global__ void scale_bias_act_vec_kernel(__nv_bfloat16* __restrict__ y, int64_t M, int64_t N,
                                          const float* __restrict__ xs, bool x_vec, const float* __restrict__ ws,
                                          bool w_vec, const __nv_bfloat16* __restrict__ bias, bool gelu) {
  const int64_t N8 = N / 8;
  for (int64_t m = blockIdx.x; m < M; m += gridDim.x) {
    const float sx = xs[x_vec ? m : 0];
    uint4* row = reinterpret_cast<uint4*>(y + m * N);
    for (int64_t j = threadIdx.x; j < N8; j += blockDim.x) {
      uint4 u = row[j];
      __nv_bfloat16* v = reinterpret_cast<__nv_bfloat16*>(&u);
      float w[8];
      if (w_vec) {
        const float4 a = reinterpret_cast<const float4*>(ws)[2 * j], b = reinterpret_cast<const float4*>(ws)[2 * j + 1];
        w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
      } else {
        for (int e = 0; e < 8; ++e) w[e] = ws[0];
      }
      uint4 bu{};
      if (bias) bu = reinterpret_cast<const uint4*>(bias)[j];
      const __nv_bfloat16* bv = reinterpret_cast<const __nv_bfloat16*>(&bu);
      for (int e = 0; e < 8; ++e) {
        float t = __bfloat162float(v[e]) * sx * w[e];
        if (bias) t += __bfloat162float(bv[e]);
        if (gelu) t = gelu_tanh(t);
        v[e] = __float2bfloat16_rn(t);
      }
      row[j] = u;
    }
  }
}

__global__ void dequantize_kernel(const __nv_fp8_storage_t* __restrict__ in, int64_t n, const float* __restrict__ scale,
                                  __nv_bfloat16* __restrict__ out) {
  const float s = *scale;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const __half_raw h = __nv_cvt_fp8_to_halfraw(in[i], __NV_E4M3);
    out[i] = __float2bfloat16_rn(__half2float(__half(h)) * s);
  }
}

bool aligned(const void* p, uintptr_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

// *amax = |max| of x [rows, cols] (row stride ld).
void absmax_into(const void* x, int64_t rows, int64_t cols, int64_t ld, Tensor& amax, cudaStream_t stream) {
  WAN_CUDA_CHECK(cudaMemsetAsync(amax.data_ptr(), 0, sizeof(float), stream));
  if (rows * cols == 0) return;
  const auto* xp = static_cast<const __nv_bfloat16*>(x);
  const unsigned grid = unsigned(std::min<int64_t>(rows, 4 * 132));
  if (cols % 4 == 0 && ld % 4 == 0 && aligned(x, 8))
    absmax_kernel<true><<<grid, kThreads, 0, stream>>>(xp, rows, cols, ld, amax.data<float>());
  else
    absmax_kernel<false><<<grid, kThreads, 0, stream>>>(xp, rows, cols, ld, amax.data<float>());
  WAN_CUDA_CHECK_LAUNCH();
}

// The scale (and *inverse) of *amax alone: the quantisation kernel over no rows.
void scale_from_amax(int64_t cols, int64_t ld, Tensor& scale, Tensor& amax, float* inverse, cudaStream_t stream) {
  quantize_tensor_kernel<false><<<1, kThreads, 0, stream>>>(nullptr, 0, cols, ld, amax.data<float>(), nullptr,
                                                            scale.data<float>(), inverse);
  WAN_CUDA_CHECK_LAUNCH();
}

}  // namespace

void quantize_rows_fp8(const void* x, int64_t rows, int64_t K, int64_t ld, Tensor& values, Tensor& scales) {
  if (rows == 0) return;
  const auto* xp = static_cast<const __nv_bfloat16*>(x);
  auto* out = static_cast<__nv_fp8_storage_t*>(values.data_ptr());
  cudaStream_t stream = wan::cuda::context().stream;
  if (K % 4 == 0 && ld % 4 == 0 && aligned(x, 8))
    quantize_rows_kernel<true><<<unsigned(rows), kThreads, 0, stream>>>(xp, ld, K, out, scales.data<float>());
  else
    quantize_rows_kernel<false><<<unsigned(rows), kThreads, 0, stream>>>(xp, ld, K, out, scales.data<float>());
  WAN_CUDA_CHECK_LAUNCH();
}

void quantize_tensor_fp8(const void* x, int64_t rows, int64_t cols, int64_t ld, Tensor& values, Tensor& scale,
                         Tensor& amax, float* inverse) {
  absmax_into(x, rows, cols, ld, amax, wan::cuda::context().stream);
  quantize_tensor_fp8_from_amax(x, rows, cols, ld, values, scale, amax, inverse);
}

void quantize_tensor_fp8_from_amax(const void* x, int64_t rows, int64_t cols, int64_t ld, Tensor& values,
                                   Tensor& scale, Tensor& amax, float* inverse) {
  cudaStream_t stream = wan::cuda::context().stream;
  if (rows * cols == 0) {  // scale 1, no values
    scale_from_amax(cols, ld, scale, amax, inverse, stream);
    return;
  }
  const auto* xp = static_cast<const __nv_bfloat16*>(x);
  auto* out = static_cast<__nv_fp8_storage_t*>(values.data_ptr());
  const unsigned grid = unsigned(std::min<int64_t>(rows, 4 * 132));
  if (cols % 4 == 0 && ld % 4 == 0 && aligned(x, 8))
    quantize_tensor_kernel<true><<<grid, kThreads, 0, stream>>>(xp, rows, cols, ld, amax.data<float>(), out,
                                                                scale.data<float>(), inverse);
  else
    quantize_tensor_kernel<false><<<grid, kThreads, 0, stream>>>(xp, rows, cols, ld, amax.data<float>(), out,
                                                                 scale.data<float>(), inverse);
  WAN_CUDA_CHECK_LAUNCH();
}

void tensor_scale_fp8(const void* x, int64_t rows, int64_t cols, int64_t ld, Tensor& scale, Tensor& amax,
                      float* inverse) {
  cudaStream_t stream = wan::cuda::context().stream;
  absmax_into(x, rows, cols, ld, amax, stream);
  scale_from_amax(cols, ld, scale, amax, inverse, stream);
}

void bias_act_bf16(Tensor& y2d, const Tensor& bias, bool gelu) {
  const int64_t n = y2d.numel();
  if (n == 0 || (!bias.defined() && !gelu)) return;
  bias_act_kernel<<<grid_for(n), kThreads, 0, wan::cuda::context().stream>>>(
      static_cast<__nv_bfloat16*>(y2d.data_ptr()), n, y2d.size(-1),
      bias.defined() ? static_cast<const __nv_bfloat16*>(bias.data_ptr()) : nullptr, gelu);
  WAN_CUDA_CHECK_LAUNCH();
}

void scale_bias_act_bf16(Tensor& y2d, const Tensor& x_scales, const Tensor& w_scales, const Tensor& bias, bool gelu) {
  const int64_t n = y2d.numel();
  if (n == 0) return;
  const int64_t M = y2d.size(0), N = y2d.size(1);
  if (N % 8 == 0 && aligned(y2d.data_ptr(), 16) && aligned(w_scales.data_ptr(), 16) &&
      (!bias.defined() || aligned(bias.data_ptr(), 16))) {
    scale_bias_act_vec_kernel<<<unsigned(std::min<int64_t>(M, 8 * 132)), kThreads, 0, wan::cuda::context().stream>>>(
        static_cast<__nv_bfloat16*>(y2d.data_ptr()), M, N, x_scales.data<float>(), x_scales.numel() != 1,
        w_scales.data<float>(), w_scales.numel() != 1,
        bias.defined() ? static_cast<const __nv_bfloat16*>(bias.data_ptr()) : nullptr, gelu);
    WAN_CUDA_CHECK_LAUNCH();
    return;
  }
  scale_bias_act_kernel<<<grid_for(n), kThreads, 0, wan::cuda::context().stream>>>(
      static_cast<__nv_bfloat16*>(y2d.data_ptr()), n, y2d.size(-1), x_scales.data<float>(), x_scales.numel() != 1,
      w_scales.data<float>(), w_scales.numel() != 1,
      bias.defined() ? static_cast<const __nv_bfloat16*>(bias.data_ptr()) : nullptr, gelu);
  WAN_CUDA_CHECK_LAUNCH();
}

void dequantize_fp8_bf16(const Tensor& values, const Tensor& scale, Tensor& out) {
  const int64_t n = values.numel();
  if (n == 0) return;
  dequantize_kernel<<<grid_for(n), kThreads, 0, wan::cuda::context().stream>>>(
      static_cast<const __nv_fp8_storage_t*>(values.data_ptr()), n, scale.data<float>(),
      static_cast<__nv_bfloat16*>(out.data_ptr()));
  WAN_CUDA_CHECK_LAUNCH();
}

}  // namespace wan::ops::cuda
