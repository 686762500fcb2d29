// FFmpeg's message for an error code (shared by the video writer and reader).
#pragma once

#include <string>

extern "C" {
#include <libavutil/error.h>
}

namespace wan {

inline std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

}  // namespace wan
