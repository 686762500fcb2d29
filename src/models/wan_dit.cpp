#include "models/wan_dit.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/norm.h"
#include "ops/patch.h"

namespace wan {

WanDiT::WanDiT(WanDiTConfig config, WanDiTWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)), rope_(ops::rope_table_3d(config_.head_dim())) {
  config_.validate();
}

WanDiT WanDiT::load(const std::string& folder) {
  WanDiTConfig config = wan_dit_config_of_folder(folder);
  TensorStore store = TensorStore::open(folder);
  WanDiTWeights weights = load_wan_dit_weights(store, config, DType::F32);
  return WanDiT(std::move(config), std::move(weights));
}

// WanModel.forward L459–469. A timestep shared by all tokens of a sample (t of shape [B], or
// [B, seq_len] with equal values) is embedded once per sample (Lm = 1) rather than once per token:
// the result is the same, and at 720p it saves ~24 TFLOP and ~9 GB per step.
WanDiT::TimeEmbedding WanDiT::embed_time(const Tensor& t_in, int64_t B, int64_t seq_len) const {
  const Tensor t = t_in.to(DType::F32).contiguous();
  WAN_CHECK((t.dim() == 1 && t.size(0) == B) || (t.dim() == 2 && t.size(0) == B && t.size(1) == seq_len),
            "WanDiT: timestep t is ", t.describe(), "; expected [", B, "] or [", B, ", ", seq_len, "]");
  bool per_sample = t.dim() == 1;
  if (!per_sample) {
    per_sample = true;
    const float* p = t.data<float>();
    for (int64_t b = 0; b < B && per_sample; ++b)
      for (int64_t l = 1; l < seq_len; ++l)
        if (p[b * seq_len + l] != p[b * seq_len]) {
          per_sample = false;
          break;
        }
  }
  const int64_t Lm = per_sample ? 1 : seq_len, D = config_.dim;
  const Tensor t_flat = per_sample && t.dim() == 2 ? t.select(1, 0).contiguous() : t.view({-1});  // [B·Lm]
  const Tensor sin_emb = ops::sinusoidal_embedding(t_flat, config_.freq_dim);                      // [B·Lm, 256]
  const WanDiTWeights& w = weights_;
  Tensor e = ops::linear(sin_emb, w.time_embedding_0_weight, w.time_embedding_0_bias, ops::Activation::SiLU);
  e = ops::linear(e, w.time_embedding_2_weight, w.time_embedding_2_bias);                           // [B·Lm, D]
  Tensor e0 = ops::linear(ops::silu(e), w.time_projection_1_weight, w.time_projection_1_bias);       // [B·Lm, 6D]
  return {e.view({B, Lm, D}), e0.view({B, Lm, 6, D})};
}

// WanModel.forward L471–478: pad each context to text_len rows of zeros, then Linear–GELU–Linear.
Tensor WanDiT::embed_text(const std::vector<Tensor>& context) const {
  const int64_t B = int64_t(context.size()), Lt = config_.text_len, Dt = config_.text_dim;
  Tensor padded = Tensor::zeros({B, Lt, Dt}, DType::F32);  // [B, text_len, text_dim]
  for (int64_t b = 0; b < B; ++b) {
    const Tensor& c = context[size_t(b)];
    WAN_CHECK(c.dim() == 2 && c.size(1) == Dt, "WanDiT: context ", b, " is ", c.describe(), "; expected [L, ",
              Dt, "] (text_dim ", Dt, ")");
    WAN_CHECK(c.size(0) <= Lt, "WanDiT: context ", b, " has ", c.size(0), " tokens, more than text_len ", Lt);
    padded.select(0, b).narrow(0, 0, c.size(0)).copy_from(c);
  }
  const WanDiTWeights& w = weights_;
  Tensor h = ops::linear(padded, w.text_embedding_0_weight, w.text_embedding_0_bias, ops::Activation::GeluTanh);
  return ops::linear(h, w.text_embedding_2_weight, w.text_embedding_2_bias);  // [B, text_len, D]
}

// WanSelfAttention.forward L126–155.
Tensor WanDiT::self_attention(const WanAttentionWeights& w, const Tensor& x, const std::vector<int64_t>& seq_lens,
                              const std::vector<ops::Grid3>& grids) const {
  const int64_t B = x.size(0), L = x.size(1), H = config_.num_heads, Dh = config_.head_dim();
  Tensor q = ops::linear(x, w.q_weight, w.q_bias);  // [B, L, D]
  Tensor k = ops::linear(x, w.k_weight, w.k_bias);  // [B, L, D]
  Tensor v = ops::linear(x, w.v_weight, w.v_bias);  // [B, L, D]
  if (config_.qk_norm) {
    q = ops::rms_norm(q, w.norm_q_weight, config_.eps);  // over all heads together
    k = ops::rms_norm(k, w.norm_k_weight, config_.eps);
  }
  q = ops::rope_apply_3d(q.view({B, L, H, Dh}), grids, rope_);  // [B, L, H, Dh]
  k = ops::rope_apply_3d(k.view({B, L, H, Dh}), grids, rope_);
  Tensor o = ops::attention(q, k, v.view({B, L, H, Dh}), seq_lens, 1.0 / std::sqrt(double(Dh)));
  return ops::linear(o.view({B, L, H * Dh}), w.o_weight, w.o_bias);  // [B, L, D]
}

// WanCrossAttention.forward L160–180: queries from the video tokens, keys/values from all
// text_len context rows (no mask, no RoPE).
Tensor WanDiT::cross_attention(const WanAttentionWeights& w, const Tensor& x, const Tensor& context) const {
  const int64_t B = x.size(0), L = x.size(1), Lc = context.size(1), H = config_.num_heads, Dh = config_.head_dim();
  Tensor q = ops::linear(x, w.q_weight, w.q_bias);        // [B, L, D]
  Tensor k = ops::linear(context, w.k_weight, w.k_bias);  // [B, Lc, D]
  Tensor v = ops::linear(context, w.v_weight, w.v_bias);  // [B, Lc, D]
  if (config_.qk_norm) {
    q = ops::rms_norm(q, w.norm_q_weight, config_.eps);
    k = ops::rms_norm(k, w.norm_k_weight, config_.eps);
  }
  Tensor o = ops::attention(q.view({B, L, H, Dh}), k.view({B, Lc, H, Dh}), v.view({B, Lc, H, Dh}), {},
                            1.0 / std::sqrt(double(Dh)));
  return ops::linear(o.view({B, L, H * Dh}), w.o_weight, w.o_bias);  // [B, L, D]
}

// WanAttentionBlock.forward L219–259.
void WanDiT::block_forward(const WanBlockWeights& w, Tensor& x, const Tensor& e0, const Tensor& context,
                           const std::vector<int64_t>& seq_lens, const std::vector<ops::Grid3>& grids) const {
  const double eps = config_.eps;
  // m_k = modulation[:, k] + e0[:, :, k]: [B, Lm, D] each, k = 0..5.
  const Tensor modulation = w.modulation.view({6, config_.dim});
  Tensor m[6];
  for (int64_t k = 0; k < 6; ++k) m[k] = ops::add(e0.select(2, k), modulation.select(0, k));

  // Self-attention on the modulated norm1(x), gated residual.
  Tensor h = ops::modulate(ops::layer_norm(x, eps), m[0], m[1]);
  ops::gated_residual_(x, self_attention(w.self_attn, h, seq_lens, grids), m[2]);
  // Cross-attention on norm3(x) (affine), plain residual: no modulation, no gate.
  const Tensor xn = config_.cross_attn_norm ? ops::layer_norm(x, eps, w.norm3_weight, w.norm3_bias) : x;
  ops::add_(x, cross_attention(w.cross_attn, xn, context));
  // FFN on the modulated norm2(x), gated residual.
  h = ops::modulate(ops::layer_norm(x, eps), m[3], m[4]);
  Tensor y = ops::linear(h, w.ffn_0_weight, w.ffn_0_bias, ops::Activation::GeluTanh);  // [B, L, F]
  y = ops::linear(y, w.ffn_2_weight, w.ffn_2_bias);                                     // [B, L, D]
  ops::gated_residual_(x, y, m[5]);
}

// Head.forward L262–291: modulation from e (the time_embedding output, no SiLU), then Linear.
Tensor WanDiT::head(const Tensor& x, const Tensor& e) const {
  const Tensor modulation = weights_.head_modulation.view({2, config_.dim});
  const Tensor shift = ops::add(e, modulation.select(0, 0));  // [B, Lm, D]
  const Tensor scale = ops::add(e, modulation.select(0, 1));  // [B, Lm, D]
  const Tensor h = ops::modulate(ops::layer_norm(x, config_.eps), shift, scale);
  return ops::linear(h, weights_.head_head_weight, weights_.head_head_bias);  // [B, L, prod(p)·C_out]
}

std::vector<Tensor> WanDiT::forward(const std::vector<Tensor>& x, const Tensor& t, const std::vector<Tensor>& context,
                                    int64_t seq_len, const WanBlockObserver& observer) const {
  const int64_t B = int64_t(x.size()), D = config_.dim;
  WAN_CHECK(B >= 1, "WanDiT: no latents given");
  WAN_CHECK(int64_t(context.size()) == B, "WanDiT: ", B, " latents but ", context.size(), " text contexts");
  WAN_CHECK(seq_len >= 1, "WanDiT: seq_len must be positive, got ", seq_len);

  // 1–2. Patch embedding into [B, seq_len, D], zero tokens past each sample's grid.
  Tensor tokens = Tensor::zeros({B, seq_len, D}, DType::F32);
  std::vector<ops::Grid3> grids;
  std::vector<int64_t> seq_lens;
  for (int64_t b = 0; b < B; ++b) {
    const Tensor xb = x[size_t(b)].to(DType::F32);
    WAN_CHECK(xb.dim() == 4, "WanDiT: latent ", b, " is ", xb.describe(), "; expected [C, T, H, W]");
    const Tensor emb = ops::patch_embed(xb, weights_.patch_embedding_weight, weights_.patch_embedding_bias);
    const auto& p = config_.patch_size;
    grids.push_back({xb.size(1) / p[0], xb.size(2) / p[1], xb.size(3) / p[2]});
    WAN_CHECK(emb.size(0) <= seq_len, "WanDiT: latent ", b, " ", xb.describe(), " has ", emb.size(0),
              " tokens, more than seq_len ", seq_len);
    seq_lens.push_back(emb.size(0));
    tokens.select(0, b).narrow(0, 0, emb.size(0)).copy_from(emb);
  }

  // 3–4. Time and text embeddings.
  const TimeEmbedding te = embed_time(t, B, seq_len);
  std::vector<Tensor> ctx_f32;
  for (const Tensor& c : context) ctx_f32.push_back(c.to(DType::F32));
  const Tensor ctx = embed_text(ctx_f32);  // [B, text_len, D]

  // 5. Blocks.
  for (int64_t i = 0; i < config_.num_layers; ++i) {
    block_forward(weights_.blocks[size_t(i)], tokens, te.e0, ctx, seq_lens, grids);
    if (observer) observer(i, tokens);
  }

  // 6–7. Head, then unpatchify each sample's true tokens.
  const Tensor out = head(tokens, te.e);  // [B, seq_len, prod(p)·C_out]
  std::vector<Tensor> result;
  for (int64_t b = 0; b < B; ++b)
    result.push_back(ops::unpatchify(out.select(0, b), grids[size_t(b)], config_.patch_size, config_.out_dim));
  return result;
}

}  // namespace wan
