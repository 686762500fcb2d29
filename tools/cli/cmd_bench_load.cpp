// wan bench load: loading a checkpoint folder against reading its files (issue 7's measure: a
// load should take at most 1.3x the time to read the files from disk). Both passes start cold:
// every file's pages are dropped from the page cache first (posix_fadvise DONTNEED, which needs
// no privileges for files nobody is writing), so both pay for the disk. The load is a context
// creation of the public API, which returns with the weights in place.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "args.h"
#include "commands.h"
#include "common_options.h"
#include "cli_error.h"
#include "wan/wan.hpp"

namespace fs = std::filesystem;

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"ckpt-dir", true, "checkpoint folder (default: the built-in demo checkpoint)", {"ckpt_dir"}},
    {"device", true, "cpu or cuda: where the models are loaded (default cuda when a GPU is present)", {}},
    {"precision", true, "bf16 or fp8: the DiTs' weights on the GPU (default bf16)", {}},
    {"warm", false, "keep the page cache (measure from memory, not from the disk)", {}},
    {"help", false, "show this help", {"h"}},
};

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<fs::path> files_of(const std::string& folder) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(folder, fs::directory_options::follow_directory_symlink))
    if (e.is_regular_file()) files.push_back(e.path());
  return files;
}

// Drops the files' cached pages, so the next read comes from the disk.
void drop_cache(const std::vector<fs::path>& files) {
  for (const fs::path& f : files) {
    const int fd = ::open(f.c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

// Reads every file once, sequentially, in 16 MiB blocks; returns the bytes read.
int64_t read_all(const std::vector<fs::path>& files) {
  std::vector<char> buffer(size_t(16) << 20);
  int64_t total = 0;
  for (const fs::path& f : files) {
    const int fd = ::open(f.c_str(), O_RDONLY);
    CLI_CHECK(fd >= 0, f.string(), ": cannot open");
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    ssize_t n = 0;
    while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) total += n;
    ::close(fd);
    CLI_CHECK(n == 0, f.string(), ": read error");
  }
  return total;
}

}  // namespace

int cmd_bench_load(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "bench load");
  if (args.has("help")) {
    std::printf("usage: wan bench load [options]\n\nTimes loading a checkpoint folder against reading its files, both "
                "from a cold page cache.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  const std::string device = device_option(args);
  std::string folder = args.get_or("ckpt-dir", "");
  if (folder.empty()) {
    folder = demo_checkpoint_dir();
    api::prepare_demo_checkpoint(data_dir(), folder);
  }
  api::ContextOptions options;
  options.checkpoint_dir = folder;
  options.device = device == "cuda" ? WAN_DEVICE_CUDA : WAN_DEVICE_CPU;
  options.offload = WAN_OFFLOAD_OFF;  // every weight loaded where it runs
  options.precision = precision_option(args);
  options.on_log = [](wan_log_level level, const std::string& message) {
    if (level >= WAN_LOG_WARNING) std::fprintf(stderr, "warning: %s\n", message.c_str());
  };
  const std::vector<fs::path> files = files_of(folder);
  const bool cold = !args.has("warm");

  if (cold) drop_cache(files);
  auto t = Clock::now();
  const int64_t bytes = read_all(files);
  const double read_s = since(t);

  if (cold) drop_cache(files);
  t = Clock::now();
  { const api::Context ctx(options); }
  const double load_s = since(t);

  const double gb = double(bytes) / 1e9;
  std::printf("%s: %zu files, %.3f GB (%s page cache)\n", folder.c_str(), files.size(), gb, cold ? "cold" : "warm");
  std::printf("reading the files  %8.3f s (%.2f GB/s)\n", read_s, gb / read_s);
  std::printf("loading on the %s%s %8.3f s (%.2f GB/s): %.2fx the read\n", device == "cuda" ? "GPU" : "CPU",
              options.precision == WAN_PRECISION_FP8 ? " (fp8 DiTs)" : "", load_s, gb / load_s, load_s / read_s);
  std::printf("JSON {\"bench\":\"load\",\"bytes\":%lld,\"read_s\":%.3f,\"load_s\":%.3f,\"ratio\":%.3f,\"cold\":%s,"
              "\"device\":\"%s\",\"precision\":\"%s\"}\n",
              (long long)bytes, read_s, load_s, load_s / read_s, cold ? "true" : "false", device.c_str(),
              precision_name(options.precision));
  return 0;
}

}  // namespace wan::cli
