#include "core/memory.h"

#include <atomic>

namespace wan {
namespace {
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};
}  // namespace

void note_host_alloc(int64_t bytes) {
  const int64_t now = g_live.fetch_add(bytes) + bytes;
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

void note_host_free(int64_t bytes) { g_live.fetch_sub(bytes); }

HostMemoryStats host_memory_stats() { return {g_live.load(), g_peak.load()}; }

void reset_host_memory_peak() { g_peak.store(g_live.load()); }

}  // namespace wan
