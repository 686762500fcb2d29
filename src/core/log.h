// Logging: levels, a replaceable sink, and stderr by default.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"

namespace wan {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

// The sink receives every message at or above the threshold. Thread-safe: calls are serialised.
using LogSink = std::function<void(LogLevel, const std::string&)>;

void set_log_sink(LogSink sink);  // nullptr restores the default (stderr)
void set_log_level(LogLevel level);  // the environment variable WAN_LOG_LEVEL, when set, overrides it
LogLevel log_level();
void log_message(LogLevel level, const std::string& message);
const char* log_level_name(LogLevel level);

// While it lives, messages logged on this thread go to `sink` (if not empty) instead of the
// process-wide sink: the C API's per-context log callback.
class ScopedThreadLogSink {
 public:
  explicit ScopedThreadLogSink(LogSink sink);
  ~ScopedThreadLogSink();
  ScopedThreadLogSink(const ScopedThreadLogSink&) = delete;
  ScopedThreadLogSink& operator=(const ScopedThreadLogSink&) = delete;

 private:
  LogSink sink_;
  const void* previous_;
};

template <typename... Args>
void log_at(LogLevel level, Args&&... args) {
  if (level >= log_level()) log_message(level, str(std::forward<Args>(args)...));
}

}  // namespace wan

#define WAN_LOG_DEBUG(...) ::wan::log_at(::wan::LogLevel::Debug, __VA_ARGS__)
#define WAN_LOG_INFO(...) ::wan::log_at(::wan::LogLevel::Info, __VA_ARGS__)
#define WAN_LOG_WARN(...) ::wan::log_at(::wan::LogLevel::Warn, __VA_ARGS__)
#define WAN_LOG_ERROR(...) ::wan::log_at(::wan::LogLevel::Error, __VA_ARGS__)
