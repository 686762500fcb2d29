// CUDA kernels of the video VAE's ops on contiguous f32 tensors (ops/vae_ops.h), the f32
// attention's softmax, and the backend's strided copy. The channels-last kernels of the GPU VAE
// are in channels_last_kernels.cu.
#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <limits>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/grid.h"

namespace wan::ops::cuda {
namespace {

constexpr int kMaxRank = 8;

struct StridedLayout {
  int rank;
  int64_t sizes[kMaxRank], dst[kMaxRank], src[kMaxRank];
};

// dst = src over a layout whose last dim is innermost in dst (host code orders and merges dims);
// I is the index type (32-bit when everything fits: the divisions are most of the cost).
template <typename T, typename I>
__global__ void strided_copy_kernel(T* __restrict__ dst, const T* __restrict__ src, StridedLayout l, I n) {
  I sizes[kMaxRank], ds[kMaxRank], ss[kMaxRank];
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) {
    sizes[d] = I(l.sizes[d]);
    ds[d] = I(l.dst[d]);
    ss[d] = I(l.src[d]);
  }
  for (I i = I(blockIdx.x) * I(blockDim.x) + I(threadIdx.x); i < n; i += I(gridDim.x) * I(blockDim.x)) {
    I rest = i, od = 0, os = 0;
    for (int d = l.rank - 1; d >= 0; --d) {
      const I c = rest % sizes[d];
      rest /= sizes[d];
      od += c * ds[d];
      os += c * ss[d];
    }
    dst[od] = src[os];
  }
}

// x [C, S] → y: per position s, x / max(‖x[:, s]‖₂, 1e-12) · √C · gamma[c].
__global__ void rms_norm_channels_kernel(const float* __restrict__ x, const float* __restrict__ gamma,
                                         float* __restrict__ y, int64_t C, int64_t S) {
  for (int64_t s = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; s < S; s += int64_t(gridDim.x) * blockDim.x) {
    float ss = 0.0f;
    for (int64_t c = 0; c < C; ++c) {
      const float v = x[c * S + s];
      ss += v * v;
    }
    const float inv = sqrtf(float(C)) / fmaxf(sqrtf(ss), 1e-12f);
    for (int64_t c = 0; c < C; ++c) y[c * S + s] = x[c * S + s] * inv * gamma[c];
  }
}

// [C·T, H, W] → [C·T, 2H, 2W], nearest.
__global__ void upsample_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t planes, int64_t H,
                                int64_t W) {
  const int64_t n = planes * 4 * H * W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w2 = i % (2 * W), h2 = (i / (2 * W)) % (2 * H), p = i / (4 * H * W);
    y[i] = x[(p * H + h2 / 2) * W + w2 / 2];
  }
}

// One block per row of s [rows, n] (leading dimension ld): s = softmax(s) in place, f32.
__global__ void softmax_rows_kernel(float* s, int64_t n, int64_t ld) {
  float* row = s + blockIdx.x * ld;
  __shared__ float red[32];
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, row[j]);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = m;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : -FLT_MAX;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) red[0] = v;
  }
  __syncthreads();
  m = red[0];
  __syncthreads();
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float e = expf(row[j] - m);
    row[j] = e;
    sum += e;
  }
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) red[0] = v;
  }
  __syncthreads();
  const float inv = 1.0f / red[0];
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) row[j] *= inv;
}


}  // namespace

namespace {

// The copy's dims in dst's memory order (innermost last), size-1 dims dropped, and neighbours that
// are one run in both tensors merged: a channels-last time window becomes one dim, and threads
// next to each other write next to each other.
StridedLayout simplified_layout(const Tensor& dst, const Tensor& src) {
  std::vector<int> dims;
  for (int d = 0; d < int(dst.dim()); ++d)
    if (dst.size(d) != 1) dims.push_back(d);
  std::stable_sort(dims.begin(), dims.end(), [&](int a, int b) { return dst.stride(a) > dst.stride(b); });
  StridedLayout l{};
  l.rank = 0;
  for (int d : dims) {
    if (l.rank > 0) {
      const int p = l.rank - 1;
      if (l.dst[p] == dst.stride(d) * dst.size(d) && l.src[p] == src.stride(d) * dst.size(d)) {
        l.sizes[p] *= dst.size(d);
        l.dst[p] = dst.stride(d);
        l.src[p] = src.stride(d);
        continue;
      }
    }
    l.sizes[l.rank] = dst.size(d);
    l.dst[l.rank] = dst.stride(d);
    l.src[l.rank] = src.stride(d);
    ++l.rank;
  }
  if (l.rank == 0) {
    l.rank = 1;
    l.sizes[0] = 1;
    l.dst[0] = l.src[0] = 1;
  }
  return l;
}

template <typename U>
void launch_copy(void* dst, const void* src, const StridedLayout& l) {
  int64_t n = 1, span_d = 1, span_s = 1;
  for (int d = 0; d < l.rank; ++d) {
    n *= l.sizes[d];
    span_d += (l.sizes[d] - 1) * l.dst[d];
    span_s += (l.sizes[d] - 1) * l.src[d];
  }
  cudaStream_t stream = wan::cuda::context().stream;
  // 32-bit indices when nothing, including a grid-stride step past the end, can overflow them.
  const int64_t limit = std::numeric_limits<int32_t>::max() - int64_t(65535) * 256;
  if (n < limit && span_d < limit && span_s < limit)
    strided_copy_kernel<U, int32_t><<<grid_for(n), 256, 0, stream>>>(static_cast<U*>(dst), static_cast<const U*>(src),
                                                                        l, int32_t(n));
  else
    strided_copy_kernel<U, int64_t><<<grid_for(n), 256, 0, stream>>>(static_cast<U*>(dst), static_cast<const U*>(src),
                                                                        l, n);
}

// Copies in units of U (a multiple of the element size) when the innermost dim is a run in both
// tensors whose bytes, and every other stride's, are multiples of U, at aligned addresses.
template <typename U>
bool launch_in_units(void* dst, const void* src, StridedLayout l, size_t esize) {
  if (sizeof(U) % esize != 0) return false;
  const int64_t per = int64_t(sizeof(U) / esize);
  const int in = l.rank - 1;
  if (l.dst[in] != 1 || l.src[in] != 1 || l.sizes[in] % per != 0) return false;
  if (reinterpret_cast<uintptr_t>(dst) % sizeof(U) != 0 || reinterpret_cast<uintptr_t>(src) % sizeof(U) != 0)
    return false;
  for (int d = 0; d < in; ++d)
    if (l.dst[d] % per != 0 || l.src[d] % per != 0) return false;
  for (int d = 0; d < in; ++d) {
    l.dst[d] /= per;
    l.src[d] /= per;
  }
  l.sizes[in] /= per;
  launch_copy<U>(dst, src, l);
  return true;
}

}  // namespace

void strided_copy(Tensor& dst, const Tensor& src) {
  const int64_t n = src.numel();
  if (n == 0) return;
  WAN_CHECK(dst.dim() <= kMaxRank, "strided copy: more than ", kMaxRank, " dims");
  const StridedLayout l = simplified_layout(dst, src);
  const size_t esize = dtype_size(dst.dtype());
  void* d = dst.data_ptr();
  const void* s = src.data_ptr();
  if (launch_in_units<uint4>(d, s, l, esize) || launch_in_units<uint2>(d, s, l, esize) ||
      launch_in_units<uint32_t>(d, s, l, esize) || launch_in_units<uint16_t>(d, s, l, esize)) {
  } else if (esize == 8) {  // the innermost dim is not a run in both: element by element
    launch_copy<uint64_t>(d, s, l);
  } else if (esize == 4) {
    launch_copy<uint32_t>(d, s, l);
  } else if (esize == 2) {
    launch_copy<uint16_t>(d, s, l);
  } else {
    WAN_CHECK(esize == 1, "strided copy: element size ", esize, " is not supported");
    launch_copy<uint8_t>(d, s, l);
  }
  WAN_CUDA_CHECK_LAUNCH();
}

void rms_norm_channels(const Tensor& x, const Tensor& gamma, Tensor& y) {
  const int64_t C = x.size(0), S = x.numel() / std::max<int64_t>(1, C);
  if (x.numel() == 0) return;
  rms_norm_channels_kernel<<<grid_for(S), 256, 0, wan::cuda::context().stream>>>(x.data<float>(), gamma.data<float>(),
                                                                                    y.data<float>(), C, S);
  WAN_CUDA_CHECK_LAUNCH();
}

void upsample_nearest_2x(const Tensor& x, Tensor& y) {
  const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  if (y.numel() == 0) return;
  upsample_kernel<<<grid_for(y.numel()), 256, 0, wan::cuda::context().stream>>>(x.data<float>(), y.data<float>(),
                                                                                  planes, H, W);
  WAN_CUDA_CHECK_LAUNCH();
}

void softmax_rows(float* s, int64_t rows, int64_t n, int64_t ld) {
  if (rows == 0) return;
  softmax_rows_kernel<<<unsigned(rows), 256, 0, wan::cuda::context().stream>>>(s, n, ld);
  WAN_CUDA_CHECK_LAUNCH();
}

}  // namespace wan::ops::cuda
