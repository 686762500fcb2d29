// The C API: the one place where exceptions become status codes.
#include "wan/wan.h"

#include <string>

namespace {
thread_local std::string t_last_error;
}

extern "C" {

const char* wan_version(void) { return WAN_VERSION_STRING; }

const char* wan_status_string(wan_status status) {
  switch (status) {
    case WAN_OK: return "ok";
    case WAN_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case WAN_ERROR_IO: return "input/output error";
    case WAN_ERROR_OUT_OF_MEMORY: return "out of memory";
    case WAN_ERROR_UNSUPPORTED: return "unsupported";
    case WAN_ERROR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char* wan_last_error(void) { return t_last_error.c_str(); }

}  // extern "C"
