// Where tensors live and how they move, without CUDA headers: the rest of the code (models, tools)
// uses this; the CUDA side is in backend/cuda/.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace wan {

// True when this build has the CUDA backend and a usable GPU is present.
bool cuda_available();
int cuda_device_count();  // 0 without the CUDA backend or a GPU
// A one-line description of the GPU ("NVIDIA H100 80GB HBM3, 132 SMs, 79.1 GiB"), or why there is none.
std::string cuda_device_summary();
// The GPU's compute capability as 10·major + minor (90 for an H100), 0 without a GPU: the one the
// engine's choices follow (FP8, our Hopper attention kernel). WAN_CUDA_CAPABILITY_LIMIT=89 (or 80,
// ...) in the environment lowers it, never raises it: a newer GPU then runs the paths of an older
// one (Ada's FP8 products with bf16 attention; bf16 only before Ada), for tests and comparisons.
int cuda_compute_capability();
// The limit WAN_CUDA_CAPABILITY_LIMIT sets (a number like 89), or 0 when it is unset; throws on a
// value that is not a capability.
int cuda_capability_limit();
// One CUDA device's properties (index < cuda_device_count()); free_memory only for the device this
// process computes on (-1 for the others: asking would start a context on them).
struct CudaDeviceProperties {
  std::string name;
  int compute_capability = 0;  // 10·major + minor, lowered to WAN_CUDA_CAPABILITY_LIMIT when that is set
  int multiprocessors = 0;
  int64_t total_memory = 0, free_memory = -1;
};
CudaDeviceProperties cuda_device_properties(int index);
// The GPU code this build carries ("sm_80 sm_89 sm_90a compute_90"), "" without the CUDA backend.
std::string cuda_build_targets();
// "CUDA runtime 13.0, driver API 13.0, cuBLASLt 13.1.0, cuDNN 9.14.0": the libraries loaded at run time.
std::string cuda_library_versions();
// Where the GPU's tuning choices are kept (core/tuning_cache.h): "<file> (N choices for this GPU
// and its libraries)", "off (WAN_TUNING_CACHE=off)", or the file and that it serves GPUs only.
std::string tuning_cache_description();

// A contiguous copy of `t` on `device` (t itself when it is already there and contiguous).
Tensor to_device(const Tensor& t, Device device);
// A host copy of t (a GPU tensor) in page-locked memory, which copies back to the GPU at full bus
// speed (ordinary host memory when the driver will not lock more).
Tensor to_pinned_host(const Tensor& t);
// An uninitialised tensor on `device`.
Tensor empty_on(const Shape& shape, DType dtype, Device device);
// An uninitialised channels-last tensor (Tensor::is_channels_last: [C, T, H, W] stored as
// [T, H, W, C]) on `device`: the layout of the GPU VAE's activations.
Tensor empty_channels_last_on(const Shape& shape, DType dtype, Device device);
// An uninitialised tensor of t's shape on t's device in `dtype`, with t's strides when t is dense
// (channels-last stays channels-last), else contiguous: what elementwise ops write.
Tensor empty_like_on_device(const Tensor& t, DType dtype);
// Waits for all queued GPU work (no-op without CUDA).
void device_synchronize();

// GPU tensor memory: bytes held by tensors now and at most since the last reset, and reserved
// from the driver (the caching pool). All zero without CUDA.
struct DeviceMemoryStats {
  int64_t in_use = 0, peak = 0, reserved = 0;
};
DeviceMemoryStats device_memory_stats();
// The GPU's free and total memory as the driver reports them (cudaMemGetInfo); zeros without a GPU.
struct DeviceMemoryInfo {
  int64_t free = 0, total = 0;
};
DeviceMemoryInfo device_memory_info();
void reset_device_peak_memory();

// On the tensor's device: zero it; copy src into dst (same dtype and size, contiguous);
// a converted copy (CUDA: bf16 ↔ f32).
void fill_zero_(Tensor& t);
void copy_into(Tensor& dst, const Tensor& src);  // on the GPU also between strided views of one shape
// Device-agnostic helpers for model code that runs on either device: zeros, a contiguous copy
// (or t itself when contiguous), and a fresh copy, each on t's device.
Tensor zeros_on(const Shape& shape, DType dtype, Device device);
Tensor contiguous_on_device(const Tensor& t);
Tensor clone_on_device(const Tensor& t);
Tensor convert_on_device(const Tensor& t, DType dtype);  // dense t keeps its strides
// GPU time by category, for benchmarks: region("attention") marks, on the stream, where work of
// that category starts; it lasts until the next region() or finish(). finish() waits for the GPU
// and returns milliseconds per category. Disabled (the default without CUDA) it costs nothing.
class StreamProfiler {
 public:
  explicit StreamProfiler(bool enabled);
  ~StreamProfiler();
  void region(const char* category);
  std::map<std::string, double> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Fills a GPU tensor (bf16 or f32) with normal random values from a counter-based generator.
void fill_normal_on_device(Tensor& t, uint64_t seed, double mean, double stddev);

}  // namespace wan
