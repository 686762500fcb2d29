// CUDA kernels of the video VAE's ops on contiguous f32 tensors (ops/vae_ops.h), the f32
// attention's softmax, and the backend's strided copy. The channels-last kernels of the GPU VAE
// are in channels_last_kernels.cu.
#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::ops::cuda {
namespace {

constexpr int kMaxRank = 8;

struct StridedLayout {
  int rank;
  int64_t sizes[kMaxRank], dst[kMaxRank], src[kMaxRank];
};

template <typename T>
__global__ void strided_copy_kernel(T* __restrict__ dst, const T* __restrict__ src, StridedLayout l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, od = 0, os = 0;
    for (int d = l.rank - 1; d >= 0; --d) {
      const int64_t c = rest % l.sizes[d];
      rest /= l.sizes[d];
      od += c * l.dst[d];
      os += c * l.src[d];
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

unsigned blocks_for(int64_t n) { return unsigned(std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 65535))); }

}  // namespace

void strided_copy(Tensor& dst, const Tensor& src) {
  const int64_t n = src.numel();
  if (n == 0) return;
  WAN_CHECK(dst.dim() <= kMaxRank, "strided copy: more than ", kMaxRank, " dims");
  StridedLayout l{};
  l.rank = int(dst.dim());
  for (int d = 0; d < l.rank; ++d) {
    l.sizes[d] = dst.size(d);
    l.dst[d] = dst.stride(d);
    l.src[d] = src.stride(d);
  }
  if (l.rank == 0) {
    l.rank = 1;
    l.sizes[0] = 1;
  }
  cudaStream_t stream = wan::cuda::context().stream;
  switch (dtype_size(dst.dtype())) {
    case 8:
      strided_copy_kernel<<<blocks_for(n), 256, 0, stream>>>(static_cast<uint64_t*>(dst.data_ptr()),
                                                             static_cast<const uint64_t*>(src.data_ptr()), l, n);
      break;
    case 4:
      strided_copy_kernel<<<blocks_for(n), 256, 0, stream>>>(static_cast<uint32_t*>(dst.data_ptr()),
                                                             static_cast<const uint32_t*>(src.data_ptr()), l, n);
      break;
    case 2:
      strided_copy_kernel<<<blocks_for(n), 256, 0, stream>>>(static_cast<uint16_t*>(dst.data_ptr()),
                                                             static_cast<const uint16_t*>(src.data_ptr()), l, n);
      break;
    default:
      strided_copy_kernel<<<blocks_for(n), 256, 0, stream>>>(static_cast<uint8_t*>(dst.data_ptr()),
                                                             static_cast<const uint8_t*>(src.data_ptr()), l, n);
  }
  WAN_CUDA_CHECK_LAUNCH();
}

void rms_norm_channels(const Tensor& x, const Tensor& gamma, Tensor& y) {
  const int64_t C = x.size(0), S = x.numel() / std::max<int64_t>(1, C);
  if (x.numel() == 0) return;
  rms_norm_channels_kernel<<<blocks_for(S), 256, 0, wan::cuda::context().stream>>>(x.data<float>(), gamma.data<float>(),
                                                                                    y.data<float>(), C, S);
  WAN_CUDA_CHECK_LAUNCH();
}

void upsample_nearest_2x(const Tensor& x, Tensor& y) {
  const int64_t planes = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  if (y.numel() == 0) return;
  upsample_kernel<<<blocks_for(y.numel()), 256, 0, wan::cuda::context().stream>>>(x.data<float>(), y.data<float>(),
                                                                                  planes, H, W);
  WAN_CUDA_CHECK_LAUNCH();
}

void softmax_rows(float* s, int64_t rows, int64_t n, int64_t ld) {
  if (rows == 0) return;
  softmax_rows_kernel<<<unsigned(rows), 256, 0, wan::cuda::context().stream>>>(s, n, ld);
  WAN_CUDA_CHECK_LAUNCH();
}

}  // namespace wan::ops::cuda
