#include "backend/backend.h"

#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#endif

namespace wan {

bool cuda_available() {
#ifdef WAN_HAVE_CUDA
  return cuda::available();
#else
  return false;
#endif
}

std::string cuda_device_summary() {
#ifdef WAN_HAVE_CUDA
  return cuda::device_summary();
#else
  return "this build has no CUDA backend";
#endif
}

Tensor to_device(const Tensor& t, Device device) {
  if (t.device() == device) return t.device() == Device::CPU ? t.contiguous() : t;
#ifdef WAN_HAVE_CUDA
  return device == Device::CUDA ? cuda::to_device(t) : cuda::to_host(t);
#else
  fail("cannot move a tensor to ", device_name(device), ": this build has no CUDA backend");
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

void device_synchronize() {
#ifdef WAN_HAVE_CUDA
  if (cuda::available()) cuda::synchronize();
#endif
}

}  // namespace wan
