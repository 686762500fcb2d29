// The video reader of a build without FFmpeg: it explains what is missing.
#include "core/error.h"
#include "io/video_reader.h"

namespace wan {

bool video_reader_available() { return false; }

int64_t read_video_frames(const std::string&, const std::function<void(const RgbFrame&)>&) {
  fail("this build has no FFmpeg, so it cannot read videos or PNG frames; install libavcodec-dev, libavformat-dev, "
       "libswscale-dev and libavutil-dev and rebuild");
}

}  // namespace wan
