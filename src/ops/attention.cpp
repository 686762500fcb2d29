#include "ops/attention.h"

#include <algorithm>

#include "ops/check.h"
#include "ops/cpu/kernels.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

namespace wan::ops {

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
                 double scale, const Tensor& bias) {
  for (auto [t, name] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}}) {
    WAN_CHECK(t->defined(), "attention: ", name, " is undefined");
    check_dim(*t, 4, "attention", name);
  }
  WAN_CHECK(k.size(0) == q.size(0) && v.size(0) == q.size(0), "attention: batch sizes differ: q ", q.describe(),
            ", k ", k.describe(), ", v ", v.describe());
  WAN_CHECK(k.size(2) == q.size(2) && v.size(2) == q.size(2), "attention: head counts differ: q ", q.describe(),
            ", k ", k.describe(), ", v ", v.describe());
  WAN_CHECK(k.size(3) == q.size(3), "attention: q ", q.describe(), " and k ", k.describe(), " head dims differ");
  WAN_CHECK(v.size(1) == k.size(1), "attention: k ", k.describe(), " and v ", v.describe(), " lengths differ");
  if (!k_lens.empty()) {
    WAN_CHECK(int64_t(k_lens.size()) == q.size(0), "attention: ", k_lens.size(), " key lengths for batch ",
              q.size(0));
    for (int64_t len : k_lens)
      WAN_CHECK(len >= 0 && len <= k.size(1), "attention: key length ", len, " outside [0, ", k.size(1), "]");
  }
  if (q.device() == Device::CUDA && q.dtype() == DType::F32) {
#ifdef WAN_HAVE_CUDA
    for (auto [t, name] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}})
      WAN_CHECK(t->device() == Device::CUDA && t->dtype() == DType::F32 && t->stride(3) == 1,
                "attention on CUDA (f32): ", name, " must be an f32 GPU tensor with a contiguous last dim, got ",
                t->describe());
    WAN_CHECK(k_lens.empty() || std::all_of(k_lens.begin(), k_lens.end(), [&](int64_t l) { return l == k.size(1); }),
              "attention on CUDA (f32): key lengths are not supported");
    if (bias.defined())
      WAN_CHECK(bias.device() == Device::CUDA && bias.dtype() == DType::F32 && bias.is_contiguous() && bias.dim() == 3 &&
                    bias.size(0) == q.size(2) && bias.size(1) == q.size(1) && bias.size(2) == k.size(1),
                "attention on CUDA (f32): bias must be a contiguous f32 [H, Lq, Lk] on the GPU, got ", bias.describe());
    Tensor out = wan::cuda::empty({q.size(0), q.size(1), q.size(2), v.size(3)}, DType::F32);
    cuda::attention_f32(q, k, v, scale, bias, out);
    return out;
#endif
  }
  if (q.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    for (auto [t, name] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}})
      WAN_CHECK(t->device() == Device::CUDA && t->dtype() == DType::BF16 && t->stride(3) == 1 &&
                    t->stride(2) == t->size(3) && t->stride(0) == t->size(1) * t->stride(1),
                "attention on CUDA: ", name, " must be a bf16 GPU tensor [B, L, H, D] with contiguous heads, got ",
                t->describe());
    WAN_CHECK(v.size(3) == q.size(3), "attention on CUDA: v's head dim must equal q's");
    WAN_CHECK(!bias.defined(), "attention on CUDA: an additive bias is not supported");
    Tensor out = wan::cuda::empty({q.size(0), q.size(1), q.size(2), v.size(3)}, DType::BF16);
    cuda::attention(q, k, v, k_lens, scale, out);
    return out;
#else
    fail("attention: tensors on cuda, but this build has no CUDA backend");
#endif
  }
  for (auto [t, name] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}}) check_cpu_f32(*t, "attention", name);
  if (bias.defined()) {
    check_cpu_f32(bias, "attention", "bias");
    WAN_CHECK(bias.dim() == 3 && bias.size(0) == q.size(2) && bias.size(1) == q.size(1) && bias.size(2) == k.size(1),
              "attention: bias ", bias.describe(), " is not [H, Lq, Lk] = [", q.size(2), ", ", q.size(1), ", ",
              k.size(1), "]");
  }
  Tensor out = Tensor::empty({q.size(0), q.size(1), q.size(2), v.size(3)}, DType::F32);
  cpu::attention(q.contiguous(), k.contiguous(), v.contiguous(), k_lens, scale, bias.defined() ? bias.contiguous() : bias, out);
  return out;
}

}  // namespace wan::ops
