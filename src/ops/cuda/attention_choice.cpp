// ops/cuda/attention_choice.h: look up, else time and store.
#include "ops/cuda/attention_choice.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "core/log.h"
#include "ops/cuda/flash_attention_sm90.h"

namespace wan::ops::cuda {

bool choose_attention(const AttentionChoiceInputs& in, std::vector<Candidate>& candidates) {
  const auto start = std::chrono::steady_clock::now();
  TuningCache* cache = in.cache;
  const std::optional<std::string> stored = cache ? cache->lookup(in.problem) : std::nullopt;
  const bool stored_ours = stored && *stored == "ours" && in.ours_fits;
  bool ours = stored_ours;
  if (!stored_ours) {
    in.build_candidates();
    size_t index = 0;
    if (stored && std::sscanf(stored->c_str(), "cudnn %zu", &index) == 1 && index < candidates.size()) {
      std::swap(candidates[0], candidates[index]);
    } else {
      const size_t best = candidates.empty() ? 0 : keep_fastest(candidates, ("cuDNN " + in.what).c_str(), in.run_cudnn);
      if (in.ours_fits)
        ours = candidates.empty() ||
               flash_sm90_is_faster([&] { in.run_cudnn(candidates.front()); }, in.run_ours, in.what.c_str());
      if (cache && (ours || !candidates.empty())) cache->store(in.problem, ours ? "ours" : str("cudnn ", best));
    }
  }
  WAN_LOG_DEBUG(in.what, ": planning and choosing took ",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), " s",
                stored ? " (choice from the tuning cache)" : "");
  return ours;
}

}  // namespace wan::ops::cuda
