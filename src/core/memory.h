// Host memory accounting of tensor storages: bytes alive now and the peak since the last reset.
// Memory-mapped checkpoints are not counted (they are not allocations).
#pragma once

#include <cstdint>

namespace wan {

struct HostMemoryStats {
  int64_t live_bytes;
  int64_t peak_bytes;
};

HostMemoryStats host_memory_stats();
void reset_host_memory_peak();  // peak := live

// Called by the allocator.
void note_host_alloc(int64_t bytes);
void note_host_free(int64_t bytes);

}  // namespace wan
