// Multithreading over outer dimensions for the CPU reference.
//
// parallel_for splits [0, n) into contiguous chunks and runs them on a persistent pool. Each
// index must be computed independently of the others, so results do not depend on the number of
// threads. Nested calls run inline on the calling thread.
#pragma once

#include <cstdint>
#include <functional>

namespace wan {

// Calls fn(begin, end) over disjoint chunks covering [0, n). `grain` is the smallest chunk worth a thread.
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

// Number of worker threads (WAN_NUM_THREADS, else the hardware's count). Set before first use.
int num_threads();
void set_num_threads(int n);

}  // namespace wan
