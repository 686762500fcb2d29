#include "ops/check.h"

namespace wan::ops {

void check_cpu_f32(const Tensor& t, const char* op, const char* arg) {
  WAN_CHECK(t.defined(), op, ": ", arg, " is undefined");
  WAN_CHECK(t.device() == Device::CPU, op, ": ", arg, " is on ", device_name(t.device()),
            ", but this build has only the CPU backend for this op");
  WAN_CHECK(t.dtype() == DType::F32, op, ": ", arg, " is ", t.describe(), "; the CPU reference computes in f32");
}

void check_dim(const Tensor& t, int64_t ndim, const char* op, const char* arg) {
  WAN_CHECK(t.dim() == ndim, op, ": ", arg, " must have ", ndim, " dimensions, got ", t.describe());
}

void check_last_contiguous(const Tensor& t, const char* op, const char* arg) {
  WAN_CHECK(t.dim() == 0 || t.stride(-1) == 1 || t.size(-1) <= 1, op, ": ", arg,
            " must be contiguous in its last dimension");
}

}  // namespace wan::ops
