// How one video is spread over several GPUs (wan22-reference.md and performance-notes.md §5.8-5.9;
// the official generate.py --ulysses_size / --dit_fsdp): one process per GPU, each with its own
// copy of the weights, talking over NCCL.
//
//  - CFG-parallel (cfg = 2): the conditional and unconditional forwards of every step run on two
//    groups of ranks at once; the two noise predictions are exchanged once per step.
//  - Ulysses (ulysses = N): inside each group the token sequence is split N ways (padded to a
//    multiple of N; the padded keys are masked); around self-attention an all-to-all turns token
//    slices of every head into every token of a slice of the heads, and back. N divides the
//    head count.
//
// Rank r of cfg·ulysses ranks: CFG branch r / ulysses (0: conditional), sequence slice r % ulysses.
// Every rank draws the same noise and follows the same schedule; rank 0 encodes the text (and
// broadcasts it) and decodes and writes the video.
//
// Processes find each other through the environment, as the launcher (`wan generate --ulysses`,
// `--cfg-parallel`) sets it: WAN_RANK, WAN_WORLD_SIZE and WAN_NCCL_ID (the hex NCCL unique id
// made by the launcher). Each process uses its CUDA device 0: the launcher rotates
// CUDA_VISIBLE_DEVICES so that device 0 of rank r is GPU r and the others stay visible for
// peer-to-peer copies.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace wan::dist {

struct ParallelConfig {
  int cfg = 1;      // 1, or 2 for CFG-parallel
  int ulysses = 1;  // sequence-parallel degree
  int world() const { return cfg * ulysses; }
  // Throws when the degrees are out of range or `ulysses` does not divide `num_heads` (0: skip that check).
  void validate(int64_t num_heads = 0) const;
};

struct RankInfo {
  int rank = 0;
  int world = 1;
  std::string nccl_id_hex;  // 256 hex digits
};

// The rank of this process from WAN_RANK / WAN_WORLD_SIZE / WAN_NCCL_ID; nullopt when
// WAN_RANK is unset (a single process). Throws naming a malformed or missing variable.
std::optional<RankInfo> rank_from_environment();

// The variables a launcher sets for rank `rank` of `world` (name=value strings), given the
// parent's CUDA_VISIBLE_DEVICES (empty: all devices, `device_count` of them).
std::vector<std::string> rank_environment(int rank, int world, const std::string& nccl_id_hex,
                                          const std::string& visible_devices, int device_count);

}  // namespace wan::dist
