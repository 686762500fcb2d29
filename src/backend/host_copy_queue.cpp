#include "backend/host_copy_queue.h"

#include <cstring>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#endif

namespace wan {

struct HostCopyQueue::Entry {
  Tensor source;  // the GPU tensor until its copy has landed; the host tensor itself otherwise
#ifdef WAN_HAVE_CUDA
  void* pinned = nullptr;
  size_t bytes = 0;
  cudaEvent_t landed = nullptr;
#endif
};

struct HostCopyQueue::Staging {
#ifdef WAN_HAVE_CUDA
  cudaStream_t stream = nullptr;
  std::vector<std::pair<size_t, void*>> free_buffers;  // page-locked, by size, for reuse

  void* buffer(size_t bytes) {
    for (size_t i = 0; i < free_buffers.size(); ++i)
      if (free_buffers[i].first == bytes) {
        void* p = free_buffers[i].second;
        free_buffers.erase(free_buffers.begin() + long(i));
        return p;
      }
    void* p = nullptr;
    if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;  // no page-locked memory left: the caller copies synchronously
    }
    return p;
  }

  ~Staging() {
    for (auto& [size, p] : free_buffers) cudaFreeHost(p);
    if (stream) cudaStreamDestroy(stream);
  }
#endif
};

HostCopyQueue::HostCopyQueue() : staging_(std::make_unique<Staging>()) {}

HostCopyQueue::~HostCopyQueue() {
  while (!entries_.empty()) {
    try {
      pop();
    } catch (const std::exception&) {  // a failed copy's error was the GPU's; nothing more to release
    }
  }
}

void HostCopyQueue::push(const Tensor& t) {
  auto e = std::make_unique<Entry>();
  if (t.device() == Device::CPU) {
    e->source = t.contiguous();
    entries_.push_back(std::move(e));
    return;
  }
#ifdef WAN_HAVE_CUDA
  e->source = contiguous_on_device(t);
  e->bytes = e->source.nbytes();
  e->pinned = e->bytes > 0 ? staging_->buffer(e->bytes) : nullptr;
  if (e->pinned) {
    if (!staging_->stream) WAN_CUDA_CHECK(cudaStreamCreateWithFlags(&staging_->stream, cudaStreamNonBlocking));
    cudaEvent_t produced = nullptr;
    WAN_CUDA_CHECK(cudaEventCreateWithFlags(&produced, cudaEventDisableTiming));
    WAN_CUDA_CHECK(cudaEventRecord(produced, cuda::context().stream));
    WAN_CUDA_CHECK(cudaStreamWaitEvent(staging_->stream, produced, 0));
    WAN_CUDA_CHECK(cudaEventDestroy(produced));  // the wait above already captured it
    WAN_CUDA_CHECK(cudaMemcpyAsync(e->pinned, e->source.data_ptr(), e->bytes, cudaMemcpyDeviceToHost, staging_->stream));
    WAN_CUDA_CHECK(cudaEventCreateWithFlags(&e->landed, cudaEventDisableTiming));
    WAN_CUDA_CHECK(cudaEventRecord(e->landed, staging_->stream));
  } else {
    e->source = to_device(e->source, Device::CPU);  // synchronously, as before
  }
  entries_.push_back(std::move(e));
#else
  fail("HostCopyQueue: a GPU tensor without the CUDA backend");
#endif
}

Tensor HostCopyQueue::pop() {
  WAN_CHECK(!entries_.empty(), "HostCopyQueue::pop: nothing queued");
  std::unique_ptr<Entry> e = std::move(entries_.front());
  entries_.pop_front();
#ifdef WAN_HAVE_CUDA
  if (e->pinned) {
    const cudaError_t waited = cudaEventSynchronize(e->landed);
    cudaEventDestroy(e->landed);
    Tensor out;
    if (waited == cudaSuccess) {
      out = Tensor::empty(e->source.shape(), e->source.dtype());
      std::memcpy(out.data_ptr(), e->pinned, e->bytes);
    }
    staging_->free_buffers.emplace_back(e->bytes, e->pinned);
    WAN_CUDA_CHECK(waited);
    return out;  // e->source (the GPU tensor) is released here, after its copy landed
  }
#endif
  return e->source;
}

}  // namespace wan
