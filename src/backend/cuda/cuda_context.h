// The CUDA backend's per-process state: the device, one stream, the cuBLASLt handle and its
// workspace (32 MiB, NVIDIA's advice for Hopper), and device memory for tensors.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <functional>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "core/tensor.h"
#include "core/tuning_cache.h"

namespace wan::cuda {

struct Context {
  int device = 0;
  cudaDeviceProp props{};
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* lt_workspace = nullptr;
  size_t lt_workspace_bytes = 0;
};

bool available();            // a device is present and the runtime initialises
std::string device_summary();
// The GPU code this build carries, from WAN_CUDA_GENCODE: "sm_80 sm_89 sm_90a compute_90".
std::string build_targets();
std::string library_versions();  // CUDA runtime/driver, cuBLASLt and cuDNN as loaded at run time
Context& context();          // created on first use; throws when no GPU is usable
// The tuning choices of this card, its libraries and this build (core/tuning_cache.h), or null
// when the cache is off (WAN_TUNING_CACHE=off). Its fingerprint holds a digest of the tuned ops'
// sources (src/CMakeLists.txt, WAN_TUNED_SOURCES): a change to our kernels or to a tuned op's
// candidates makes old choices void without anyone remembering to say so.
TuningCache* tuning_cache();

std::shared_ptr<Storage> allocate(size_t bytes);  // from the caching pool; returned with the storage

struct MemoryStats {
  int64_t in_use, peak, reserved;  // bytes held by tensors now, at most since reset, and from cudaMalloc
};
MemoryStats memory_stats();
DeviceMemoryInfo memory_info();  // cudaMemGetInfo
void reset_peak_memory();
void fill_zero(Tensor& t);
void copy(Tensor& dst, const Tensor& src);  // device to device, same dtype and size
Tensor empty(const Shape& shape, DType dtype);
Tensor to_device(const Tensor& host);  // contiguous copy, completed before returning
Tensor to_host(const Tensor& device);
// A host copy of a GPU tensor in page-locked memory (fast to copy back; pageable memory when the
// driver refuses to lock that much), completed before returning.
Tensor to_pinned_host(const Tensor& device);
void synchronize();

// CUDA graphs of work on the backend's stream (models/wan_dit_cuda.cpp captures its forward).
// capture() runs `work` with the stream capturing: its kernels and copies are recorded, not run,
// and every tensor it allocates comes from `memory` (made when null), blocks held for the graphs
// that share it, so that no later allocation can be given memory a replay writes. Graphs that
// share one GraphMemory must not run at the same time (one stream: they cannot). The memory goes
// back to the pool with the last graph and tensor that use it. Null, with `why`, when the work
// cannot be captured (it synchronised with the host, or threw): nothing was run then, and the
// caller runs the work itself.
struct GraphMemory;
class Graph {
 public:
  Graph(cudaGraphExec_t exec, std::shared_ptr<GraphMemory> memory);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void replay() const;  // queued on the backend's stream

 private:
  cudaGraphExec_t exec_ = nullptr;
  std::shared_ptr<GraphMemory> memory_;
};
std::unique_ptr<Graph> capture(const std::function<void()>& work, std::shared_ptr<GraphMemory>& memory,
                               std::string& why);

}  // namespace wan::cuda
