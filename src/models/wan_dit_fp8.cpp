#include "models/wan_dit_fp8.h"

namespace wan {
namespace {

Tensor fp8(const Tensor& w, ops::Fp8Scaling scaling) { return ops::dequantize_fp8(ops::quantize_fp8(w, scaling)); }

void quantize_attention(WanAttentionWeights& a, ops::Fp8Scaling s) {
  a.q_weight = fp8(a.q_weight, s);
  a.k_weight = fp8(a.k_weight, s);
  a.v_weight = fp8(a.v_weight, s);
  a.o_weight = fp8(a.o_weight, s);
}

}  // namespace

WanDiTWeights with_fp8_block_weights(const WanDiTWeights& weights, ops::Fp8Scaling scaling) {
  WanDiTWeights out = weights;  // tensors shared; the quantised ones replaced below
  for (WanBlockWeights& b : out.blocks) {
    quantize_attention(b.self_attn, scaling);
    quantize_attention(b.cross_attn, scaling);
    b.ffn_0_weight = fp8(b.ffn_0_weight, scaling);
    b.ffn_2_weight = fp8(b.ffn_2_weight, scaling);
  }
  return out;
}

}  // namespace wan
