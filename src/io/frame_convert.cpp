// frame_to_rgb24 (io/video_writer.h): pure arithmetic, in every build (with or without FFmpeg).
#include <algorithm>

#include "io/video_writer.h"

namespace wan {

std::vector<uint8_t> frame_to_rgb24(const Tensor& frames_in, int64_t t) {
  const Tensor frames = frames_in.to(DType::F32).contiguous();
  const int64_t T = frames.size(1), H = frames.size(2), W = frames.size(3), S = H * W;
  std::vector<uint8_t> rgb(size_t(3 * S));
  const float* p = frames.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < S; ++i) {
      const float x = std::clamp(p[(c * T + t) * S + i], -1.0f, 1.0f);
      rgb[size_t(i * 3 + c)] = uint8_t((x - (-1.0f)) / 2.0f * 255.0f);  // make_grid(normalize) then ·255, truncated
    }
  return rgb;
}

}  // namespace wan
