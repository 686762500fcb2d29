// Builds without CUDA: no GPUs, so no collectives; every entry point says so.
#include "core/error.h"
#include "dist/communicator.h"

namespace wan::dist {

struct Communicator::Impl {};

bool nccl_available() { return false; }
std::string nccl_description() { return "NCCL: not used (this build has no CUDA backend)"; }
std::string nccl_unique_id_hex() { fail("several GPUs need the CUDA backend, and this build has none"); }

std::shared_ptr<Communicator> Communicator::init(const RankInfo&) {
  fail("several GPUs need the CUDA backend, and this build has none");
}
Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;
int Communicator::rank() const { return 0; }
int Communicator::size() const { return 1; }
std::shared_ptr<Communicator> Communicator::split(int, int) const { fail("no CUDA backend"); }
void Communicator::all_to_all(const Tensor&, Tensor&) const { fail("no CUDA backend"); }
void Communicator::all_gather(const Tensor&, Tensor&) const { fail("no CUDA backend"); }
void Communicator::broadcast(Tensor&, int) const { fail("no CUDA backend"); }
void Communicator::barrier() const { fail("no CUDA backend"); }

}  // namespace wan::dist
