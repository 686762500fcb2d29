#include "dist/process_group.h"

#include "core/error.h"

namespace wan::dist {

std::shared_ptr<ProcessGroup> ProcessGroup::join(const ParallelConfig& config, const RankInfo& info) {
  config.validate();
  WAN_CHECK(info.world == config.world(), "this process is rank ", info.rank, " of ", info.world,
            " (WAN_WORLD_SIZE), but ", config.cfg == 2 ? "CFG-parallel" : "no CFG-parallel", " with Ulysses ",
            config.ulysses, " needs ", config.world(), " ranks");
  auto group = std::make_shared<ProcessGroup>();
  group->config = config;
  group->info = info;
  group->world = Communicator::init(info);
  // Splits are collective over the world: every rank makes both, in the same order.
  const int branch = info.rank / config.ulysses, slice = info.rank % config.ulysses;
  if (config.cfg > 1) group->cfg = config.ulysses == 1 ? group->world : group->world->split(slice, branch);
  if (config.ulysses > 1) group->ulysses = config.cfg == 1 ? group->world : group->world->split(branch, slice);
  return group;
}

}  // namespace wan::dist
