// Test helper: load a checkpoint folder and return its decoded frame chunks for `params`
// (defaults filled in; the size warnings of tiny test sizes silenced).
#pragma once

#include <string>
#include <vector>

#include "core/log.h"
#include "pipeline/text_to_video.h"

namespace wan::test {

// A small, quick request for the tiny test models: 64x32, 5 frames, 2 steps.
inline GenerateParams tiny_request(uint64_t seed, const std::string& prompt) {
  GenerateParams p;
  p.width = 64;
  p.height = 32;
  p.frames = 5;
  p.steps = 2;
  p.seed = seed;
  p.prompt = prompt;
  return p;
}

inline std::vector<Tensor> generate_frames(const std::string& folder, const GenerateParams& params) {
  TextToVideo t2v = TextToVideo::load(folder);
  set_log_level(LogLevel::Error);
  const GenerateParams resolved = resolve_params(t2v.task(), params);
  set_log_level(LogLevel::Info);
  std::vector<Tensor> chunks;
  GenerateCallbacks cb;
  cb.on_frames = [&](const Tensor& f) { chunks.push_back(f.clone()); };
  t2v.generate(resolved, cb);
  return chunks;
}

}  // namespace wan::test
