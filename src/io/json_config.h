// Reading the small JSON configs (config.json, the .json beside a test model's .pth): parse with
// a message naming the file, and read optional keys with a clear type error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace wan {

// Parses `text` as a JSON object; errors name `origin`.
inline nlohmann::json parse_json_object(const std::string& text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(origin, ": not valid JSON: ", e.what());
  }
  WAN_CHECK(j.is_object(), origin, ": not a JSON object");
  return j;
}

// Sets `out` from j[key] when the key is present and not null; a value of the wrong type is an error.
template <typename T>
void read_json_key(const nlohmann::json& j, const char* key, T& out, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return;
  try {
    out = j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(origin, ": '", key, "' has the wrong type (", j[key].dump(), ")");
  }
}

}  // namespace wan
