#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <mutex>

namespace wan {
namespace {

std::mutex g_mutex;
LogSink g_sink;  // guarded by g_mutex; empty means stderr
std::atomic<LogLevel> g_level{LogLevel::Info};

// WAN_LOG_LEVEL=debug|info|warning|error|off fixes the level for the whole process (for
// diagnosing a run without rebuilding); set_log_level cannot change it then.
int env_level() {
  static const int level = [] {
    const char* env = std::getenv("WAN_LOG_LEVEL");
    if (!env) return -1;
    const std::string v = env;
    for (LogLevel l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error, LogLevel::Off})
      if (v == log_level_name(l) || (l == LogLevel::Warn && v == "warn")) return int(l);
    return -1;
  }();
  return level;
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warning";
    case LogLevel::Error: return "error";
    case LogLevel::Off: return "off";
  }
  return "?";
}

void set_log_sink(LogSink sink) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_sink = std::move(sink);
}

void set_log_level(LogLevel level) { g_level.store(level); }
LogLevel log_level() { return env_level() >= 0 ? LogLevel(env_level()) : g_level.load(); }

namespace {
thread_local const LogSink* t_sink = nullptr;  // ScopedThreadLogSink's, on this thread
}

ScopedThreadLogSink::ScopedThreadLogSink(LogSink sink) : sink_(std::move(sink)), previous_(t_sink) {
  if (sink_) t_sink = &sink_;
}
ScopedThreadLogSink::~ScopedThreadLogSink() { t_sink = static_cast<const LogSink*>(previous_); }

void log_message(LogLevel level, const std::string& message) {
  if (level < log_level()) return;
  if (t_sink) {
    (*t_sink)(level, message);
    return;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_sink) {
    g_sink(level, message);
  } else {
    std::fprintf(stderr, "wan: %s: %s\n", log_level_name(level), message.c_str());
  }
}

}  // namespace wan
