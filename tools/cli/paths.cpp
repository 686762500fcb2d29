// Where the demo data and the demo checkpoint are (commands.h), shared by `wan` and `wan-dev`.
#include <cstdlib>
#include <string>

#include "commands.h"

std::string wan::cli::data_dir() {
  if (const char* env = std::getenv("WAN_DATA_DIR"); env && *env) return env;
  return WAN_DATA_DIR;
}

std::string wan::cli::demo_checkpoint_dir() {
  if (const char* env = std::getenv("WAN_DEMO_CHECKPOINT"); env && *env) return env;
  return WAN_DEMO_CHECKPOINT;
}
