// T5Encoder::encode on the GPU (models/t5_encoder.h says what runs how): the official UMT5
// encoder's layer, wan/modules/t5.py T5SelfAttention.forward, per sample over its real tokens.
#include <cmath>

#include "backend/backend.h"
#include "models/t5_encoder.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/dit_fused.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"

namespace wan {
namespace {

Tensor gpu_bf16(const Tensor& t) { return convert_on_device(to_device(t.contiguous(), Device::CUDA), DType::BF16); }
// A norm's gain as the bf16 model holds it, in f32 for the kernel.
Tensor gpu_gain(const Tensor& t) { return to_device(t.to(DType::BF16).to(DType::F32), Device::CUDA); }

// T5LayerNorm of the f32 stream x [1, n, D] under bf16: x in bf16, x·rsqrt(mean(x²) + eps) rounded
// to bf16, times the gain, rounded again (the rms_norm_rope kernel without the rotation).
Tensor norm(const Tensor& x, const Tensor& gain, double eps) {
  return ops::rms_norm_rope(convert_on_device(x, DType::BF16), gain, eps, 1, {}, nullptr);
}

// One layer's weights on the GPU (bf16 matrices), released when it goes out of scope.
struct BlockOnGpu {
  Tensor norm1, q, k, v, o, norm2, gate, fc1, fc2;
  explicit BlockOnGpu(const T5BlockWeights& w)
      : norm1(gpu_gain(w.norm1_weight)),
        q(gpu_bf16(w.attn_q_weight)),
        k(gpu_bf16(w.attn_k_weight)),
        v(gpu_bf16(w.attn_v_weight)),
        o(gpu_bf16(w.attn_o_weight)),
        norm2(gpu_gain(w.norm2_weight)),
        gate(gpu_bf16(w.ffn_gate_0_weight)),
        fc1(gpu_bf16(w.ffn_fc1_weight)),
        fc2(gpu_bf16(w.ffn_fc2_weight)) {}
};

}  // namespace

std::vector<Tensor> T5Encoder::encode_cuda(const Tensor& ids, const std::vector<int64_t>& lens) const {
  WAN_CHECK(cuda_available(), "the text encoder on CUDA needs a GPU: ", cuda_device_summary());
  const int64_t B = ids.size(0), H = config_.num_heads, Dh = config_.head_dim();
  const double eps = config_.eps;
  const Tensor id64 = ids.to(DType::I64).contiguous();
  // The residual streams [1, n_b, D] f32 of every sample, advanced layer by layer so each layer's
  // weights cross to the GPU once.
  std::vector<Tensor> x(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const Tensor row = id64.narrow(0, b, 1).narrow(1, 0, std::max<int64_t>(lens[size_t(b)], 1)).contiguous();
    x[size_t(b)] = to_device(ops::embedding_lookup(row, weights_.token_embedding_weight), Device::CUDA);
  }
  for (const T5BlockWeights& w : weights_.blocks) {
    const BlockOnGpu g(w);
    for (int64_t b = 0; b < B; ++b) {
      Tensor& xs = x[size_t(b)];
      const int64_t n = xs.size(1);
      const Tensor bias = to_device(position_bias(config_.shared_pos ? weights_.pos_embedding_weight
                                                                     : w.pos_embedding_weight, n),
                                    Device::CUDA);  // [H, n, n]
      // x = x + o(attention(q, k, v) + position bias), no 1/√d scaling in T5.
      Tensor h = norm(xs, g.norm1, eps);
      const Tensor q = convert_on_device(ops::linear(h, g.q, {}), DType::F32).view({1, n, H, Dh});
      const Tensor k = convert_on_device(ops::linear(h, g.k, {}), DType::F32).view({1, n, H, Dh});
      const Tensor v = convert_on_device(ops::linear(h, g.v, {}), DType::F32).view({1, n, H, Dh});
      const Tensor a = ops::attention(q, k, v, {}, 1.0, bias);  // [1, n, H, Dh] f32
      ops::residual_add_(xs, ops::linear(convert_on_device(a, DType::BF16).view({1, n, H * Dh}), g.o, {}), {});
      // x = x + fc2(fc1(h) · gelu(gate(h))).
      h = norm(xs, g.norm2, eps);
      const Tensor gate = ops::linear(h, g.gate, {}, ops::Activation::GeluTanh);
      const Tensor up = ops::linear(h, g.fc1, {});
      ops::residual_add_(xs, ops::linear(ops::mul(up, gate), g.fc2, {}), {});
    }
  }
  const Tensor final_gain = gpu_gain(weights_.norm_weight);
  std::vector<Tensor> contexts;
  for (int64_t b = 0; b < B; ++b) {
    const Tensor out = to_device(convert_on_device(norm(x[size_t(b)], final_gain, eps), DType::F32), Device::CPU);
    contexts.push_back(out.select(0, 0).narrow(0, 0, lens[size_t(b)]).contiguous());  // [n_b, D]
  }
  return contexts;
}

}  // namespace wan
