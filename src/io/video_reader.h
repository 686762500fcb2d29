// Reading videos back as RGB24 frames: an mp4 (or any file FFmpeg can decode) or a folder of
// PNG frames (read in name order), for `wan compare`. Frames are width x height x 3 bytes, rows
// top to bottom.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wan {

struct RgbFrame {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // height · width · 3
};

// True when this build has FFmpeg to read videos (false: read_video_frames throws, saying so).
bool video_reader_available();

// Calls `sink` with each frame of `path` (a video file or a folder of .png files) in order;
// throws naming the file when it cannot be opened or decoded. Returns the frame count.
int64_t read_video_frames(const std::string& path, const std::function<void(const RgbFrame&)>& sink);

}  // namespace wan
