#include "backend/cuda/cuda_context.h"

#include <cudnn.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cudnn_check.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::cuda {

bool available() {
  static const bool ok = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
      cudaGetLastError();  // clear the sticky "no device" error
      return false;
    }
    return true;
  }();
  return ok;
}

std::string device_summary() {
  if (!available()) return "no CUDA device";
  const Context& c = context();
  return str(c.props.name, ", ", c.props.multiProcessorCount, " SMs, ",
             double(c.props.totalGlobalMem) / double(1ull << 30), " GiB, compute ", c.props.major, ".", c.props.minor);
}

std::string build_targets() { return WAN_CUDA_TARGETS; }

std::string library_versions() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  const size_t lt = cublasLtGetVersion();
  const size_t dnn = cudnnGetVersion();  // the library loaded at run time, not the header's
  return str("CUDA runtime ", runtime / 1000, ".", runtime % 1000 / 10, ", driver API ", driver / 1000, ".",
             driver % 1000 / 10, ", cuBLASLt ", lt / 10000, ".", lt / 100 % 100, ".", lt % 100, ", cuDNN ",
             dnn / 10000, ".", dnn / 100 % 100, ".", dnn % 100);
}

// The sources of what the tuned ops choose between (our attention kernel, the candidate lists, the
// cuBLASLt and cuDNN plans) as a digest src/CMakeLists.txt computes: an edit to any of them makes
// every stored choice void.
std::string tuned_sources_digest() {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(WAN_TUNED_SOURCES_DIGEST));
  return hex;
}

TuningCache* tuning_cache() {
  static std::unique_ptr<TuningCache> cache = [] {
    const std::string path = default_tuning_cache_path();
    if (path.empty() || !available()) return std::unique_ptr<TuningCache>();
    return std::make_unique<TuningCache>(path, str(device_summary(), "; ", library_versions(), "; wan ",
                                                   WAN_VERSION_STRING, " tuned sources ", tuned_sources_digest()));
  }();
  return cache.get();
}

Context& context() {
  static Context ctx;
  static std::once_flag once;
  std::call_once(once, [] {
    WAN_CHECK(available(), "no usable CUDA device (use --device cpu)");
    WAN_CUDA_CHECK(cudaGetDevice(&ctx.device));
    WAN_CUDA_CHECK(cudaGetDeviceProperties(&ctx.props, ctx.device));
    // A build for other GPUs fails here with what to do, not at its first kernel.
    const std::string no_code = ops::cuda::device_code_error();
    WAN_CHECK(no_code.empty(), "this build has no GPU code that runs on ", ctx.props.name, " (compute ", ctx.props.major,
              ".", ctx.props.minor, "): it carries ", build_targets(), " (", no_code,
              "). Rebuild with CMake's default WAN_CUDA_GENCODE, or add -gencode=arch=compute_", ctx.props.major,
              ctx.props.minor, ",code=sm_", ctx.props.major, ctx.props.minor, " to it; or use --device cpu");
    WAN_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
    WAN_CUBLAS_CHECK(cublasLtCreate(&ctx.lt));
    ctx.lt_workspace_bytes = 32ull << 20;
    WAN_CUDA_CHECK(cudaMalloc(&ctx.lt_workspace, ctx.lt_workspace_bytes));
  });
  return ctx;
}

namespace {

// A caching allocator: freed blocks wait, by exact (rounded) size, for the next request of that
// size, so a forward that repeats the same shapes block after block stops calling cudaMalloc
// (synchronous and slow) after its first block. Everything is freed only when memory runs out.
struct Pool {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free;
  size_t in_use = 0, peak = 0, reserved = 0;

  void release_cached() {  // with the mutex held
    for (auto& [size, blocks] : free)
      for (void* p : blocks) {
        cudaFree(p);
        reserved -= size;
      }
    free.clear();
  }
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: storages may outlive static destruction
  return *p;
}

}  // namespace

MemoryStats memory_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return {int64_t(p.in_use), int64_t(p.peak), int64_t(p.reserved)};
}

void reset_peak_memory() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.peak = p.in_use;
}

// Blocks held for captured graphs (see Graph in cuda_context.h): taken from the caching pool (so
// they count as in use there), handed to the tensors a capture allocates, returned here, never to
// the pool, until the last graph and tensor using this memory are gone.
struct GraphMemory {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free;
  std::vector<std::shared_ptr<Storage>> held;
};

namespace {
thread_local std::shared_ptr<GraphMemory> capturing_into;  // set while capture() runs its work

std::shared_ptr<Storage> allocate_from_pool(size_t bytes);

std::shared_ptr<Storage> allocate_for_graph(const std::shared_ptr<GraphMemory>& m, size_t bytes) {
  const size_t size = (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(m->mutex);
    auto it = m->free.find(size);
    if (it != m->free.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
    }
  }
  if (!p) {
    std::shared_ptr<Storage> block = allocate_from_pool(size);
    p = block->data();
    std::lock_guard<std::mutex> lock(m->mutex);
    m->held.push_back(std::move(block));
  }
  std::shared_ptr<void> owner(p, [m, size](void* q) {
    std::lock_guard<std::mutex> lock(m->mutex);
    m->free[size].push_back(q);
  });
  return std::make_shared<Storage>(p, bytes, Device::CUDA, owner);
}
}  // namespace

std::shared_ptr<Storage> allocate(size_t bytes) {
  if (capturing_into) return allocate_for_graph(capturing_into, bytes);
  return allocate_from_pool(bytes);
}

namespace {
std::shared_ptr<Storage> allocate_from_pool(size_t bytes) {
  context();
  const size_t size = (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
  Pool& pl = pool();
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(pl.mutex);
    auto it = pl.free.find(size);
    if (it != pl.free.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
    } else {
      cudaError_t err = cudaMalloc(&p, size);
      if (err != cudaSuccess) {  // give the cached blocks back and try once more
        cudaGetLastError();
        WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
        pl.release_cached();
        err = cudaMalloc(&p, size);
      }
      if (err != cudaSuccess) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        fail("out of GPU memory: could not allocate ", bytes >> 20, " MiB (", free_b >> 20, " MiB free of ",
             total_b >> 20, " MiB); use a smaller size or frame count");
      }
      pl.reserved += size;
    }
    pl.in_use += size;
    pl.peak = std::max(pl.peak, pl.in_use);
  }
  // Work queued on the stream may still use the block when it is returned; the stream orders any
  // later use after it, since everything runs on the one stream.
  std::shared_ptr<void> owner(p, [size](void* q) {
    Pool& pl2 = pool();
    std::lock_guard<std::mutex> lock(pl2.mutex);
    pl2.free[size].push_back(q);
    pl2.in_use -= size;
  });
  return std::make_shared<Storage>(p, bytes, Device::CUDA, owner);
}
}  // namespace

Graph::Graph(cudaGraphExec_t exec, std::shared_ptr<GraphMemory> memory) : exec_(exec), memory_(std::move(memory)) {}

Graph::~Graph() {
  if (exec_) cudaGraphExecDestroy(exec_);
}

void Graph::replay() const { WAN_CUDA_CHECK(cudaGraphLaunch(exec_, context().stream)); }

std::unique_ptr<Graph> capture(const std::function<void()>& work, std::shared_ptr<GraphMemory>& memory,
                               std::string& why) {
  const cudaStream_t stream = context().stream;
  if (!memory) memory = std::make_shared<GraphMemory>();
  // Relaxed: the work may call cudaMalloc (through the pool) while it is captured.
  WAN_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
  capturing_into = memory;
  bool ok = true;
  try {
    work();
  } catch (const std::exception& e) {
    ok = false;
    why = e.what();
  }
  capturing_into = nullptr;
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  if (ended != cudaSuccess && ok) {
    ok = false;
    why = str("cudaStreamEndCapture: ", cudaGetErrorString(ended));
  }
  cudaGraphExec_t exec = nullptr;
  if (ok) {
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    if (made != cudaSuccess) {
      ok = false;
      why = str("cudaGraphInstantiate: ", cudaGetErrorString(made));
      exec = nullptr;
    }
  }
  if (graph) cudaGraphDestroy(graph);
  cudaGetLastError();  // a failed capture leaves its error behind; the caller runs the work uncaptured
  if (!ok) return nullptr;
  return std::make_unique<Graph>(exec, memory);
}

Tensor empty(const Shape& shape, DType dtype) {
  return Tensor::from_storage(allocate(size_t(shape_numel(shape)) * dtype_size(dtype)), 0, shape, dtype);
}

Tensor to_device(const Tensor& host_in) {
  WAN_CHECK(host_in.device() == Device::CPU, "to_device: the tensor is already on the GPU");
  const Tensor host = host_in.contiguous();
  Tensor out = empty(host.shape(), host.dtype());
  WAN_CUDA_CHECK(cudaMemcpyAsync(out.data_ptr(), host.data_ptr(), host.nbytes(), cudaMemcpyHostToDevice, context().stream));
  WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
  return out;
}

Tensor to_host(const Tensor& dev) {
  WAN_CHECK(dev.device() == Device::CUDA, "to_host: the tensor is not on the GPU");
  if (!dev.is_contiguous()) {  // gather on the GPU first, then one transfer
    Tensor packed = empty(dev.shape(), dev.dtype());
    copy(packed, dev);
    return to_host(packed);
  }
  Tensor out = Tensor::empty(dev.shape(), dev.dtype());
  WAN_CUDA_CHECK(cudaMemcpyAsync(out.data_ptr(), dev.data_ptr(), dev.nbytes(), cudaMemcpyDeviceToHost, context().stream));
  WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
  return out;
}

Tensor to_pinned_host(const Tensor& dev_in) {
  WAN_CHECK(dev_in.device() == Device::CUDA, "to_pinned_host: the tensor is not on the GPU");
  const Tensor dev = dev_in.is_contiguous() ? dev_in : [&] {
    Tensor packed = empty(dev_in.shape(), dev_in.dtype());
    copy(packed, dev_in);
    return packed;
  }();
  void* p = nullptr;
  if (cudaHostAlloc(&p, std::max<size_t>(dev.nbytes(), 1), cudaHostAllocDefault) != cudaSuccess) {
    cudaGetLastError();  // no page-locked memory left: an ordinary (slower) host copy
    return to_host(dev);
  }
  std::shared_ptr<void> owner(p, [](void* q) { cudaFreeHost(q); });
  auto storage = std::make_shared<Storage>(p, dev.nbytes(), Device::CPU, owner);
  Tensor out = Tensor::from_storage(storage, 0, dev.shape(), dev.dtype());
  WAN_CUDA_CHECK(cudaMemcpyAsync(p, dev.data_ptr(), dev.nbytes(), cudaMemcpyDeviceToHost, context().stream));
  WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
  return out;
}

void synchronize() { WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream)); }

cudnnHandle_t cudnn_handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t created = nullptr;
    WAN_CUDNN_CHECK(cudnnCreate(&created));
    WAN_CUDNN_CHECK(cudnnSetStream(created, context().stream));
    return created;
  }();
  return h;
}

DeviceMemoryInfo memory_info() {
  context();
  size_t free = 0, total = 0;
  WAN_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return {int64_t(free), int64_t(total)};
}

void fill_zero(Tensor& t) {
  if (t.numel() == 0) return;
  WAN_CHECK(t.device() == Device::CUDA && t.is_dense(), "fill_zero: needs a dense GPU tensor, got ", t.describe());
  WAN_CUDA_CHECK(cudaMemsetAsync(t.data_ptr(), 0, t.nbytes(), context().stream));
}

void copy(Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0 && src.numel() == 0) return;
  WAN_CHECK(dst.device() == Device::CUDA && src.device() == Device::CUDA && dst.dtype() == src.dtype() &&
                dst.numel() == src.numel(),
            "copy: needs GPU tensors of one dtype and size, got ", dst.describe(), " and ", src.describe());
  // One block of memory each, elements in the same order (contiguous, or e.g. time windows of
  // channels-last videos): a plain copy.
  if ((dst.is_contiguous() && src.is_contiguous()) ||
      (dst.is_dense() && src.is_dense() && dst.shape() == src.shape() && dst.strides() == src.strides())) {
    WAN_CUDA_CHECK(
        cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), src.nbytes(), cudaMemcpyDeviceToDevice, context().stream));
    return;
  }
  WAN_CHECK(dst.shape() == src.shape(), "copy: strided copies need equal shapes, got ", dst.describe(), " and ",
            src.describe());
  ops::cuda::strided_copy(dst, src);
}

}  // namespace wan::cuda
