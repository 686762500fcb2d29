#include "dist/parallel.h"

#include <cstdlib>

#include "core/error.h"

namespace wan::dist {
namespace {

int parse_int(const char* name, const char* value) {
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  WAN_CHECK(*value && *end == '\0' && v >= 0 && v < 1 << 20, "environment variable ", name, "='", value,
            "' is not a rank number");
  return int(v);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t next = s.find(',', at);
    const std::string part = s.substr(at, next == std::string::npos ? std::string::npos : next - at);
    if (!part.empty()) parts.push_back(part);
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return parts;
}

}  // namespace

void ParallelConfig::validate(int64_t num_heads) const {
  WAN_CHECK(cfg == 1 || cfg == 2, "CFG-parallel splits the two CFG branches: its degree is 1 or 2, not ", cfg);
  WAN_CHECK(ulysses >= 1 && ulysses <= 64, "--ulysses ", ulysses, " must be in [1, 64]");
  WAN_CHECK(num_heads == 0 || num_heads % ulysses == 0, "the Ulysses degree (--ulysses) ", ulysses,
            " must divide the DiT's ", num_heads, " attention heads (Ulysses gives each GPU whole heads)");
}

std::optional<RankInfo> rank_from_environment() {
  const char* rank = std::getenv("WAN_RANK");
  if (!rank) return std::nullopt;
  const char* world = std::getenv("WAN_WORLD_SIZE");
  const char* id = std::getenv("WAN_NCCL_ID");
  WAN_CHECK(world && id, "WAN_RANK is set but WAN_WORLD_SIZE or WAN_NCCL_ID is not: start several GPUs with "
                         "`wan generate --cfg-parallel` or `--ulysses N`, which sets them");
  RankInfo info{parse_int("WAN_RANK", rank), parse_int("WAN_WORLD_SIZE", world), id};
  WAN_CHECK(info.world >= 1 && info.rank < info.world, "WAN_RANK=", info.rank, " is not below WAN_WORLD_SIZE=",
            info.world);
  WAN_CHECK(info.nccl_id_hex.size() == 256 &&
                info.nccl_id_hex.find_first_not_of("0123456789abcdef") == std::string::npos,
            "WAN_NCCL_ID must be 256 lowercase hex digits (an NCCL unique id)");
  return info;
}

std::vector<std::string> rank_environment(int rank, int world, const std::string& nccl_id_hex,
                                          const std::string& visible_devices, int device_count) {
  std::vector<std::string> devices = split_commas(visible_devices);
  if (devices.empty())
    for (int i = 0; i < device_count; ++i) devices.push_back(std::to_string(i));
  WAN_CHECK(int(devices.size()) >= world, world, " ranks need ", world, " GPUs; ", devices.size(), " are visible",
            visible_devices.empty() ? "" : " (CUDA_VISIBLE_DEVICES=" + visible_devices + ")");
  // Device 0 of rank r is GPU r; the rest stay visible (in order) for NCCL's peer-to-peer paths.
  std::string rotated = devices[size_t(rank)];
  for (size_t i = 0; i < devices.size(); ++i)
    if (int(i) != rank) rotated += "," + devices[i];
  return {"WAN_RANK=" + std::to_string(rank), "WAN_WORLD_SIZE=" + std::to_string(world), "WAN_NCCL_ID=" + nccl_id_hex,
          "CUDA_VISIBLE_DEVICES=" + rotated};
}

}  // namespace wan::dist
