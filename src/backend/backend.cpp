#include "backend/backend.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/tuning_cache.h"

#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

namespace wan {

bool cuda_available() {
#ifdef WAN_HAVE_CUDA
  return cuda::available();
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef WAN_HAVE_CUDA
  if (!cuda::available()) return 0;
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
#else
  return 0;
#endif
}

int cuda_capability_limit() {
  const char* env = std::getenv("WAN_CUDA_CAPABILITY_LIMIT");
  if (!env || !*env) return 0;
  char* end = nullptr;
  const long v = std::strtol(env, &end, 10);
  WAN_CHECK(*end == '\0' && v >= 10 && v <= 999, "WAN_CUDA_CAPABILITY_LIMIT=", env,
            ": expected a compute capability as 10·major + minor, e.g. 89 (Ada) or 80 (Ampere)");
  return int(v);
}

#ifdef WAN_HAVE_CUDA
namespace {
// The capability the engine follows: the GPU's, lowered to WAN_CUDA_CAPABILITY_LIMIT when set.
int limited(int cc) {
  const int limit = cuda_capability_limit();
  return limit > 0 ? std::min(cc, limit) : cc;
}
int capability_of(const cudaDeviceProp& props) { return props.major * 10 + props.minor; }
}  // namespace
#endif

std::string cuda_device_summary() {
#ifdef WAN_HAVE_CUDA
  std::string s = cuda::device_summary();
  if (cuda::available()) {
    const int real = capability_of(cuda::context().props), cc = limited(real);
    if (cc < real) s += str(" (treated as compute ", cc / 10, ".", cc % 10, ": WAN_CUDA_CAPABILITY_LIMIT)");
  }
  return s;
#else
  return "this build has no CUDA backend";
#endif
}

std::string cuda_build_targets() {
#ifdef WAN_HAVE_CUDA
  return cuda::build_targets();
#else
  return "";
#endif
}

int cuda_compute_capability() {
#ifdef WAN_HAVE_CUDA
  if (!cuda::available()) return 0;
  return limited(capability_of(cuda::context().props));
#else
  return 0;
#endif
}

CudaDeviceProperties cuda_device_properties(int index) {
  const int count = cuda_device_count();
  WAN_CHECK(index >= 0 && index < count, "CUDA device ", index, " does not exist: this process sees ", count,
            count == 1 ? " device" : " devices", " (", cuda_device_summary(), ")");
  CudaDeviceProperties p;
#ifdef WAN_HAVE_CUDA
  cudaDeviceProp props{};
  WAN_CHECK(cudaGetDeviceProperties(&props, index) == cudaSuccess, "cannot read the properties of CUDA device ",
            index);
  p.name = props.name;
  p.compute_capability = limited(capability_of(props));
  p.multiprocessors = props.multiProcessorCount;
  p.total_memory = int64_t(props.totalGlobalMem);
  if (index == cuda::context().device) p.free_memory = device_memory_info().free;
#endif
  return p;
}

DeviceMemoryInfo device_memory_info() {
#ifdef WAN_HAVE_CUDA
  if (!cuda::available()) return {};
  return cuda::memory_info();
#else
  return {};
#endif
}

std::string cuda_library_versions() {
#ifdef WAN_HAVE_CUDA
  return cuda::available() ? cuda::library_versions() : "no CUDA device";
#else
  return "this build has no CUDA backend";
#endif
}

std::string tuning_cache_description() {
#ifdef WAN_HAVE_CUDA
  if (cuda::available()) {
    const TuningCache* cache = cuda::tuning_cache();
    return cache ? str(cache->path(), " (", cache->size(), " choices for this GPU and its libraries)")
                 : "off (WAN_TUNING_CACHE=off)";
  }
#endif
  const std::string path = default_tuning_cache_path();
  return path.empty() ? "off (WAN_TUNING_CACHE=off)" : str(path, " (used with a GPU)");
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t.device() == Device::CPU ? t.contiguous() : t;
#ifdef WAN_HAVE_CUDA
  return device == Device::CUDA ? cuda::to_device(t) : cuda::to_host(t);
#else
  fail("cannot move a tensor to ", device_name(device), ": this build has no CUDA backend");
#endif
}

Tensor to_pinned_host(const Tensor& t) {
  if (t.device() == Device::CPU) return t.contiguous();
#ifdef WAN_HAVE_CUDA
  return cuda::to_pinned_host(t);
#else
  fail("to_pinned_host: no CUDA backend");
#endif
}

Tensor empty_on(const Shape& shape, DType dtype, Device device) {
  if (device == Device::CPU) return Tensor::empty(shape, dtype);
#ifdef WAN_HAVE_CUDA
  return cuda::empty(shape, dtype);
#else
  fail("cannot allocate on cuda: this build has no CUDA backend");
#endif
}

Tensor empty_channels_last_on(const Shape& shape, DType dtype, Device device) {
  if (shape.size() < 2) return empty_on(shape, dtype, device);
  Shape physical(shape.begin() + 1, shape.end());  // [T, H, W, C]
  physical.push_back(shape[0]);
  std::vector<int64_t> order{int64_t(shape.size()) - 1};
  for (int64_t d = 0; d + 1 < int64_t(shape.size()); ++d) order.push_back(d);
  return empty_on(physical, dtype, device).permute(order);
}

Tensor empty_like_on_device(const Tensor& t, DType dtype) {
  if (t.is_contiguous() || !t.is_dense()) return empty_on(t.shape(), dtype, t.device());
  const Tensor flat = empty_on({t.numel()}, dtype, t.device());
  return Tensor::from_storage_strided(flat.storage(), flat.byte_offset(), t.shape(), t.strides(), dtype);
}

void device_synchronize() {
#ifdef WAN_HAVE_CUDA
  if (cuda::available()) cuda::synchronize();
#endif
}

}  // namespace wan

namespace wan {

DeviceMemoryStats device_memory_stats() {
#ifdef WAN_HAVE_CUDA
  if (cuda::available()) {
    const auto m = cuda::memory_stats();
    return {m.in_use, m.peak, m.reserved};
  }
#endif
  return {};
}

void reset_device_peak_memory() {
#ifdef WAN_HAVE_CUDA
  if (cuda::available()) cuda::reset_peak_memory();
#endif
}

void fill_zero_(Tensor& t) {
  if (t.device() == Device::CPU) {
    t.fill(0.0);
    return;
  }
#ifdef WAN_HAVE_CUDA
  cuda::fill_zero(t);
#endif
}

void copy_into(Tensor& dst, const Tensor& src) {
  if (dst.device() == Device::CPU && src.device() == Device::CPU) {
    dst.copy_from(src);
    return;
  }
#ifdef WAN_HAVE_CUDA
  if (dst.device() == Device::CUDA && src.device() == Device::CUDA) {
    cuda::copy(dst, src);
    return;
  }
#endif
  fail("copy_into: ", device_name(src.device()), " to ", device_name(dst.device()), " is not supported; use to_device");
}

Tensor zeros_on(const Shape& shape, DType dtype, Device device) {
  if (device == Device::CPU) return Tensor::zeros(shape, dtype);
  Tensor t = empty_on(shape, dtype, device);
  fill_zero_(t);
  return t;
}

Tensor clone_on_device(const Tensor& t) {
  if (t.device() == Device::CPU) return t.clone();
  Tensor out = empty_on(t.shape(), t.dtype(), t.device());
  copy_into(out, t);
  return out;
}

Tensor contiguous_on_device(const Tensor& t) { return t.is_contiguous() ? t : clone_on_device(t); }

Tensor convert_on_device(const Tensor& t, DType dtype) {
  if (t.device() == Device::CPU) return t.to(dtype);
#ifdef WAN_HAVE_CUDA
  const bool up = t.dtype() == DType::BF16 && dtype == DType::F32;
  const bool down = t.dtype() == DType::F32 && dtype == DType::BF16;
  if (t.dtype() == dtype) return t;
  WAN_CHECK(up || down, "convert_on_device: only bf16 <-> f32 on the GPU, got ", t.describe(), " -> ",
            dtype_name(dtype));
  if (!t.is_dense()) return convert_on_device(contiguous_on_device(t), dtype);
  Tensor out = empty_like_on_device(t, dtype);  // same strides: converted element by element in memory order
  if (up) ops::cuda::bf16_to_f32(t, out);
  else ops::cuda::f32_to_bf16(t, out);
  return out;
#else
  fail("convert_on_device: no CUDA backend");
#endif
}

void fill_normal_on_device(Tensor& t, uint64_t seed, double mean, double stddev) {
#ifdef WAN_HAVE_CUDA
  WAN_CHECK(t.device() == Device::CUDA && t.is_contiguous() && (t.dtype() == DType::BF16 || t.dtype() == DType::F32),
            "fill_normal_on_device: needs a contiguous bf16/f32 GPU tensor, got ", t.describe());
  ops::cuda::fill_normal(t, seed, float(mean), float(stddev));
#else
  fail("fill_normal_on_device: no CUDA backend");
#endif
}

}  // namespace wan

#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_check.h"
#endif

namespace wan {

struct StreamProfiler::Impl {
  bool enabled = false;
#ifdef WAN_HAVE_CUDA
  std::vector<std::pair<std::string, cudaEvent_t>> marks;
#endif
};

StreamProfiler::StreamProfiler(bool enabled) : impl_(std::make_unique<Impl>()) {
  impl_->enabled = enabled && cuda_available();
}

StreamProfiler::~StreamProfiler() {
#ifdef WAN_HAVE_CUDA
  for (auto& [name, ev] : impl_->marks) cudaEventDestroy(ev);
#endif
}

void StreamProfiler::region(const char* category) {
#ifdef WAN_HAVE_CUDA
  if (!impl_->enabled) return;
  cudaEvent_t ev;
  WAN_CUDA_CHECK(cudaEventCreate(&ev));
  WAN_CUDA_CHECK(cudaEventRecord(ev, cuda::context().stream));
  impl_->marks.emplace_back(category, ev);
#else
  (void)category;
#endif
}

std::map<std::string, double> StreamProfiler::finish() {
  std::map<std::string, double> totals;
#ifdef WAN_HAVE_CUDA
  if (!impl_->enabled || impl_->marks.empty()) return totals;
  region("");  // the end of the last region
  WAN_CUDA_CHECK(cudaEventSynchronize(impl_->marks.back().second));
  for (size_t i = 0; i + 1 < impl_->marks.size(); ++i) {
    float ms = 0;
    WAN_CUDA_CHECK(cudaEventElapsedTime(&ms, impl_->marks[i].second, impl_->marks[i + 1].second));
    totals[impl_->marks[i].first] += ms;
  }
  for (auto& [name, ev] : impl_->marks) cudaEventDestroy(ev);
  impl_->marks.clear();
#endif
  return totals;
}

}  // namespace wan
