// The video writers of a build without FFmpeg: every call explains what is missing.
#include "core/error.h"
#include "io/video_writer.h"

namespace wan {

namespace {
[[noreturn]] void no_ffmpeg() {
  fail("this build has no FFmpeg, so it cannot write mp4 or PNG files; install libavcodec-dev, libavformat-dev, "
       "libswscale-dev and libavutil-dev and rebuild");
}
}  // namespace

bool video_writer_available() { return false; }

std::string video_library_versions() { return "none (built without FFmpeg)"; }

struct VideoWriter::Impl {};
VideoWriter::VideoWriter(const std::string&, int64_t, int64_t, int64_t, int) { no_ffmpeg(); }
VideoWriter::~VideoWriter() = default;
void VideoWriter::write(const Tensor&) { no_ffmpeg(); }
void VideoWriter::finish() { no_ffmpeg(); }
int64_t VideoWriter::frames_written() const { return 0; }
void write_png_frames(const std::string&, const Tensor&, int64_t) { no_ffmpeg(); }

}  // namespace wan
