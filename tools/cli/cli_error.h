// The CLI's own errors: a bad option or argument, a request the command refuses. Thrown by
// CLI_CHECK / fail, reported by run_command (exit code 1). The CLI does not use the engine's
// internal error type: `wan` sees the engine only through the public API (wan/wan.hpp), whose
// failures arrive as wan::api::Error.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace wan::cli {

class CommandError : public std::runtime_error {
 public:
  explicit CommandError(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates any streamable values: str("--size '", s, "' must be W*H").
template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw CommandError(str(std::forward<Args>(args)...));
}

}  // namespace wan::cli

// CLI_CHECK(cond, "message parts", value, ...): throws wan::cli::CommandError when cond is false.
#define CLI_CHECK(cond, ...)                   \
  do {                                         \
    if (!(cond)) ::wan::cli::fail(__VA_ARGS__); \
  } while (0)
