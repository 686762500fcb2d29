/* wan.h: the C API of the Wan 2.2 video engine.
 *
 * Status codes and library information. Handles for models and pipelines arrive with the
 * pipeline; until then the C++ headers under src/ are the interface. Every function is safe to
 * call from any thread. */
#ifndef WAN_WAN_H
#define WAN_WAN_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wan_status {
  WAN_OK = 0,
  WAN_ERROR_INVALID_ARGUMENT = 1, /* bad input from the caller; the message says which */
  WAN_ERROR_IO = 2,               /* a file could not be read or written, or is malformed */
  WAN_ERROR_OUT_OF_MEMORY = 3,
  WAN_ERROR_UNSUPPORTED = 4, /* valid input this build cannot run */
  WAN_ERROR_INTERNAL = 5
} wan_status;

/* The library's version, "major.minor.patch". */
const char* wan_version(void);

/* A short English description of a status code. */
const char* wan_status_string(wan_status status);

/* The message of the last failed call on this thread ("" if none). Valid until the next call. */
const char* wan_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* WAN_WAN_H */
