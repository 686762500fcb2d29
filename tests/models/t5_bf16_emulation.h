// Test helper: what the official text encoder computes in bf16 (wan22-reference.md §5.3: T5 runs
// in plain bf16 outside autocast), emulated on the CPU by rounding every op's output to bf16 where
// torch's bf16 op would: matrix products (f32 accumulation, bf16 result), the logits and the
// logits + position bias, the softmax (f32 inside, bf16 out), the residual adds, GELU, the gated
// product, and T5LayerNorm's two roundings. Its distance from the f32 reference is how far the
// official bf16 encoder itself lands from the goldens: the yardstick for our bf16 GPU encoder.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "core/float_formats.h"
#include "io/checkpoint.h"
#include "models/t5_encoder.h"
#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"

namespace wan::test {

inline Tensor bf16_round(const Tensor& t) { return t.to(DType::BF16).to(DType::F32); }
inline float bf16_round(float v) { return to_float(to_bf16(v)); }

// x [n, D] f32 (bf16 values) → T5LayerNorm under bf16.
inline Tensor t5_norm_bf16(const Tensor& x, const Tensor& gain, double eps) {
  const int64_t n = x.size(0), D = x.size(1);
  Tensor y = Tensor::empty({n, D}, DType::F32);
  const Tensor g = bf16_round(gain);
  for (int64_t i = 0; i < n; ++i) {
    float ss = 0;
    for (int64_t j = 0; j < D; ++j) ss += x.data<float>()[i * D + j] * x.data<float>()[i * D + j];
    const float r = 1.0f / std::sqrt(ss / float(D) + float(eps));
    for (int64_t j = 0; j < D; ++j) y.data<float>()[i * D + j] = x.data<float>()[i * D + j] * r;
  }
  y = bf16_round(y);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < D; ++j) y.data<float>()[i * D + j] *= g.data<float>()[j];
  return bf16_round(y);
}

// Each sample over its real tokens (masked keys contribute exp(-inf) = 0 in the official code).
inline std::vector<Tensor> official_bf16_encode(const std::string& pth, const T5Config& c, const Tensor& ids,
                                                const Tensor& mask) {
  T5Weights w;
  bind_weights(TensorStore::open(pth), t5_weight_slots(w, c), c.summary(), DType::F32);
  const int64_t H = c.num_heads, Dh = c.head_dim();
  const Tensor m = mask.to(DType::I64).contiguous(), id64 = ids.to(DType::I64).contiguous();
  std::vector<Tensor> out;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    int64_t n = 0;
    while (n < ids.size(1) && m.data<int64_t>()[b * ids.size(1) + n] != 0) ++n;
    Tensor x = bf16_round(ops::embedding_lookup(id64.narrow(0, b, 1).narrow(1, 0, n).contiguous(),
                                                w.token_embedding_weight).view({n, c.dim}));
    for (const T5BlockWeights& blk : w.blocks) {
      const Tensor& pos = c.shared_pos ? w.pos_embedding_weight : blk.pos_embedding_weight;  // [buckets, H]
      Tensor h = t5_norm_bf16(x, blk.norm1_weight, c.eps);
      const Tensor q = bf16_round(ops::linear(h, blk.attn_q_weight, {}));
      const Tensor k = bf16_round(ops::linear(h, blk.attn_k_weight, {}));
      const Tensor v = bf16_round(ops::linear(h, blk.attn_v_weight, {}));
      Tensor a = Tensor::zeros({n, H * Dh}, DType::F32);
      std::vector<float> p(static_cast<size_t>(n));
      for (int64_t hd = 0; hd < H; ++hd)
        for (int64_t i = 0; i < n; ++i) {
          float mx = -INFINITY;
          for (int64_t j = 0; j < n; ++j) {
            float s = 0;
            for (int64_t d = 0; d < Dh; ++d) s += q.data<float>()[i * H * Dh + hd * Dh + d] * k.data<float>()[j * H * Dh + hd * Dh + d];
            const int64_t bucket = t5_relative_bucket(j - i, c.num_buckets, c.max_dist);
            const float bias = bf16_round(pos.data<float>()[bucket * H + hd]);
            const float logit = bf16_round(bf16_round(s) + bias);  // einsum output, then + bias, each bf16
            p[size_t(j)] = logit;
            mx = std::max(mx, logit);
          }
          float sum = 0;
          for (int64_t j = 0; j < n; ++j) sum += (p[size_t(j)] = std::exp(p[size_t(j)] - mx));
          for (int64_t j = 0; j < n; ++j) p[size_t(j)] = bf16_round(p[size_t(j)] / sum);
          for (int64_t d = 0; d < Dh; ++d) {
            float o = 0;
            for (int64_t j = 0; j < n; ++j) o += p[size_t(j)] * v.data<float>()[j * H * Dh + hd * Dh + d];
            a.data<float>()[i * H * Dh + hd * Dh + d] = o;
          }
        }
      a = bf16_round(a);
      x = bf16_round(ops::add(x, bf16_round(ops::linear(a, blk.attn_o_weight, {}))));
      h = t5_norm_bf16(x, blk.norm2_weight, c.eps);
      const Tensor gate = bf16_round(ops::gelu_tanh(bf16_round(ops::linear(h, blk.ffn_gate_0_weight, {}))));
      const Tensor up = bf16_round(ops::linear(h, blk.ffn_fc1_weight, {}));
      const Tensor y = bf16_round(ops::linear(bf16_round(ops::mul(up, gate)), blk.ffn_fc2_weight, {}));
      x = bf16_round(ops::add(x, y));
    }
    out.push_back(t5_norm_bf16(x, w.norm_weight, c.eps));
  }
  return out;
}

}  // namespace wan::test
