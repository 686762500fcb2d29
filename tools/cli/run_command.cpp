#include "run_command.h"

#include <cstdio>
#include <new>
#include <stdexcept>

#include "core/error.h"
#include "wan/wan.hpp"

int wan::cli::run_command(const std::string& label, const std::function<int()>& command) {
  try {
    return command();
  } catch (const wan::Error& e) {  // the CLI's own checks and the engine's (wan-dev)
    std::fprintf(stderr, "%s: error: %s\n", label.c_str(), e.what());
    return 1;
  } catch (const wan::api::Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", label.c_str(), e.what());
    return e.status() == WAN_ERROR_INTERNAL ? 3 : 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of host memory\n", label.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", label.c_str(), e.what());
    return 3;
  }
}
