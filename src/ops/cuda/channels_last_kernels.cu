// CUDA kernels for channels-last videos (Tensor::is_channels_last: [C, T, H, W] stored as
// [T, H, W, C]), the GPU VAE's layout, in bf16 or f32: the channel RMS norm (with the SiLU that
// follows it in every VAE block fused in, and optionally the bias of the convolution before it), the
// per-channel bias of a convolution, nearest 2x upsampling, the elementwise SiLU, clamp and
// in-place add (optionally with a channel bias) over dense tensors of one layout, and the Wan 2.2
// VAE's shortcuts (AvgDown3D, DupUp3D) added into the residual sum.
// Arithmetic in f32; bf16 results rounded to nearest even once.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <type_traits>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/grid.h"

namespace wan::ops::cuda {
namespace {

__device__ inline float to_f32(float v) { return v; }
__device__ inline float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T>
__device__ inline T from_f32(float v);
template <>
__device__ inline float from_f32<float>(float v) { return v; }
template <>
__device__ inline __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Eight consecutive elements through 16-byte accesses (one for bf16, two for f32); p 16-byte aligned.
template <typename T>
__device__ inline void load8(const T* p, float (&v)[8]) {
  if constexpr (sizeof(T) == 2) {
    const uint4 raw = *reinterpret_cast<const uint4*>(p);
    const __nv_bfloat16* h = reinterpret_cast<const __nv_bfloat16*>(&raw);
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = __bfloat162float(h[k]);
  } else {
    const float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
  }
}

template <typename T>
__device__ inline void store8(T* p, const float (&v)[8]) {
  if constexpr (sizeof(T) == 2) {
    uint4 raw;
    __nv_bfloat16* h = reinterpret_cast<__nv_bfloat16*>(&raw);
#pragma unroll
    for (int k = 0; k < 8; ++k) h[k] = __float2bfloat16_rn(v[k]);
    *reinterpret_cast<uint4*>(p) = raw;
  } else {
    reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
    reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
  }
}

__device__ inline float silu_f(float v) { return v / (1.0f + expf(-v)); }

// Rows of C channels (C % 8 == 0, C / 8 <= blockDim.x): each thread holds 8 channels of one row,
// a block holds blockDim.x / (C / 8) rows and sums their squares in shared memory. Every thread
// runs every loop iteration (the shuffles need whole warps); `active` marks those with a row.
template <typename T>
__global__ void rms_norm_last_vec_kernel(const T* __restrict__ x, const float* __restrict__ gamma,
                                         const float* __restrict__ bias, T* __restrict__ y, int64_t rows, int C,
                                         float sqrt_c, bool silu) {
  __shared__ float sums[256];
  const int group = C / 8, rows_per_block = blockDim.x / group;
  const int local = threadIdx.x / group, part = threadIdx.x % group;
  const int seg = (group & (group - 1)) == 0 ? min(group, 32) : 1;  // lanes summed by shuffles
  for (int64_t base = blockIdx.x * int64_t(rows_per_block); base < rows; base += int64_t(gridDim.x) * rows_per_block) {
    if (threadIdx.x < rows_per_block) sums[threadIdx.x] = 0.0f;
    __syncthreads();
    const int64_t row = base + local;
    const bool active = local < rows_per_block && row < rows;
    float v[8], ss = 0.0f;
    if (active) {
      load8(x + row * C + part * 8, v);
      if (bias) {
#pragma unroll
        for (int k = 0; k < 8; ++k) v[k] += bias[part * 8 + k];
      }
#pragma unroll
      for (int k = 0; k < 8; ++k) ss += v[k] * v[k];
    }
    // A power-of-two group (then blockDim.x is 256, whole warps) sums its lanes by shuffles first:
    // one shared-memory atomic per row and warp instead of one per thread.
    for (int o = seg / 2; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (active && part % seg == 0) atomicAdd(&sums[local], ss);
    __syncthreads();
    if (active) {
      const float inv = sqrt_c / fmaxf(sqrtf(sums[local]), 1e-12f);
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        const float o = v[k] * inv * gamma[part * 8 + k];
        v[k] = silu ? silu_f(o) : o;
      }
      store8(y + row * C + part * 8, v);
    }
    __syncthreads();
  }
}

// Any C: one warp per row.
template <typename T>
__global__ void rms_norm_last_warp_kernel(const T* __restrict__ x, const float* __restrict__ gamma,
                                          const float* __restrict__ bias, T* __restrict__ y, int64_t rows, int C,
                                          float sqrt_c, bool silu) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t row = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32; row < rows; row += warps) {
    const T* xr = x + row * C;
    float ss = 0.0f;
    for (int c = lane; c < C; c += 32) {
      const float v = to_f32(xr[c]) + (bias ? bias[c] : 0.0f);
      ss += v * v;
    }
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    const float inv = sqrt_c / fmaxf(sqrtf(ss), 1e-12f);
    for (int c = lane; c < C; c += 32) {
      const float o = (to_f32(xr[c]) + (bias ? bias[c] : 0.0f)) * inv * gamma[c];
      y[row * C + c] = from_f32<T>(silu ? silu_f(o) : o);
    }
  }
}

// y [rows, C] += bias[c].
template <typename T>
__global__ void bias_last_kernel(T* __restrict__ y, const float* __restrict__ bias, int64_t n, int C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f32<T>(to_f32(y[i]) + bias[i % C]);
}

template <typename T>
__global__ void bias_last_vec_kernel(T* __restrict__ y, const float* __restrict__ bias, int64_t vectors, int C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors; i += int64_t(gridDim.x) * blockDim.x) {
    float v[8];
    load8(y + i * 8, v);
    const int c0 = int((i * 8) % C);
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] += bias[c0 + k];
    store8(y + i * 8, v);
  }
}

// [planes, H, W, row] -> [planes, 2H, 2W, row] in units U (a channel row is `row` units).
template <typename U>
__global__ void upsample_last_kernel(const U* __restrict__ x, U* __restrict__ y, int64_t planes, int64_t H, int64_t W,
                                     int64_t row) {
  const int64_t n = planes * 4 * H * W * row;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t u = i % row, pix = i / row;
    const int64_t w2 = pix % (2 * W), h2 = (pix / (2 * W)) % (2 * H), p = pix / (4 * H * W);
    y[i] = x[((p * H + h2 / 2) * W + w2 / 2) * row + u];
  }
}

template <typename T>
__global__ void silu_flat_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f32<T>(silu_f(to_f32(x[i])));
}

template <typename T>
__global__ void clamp_flat_kernel(const T* __restrict__ x, T* __restrict__ y, float lo, float hi, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f32<T>(fminf(fmaxf(to_f32(x[i]), lo), hi));
}

// a += bias[c] + b over dense channels-last tensors of one layout (channel = index % C).
template <typename T>
__global__ void add_biased_last_kernel(T* __restrict__ a, const float* __restrict__ bias, const T* __restrict__ b,
                                       int64_t n, int C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    a[i] = from_f32<T>(to_f32(a[i]) + bias[i % C] + to_f32(b[i]));
}

template <typename T>
__global__ void add_biased_last_vec_kernel(T* __restrict__ a, const float* __restrict__ bias, const T* __restrict__ b,
                                           int64_t vectors, int C) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors; i += int64_t(gridDim.x) * blockDim.x) {
    float v[8], w[8];
    load8(a + i * 8, v);
    load8(b + i * 8, w);
    const int c0 = int((i * 8) % C);
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] += bias[c0 + k] + w[k];
    store8(a + i * 8, v);
  }
}

template <typename T>
__global__ void add_flat_kernel(T* __restrict__ a, const T* __restrict__ b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    a[i] = from_f32<T>(to_f32(a[i]) + to_f32(b[i]));
}

template <typename T>
__global__ void add_flat_vec_kernel(T* __restrict__ a, const T* __restrict__ b, int64_t vectors) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors; i += int64_t(gridDim.x) * blockDim.x) {
    float va[8], vb[8];
    load8(a + i * 8, va);
    load8(b + i * 8, vb);
#pragma unroll
    for (int k = 0; k < 8; ++k) va[k] += vb[k];
    store8(a + i * 8, va);
  }
}

// y [T', H', W', O] += AvgDown3D(x [T, H, W, C]) (ops/vae_ops.h): one output element per thread,
// its group of inputs summed in f32.
template <typename T>
__global__ void add_avg_down_last_kernel(T* __restrict__ y, const T* __restrict__ x, int64_t n, int O, int C,
                                         int64_t H, int64_t W, int64_t Hp, int64_t Wp, int ft, int fs, int pad,
                                         int group) {
  const int f = ft * fs * fs;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int o = int(i % O);
    const int64_t pixel = i / O, w = pixel % Wp, h = (pixel / Wp) % Hp, t = pixel / (Wp * Hp);
    float sum = 0.0f;
    for (int g = 0; g < group; ++g) {
      const int64_t k = int64_t(o) * group + g;
      const int c = int(k / f), s = int(k % f);
      const int a = s / (fs * fs), b = (s / fs) % fs, d = s % fs;
      const int64_t tt = t * ft + a - pad;
      if (tt >= 0) sum += to_f32(x[((tt * H + h * fs + b) * W + w * fs + d) * C + c]);  // padding frames are 0
    }
    y[i] = from_f32<T>(to_f32(y[i]) + sum / float(group));
  }
}

// y [T·ft − drop, H·fs, W·fs, O] += DupUp3D(x [T, H, W, C]) (ops/vae_ops.h): VEC consecutive output
// channels of one pixel per thread (8: 16-byte accesses to y), each read from x's pixel.
template <typename T, int VEC>
__global__ void add_dup_up_last_kernel(T* __restrict__ y, const T* __restrict__ x, int64_t items, int O, int C,
                                       int64_t H, int64_t W, int ft, int fs, int drop, int64_t repeats) {
  const int per_pixel = O / VEC, f = ft * fs * fs;
  const int64_t Ho = H * fs, Wo = W * fs;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < items; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t pixel = i / per_pixel;
    const int o0 = int(i % per_pixel) * VEC;
    const int64_t wo = pixel % Wo, ho = (pixel / Wo) % Ho, tf = pixel / (Wo * Ho) + drop;
    const int j = (int(tf % ft) * fs + int(ho % fs)) * fs + int(wo % fs);
    const T* xp = x + (((tf / ft) * H + ho / fs) * W + wo / fs) * C;
    T* yp = y + pixel * O + o0;
    if constexpr (VEC == 8) {
      float v[8];
      load8(yp, v);
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] += to_f32(xp[((int64_t(o0) + k) * f + j) / repeats]);
      store8(yp, v);
    } else {
      yp[0] = from_f32<T>(to_f32(yp[0]) + to_f32(xp[(int64_t(o0) * f + j) / repeats]));
    }
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Calls f with a typed null pointer of the tensor's element type (bf16 or f32).
template <typename F>
void by_dtype(DType dtype, const char* what, F&& f) {
  if (dtype == DType::BF16) return f(static_cast<__nv_bfloat16*>(nullptr));
  WAN_CHECK(dtype == DType::F32, what, ": bf16 or f32 only, got ", dtype_name(dtype));
  f(static_cast<float*>(nullptr));
}

}  // namespace

void rms_norm_channels_last(const Tensor& x, const Tensor& gamma, bool silu, Tensor& y, const Tensor& bias) {
  const int64_t C = x.size(0), rows = x.numel() / std::max<int64_t>(1, C);
  if (x.numel() == 0) return;
  cudaStream_t stream = wan::cuda::context().stream;
  const float sqrt_c = sqrtf(float(C));
  by_dtype(x.dtype(), "rms_norm_channels_last", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const T* xp = static_cast<const T*>(x.data_ptr());
    T* yp = static_cast<T*>(y.data_ptr());
    const float* bp = bias.defined() ? bias.data<float>() : nullptr;
    if (C % 8 == 0 && C / 8 <= 256 && aligned16(xp) && aligned16(yp)) {
      const int group = int(C / 8), rows_per_block = 256 / group;
      rms_norm_last_vec_kernel<T><<<grid_for(rows, rows_per_block), rows_per_block * group, 0, stream>>>(
          xp, gamma.data<float>(), bp, yp, rows, int(C), sqrt_c, silu);
    } else {
      rms_norm_last_warp_kernel<T><<<grid_for(rows, 8), 256, 0, stream>>>(xp, gamma.data<float>(), bp, yp, rows,
                                                                           int(C), sqrt_c, silu);
    }
  });
  WAN_CUDA_CHECK_LAUNCH();
}

void add_channel_bias_last(Tensor& y, const Tensor& bias) {
  const int64_t C = y.size(0), n = y.numel();
  if (n == 0) return;
  cudaStream_t stream = wan::cuda::context().stream;
  by_dtype(y.dtype(), "add_channel_bias_last", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* yp = static_cast<T*>(y.data_ptr());
    if (C % 8 == 0 && aligned16(yp))
      bias_last_vec_kernel<T><<<grid_for(n / 8), 256, 0, stream>>>(yp, bias.data<float>(), n / 8, int(C));
    else
      bias_last_kernel<T><<<grid_for(n), 256, 0, stream>>>(yp, bias.data<float>(), n, int(C));
  });
  WAN_CUDA_CHECK_LAUNCH();
}

void upsample_nearest_2x_last(const Tensor& x, Tensor& y) {
  const int64_t C = x.size(0), planes = x.size(1), H = x.size(2), W = x.size(3);
  if (y.numel() == 0) return;
  const int64_t row_bytes = C * int64_t(dtype_size(x.dtype()));
  cudaStream_t stream = wan::cuda::context().stream;
  const int64_t pixels = planes * 4 * H * W;
  if (row_bytes % 16 == 0 && aligned16(x.data_ptr()) && aligned16(y.data_ptr())) {
    upsample_last_kernel<<<grid_for(pixels * (row_bytes / 16)), 256, 0, stream>>>(
        static_cast<const uint4*>(x.data_ptr()), static_cast<uint4*>(y.data_ptr()), planes, H, W, row_bytes / 16);
  } else {
    WAN_CHECK(row_bytes % 2 == 0, "upsample_nearest_2x_last: odd row size");
    upsample_last_kernel<<<grid_for(pixels * (row_bytes / 2)), 256, 0, stream>>>(
        static_cast<const uint16_t*>(x.data_ptr()), static_cast<uint16_t*>(y.data_ptr()), planes, H, W,
        row_bytes / 2);
  }
  WAN_CUDA_CHECK_LAUNCH();
}

void silu_flat(const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  by_dtype(x.dtype(), "silu", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    silu_flat_kernel<T><<<grid_for(n), 256, 0, wan::cuda::context().stream>>>(static_cast<const T*>(x.data_ptr()),
                                                                              static_cast<T*>(y.data_ptr()), n);
  });
  WAN_CUDA_CHECK_LAUNCH();
}

void clamp_flat(const Tensor& x, float lo, float hi, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  by_dtype(x.dtype(), "clamp", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    clamp_flat_kernel<T><<<grid_for(n), 256, 0, wan::cuda::context().stream>>>(
        static_cast<const T*>(x.data_ptr()), static_cast<T*>(y.data_ptr()), lo, hi, n);
  });
  WAN_CUDA_CHECK_LAUNCH();
}

void add_flat(Tensor& a, const Tensor& b) {
  const int64_t n = a.numel();
  if (n == 0) return;
  cudaStream_t stream = wan::cuda::context().stream;
  by_dtype(a.dtype(), "add_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* ap = static_cast<T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    if (n % 8 == 0 && aligned16(ap) && aligned16(bp))
      add_flat_vec_kernel<T><<<grid_for(n / 8), 256, 0, stream>>>(ap, bp, n / 8);
    else
      add_flat_kernel<T><<<grid_for(n), 256, 0, stream>>>(ap, bp, n);
  });
  WAN_CUDA_CHECK_LAUNCH();
}

void add_biased_last(Tensor& a, const Tensor& bias, const Tensor& b) {
  const int64_t C = a.size(0), n = a.numel();
  if (n == 0) return;
  cudaStream_t stream = wan::cuda::context().stream;
  by_dtype(a.dtype(), "add_with_channel_bias_", [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    T* ap = static_cast<T*>(a.data_ptr());
    const T* bp = static_cast<const T*>(b.data_ptr());
    if (C % 8 == 0 && aligned16(ap) && aligned16(bp))
      add_biased_last_vec_kernel<T><<<grid_for(n / 8), 256, 0, stream>>>(ap, bias.data<float>(), bp, n / 8, int(C));
    else
      add_biased_last_kernel<T><<<grid_for(n), 256, 0, stream>>>(ap, bias.data<float>(), bp, n, int(C));
  });
  WAN_CUDA_CHECK_LAUNCH();
}

void add_avg_down_last(Tensor& y, const Tensor& x, int64_t ft, int64_t fs) {
  const int64_t n = y.numel();
  if (n == 0) return;
  const int64_t C = x.size(0), T = x.size(1), O = y.size(0), pad = (ft - T % ft) % ft;
  const int group = int(C * ft * fs * fs / O);
  by_dtype(y.dtype(), "add_avg_down_3d_", [&](auto* tag) {
    using E = std::remove_pointer_t<decltype(tag)>;
    add_avg_down_last_kernel<E><<<grid_for(n), 256, 0, wan::cuda::context().stream>>>(
        static_cast<E*>(y.data_ptr()), static_cast<const E*>(x.data_ptr()), n, int(O), int(C), x.size(2), x.size(3),
        y.size(2), y.size(3), int(ft), int(fs), int(pad), group);
  });
  WAN_CUDA_CHECK_LAUNCH();
}

void add_dup_up_last(Tensor& y, const Tensor& x, int64_t ft, int64_t fs, int64_t drop) {
  const int64_t n = y.numel();
  if (n == 0) return;
  const int64_t C = x.size(0), O = y.size(0), repeats = O * ft * fs * fs / C;
  cudaStream_t stream = wan::cuda::context().stream;
  by_dtype(y.dtype(), "add_dup_up_3d_", [&](auto* tag) {
    using E = std::remove_pointer_t<decltype(tag)>;
    E* yp = static_cast<E*>(y.data_ptr());
    const E* xp = static_cast<const E*>(x.data_ptr());
    if (O % 8 == 0 && aligned16(yp))
      add_dup_up_last_kernel<E, 8><<<grid_for(n / 8), 256, 0, stream>>>(yp, xp, n / 8, int(O), int(C), x.size(2),
                                                                          x.size(3), int(ft), int(fs), int(drop), repeats);
    else
      add_dup_up_last_kernel<E, 1><<<grid_for(n), 256, 0, stream>>>(yp, xp, n, int(O), int(C), x.size(2), x.size(3),
                                                                      int(ft), int(fs), int(drop), repeats);
  });
  WAN_CUDA_CHECK_LAUNCH();
}

}  // namespace wan::ops::cuda
