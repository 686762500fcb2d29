// The communicators of one rank (dist/parallel.h): everybody, the ranks that share its sequence
// slice (the CFG pair) and the ranks that share its CFG branch (the Ulysses group).
#pragma once

#include <memory>

#include "dist/communicator.h"
#include "dist/parallel.h"

namespace wan::dist {

struct ProcessGroup {
  ParallelConfig config;
  RankInfo info;
  std::shared_ptr<Communicator> world;
  std::shared_ptr<Communicator> cfg;      // the two ranks of one sequence slice; null without CFG-parallel
  std::shared_ptr<Communicator> ulysses;  // the ranks of one CFG branch; null without Ulysses

  int cfg_branch() const { return info.rank / config.ulysses; }  // 0: conditional, 1: unconditional
  bool is_output_rank() const { return info.rank == 0; }

  // Every rank calls this with the same config; throws when `info` does not match it.
  static std::shared_ptr<ProcessGroup> join(const ParallelConfig& config, const RankInfo& info);
};

}  // namespace wan::dist
