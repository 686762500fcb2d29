#include "run_command.h"

#include <cstdio>
#include <new>
#include <stdexcept>

#include "cli_error.h"
#include "wan/wan.hpp"

int wan::cli::run_command(const std::string& label, const std::function<int()>& command) {
  try {
    return command();
  } catch (const CommandError& e) {  // the command's own checks
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
