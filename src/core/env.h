// Environment switches: the engine's WAN_* settings read the same way everywhere.
#pragma once

#include <cstdlib>
#include <cstring>

namespace wan {

// Whether the environment sets `name` to exactly `value`.
inline bool env_is(const char* name, const char* value) {
  const char* env = std::getenv(name);
  return env && std::strcmp(env, value) == 0;
}

}  // namespace wan
