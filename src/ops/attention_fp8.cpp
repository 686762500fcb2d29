#include "ops/attention_fp8.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"
#include "ops/quantize.h"
#ifdef WAN_HAVE_CUDA
#include "backend/cuda/cuda_context.h"
#include "ops/cuda/cuda_ops.h"
#endif

namespace wan::ops {
namespace {

// x rounded through E4M3 with one scale for the whole tensor (f32 in and out).
Tensor fp8_rounded(const Tensor& x) {
  const Tensor flat = x.contiguous().view({x.size(0) * x.size(1), x.size(2) * x.size(3)});
  return dequantize_fp8(quantize_fp8(flat, Fp8Scaling::PerTensor)).view(x.shape());
}

}  // namespace

Tensor attention_fp8(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
                     double scale) {
  for (auto [t, name] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}}) {
    WAN_CHECK(t->defined(), "attention_fp8: ", name, " is undefined");
    check_dim(*t, 4, "attention_fp8", name);
    WAN_CHECK(t->device() == q.device(), "attention_fp8: q, k and v must be on one device");
  }
  WAN_CHECK(k.size(0) == q.size(0) && v.size(0) == q.size(0) && k.size(2) == q.size(2) && v.size(2) == q.size(2) &&
                k.size(3) == q.size(3) && v.size(3) == q.size(3) && v.size(1) == k.size(1),
            "attention_fp8: q ", q.describe(), ", k ", k.describe(), ", v ", v.describe(),
            " must share batch, heads and head dim, and k and v their length");
  if (!k_lens.empty()) {
    WAN_CHECK(int64_t(k_lens.size()) == q.size(0), "attention_fp8: ", k_lens.size(), " key lengths for batch ",
              q.size(0));
    for (int64_t len : k_lens)
      WAN_CHECK(len >= 0 && len <= k.size(1), "attention_fp8: key length ", len, " outside [0, ", k.size(1), "]");
  }
  if (q.device() == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    for (auto [t, name] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}})
      WAN_CHECK(t->dtype() == DType::BF16 && t->stride(3) == 1 && t->stride(2) == t->size(3) &&
                    t->stride(0) == t->size(1) * t->stride(1),
                "attention_fp8 on CUDA: ", name, " must be a bf16 GPU tensor [B, L, H, D] with contiguous heads, got ",
                t->describe());
    WAN_CHECK(q.size(3) % 16 == 0, "attention_fp8 on CUDA: head dim ", q.size(3), " is not a multiple of 16");
    Tensor out = wan::cuda::empty(q.shape(), DType::BF16);
    cuda::attention_fp8(q, k, v, k_lens, scale, out);
    return out;
#else
    fail("attention_fp8: tensors on the GPU, but this build has no CUDA backend");
#endif
  }
  for (auto [t, name] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}})
    check_cpu_f32(*t, "attention_fp8", name);
  Tensor out = Tensor::empty(q.shape(), DType::F32);
  cpu::attention(fp8_rounded(q), fp8_rounded(k), fp8_rounded(v), k_lens, scale, Tensor(), out,
                 /*fp8_probabilities=*/true);
  return out;
}

}  // namespace wan::ops
