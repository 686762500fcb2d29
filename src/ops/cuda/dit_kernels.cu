// CUDA kernels of ops/dit_fused.h: one thread block per token row, f32 arithmetic, bf16 in/out.
// Rows whose width is a multiple of 4 (every real config) take the vectorised kernels: the row is
// held in registers (16-byte f32 / 8-byte bf16 loads and stores), one read and one write of
// memory per element. Other widths take the scalar kernels, which the vectorised ones must match.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fp8_device.h"
#include "ops/cuda/grid.h"

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

// Does nothing: device_code_error asks the runtime for its attributes.
__global__ void probe_kernel() {}

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

// Token l of `sample` at (frame, row, column) of its grid; false for padding tokens past it.
__device__ inline bool grid_position(const int64_t* grids, int64_t sample, int64_t l, int64_t pos[3]) {
  const int64_t F = grids[sample * 3], Hg = grids[sample * 3 + 1], Wg = grids[sample * 3 + 2];
  pos[0] = l / (Hg * Wg);
  pos[1] = (l / Wg) % Hg;
  pos[2] = l % Wg;
  return l < F * Hg * Wg;
}

// x and out may be the same rows (in place): every thread reads all it needs for the reduction
// before block_sum's barrier, and afterwards reads and writes only its own pairs.
__global__ void rms_norm_rope_kernel(const __nv_bfloat16* x, int64_t x_ld, int64_t D, int64_t L, float eps,
                                     const float* __restrict__ w, int64_t head_dim, const int64_t* __restrict__ grids,
                                     const float* __restrict__ cos_t, const float* __restrict__ sin_t, int64_t s0,
                                     int64_t s1, int64_t first_token, __nv_bfloat16* out, int64_t out_ld) {
  const int64_t r = blockIdx.x, sample = r / L, l = first_token + r % L;
  const __nv_bfloat16* xr = x + r * x_ld;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < D; i += kThreads) {
    const float t = __bfloat162float(xr[i]);
    ss += t * t;
  }
  const float rrms = rsqrtf(block_sum(ss) / float(D) + eps);
  int64_t pos[3] = {0, 0, 0};
  const bool rotate = cos_t != nullptr && grid_position(grids, sample, l, pos);
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
    x[r * D + i] = gate ? __fmaf_rn(yv, gate[sample * D + i], x[r * D + i]) : x[r * D + i] + yv;
  }
}

__global__ void bf16_to_f32_kernel(const __nv_bfloat16* __restrict__ in, float* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __bfloat162float(in[i]);
}

// Round to nearest even, as the host's f32 -> bf16 (core/float_formats); NaN stays NaN.
__global__ void f32_to_bf16_kernel(const float* __restrict__ in, __nv_bfloat16* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

__global__ void mul_bf16_kernel(const __nv_bfloat16* __restrict__ a, const __nv_bfloat16* __restrict__ b,
                                __nv_bfloat16* __restrict__ out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16_rn(__bfloat162float(a[i]) * __bfloat162float(b[i]));
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


// out [N, K, B, D] = table [N, K, D] + e [B, Ke, D] (Ke = K, or 1: the same row for every k).
__global__ void modulation_kernel(const float* __restrict__ table, const float* __restrict__ e, float* __restrict__ out,
                                  int64_t N, int64_t K, int64_t B, int64_t D, int64_t Ke) {
  const int64_t total = N * K * B * D;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t d = i % D, b = (i / D) % B, k = (i / (D * B)) % K, n = i / (D * B * K);
    out[i] = table[(n * K + k) * D + d] + e[(b * Ke + (Ke == 1 ? 0 : k)) * D + d];
  }
}


// ---- vectorised variants: VPT groups of 4 elements per thread, the row in registers ----

constexpr int kMaxVpt = 8;  // rows up to 4·256·8 = 8192 wide

inline bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

__device__ inline void load_bf16x4(const __nv_bfloat16* p, float out[4]) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const __nv_bfloat162 a = *reinterpret_cast<const __nv_bfloat162*>(&raw.x);
  const __nv_bfloat162 b = *reinterpret_cast<const __nv_bfloat162*>(&raw.y);
  out[0] = __low2float(a);
  out[1] = __high2float(a);
  out[2] = __low2float(b);
  out[3] = __high2float(b);
}

__device__ inline void store_bf16x4(__nv_bfloat16* p, const float v[4]) {
  const __nv_bfloat162 a = __floats2bfloat162_rn(v[0], v[1]);
  const __nv_bfloat162 b = __floats2bfloat162_rn(v[2], v[3]);
  uint2 raw;
  raw.x = *reinterpret_cast<const uint32_t*>(&a);
  raw.y = *reinterpret_cast<const uint32_t*>(&b);
  *reinterpret_cast<uint2*>(p) = raw;
}

// The residual update on one float4 of x, as every residual kernel computes it: x + y·gate as one
// fused multiply-add, written out (left to the compiler, the contraction depends on the code around
// it, and the fused kernel must equal the plain one bit for bit).
__device__ inline void add_residual4(float4& xv, const __nv_bfloat16* y, const float* gate) {
  float yv[4];
  load_bf16x4(y, yv);
  if (gate) {
    const float4 gv = *reinterpret_cast<const float4*>(gate);
    xv.x = __fmaf_rn(yv[0], gv.x, xv.x);
    xv.y = __fmaf_rn(yv[1], gv.y, xv.y);
    xv.z = __fmaf_rn(yv[2], gv.z, xv.z);
    xv.w = __fmaf_rn(yv[3], gv.w, xv.w);
  } else {
    xv.x += yv[0];
    xv.y += yv[1];
    xv.z += yv[2];
    xv.w += yv[3];
  }
}

// FP8 false: the bf16 row to `out`. FP8 true: the bf16-rounded row quantised to E4M3 with its own
// scale (fp8_device.h: equal to quantize_fp8 of the bf16 row bit for bit), values to `out` (bytes),
// the scale to row_scales[r]: the FP8 products' input without the bf16 row ever written.
// RESIDUAL: first x += y · gate (gate per sample, or 1 when null), written back, then the norm of
// the updated row: the residual update and the next norm in one pass over x.
template <int VPT, bool FP8, bool RESIDUAL = false>
__global__ void layer_norm_modulate_vec_kernel(float* __restrict__ x, int64_t D, int64_t L, float eps,
                                               const float* __restrict__ w, const float* __restrict__ b,
                                               const float* __restrict__ shift, const float* __restrict__ scale,
                                               void* __restrict__ out, float* __restrict__ row_scales,
                                               const __nv_bfloat16* __restrict__ y_res = nullptr,
                                               const float* __restrict__ gate = nullptr) {
  const int64_t r = blockIdx.x, n4 = D / 4;
  float4* xr = reinterpret_cast<float4*>(x + r * D);
  float4 v[VPT];
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < VPT; ++i) {
    const int64_t g = threadIdx.x + int64_t(i) * kThreads;
    v[i] = g < n4 ? xr[g] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if constexpr (RESIDUAL) {
      if (g < n4) {
        add_residual4(v[i], y_res + r * D + 4 * g, gate ? gate + (r / L) * D + 4 * g : nullptr);
        xr[g] = v[i];
      }
    }
    s += (v[i].x + v[i].y) + (v[i].z + v[i].w);
  }
  const float mean = block_sum(s) / float(D);
  float ss = 0.0f;
#pragma unroll
  for (int i = 0; i < VPT; ++i) {
    const int64_t g = threadIdx.x + int64_t(i) * kThreads;
    if (g < n4) {
      const float a = v[i].x - mean, bb = v[i].y - mean, c = v[i].z - mean, d = v[i].w - mean;
      ss += (a * a + bb * bb) + (c * c + d * d);
    }
  }
  const float rstd = rsqrtf(block_sum(ss) / float(D) + eps);
  const int64_t sample = r / L;
  float y[VPT][4];
  float amax = 0.0f;
#pragma unroll
  for (int i = 0; i < VPT; ++i) {
    const int64_t g = threadIdx.x + int64_t(i) * kThreads;
    if (g >= n4) continue;
    float* yi = y[i];
    yi[0] = (v[i].x - mean) * rstd, yi[1] = (v[i].y - mean) * rstd, yi[2] = (v[i].z - mean) * rstd,
    yi[3] = (v[i].w - mean) * rstd;
    if (w) {
      const float4 wv = reinterpret_cast<const float4*>(w)[g], bv = reinterpret_cast<const float4*>(b)[g];
      yi[0] = yi[0] * wv.x + bv.x;
      yi[1] = yi[1] * wv.y + bv.y;
      yi[2] = yi[2] * wv.z + bv.z;
      yi[3] = yi[3] * wv.w + bv.w;
    }
    if (shift) {
      const float4 sh = reinterpret_cast<const float4*>(shift + sample * D)[g];
      const float4 sc = reinterpret_cast<const float4*>(scale + sample * D)[g];
      yi[0] = yi[0] * (1.0f + sc.x) + sh.x;
      yi[1] = yi[1] * (1.0f + sc.y) + sh.y;
      yi[2] = yi[2] * (1.0f + sc.z) + sh.z;
      yi[3] = yi[3] * (1.0f + sc.w) + sh.w;
    }
    if constexpr (FP8) {
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        yi[k] = __bfloat162float(__float2bfloat16_rn(yi[k]));  // the value the bf16 row would hold
        amax = fmaxf(amax, fabsf(yi[k]));
      }
    } else {
      store_bf16x4(static_cast<__nv_bfloat16*>(out) + r * D + 4 * g, yi);
    }
  }
  if constexpr (FP8) {
    const float sc = fp8::scale_of(fp8::block_max<kThreads>(amax)), inv = 1.0f / sc;
    if (threadIdx.x == 0) row_scales[r] = sc;
    uint32_t* o = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(out) + r * D);
#pragma unroll
    for (int i = 0; i < VPT; ++i) {
      const int64_t g = threadIdx.x + int64_t(i) * kThreads;
      if (g < n4) o[g] = fp8::pack4(y[i][0], y[i][1], y[i][2], y[i][3], inv);
    }
  }
}

// In place allowed (x == out), as the scalar kernel.
template <int VPT>
__global__ void rms_norm_rope_vec_kernel(const __nv_bfloat16* x, int64_t x_ld, int64_t D, int64_t L, float eps,
                                         const float* __restrict__ w, int64_t head_dim,
                                         const int64_t* __restrict__ grids, const float* __restrict__ cos_t,
                                         const float* __restrict__ sin_t, int64_t s0, int64_t s1, int64_t first_token,
                                         __nv_bfloat16* out, int64_t out_ld) {
  const int64_t r = blockIdx.x, sample = r / L, l = first_token + r % L, n4 = D / 4;
  float v[VPT][4];
  float ss = 0.0f;
#pragma unroll
  for (int i = 0; i < VPT; ++i) {
    const int64_t g = threadIdx.x + int64_t(i) * kThreads;
    if (g < n4) {
      load_bf16x4(x + r * x_ld + 4 * g, v[i]);
      ss += (v[i][0] * v[i][0] + v[i][1] * v[i][1]) + (v[i][2] * v[i][2] + v[i][3] * v[i][3]);
    }
  }
  const float rrms = rsqrtf(block_sum(ss) / float(D) + eps);
  int64_t pos[3] = {0, 0, 0};
  const bool rotate = cos_t != nullptr && grid_position(grids, sample, l, pos);
  const int64_t half = head_dim / 2;
#pragma unroll
  for (int i = 0; i < VPT; ++i) {
    const int64_t g = threadIdx.x + int64_t(i) * kThreads;
    if (g >= n4) continue;
    const float4 wv = reinterpret_cast<const float4*>(w)[g];
    const float wk[4] = {wv.x, wv.y, wv.z, wv.w};
    float y[4];
    for (int j = 0; j < 4; ++j)  // WanRMSNorm under autocast: two bf16 roundings
      y[j] = __bfloat162float(__float2bfloat16(__bfloat162float(__float2bfloat16(v[i][j] * rrms)) * wk[j]));
    if (rotate) {
      for (int j = 0; j < 2; ++j) {
        const int64_t p = 2 * g + j, sidx = p % half;
        const int64_t axis = sidx < s0 ? 0 : (sidx < s0 + s1 ? 1 : 2);
        const float c = cos_t[pos[axis] * half + sidx], sn = sin_t[pos[axis] * half + sidx];
        const float y0 = y[2 * j], y1 = y[2 * j + 1];
        y[2 * j] = y0 * c - y1 * sn;
        y[2 * j + 1] = y0 * sn + y1 * c;
      }
    }
    store_bf16x4(out + r * out_ld + 4 * g, y);
  }
}

__global__ void residual_add_vec_kernel(float* __restrict__ x, const __nv_bfloat16* __restrict__ y, int64_t D,
                                        int64_t L, const float* __restrict__ gate, int64_t n4) {
  for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < n4; g += int64_t(gridDim.x) * blockDim.x) {
    const int64_t e = 4 * g, sample = (e / D) / L, d = e % D;
    float4 xv = reinterpret_cast<float4*>(x)[g];
    add_residual4(xv, y + e, gate ? gate + sample * D + d : nullptr);
    reinterpret_cast<float4*>(x)[g] = xv;
  }
}

// VPT for a width D (multiple of 4), or 0 when the vectorised kernels do not apply.
int vpt_for(int64_t D) {
  if (D % 4 != 0) return 0;
  const int64_t v = (D / 4 + kThreads - 1) / kThreads;
  return v <= kMaxVpt ? int(v) : 0;
}

// Calls f(std::integral_constant<int, V>) for the VPT chosen at run time.
template <typename F>
void with_vpt(int vpt, F&& f) {
  switch (vpt) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 5: f(std::integral_constant<int, 5>{}); break;
    case 6: f(std::integral_constant<int, 6>{}); break;
    case 7: f(std::integral_constant<int, 7>{}); break;
    default: f(std::integral_constant<int, 8>{}); break;
  }
}

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
  bf16_to_f32_kernel<<<grid_for(n), 256, 0, wan::cuda::context().stream>>>(
      static_cast<const __nv_bfloat16*>(in.data_ptr()), out.data<float>(), n);
  WAN_CUDA_CHECK_LAUNCH();
}

void mul_bf16(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = a.numel();
  if (n == 0) return;
  mul_bf16_kernel<<<grid_for(n), 256, 0, wan::cuda::context().stream>>>(
      static_cast<const __nv_bfloat16*>(a.data_ptr()), static_cast<const __nv_bfloat16*>(b.data_ptr()),
      static_cast<__nv_bfloat16*>(out.data_ptr()), n);
  WAN_CUDA_CHECK_LAUNCH();
}

void f32_to_bf16(const Tensor& in, Tensor& out) {
  const int64_t n = in.numel();
  if (n == 0) return;
  f32_to_bf16_kernel<<<grid_for(n), 256, 0, wan::cuda::context().stream>>>(
      in.data<float>(), static_cast<__nv_bfloat16*>(out.data_ptr()), n);
  WAN_CUDA_CHECK_LAUNCH();
}

void fill_normal(Tensor& t, uint64_t seed, float mean, float stddev) {
  const int64_t n = t.numel();
  if (n == 0) return;
  const unsigned blocks = grid_for(n);
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
  const int vpt = vpt_for(D);
  if (vpt > 0 && aligned(x.data_ptr(), 16) && aligned(out.data_ptr(), 8) &&
      (!w.defined() || (aligned(w.data_ptr(), 16) && aligned(b.data_ptr(), 16))) &&
      (!shift.defined() || (aligned(shift.data_ptr(), 16) && aligned(scale.data_ptr(), 16)))) {
    with_vpt(vpt, [&](auto V) {
      layer_norm_modulate_vec_kernel<decltype(V)::value, false>
          <<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
              x.data<float>(), D, L, float(eps), w.defined() ? w.data<float>() : nullptr,
              b.defined() ? b.data<float>() : nullptr, shift.defined() ? shift.data<float>() : nullptr,
              scale.defined() ? scale.data<float>() : nullptr, out.data_ptr(), nullptr);
    });
    WAN_CUDA_CHECK_LAUNCH();
    return;
  }
  layer_norm_modulate_kernel<<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
      x.data<float>(), D, L, float(eps), w.defined() ? w.data<float>() : nullptr, b.defined() ? b.data<float>() : nullptr,
      shift.defined() ? shift.data<float>() : nullptr, scale.defined() ? scale.data<float>() : nullptr,
      static_cast<__nv_bfloat16*>(out.data_ptr()));
  WAN_CUDA_CHECK_LAUNCH();
}

bool layer_norm_modulate_fp8(const Tensor& x, double eps, const Tensor& w, const Tensor& b, const Tensor& shift,
                             const Tensor& scale, Tensor& values, Tensor& row_scales) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  const int vpt = vpt_for(D);
  if (vpt == 0 || !aligned(x.data_ptr(), 16) || !aligned(values.data_ptr(), 4) ||
      (w.defined() && !(aligned(w.data_ptr(), 16) && aligned(b.data_ptr(), 16))) ||
      (shift.defined() && !(aligned(shift.data_ptr(), 16) && aligned(scale.data_ptr(), 16))))
    return false;
  if (B * L == 0) return true;
  with_vpt(vpt, [&](auto V) {
    layer_norm_modulate_vec_kernel<decltype(V)::value, true><<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
        x.data<float>(), D, L, float(eps), w.defined() ? w.data<float>() : nullptr,
        b.defined() ? b.data<float>() : nullptr, shift.defined() ? shift.data<float>() : nullptr,
        scale.defined() ? scale.data<float>() : nullptr, values.data_ptr(), row_scales.data<float>());
  });
  WAN_CUDA_CHECK_LAUNCH();
  return true;
}

bool residual_layer_norm_modulate(Tensor& x, const Tensor& y, const Tensor& gate, double eps, const Tensor& w,
                                   const Tensor& b, const Tensor& shift, const Tensor& scale, Tensor& out,
                                   Tensor* row_scales) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  const int vpt = vpt_for(D);
  const bool fp8 = row_scales != nullptr;
  if (vpt == 0 || !aligned(x.data_ptr(), 16) || !aligned(y.data_ptr(), 8) ||
      !aligned(out.data_ptr(), fp8 ? 4 : 8) || (gate.defined() && !aligned(gate.data_ptr(), 16)) ||
      (w.defined() && !(aligned(w.data_ptr(), 16) && aligned(b.data_ptr(), 16))) ||
      (shift.defined() && !(aligned(shift.data_ptr(), 16) && aligned(scale.data_ptr(), 16))))
    return false;
  if (B * L == 0) return true;
  const auto launch = [&](auto V, auto F) {
    layer_norm_modulate_vec_kernel<decltype(V)::value, decltype(F)::value, true>
        <<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
            x.data<float>(), D, L, float(eps), w.defined() ? w.data<float>() : nullptr,
            b.defined() ? b.data<float>() : nullptr, shift.defined() ? shift.data<float>() : nullptr,
            scale.defined() ? scale.data<float>() : nullptr, out.data_ptr(),
            fp8 ? row_scales->data<float>() : nullptr, static_cast<const __nv_bfloat16*>(y.data_ptr()),
            gate.defined() ? gate.data<float>() : nullptr);
  };
  with_vpt(vpt, [&](auto V) {
    if (fp8) launch(V, std::true_type{});
    else launch(V, std::false_type{});
  });
  WAN_CUDA_CHECK_LAUNCH();
  return true;
}

void rms_norm_rope(const Tensor& x, const Tensor& w, double eps, int64_t head_dim, const Tensor& grids,
                   const Tensor& cos_t, const Tensor& sin_t, int64_t s0, int64_t s1, int64_t first_token, Tensor& out) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  if (B * L == 0) return;
  const int vpt = vpt_for(D);
  if (vpt > 0 && aligned(x.data_ptr(), 8) && aligned(out.data_ptr(), 8) && x.stride(1) % 4 == 0 &&
      out.stride(1) % 4 == 0 && aligned(w.data_ptr(), 16) && (head_dim / 2) % 2 == 0) {
    with_vpt(vpt, [&](auto V) {
      rms_norm_rope_vec_kernel<decltype(V)::value><<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
          static_cast<const __nv_bfloat16*>(x.data_ptr()), x.stride(1), D, L, float(eps), w.data<float>(), head_dim,
          grids.defined() ? grids.data<int64_t>() : nullptr, cos_t.defined() ? cos_t.data<float>() : nullptr,
          sin_t.defined() ? sin_t.data<float>() : nullptr, s0, s1, first_token,
          static_cast<__nv_bfloat16*>(out.data_ptr()), out.stride(1));
    });
    WAN_CUDA_CHECK_LAUNCH();
    return;
  }
  rms_norm_rope_kernel<<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
      static_cast<const __nv_bfloat16*>(x.data_ptr()), x.stride(1), D, L, float(eps), w.data<float>(), head_dim,
      grids.defined() ? grids.data<int64_t>() : nullptr, cos_t.defined() ? cos_t.data<float>() : nullptr,
      sin_t.defined() ? sin_t.data<float>() : nullptr, s0, s1, first_token,
      static_cast<__nv_bfloat16*>(out.data_ptr()), out.stride(1));
  WAN_CUDA_CHECK_LAUNCH();
}

void residual_add(Tensor& x, const Tensor& y, const Tensor& gate) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  if (B * L == 0) return;
  if (D % 4 == 0 && aligned(x.data_ptr(), 16) && aligned(y.data_ptr(), 8) &&
      (!gate.defined() || aligned(gate.data_ptr(), 16))) {
    const int64_t n4 = B * L * D / 4;
    residual_add_vec_kernel<<<grid_for(n4), 256, 0, wan::cuda::context().stream>>>(
        x.data<float>(), static_cast<const __nv_bfloat16*>(y.data_ptr()), D, L,
        gate.defined() ? gate.data<float>() : nullptr, n4);
    WAN_CUDA_CHECK_LAUNCH();
    return;
  }
  residual_add_kernel<<<unsigned(B * L), kThreads, 0, wan::cuda::context().stream>>>(
      x.data<float>(), static_cast<const __nv_bfloat16*>(y.data_ptr()), D, L,
      gate.defined() ? gate.data<float>() : nullptr);
  WAN_CUDA_CHECK_LAUNCH();
}

std::string device_code_error() {
  cudaFuncAttributes attributes{};
  const cudaError_t e = cudaFuncGetAttributes(&attributes, probe_kernel);
  if (e == cudaSuccess) return "";
  cudaGetLastError();  // not sticky, but leave nothing behind
  return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

}  // namespace wan::ops::cuda
