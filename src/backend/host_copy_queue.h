// Tensors leaving the GPU without stopping it. A decode hands its frames to the host chunk by
// chunk; a plain copy back waits for the GPU to drain, the copy to cross the bus and the host to
// queue the next chunk's first kernels, and the GPU idles all that time. push() instead queues
// the copy behind the work that produces the tensor, on a second stream into page-locked staging
// memory, and returns at once; pop() waits for the oldest copy (long landed, normally: the next
// chunk was queued in between) and hands back an ordinary host tensor.
// Host tensors pass through unchanged. One producer thread; the queue keeps each GPU tensor alive
// until its copy has landed (the caching allocator may otherwise hand the block to later work).
#pragma once

#include <deque>
#include <memory>

#include "core/tensor.h"

namespace wan {

class HostCopyQueue {
 public:
  HostCopyQueue();
  ~HostCopyQueue();  // waits for copies in flight
  HostCopyQueue(const HostCopyQueue&) = delete;
  HostCopyQueue& operator=(const HostCopyQueue&) = delete;

  void push(const Tensor& t);  // t on the GPU (made contiguous there first) or on the host
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  Tensor pop();  // the oldest pushed tensor as a contiguous host tensor; the queue must not be empty

 private:
  struct Entry;
  struct Staging;
  std::deque<std::unique_ptr<Entry>> entries_;
  std::unique_ptr<Staging> staging_;  // the second stream and reusable page-locked buffers
};

}  // namespace wan
