// Small text helpers shared across the library.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace wan {

// `s` with its ASCII letters in lower case: for names, options and file names compared without
// regard to case (deliberately not locale-aware).
inline std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace wan
