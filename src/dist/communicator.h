// Collective operations between the ranks of one video (dist/parallel.h), on GPU tensors, queued
// on the engine's CUDA stream like every other GPU op. Backed by NCCL, which is loaded at run time
// (libnccl.so.2, or the file WAN_NCCL_LIBRARY names): a build needs no NCCL headers, and a machine
// without NCCL runs everything but several GPUs.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "dist/parallel.h"

namespace wan::dist {

// True when NCCL can be loaded (and this build has CUDA).
bool nccl_available();
// "NCCL 2.27.7 (libnccl.so.2)", or why it cannot be loaded.
std::string nccl_description();
// A fresh NCCL unique id as 256 hex digits, for a launcher to hand to every rank.
std::string nccl_unique_id_hex();

class Communicator {
 public:
  // Joins the ranks of `info` (every rank calls this; it returns when all have).
  static std::shared_ptr<Communicator> init(const RankInfo& info);
  ~Communicator();

  int rank() const;
  int size() const;
  // Ranks with the same `color` form a new communicator, ordered by `key` (collective).
  std::shared_ptr<Communicator> split(int color, int key) const;

  // send [size, ...] contiguous: part p goes to rank p; recv (same shape and dtype) gets rank p's
  // part for this rank in its part p.
  void all_to_all(const Tensor& send, Tensor& recv) const;
  // recv [size, ...send's shape]: every rank's send, in rank order.
  void all_gather(const Tensor& send, Tensor& recv) const;
  // t (contiguous, on the GPU) on every rank becomes `root`'s.
  void broadcast(Tensor& t, int root) const;
  // Returns when every rank has called it and the stream's work before it is done.
  void barrier() const;

  struct Impl;
  explicit Communicator(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wan::dist
