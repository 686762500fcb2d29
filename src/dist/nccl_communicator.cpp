// Communicator over NCCL, loaded with dlopen. The few NCCL entry points used here are declared
// from NCCL's documented C API (nccl.h, "NCCL API" in NVIDIA's NCCL documentation): opaque
// communicators, a 128-byte unique id passed by value, int result codes (0 = success) and the
// data type codes below; they have been stable since NCCL 2.0 (ncclCommSplit since 2.18).
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "core/error.h"
#include "dist/communicator.h"

namespace wan::dist {
namespace {

using NcclComm = void*;
struct NcclUniqueId {
  char internal[128];
};
constexpr int kNcclInt8 = 0;  // ncclInt8: our collectives move bytes

struct NcclLibrary {
  void* handle = nullptr;
  std::string name, error;
  int (*get_version)(int*) = nullptr;
  int (*get_unique_id)(NcclUniqueId*) = nullptr;
  int (*comm_init_rank)(NcclComm*, int, NcclUniqueId, int) = nullptr;
  int (*comm_destroy)(NcclComm) = nullptr;
  int (*comm_abort)(NcclComm) = nullptr;
  int (*comm_split)(NcclComm, int, int, NcclComm*, void*) = nullptr;
  int (*comm_count)(NcclComm, int*) = nullptr;
  int (*comm_user_rank)(NcclComm, int*) = nullptr;
  int (*all_gather)(const void*, void*, size_t, int, NcclComm, cudaStream_t) = nullptr;
  int (*all_reduce)(const void*, void*, size_t, int, int, NcclComm, cudaStream_t) = nullptr;
  int (*broadcast)(const void*, void*, size_t, int, int, NcclComm, cudaStream_t) = nullptr;
  int (*send)(const void*, size_t, int, int, NcclComm, cudaStream_t) = nullptr;
  int (*recv)(void*, size_t, int, int, NcclComm, cudaStream_t) = nullptr;
  int (*group_start)() = nullptr;
  int (*group_end)() = nullptr;
  const char* (*error_string)(int) = nullptr;
};

const NcclLibrary& nccl() {
  static NcclLibrary lib;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("WAN_NCCL_LIBRARY");
    lib.name = env && *env ? env : "libnccl.so.2";
    lib.handle = dlopen(lib.name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle) {
      const char* e = dlerror();
      lib.error = str("cannot load ", lib.name, " (", e ? e : "?",
                      "): several GPUs need NCCL; install it (Debian/Ubuntu: libnccl2) or point WAN_NCCL_LIBRARY at "
                      "libnccl.so.2");
      return;
    }
    bool ok = true;
    auto bind = [&](auto& fn, const char* symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib.handle, symbol));
      if (!fn) {
        ok = false;
        lib.error = str(lib.name, " has no ", symbol, ": NCCL 2.18 or newer is needed");
      }
    };
    bind(lib.get_version, "ncclGetVersion");
    bind(lib.get_unique_id, "ncclGetUniqueId");
    bind(lib.comm_init_rank, "ncclCommInitRank");
    bind(lib.comm_destroy, "ncclCommDestroy");
    bind(lib.comm_abort, "ncclCommAbort");
    bind(lib.comm_split, "ncclCommSplit");
    bind(lib.comm_count, "ncclCommCount");
    bind(lib.comm_user_rank, "ncclCommUserRank");
    bind(lib.all_gather, "ncclAllGather");
    bind(lib.all_reduce, "ncclAllReduce");
    bind(lib.broadcast, "ncclBroadcast");
    bind(lib.send, "ncclSend");
    bind(lib.recv, "ncclRecv");
    bind(lib.group_start, "ncclGroupStart");
    bind(lib.group_end, "ncclGroupEnd");
    bind(lib.error_string, "ncclGetErrorString");
    if (!ok) {
      dlclose(lib.handle);
      lib.handle = nullptr;
    }
  });
  return lib;
}

const NcclLibrary& loaded() {
  const NcclLibrary& lib = nccl();
  WAN_CHECK(lib.handle, lib.error);
  return lib;
}

void check(int result, const char* what) {
  if (result == 0) return;
  const NcclLibrary& lib = nccl();
  fail("NCCL ", what, " failed: ", lib.error_string ? lib.error_string(result) : "?", " (code ", result,
       "); NCCL_DEBUG=WARN prints NCCL's own reason");
}

void check_gpu(const Tensor& t, const char* op, const char* name) {
  WAN_CHECK(t.defined() && t.device() == Device::CUDA && t.is_contiguous(), "Communicator::", op, ": ", name,
            " must be a contiguous GPU tensor, got ", t.defined() ? t.describe() : std::string("undefined"));
}

}  // namespace

bool nccl_available() { return nccl().handle != nullptr; }

std::string nccl_description() {
  const NcclLibrary& lib = nccl();
  if (!lib.handle) return lib.error;
  int v = 0;
  lib.get_version(&v);
  // Codes since 2.9: major·10000 + minor·100 + patch.
  return str("NCCL ", v / 10000, ".", (v / 100) % 100, ".", v % 100, " (", lib.name, ")");
}

std::string nccl_unique_id_hex() {
  NcclUniqueId id{};
  check(loaded().get_unique_id(&id), "ncclGetUniqueId");
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : id.internal) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

struct Communicator::Impl {
  NcclComm comm = nullptr;
  int rank = 0, size = 1;
  // Destroying waits for the peers' outstanding work; while an exception unwinds, a peer may never
  // get there (it waits in a collective this rank left), so the communicator is aborted instead.
  ~Impl() {
    if (!comm) return;
    if (std::uncaught_exceptions() > 0) nccl().comm_abort(comm);
    else nccl().comm_destroy(comm);
  }
};

Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;
int Communicator::rank() const { return impl_->rank; }
int Communicator::size() const { return impl_->size; }

std::shared_ptr<Communicator> Communicator::init(const RankInfo& info) {
  const NcclLibrary& lib = loaded();
  NcclUniqueId id{};
  WAN_CHECK(info.nccl_id_hex.size() == 2 * sizeof id.internal, "an NCCL id has ", 2 * sizeof id.internal,
            " hex digits");
  for (size_t i = 0; i < sizeof id.internal; ++i)
    id.internal[i] = char(std::stoi(info.nccl_id_hex.substr(2 * i, 2), nullptr, 16));
  cuda::context();  // NCCL binds to the current device: ours
  auto impl = std::make_unique<Impl>();
  impl->rank = info.rank;
  impl->size = info.world;
  check(lib.comm_init_rank(&impl->comm, info.world, id, info.rank), "ncclCommInitRank");
  return std::make_shared<Communicator>(std::move(impl));
}

std::shared_ptr<Communicator> Communicator::split(int color, int key) const {
  auto impl = std::make_unique<Impl>();
  const NcclLibrary& lib = loaded();
  check(lib.comm_split(impl_->comm, color, key, &impl->comm, nullptr), "ncclCommSplit");
  check(lib.comm_user_rank(impl->comm, &impl->rank), "ncclCommUserRank");
  check(lib.comm_count(impl->comm, &impl->size), "ncclCommCount");
  return std::make_shared<Communicator>(std::move(impl));
}

void Communicator::all_to_all(const Tensor& send, Tensor& recv) const {
  check_gpu(send, "all_to_all", "send");
  check_gpu(recv, "all_to_all", "recv");
  WAN_CHECK(send.dim() >= 1 && send.size(0) == impl_->size && recv.shape() == send.shape() &&
                recv.dtype() == send.dtype(),
            "Communicator::all_to_all: send ", send.describe(), " and recv ", recv.describe(), " must be [",
            impl_->size, ", ...] of one shape");
  const NcclLibrary& lib = loaded();
  const size_t part = send.nbytes() / size_t(impl_->size);
  const char* s = static_cast<const char*>(send.data_ptr());
  char* r = static_cast<char*>(recv.data_ptr());
  const cudaStream_t stream = cuda::context().stream;
  check(lib.group_start(), "ncclGroupStart");
  for (int p = 0; p < impl_->size; ++p) {
    check(lib.send(s + size_t(p) * part, part, kNcclInt8, p, impl_->comm, stream), "ncclSend");
    check(lib.recv(r + size_t(p) * part, part, kNcclInt8, p, impl_->comm, stream), "ncclRecv");
  }
  check(lib.group_end(), "ncclGroupEnd");
}

void Communicator::all_gather(const Tensor& send, Tensor& recv) const {
  check_gpu(send, "all_gather", "send");
  check_gpu(recv, "all_gather", "recv");
  WAN_CHECK(recv.dim() == send.dim() + 1 && recv.size(0) == impl_->size && recv.numel() == send.numel() * impl_->size &&
                recv.dtype() == send.dtype(),
            "Communicator::all_gather: recv ", recv.describe(), " must be [", impl_->size, ", ", send.describe(), "]");
  check(loaded().all_gather(send.data_ptr(), recv.data_ptr(), send.nbytes(), kNcclInt8, impl_->comm,
                            cuda::context().stream),
        "ncclAllGather");
}

void Communicator::broadcast(Tensor& t, int root) const {
  check_gpu(t, "broadcast", "t");
  WAN_CHECK(root >= 0 && root < impl_->size, "Communicator::broadcast: root ", root, " of ", impl_->size);
  check(loaded().broadcast(t.data_ptr(), t.data_ptr(), t.nbytes(), kNcclInt8, root, impl_->comm,
                           cuda::context().stream),
        "ncclBroadcast");
}

void Communicator::barrier() const {
  Tensor one = cuda::empty({1}, DType::F32);
  cuda::fill_zero(one);
  constexpr int kSum = 0, kFloat32 = 7;  // ncclSum, ncclFloat32
  check(loaded().all_reduce(one.data_ptr(), one.data_ptr(), 1, kFloat32, kSum, impl_->comm, cuda::context().stream),
        "ncclAllReduce");
  cuda::synchronize();
}

}  // namespace wan::dist
