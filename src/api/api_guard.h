// Inside the C API only: how an entry point turns exceptions into a status and the message that
// wan_last_error() returns (one per thread).
#pragma once

#include <new>
#include <string>

#include "core/error.h"
#include "pipeline/denoise.h"  // wan::Cancelled
#include "wan/wan.h"

namespace wan::api {

std::string& last_error();  // this thread's message

// Runs f (which returns a wan_status); exceptions become a status (`error_status` for a
// wan::Error) and the last error.
template <typename F>
wan_status guarded(wan_status error_status, F&& f) {
  try {
    last_error().clear();
    return f();
  } catch (const wan::Cancelled&) {
    last_error() = "cancelled by a callback; nothing was written";
    return WAN_ERROR_CANCELLED;
  } catch (const wan::Error& e) {
    last_error() = e.what();
    return error_status;
  } catch (const std::bad_alloc&) {
    last_error() = "out of host memory: try a smaller size or fewer frames";
    return WAN_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error() = std::string("internal error: ") + e.what();
    return WAN_ERROR_INTERNAL;
  } catch (...) {
    last_error() = "internal error: unknown exception";
    return WAN_ERROR_INTERNAL;
  }
}

// The C API's descriptive strings ("valid until the next call on this thread"): the text
// `describe` returns, or its error's message, kept in `slot` (the entry point's own thread_local
// string).
template <typename F>
const char* described(std::string& slot, F&& describe) {
  try {
    slot = describe();
  } catch (const std::exception& e) {
    slot = e.what();
  }
  return slot.c_str();
}

}  // namespace wan::api
