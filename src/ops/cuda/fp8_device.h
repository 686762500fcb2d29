// Device helpers of FP8 E4M3 quantisation shared by the kernels that produce E4M3 values
// (fp8_kernels.cu's quantisation passes, dit_kernels.cu's norm that quantises its own output):
// the same operations everywhere keep every producer equal to quantize_fp8 (ops/quantize.h) bit
// for bit: scale = amax / 448 in f32 (1 for an all-zero row), value · (1 / scale) rounded to
// nearest even, saturating at ±448.
#pragma once

#include <cuda_fp8.h>

namespace wan::ops::cuda::fp8 {

constexpr float kE4M3Max = 448.0f;

__device__ inline float scale_of(float amax) { return amax > 0.0f ? amax / kE4M3Max : 1.0f; }

__device__ inline __nv_fp8_storage_t to_e4m3(float v) { return __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3); }

// Four values times `inv` as E4M3, packed little-endian in one 32-bit word (a 4-byte store).
__device__ inline uint32_t pack4(float a, float b, float c, float d, float inv) {
  return uint32_t(to_e4m3(a * inv)) | (uint32_t(to_e4m3(b * inv)) << 8) | (uint32_t(to_e4m3(c * inv)) << 16) |
         (uint32_t(to_e4m3(d * inv)) << 24);
}

// The maximum of v over a block of THREADS threads (a multiple of 32); every thread gets it.
template <int THREADS>
__device__ inline float block_max(float v) {
  __shared__ float partial[THREADS / 32];
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  float m = 0.0f;
  for (int w = 0; w < THREADS / 32; ++w) m = fmaxf(m, partial[w]);
  __syncthreads();
  return m;
}

}  // namespace wan::ops::cuda::fp8
