// wan: the command-line tool of the Wan 2.2 engine.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.h"
#include "run_command.h"
#include "wan/wan.hpp"

namespace {

const char* kUsage =
    "usage: wan <command> [options]\n"
    "\n"
    "commands:\n"
    "  generate  text to video, written as mp4 (built-in demo checkpoint unless --ckpt-dir)\n"
    "  bench     time the DiT or the VAE on the GPU at a real size, a whole run, or loading ('wan bench dit|vae|e2e|load --help')\n"
    "  convert   rewrite a checkpoint folder in bf16 (or f16/f32) for fast reloads\n"
    "  random-checkpoint  a checkpoint folder with random weights at the real sizes (no download)\n"
    "  compare   two videos (mp4 or PNG folders) frame by frame: PSNR, SSIM, worst frame\n"
    "  info      describe a checkpoint folder or a .safetensors file, or this machine (--system)\n"
    "  version   print the version\n"
    "\n"
    "'wan <command> --help' describes a command's options. Engine developers' instruments (one DiT forward\n"
    "against a golden case, the FP8 error block by block) are in wan-dev.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  const std::string name = command;
  // One of several GPUs' processes (started by the launcher): its messages say which.
  if (const char* rank = std::getenv("WAN_RANK"); rank && *rank) command += std::string(" (rank ") + rank + ")";
  return wan::cli::run_command("wan " + command, [&]() -> int {
    if (name == "version" || name == "--version") {
      std::printf("wan %s\n", wan_version());
      return 0;
    }
    if (name == "info") return wan::cli::cmd_info(args);
    if (name == "generate") return wan::cli::cmd_generate(args);
    if (name == "bench") return wan::cli::cmd_bench(args);
    if (name == "compare") return wan::cli::cmd_compare(args);
    if (name == "convert") return wan::cli::cmd_convert(args);
    if (name == "random-checkpoint") return wan::cli::cmd_random_checkpoint(args);
    if (name == "dit") {
      std::fprintf(stderr, "wan: 'wan dit' moved to the developers' tool: wan-dev dit (same options)\n");
      return 2;
    }
    std::fprintf(stderr, "wan: unknown command '%s'\n\n%s", name.c_str(), kUsage);
    return 2;
  });
}
