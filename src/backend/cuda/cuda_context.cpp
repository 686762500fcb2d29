#include "backend/cuda/cuda_context.h"

#include <mutex>

#include "backend/cuda/cuda_check.h"

namespace wan::cuda {

bool available() {
  static const bool ok = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
      cudaGetLastError();  // clear the sticky "no device" error
      return false;
    }
    return true;
  }();
  return ok;
}

std::string device_summary() {
  if (!available()) return "no CUDA device";
  const Context& c = context();
  return str(c.props.name, ", ", c.props.multiProcessorCount, " SMs, ",
             double(c.props.totalGlobalMem) / double(1ull << 30), " GiB, compute ", c.props.major, ".", c.props.minor);
}

Context& context() {
  static Context ctx;
  static std::once_flag once;
  std::call_once(once, [] {
    WAN_CHECK(available(), "no usable CUDA device (use --device cpu)");
    WAN_CUDA_CHECK(cudaGetDevice(&ctx.device));
    WAN_CUDA_CHECK(cudaGetDeviceProperties(&ctx.props, ctx.device));
    WAN_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
    WAN_CUBLAS_CHECK(cublasLtCreate(&ctx.lt));
    ctx.lt_workspace_bytes = 32ull << 20;
    WAN_CUDA_CHECK(cudaMalloc(&ctx.lt_workspace, ctx.lt_workspace_bytes));
  });
  return ctx;
}

std::shared_ptr<Storage> allocate(size_t bytes) {
  context();
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, std::max<size_t>(bytes, 1));
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    fail("out of GPU memory: could not allocate ", bytes >> 20, " MiB (", free_b >> 20, " MiB free of ",
         total_b >> 20, "); use a smaller size or frame count");
  }
  std::shared_ptr<void> owner(p, [](void* q) { cudaFree(q); });
  return std::make_shared<Storage>(p, bytes, Device::CUDA, owner);
}

Tensor empty(const Shape& shape, DType dtype) {
  return Tensor::from_storage(allocate(size_t(shape_numel(shape)) * dtype_size(dtype)), 0, shape, dtype);
}

Tensor to_device(const Tensor& host_in) {
  WAN_CHECK(host_in.device() == Device::CPU, "to_device: the tensor is already on the GPU");
  const Tensor host = host_in.contiguous();
  Tensor out = empty(host.shape(), host.dtype());
  WAN_CUDA_CHECK(cudaMemcpyAsync(out.data_ptr(), host.data_ptr(), host.nbytes(), cudaMemcpyHostToDevice, context().stream));
  WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
  return out;
}

Tensor to_host(const Tensor& dev) {
  WAN_CHECK(dev.device() == Device::CUDA, "to_host: the tensor is not on the GPU");
  WAN_CHECK(dev.is_contiguous(), "to_host: copy of a strided GPU tensor is not supported");
  Tensor out = Tensor::empty(dev.shape(), dev.dtype());
  WAN_CUDA_CHECK(cudaMemcpyAsync(out.data_ptr(), dev.data_ptr(), dev.nbytes(), cudaMemcpyDeviceToHost, context().stream));
  WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream));
  return out;
}

void synchronize() { WAN_CUDA_CHECK(cudaStreamSynchronize(context().stream)); }

}  // namespace wan::cuda
