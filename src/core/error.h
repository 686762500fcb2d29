// Errors of the library: one exception type carrying a readable message.
//
// Inside the library every failure is a wan::Error; the C API (src/api) is the one place that
// turns it into a status code. Messages say what was wrong and, where a user can act, what to do.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace wan {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates any streamable values into one string: str("tensor ", name, " has ", n, " dims").
template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str(std::forward<Args>(args)...));
}

}  // namespace wan

// WAN_CHECK(cond, "message parts", value, ...): throws wan::Error with the message when cond is false.
#define WAN_CHECK(cond, ...)                 \
  do {                                       \
    if (!(cond)) ::wan::fail(__VA_ARGS__);   \
  } while (0)
