// How many exponentials a second the exp2 unit gives through each PTX form: ex2.approx.ftz.f32,
// ex2.approx.f16x2 and ex2.approx.ftz.bf16x2 (two values per instruction). If a packed form ran as
// one unit operation, the FP8 attention's softmax (bound by the unit: 16 exponentials a clock per SM)
// could halve its exp2 work. On the GPU machine:
//   nvcc -O3 -gencode=arch=compute_90a,code=sm_90a -o /tmp/ex2 dev/experiments/ex2_packed_probe.cu &&
//   /tmp/ex2 && cuobjdump -sass /tmp/ex2 | grep -c MUFU
// Each thread runs 8 independent chains y = ex2(-y) (values stay in (0, 1]); the count of
// exponentials is per value (a packed instruction counts two).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                                       \
  do {                                                                                 \
    cudaError_t e_ = (x);                                                              \
    if (e_ != cudaSuccess) {                                                           \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                    \
    }                                                                                  \
  } while (0)

constexpr int kChains = 8;

__global__ void ex2_f32(float* out, int iters, float seed) {
  float y[kChains];
  for (int c = 0; c < kChains; ++c) y[c] = seed * float(threadIdx.x + c);
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int c = 0; c < kChains; ++c) asm volatile("ex2.approx.ftz.f32 %0, %1;" : "=f"(y[c]) : "f"(-y[c]));
  float s = 0;
  for (int c = 0; c < kChains; ++c) s += y[c];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

// The two packed forms: the pair type, how two floats become one, and the PTX instruction.
struct F16x2 {
  using Pair = __half2;
  static __device__ Pair pack(float lo, float hi) { return __floats2half2_rn(lo, hi); }
  static __device__ uint32_t ex2(uint32_t x) {
    uint32_t y;
    asm volatile("ex2.approx.f16x2 %0, %1;" : "=r"(y) : "r"(x));
    return y;
  }
};
struct Bf16x2 {
  using Pair = __nv_bfloat162;
  static __device__ Pair pack(float lo, float hi) { return __floats2bfloat162_rn(lo, hi); }
  static __device__ uint32_t ex2(uint32_t x) {
    uint32_t y;
    asm volatile("ex2.approx.ftz.bf16x2 %0, %1;" : "=r"(y) : "r"(x));
    return y;
  }
};

template <class Form>
__global__ void ex2_packed(float* out, int iters, float seed) {
  using Pair = typename Form::Pair;
  uint32_t y[kChains];
  for (int c = 0; c < kChains; ++c) {
    Pair h = Form::pack(seed * float(threadIdx.x + c), seed * float(c + 1));
    y[c] = *reinterpret_cast<uint32_t*>(&h);
  }
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int c = 0; c < kChains; ++c) y[c] = Form::ex2(y[c] ^ 0x80008000u);  // ex2(-y), both halves
  float s = 0;
  for (int c = 0; c < kChains; ++c) {
    Pair h = *reinterpret_cast<Pair*>(&y[c]);
    s += __low2float(h) + __high2float(h);
  }
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

template <class F>
static double time_ms(F launch) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  launch();  // warm-up
  CHECK(cudaDeviceSynchronize());
  std::vector<float> ms;
  for (int r = 0; r < 5; ++r) {
    CHECK(cudaEventRecord(a));
    launch();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float t;
    CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  return ms[2];
}

int main() {
  cudaDeviceProp p;
  CHECK(cudaGetDeviceProperties(&p, 0));
  const int blocks = p.multiProcessorCount * 8, threads = 256, iters = 4096;
  float* out;
  CHECK(cudaMalloc(&out, sizeof(float) * blocks * threads));
  const double threads_total = double(blocks) * threads;
  const double f32 = time_ms([&] { ex2_f32<<<blocks, threads>>>(out, iters, 1e-3f); });
  CHECK(cudaGetLastError());
  const double f16 = time_ms([&] { ex2_packed<F16x2><<<blocks, threads>>>(out, iters, 1e-3f); });
  CHECK(cudaGetLastError());
  const double bf16 = time_ms([&] { ex2_packed<Bf16x2><<<blocks, threads>>>(out, iters, 1e-3f); });
  CHECK(cudaGetLastError());
  const double n_f32 = threads_total * iters * kChains, n_packed = 2 * n_f32;
  std::printf("%s, %d SMs\n", p.name, p.multiProcessorCount);
  std::printf("ex2.approx.ftz.f32    %8.3f ms  %.3f T exp2/s\n", f32, n_f32 / f32 * 1e-9);
  std::printf("ex2.approx.f16x2      %8.3f ms  %.3f T exp2/s (values)\n", f16, n_packed / f16 * 1e-9);
  std::printf("ex2.approx.ftz.bf16x2 %8.3f ms  %.3f T exp2/s (values)\n", bf16, n_packed / bf16 * 1e-9);
  CHECK(cudaFree(out));
  return 0;
}
