// CUDA kernels of ops/dit_fused.h: one thread block per token row, f32 arithmetic, bf16 in/out.
// Simple by design (correct first); the fused, vectorised versions come with the performance work.
#include <cuda_bf16.h>

#include <algorithm>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::ops::cuda {
namespace {

constexpr int kThreads = 256;

__device__ float block_sum(float v) {
  __shared__ float partial[kThreads / 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < kThreads / 32; ++w) total += partial[w];
  __syncthreads();
  return total;
}

__global__ void layer_norm_modulate_kernel(const float* __restrict__ x, int64_t D, int64_t L, float eps,
                                           const float* __restrict__ w, const float* __restrict__ b,
                                           const float* __restrict__ shift, const float* __restrict__ scale,
                                           __nv_bfloat16* __restrict__ out) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * D;
  float s = 0.0f;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) s += xr[i];
  const float mean = block_sum(s) / float(D);
  float v = 0.0f;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const float d = xr[i] - mean;
    v += d * d;
  }
  const float rstd = rsqrtf(block_sum(v) / float(D) + eps);
  const int64_t sample = r / L;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    float y = (xr[i] - mean) * rstd;
    if (w) y = y * w[i] + b[i];
    if (shift) y = y * (1.0f + scale[sample * D + i]) + shift[sample * D + i];
    out[r * D + i] = __float2bfloat16(y);
  }
}

// x and out may be the same rows (in place): every thread reads all it needs for the reduction
// before block_sum's barrier, and afterwards reads and writes only its own pairs.
__global__ void rms_norm_rope_kernel(const __nv_bfloat16* x, int64_t x_ld, int64_t D, int64_t L, float eps,
                                     const float* __restrict__ w, int64_t head_dim, const int64_t* __restrict__ grids,
                                     const float* __restrict__ cos_t, const float* __restrict__ sin_t, int64_t s0,
                                     int64_t s1, __nv_bfloat16* out, int64_t out_ld) {
  const int64_t r = blockIdx.x, sample = r / L, l = r % L;
  const __nv_bfloat16* xr = x + r * x_ld;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const float t = __bfloat162float(xr[i]);
    ss += t * t;
  }
  const float rrms = rsqrtf(block_sum(ss) / float(D) + eps);
  bool rotate = cos_t != nullptr;
  int64_t pos[3] = {0, 0, 0};
  if (rotate) {
    const int64_t F = grids[sample * 3], Hg = grids[sample * 3 + 1], Wg = grids[sample * 3 + 2];
    rotate = l < F * Hg * Wg;
    pos[0] = l / (Hg * Wg);
    pos[1] = (l / Wg) % Hg;
    pos[2] = l % Wg;
  }
  const int64_t half = head_dim / 2;
  for (int64_t p = threadIdx.x; p < D / 2; p += kThreads) {
    // WanRMSNorm under autocast: (x·rrms) rounded to bf16, times the weight, rounded again.
    const float n0 = __bfloat162float(__float2bfloat16(__bfloat162float(xr[2 * p]) * rrms));
    const float n1 = __bfloat162float(__float2bfloat16(__bfloat162float(xr[2 * p + 1]) * rrms));
    float y0 = __bfloat162float(__float2bfloat16(n0 * w[2 * p]));
    float y1 = __bfloat162float(__float2bfloat16(n1 * w[2 * p + 1]));
    if (rotate) {
      const int64_t s = p % half;
      const int64_t axis = s < s0 ? 0 : (s < s0 + s1 ? 1 : 2);
      const float c = cos_t[pos[axis] * half + s], sn = sin_t[pos[axis] * half + s];
      const float o0 = y0 * c - y1 * sn, o1 = y0 * sn + y1 * c;
      y0 = o0;
      y1 = o1;
    }
    out[r * out_ld + 2 * p] = __float2bfloat16(y0);
    out[r * out_ld + 2 * p + 1] = __float2bfloat16(y1);
  }
}

__global__ void residual_add_kernel(float* __restrict__ x, const __nv_bfloat16* __restrict__ y, int64_t D, int64_t L,
                                    const float* __restrict__ gate) {
  const int64_t r = blockIdx.x, sample = r / L;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const float yv = __bfloat162float(y[r * D + i]);
    x[r * D + i] += gate ? yv * gate[sample * D + i] : yv;
  }
}

__global__ void bf16_to_f32_kernel(const __nv_bfloat16* __restrict__ in, float* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __bfloat162float(in[i]);
}

__device__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <typename T>
__global__ void fill_normal_kernel(T* __restrict__ out, int64_t n, uint64_t seed, float mean, float stddev) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t h = mix64(seed * 0x9e3779b97f4a7c15ull + uint64_t(i));
    const float u1 = (float((h >> 40) & 0xffffff) + 0.5f) * (1.0f / 16777216.0f);
    const float u2 = float((h >> 16) & 0xffffff) * (1.0f / 16777216.0f);
    const float z = sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
    if constexpr (sizeof(T) == 2) out[i] = __float2bfloat16(mean + stddev * z);
    else out[i] = mean + stddev * z;
  }
}

// One warp per output feature n, all M rows (M is small: the batch): y = act(x·Wᵀ + b) in f32.
template <typename W>
__global__ void linear_f32_kernel(const float* __restrict__ x, const W* __restrict__ w, const W* __restrict__ b,
                                  float* __restrict__ y, int64_t M, int64_t N, int64_t K, bool silu) {
  const int64_t n = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (n >= N) return;
  const W* row = w + n * K;
  for (int64_t m0 = 0; m0 < M; m0 += 4) {
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t k = lane; k < K; k += 32) {
      float wk;
      if constexpr (sizeof(W) == 2) wk = __bfloat162float(row[k]);
      else wk = row[k];
      for (int j = 0; j < 4; ++j)
        if (m0 + j < M) acc[j] += x[(m0 + j) * K + k] * wk;
    }
    for (int j = 0; j < 4; ++j) {
      float v = acc[j];
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      if (lane == 0 && m0 + j < M) {
        if (b) {
          if constexpr (sizeof(W) == 2) v += __bfloat162float(b[n]);
          else v += b[n];
        }
        if (silu) v = v / (1.0f + expf(-v));
        y[(m0 + j) * N + n] = v;
      }
    }
  }
}

__global__ void silu_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[i] / (1.0f + expf(-x[i]));
}

// out [N, K, B, D] = table [N, K, D] + e [B, Ke, D] (Ke = K, or 1: the same row for every k).
__global__ void modulation_kernel(const float* __restrict__ table, const float* __restrict__ e, float* __restrict__ out,
                                  int64_t N, int64_t K, int64_t B, int64_t D, int64_t Ke) {
  const int64_t total = N * K * B * D;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t d = i % D, b = (i / D) % B, k = (i / (D * B)) % K, n = i / (D * B * K);
    out[i] = table[(n * K + k) * D + d] + e[(b * Ke + (Ke == 1 ? 0 : k)) * D + d];
  }
}

unsigned grid_for(int64_t n) { return unsigned(std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 65535))); }

}  // namespace

void linear_f32(const Tensor& x2d, const Tensor& weight, const Tensor& bias, bool silu, Tensor& y2d) {
  const int64_t M = x2d.size(0), K = x2d.size(1), N = weight.size(0);
  if (M * N == 0) return;
  const unsigned blocks = unsigned((N * 32 + 255) / 256);
  cudaStream_t stream = wan::cuda::context().stream;
  if (weight.dtype() == DType::BF16)
    linear_f32_kernel<<<blocks, 256, 0, stream>>>(
        x2d.data<float>(), static_cast<const __nv_bfloat16*>(weight.data_ptr()),
        bias.defined() ? static_cast<const __nv_bfloat16*>(bias.data_ptr()) : nullptr, y2d.data<float>(), M, N, K, silu);
  else
    linear_f32_kernel<<<blocks, 256, 0, stream>>>(x2d.data<float>(), weight.data<float>(),
                                                  bias.defined() ? bias.data<float>() : nullptr, y2d.data<float>(), M,
                                                  N, K, silu);
  WAN_CUDA_CHECK_LAUNCH();
}

void silu(const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  silu_kernel<<<grid_for(n), 256, 0, wan::cuda::context().stream>>>(x.data<float>(), y.data<float>(), n);
  WAN_CUDA_CHECK_LAUNCH();
}

void block_modulation(const Tensor& e, const Tensor& table, Tensor& out) {
  const int64_t N = table.size(0), K = table.size(1), D = table.size(2), B = e.size(0), Ke = e.size(1);
  const int64_t total = N * K * B * D;
  if (total == 0) return;
  modulation_kernel<<<grid_for(total), 256, 0, wan::cuda::context().stream>>>(table.data<float>(), e.data<float>(),
                                                                             out.data<float>(), N, K, B, D, Ke);
  WAN_CUDA_CHECK_LAUNCH();
}

void bf16_to_f32(const Tensor& in, Tensor& out) {
  const int64_t n = in.numel();
  if (n == 0) return;
  bf16_to_f32_kernel<<<unsigned(std::min<int64_t>((n + 255) / 256, 65535)), 256, 0, wan::cuda::context().stream>>>(
      static_cast<const __nv_bfloat16*>(in.data_ptr()), out.data<float>(), n);
  WAN_CUDA_CHECK_LAUNCH();
}

void fill_normal(Tensor& t, uint64_t seed, float mean, float stddev) {
  const int64_t n = t.numel();
  if (n == 0) return;
  const unsigned blocks = unsigned(std::min<int64_t>((n + 255) / 256, 65535));
  if (t.dtype() == DType::BF16)
    fill_normal_kernel<<<blocks, 256, 0, wan::cuda::context().stream>>>(static_cast<__nv_bfloat16*>(t.data_ptr()), n,
                                                                         seed, mean, stddev);
  else
    fill_normal_kernel<<<blocks, 256, 0, wan::cuda::context().stream>>>(t.data<float>(), n, seed, mean, stddev);
  WAN_CUDA_CHECK_LAUNCH();
}

void layer_norm_modulate(const Tensor& x, double eps, const Tensor& w, const Tensor& b, const Tensor& shift,
                         const Tensor& scale, Tensor& out) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  if (B * L == 0) return;
  layer_norm_modulate_kernel<<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
      x.data<float>(), D, L, float(eps), w.defined() ? w.data<float>() : nullptr, b.defined() ? b.data<float>() : nullptr,
      shift.defined() ? shift.data<float>() : nullptr, scale.defined() ? scale.data<float>() : nullptr,
      static_cast<__nv_bfloat16*>(out.data_ptr()));
  WAN_CUDA_CHECK_LAUNCH();
}

void rms_norm_rope(const Tensor& x, const Tensor& w, double eps, int64_t head_dim, const Tensor& grids,
                   const Tensor& cos_t, const Tensor& sin_t, int64_t s0, int64_t s1, Tensor& out) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  if (B * L == 0) return;
  rms_norm_rope_kernel<<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
      static_cast<const __nv_bfloat16*>(x.data_ptr()), x.stride(1), D, L, float(eps), w.data<float>(), head_dim,
      grids.defined() ? grids.data<int64_t>() : nullptr, cos_t.defined() ? cos_t.data<float>() : nullptr,
      sin_t.defined() ? sin_t.data<float>() : nullptr, s0, s1, static_cast<__nv_bfloat16*>(out.data_ptr()),
      out.stride(1));
  WAN_CUDA_CHECK_LAUNCH();
}

void residual_add(Tensor& x, const Tensor& y, const Tensor& gate) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  if (B * L == 0) return;
  residual_add_kernel<<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
      x.data<float>(), static_cast<const __nv_bfloat16*>(y.data_ptr()), D, L,
      gate.defined() ? gate.data<float>() : nullptr);
  WAN_CUDA_CHECK_LAUNCH();
}

}  // namespace wan::ops::cuda
