// Writing generated videos: H.264 mp4 through FFmpeg's libraries, as the official code writes it
// (wan/utils/utils.py save_video: imageio-ffmpeg, libx264, CRF 10, yuv420p), and PNG frames.
//
// Frames arrive as [3, t, H, W] f32 in [−1, 1], chunk by chunk (the VAE streams them); each pixel
// becomes uint8(((x + 1) / 2) · 255), truncated, as the official code does. The mp4 is written to
// a temporary name in the target folder and renamed when finish() completes; a writer destroyed
// before that (an error, Ctrl-C) removes the temporary file, so no partial video is ever left.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace wan {

class VideoWriter {
 public:
  VideoWriter(const std::string& path, int64_t width, int64_t height, int64_t fps, int crf = 10);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const Tensor& frames);  // [3, t, H, W]
  void finish();                     // flush, close, rename into place
  int64_t frames_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when this build writes videos (FFmpeg's libraries were found at build time).
bool video_writer_available();

// "FFmpeg libavcodec 59.37.100, libavformat 59.27.100, libswscale 6.7.100, libavutil 57.28.100"
// (the libraries loaded at run time), or why there are none.
std::string video_library_versions();

// Writes frames as `<dir>/frame_00000.png`, ... starting at `first_index`; the folder must exist.
void write_png_frames(const std::string& dir, const Tensor& frames, int64_t first_index);

// uint8(((x + 1) / 2) · 255) with x clamped to [−1, 1]: frame t of [3, T, H, W] as packed RGB24.
std::vector<uint8_t> frame_to_rgb24(const Tensor& frames, int64_t t);

}  // namespace wan
