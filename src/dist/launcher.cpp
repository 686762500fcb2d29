#include "dist/launcher.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backend/backend.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "dist/parallel.h"

extern char** environ;

namespace wan::dist {

int launch_ranks(int world, const std::vector<std::string>& args) {
  WAN_CHECK(world >= 1, "launch_ranks: ", world, " ranks");
  const int devices = cuda_device_count();
  WAN_CHECK(devices >= world, world, " ranks need ", world, " GPUs; this machine shows ", devices,
            devices == 0 ? " (" + cuda_device_summary() + ")" : std::string());
  const std::string id = nccl_unique_id_hex();
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  return run_processes("/proc/self/exe", world, args, [&](int rank) {
    return rank_environment(rank, world, id, visible ? visible : "", devices);
  });
}

std::optional<int> launch_or_join(const ParallelConfig& config, const std::vector<std::string>& args,
                                  std::shared_ptr<const ProcessGroup>& group) {
  group = nullptr;
  if (config.world() == 1) return std::nullopt;
  const std::optional<RankInfo> rank = rank_from_environment();
  if (!rank) return launch_ranks(config.world(), args);
  group = ProcessGroup::join(config, *rank);
  return std::nullopt;
}

int run_processes(const std::string& program, int world, const std::vector<std::string>& args,
                  const std::function<std::vector<std::string>(int rank)>& environment, double grace_seconds) {
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  // Ctrl-C reaches every rank (one process group); the launcher waits for them to stop.
  struct sigaction ignore{}, old_int{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ignore, &old_int);

  std::map<pid_t, int> ranks;  // running children
  int first_failure = 0;
  std::chrono::steady_clock::time_point stopped_at{};  // when the others were told to stop
  auto stop_all = [&] {
    for (const auto& [pid, rank] : ranks) kill(pid, SIGTERM);
  };
  for (int rank = 0; rank < world; ++rank) {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
      const char* eq = std::strchr(*e, '=');
      if (eq) env[std::string(*e, size_t(eq - *e))] = eq + 1;
    }
    for (const std::string& kv : environment(rank)) env[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int err = posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), envp.data());
    if (err != 0) {
      std::fprintf(stderr, "wan: cannot start rank %d: %s\n", rank, std::strerror(err));
      first_failure = 1;
      stop_all();
      stopped_at = std::chrono::steady_clock::now();
      break;
    }
    ranks[pid] = rank;
  }
  // After a failure the others got SIGTERM; SIGKILL if they are still there `grace_seconds` later.
  while (!ranks.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, first_failure ? WNOHANG : 0);
    if (pid == 0) {  // failure seen, others still running
      if (std::chrono::steady_clock::now() - stopped_at > std::chrono::duration<double>(grace_seconds))
        for (const auto& [p, r] : ranks) kill(p, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (pid < 0) break;
    const auto it = ranks.find(pid);
    if (it == ranks.end()) continue;
    const int rank = it->second;
    ranks.erase(it);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (code != 0 && first_failure == 0) {
      first_failure = code;
      if (!ranks.empty())
        std::fprintf(stderr, "wan: rank %d of %d ended with code %d; stopping the other ranks\n", rank, world, code);
      stop_all();
      stopped_at = std::chrono::steady_clock::now();
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  return first_failure;
}

}  // namespace wan::dist
