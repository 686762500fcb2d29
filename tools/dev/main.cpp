// wan-dev: the engine developers' instruments (see dev_commands.h); users have `wan`.
#include <cstdio>
#include <string>
#include <vector>

#include "cli_error.h"
#include "core/error.h"
#include "dev_commands.h"
#include "run_command.h"

namespace {

const char* kUsage =
    "usage: wan-dev <command> [options]\n"
    "\n"
    "commands (for engine developers; `wan` is the user's tool):\n"
    "  dit   run the diffusion transformer once on the CPU reference (built-in demo checkpoint and golden case\n"
    "        unless --checkpoint / --case), comparing with the case's reference outputs\n"
    "  fp8   what FP8 costs in accuracy at a real width, block by block (CPU emulation, or --device cuda)\n"
    "\n"
    "'wan-dev <command> --help' describes a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  return wan::cli::run_command("wan-dev " + name, [&]() -> int {
    try {
      if (name == "dit") return wan::cli::cmd_dit(args);
      if (name == "fp8") return wan::cli::cmd_fp8(args);
    } catch (const wan::Error& e) {  // the engine's own errors: these instruments call it directly
      throw wan::cli::CommandError(e.what());
    }
    std::fprintf(stderr, "wan-dev: unknown command '%s'\n\n%s", name.c_str(), kUsage);
    return 2;
  });
}
