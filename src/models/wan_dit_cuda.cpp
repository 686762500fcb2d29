#include "models/wan_dit_cuda.h"

#include <cmath>
#include <filesystem>

#include "backend/backend.h"
#include "core/rng.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/dit_fused.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/patch.h"

namespace wan {
namespace {

Tensor gpu_bf16(const Tensor& t) { return to_device(t.to(DType::BF16), Device::CUDA); }
Tensor gpu_f32(const Tensor& t) { return to_device(t.to(DType::F32), Device::CUDA); }

struct AttentionGpu {
  Tensor q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;  // bf16
  Tensor norm_q, norm_k;                          // f32 values of the bf16 weights
};

AttentionGpu upload(const WanAttentionWeights& w, bool qk_norm) {
  AttentionGpu g{gpu_bf16(w.q_weight), gpu_bf16(w.q_bias), gpu_bf16(w.k_weight), gpu_bf16(w.k_bias),
                 gpu_bf16(w.v_weight), gpu_bf16(w.v_bias), gpu_bf16(w.o_weight), gpu_bf16(w.o_bias), {}, {}};
  if (qk_norm) {
    g.norm_q = gpu_f32(w.norm_q_weight.to(DType::BF16));
    g.norm_k = gpu_f32(w.norm_k_weight.to(DType::BF16));
  }
  return g;
}

struct BlockGpu {
  AttentionGpu self_attn, cross_attn;
  Tensor norm3_w, norm3_b;  // f32
  Tensor ffn0_w, ffn0_b, ffn2_w, ffn2_b;
};

}  // namespace

// The small weights the host needs: the time embedding, the modulation tables (f32).
struct HostWeights {
  Tensor time0_w, time0_b, time2_w, time2_b, proj_w, proj_b;  // time_embedding.0/.2, time_projection.1
  std::vector<Tensor> modulation;                              // [1, 6, D] per block
  Tensor head_modulation;                                      // [1, 2, D]
};

struct WanDiTCuda::Impl {
  WanDiTConfig config;
  HostWeights host;
  Tensor patch_w, patch_b, text0_w, text0_b, text2_w, text2_b, head_w, head_b;  // bf16 on the GPU
  std::vector<BlockGpu> blocks;
  ops::RopeTable rope;
};

WanDiTCuda::WanDiTCuda(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WanDiTCuda::~WanDiTCuda() = default;
WanDiTCuda::WanDiTCuda(WanDiTCuda&&) noexcept = default;
const WanDiTConfig& WanDiTCuda::config() const { return impl_->config; }

WanDiTCuda WanDiTCuda::load(const std::string& folder) {
  WAN_CHECK(cuda_available(), "the CUDA DiT needs a GPU: ", cuda_device_summary());
  const WanDiT model = WanDiT::load(folder);
  const WanDiTConfig& c = model.config();
  const WanDiTWeights& w = model.weights();
  auto impl = std::make_unique<Impl>();
  impl->config = c;
  impl->host = {w.time_embedding_0_weight, w.time_embedding_0_bias, w.time_embedding_2_weight, w.time_embedding_2_bias,
                w.time_projection_1_weight, w.time_projection_1_bias, {}, w.head_modulation};
  for (const WanBlockWeights& b : w.blocks) impl->host.modulation.push_back(b.modulation);
  const int64_t D = c.dim, K = c.in_dim * c.patch_volume();
  impl->patch_w = gpu_bf16(w.patch_embedding_weight.contiguous().view({D, K}));
  impl->patch_b = gpu_bf16(w.patch_embedding_bias);
  impl->text0_w = gpu_bf16(w.text_embedding_0_weight);
  impl->text0_b = gpu_bf16(w.text_embedding_0_bias);
  impl->text2_w = gpu_bf16(w.text_embedding_2_weight);
  impl->text2_b = gpu_bf16(w.text_embedding_2_bias);
  impl->head_w = gpu_bf16(w.head_head_weight);
  impl->head_b = gpu_bf16(w.head_head_bias);
  for (const WanBlockWeights& b : w.blocks) {
    BlockGpu g{upload(b.self_attn, c.qk_norm), upload(b.cross_attn, c.qk_norm), {}, {},
               gpu_bf16(b.ffn_0_weight), gpu_bf16(b.ffn_0_bias), gpu_bf16(b.ffn_2_weight), gpu_bf16(b.ffn_2_bias)};
    if (c.cross_attn_norm) {
      g.norm3_w = gpu_f32(b.norm3_weight.to(DType::BF16));
      g.norm3_b = gpu_f32(b.norm3_bias.to(DType::BF16));
    }
    impl->blocks.push_back(std::move(g));
  }
  impl->rope = ops::rope_table_3d(c.head_dim());
  return WanDiTCuda(std::move(impl));
}

WanDiTCuda WanDiTCuda::random(const WanDiTConfig& c, uint64_t seed) {
  WAN_CHECK(cuda_available(), "the CUDA DiT needs a GPU: ", cuda_device_summary());
  c.validate();
  auto impl = std::make_unique<Impl>();
  impl->config = c;
  uint64_t stream = seed * 1000003;
  auto host = [&](const Shape& s, double stddev) {
    Tensor t = Tensor::empty(s, DType::F32);
    Rng(stream++).fill_normal(t, 0.0, stddev);
    return t;
  };
  auto dev = [&](const Shape& s, DType dtype, double mean, double stddev) {
    Tensor t = empty_on(s, dtype, Device::CUDA);
    fill_normal_on_device(t, stream++, mean, stddev);
    return t;
  };
  const int64_t D = c.dim, F = c.ffn_dim;
  impl->host = {host({D, c.freq_dim}, 0.02), host({D}, 0.02), host({D, D}, 0.02), host({D}, 0.02),
                host({6 * D, D}, 0.02), host({6 * D}, 0.02), {}, host({1, 2, D}, 0.02)};
  for (int64_t i = 0; i < c.num_layers; ++i) impl->host.modulation.push_back(host({1, 6, D}, 0.02));
  impl->patch_w = dev({D, c.in_dim * c.patch_volume()}, DType::BF16, 0, 0.02);
  impl->patch_b = dev({D}, DType::BF16, 0, 0.02);
  impl->text0_w = dev({D, c.text_dim}, DType::BF16, 0, 0.02);
  impl->text0_b = dev({D}, DType::BF16, 0, 0.02);
  impl->text2_w = dev({D, D}, DType::BF16, 0, 0.02);
  impl->text2_b = dev({D}, DType::BF16, 0, 0.02);
  impl->head_w = dev({c.patch_volume() * c.out_dim, D}, DType::BF16, 0, 0.02);
  impl->head_b = dev({c.patch_volume() * c.out_dim}, DType::BF16, 0, 0.02);
  auto attention = [&] {
    return AttentionGpu{dev({D, D}, DType::BF16, 0, 0.02), dev({D}, DType::BF16, 0, 0.02),
                        dev({D, D}, DType::BF16, 0, 0.02), dev({D}, DType::BF16, 0, 0.02),
                        dev({D, D}, DType::BF16, 0, 0.02), dev({D}, DType::BF16, 0, 0.02),
                        dev({D, D}, DType::BF16, 0, 0.02), dev({D}, DType::BF16, 0, 0.02),
                        dev({D}, DType::F32, 1, 0.02),     dev({D}, DType::F32, 1, 0.02)};
  };
  for (int64_t i = 0; i < c.num_layers; ++i)
    impl->blocks.push_back(BlockGpu{attention(), attention(), dev({D}, DType::F32, 1, 0.02), dev({D}, DType::F32, 0, 0.02),
                                    dev({F, D}, DType::BF16, 0, 0.02), dev({F}, DType::BF16, 0, 0.02),
                                    dev({D, F}, DType::BF16, 0, 0.02), dev({D}, DType::BF16, 0, 0.02)});
  impl->rope = ops::rope_table_3d(c.head_dim());
  device_synchronize();
  return WanDiTCuda(std::move(impl));
}

std::vector<Tensor> WanDiTCuda::forward(const std::vector<Tensor>& x_in, const Tensor& t_in,
                                        const std::vector<Tensor>& context, int64_t seq_len,
                                        StreamProfiler* profiler) const {
  auto region = [&](const char* category) {
    if (profiler) profiler->region(category);
  };
  const Impl& d = *impl_;
  const WanDiTConfig& c = d.config;
  const HostWeights& w = d.host;
  const int64_t B = int64_t(x_in.size()), D = c.dim, H = c.num_heads, Dh = c.head_dim();
  const auto& p = c.patch_size;
  WAN_CHECK(B >= 1 && int64_t(context.size()) == B, "WanDiTCuda: ", B, " latents and ", context.size(), " contexts");

  // Time embedding on the host, once per sample: e [B, D], e0 [B, 6D] (f32, as the reference).
  Tensor t = t_in.to(DType::F32).contiguous();
  if (t.dim() == 2) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t l = 1; l < t.size(1); ++l)
        WAN_CHECK(t.data<float>()[b * t.size(1) + l] == t.data<float>()[b * t.size(1)],
                  "WanDiTCuda: timesteps that differ within a sample are not supported on CUDA yet");
    t = t.select(1, 0).contiguous();
  }
  WAN_CHECK(t.dim() == 1 && t.size(0) == B, "WanDiTCuda: timestep ", t_in.describe(), " is not [B] or [B, seq_len]");
  const Tensor sin_emb = ops::sinusoidal_embedding(t, c.freq_dim);
  Tensor e = ops::linear(sin_emb, w.time0_w, w.time0_b, ops::Activation::SiLU);
  e = ops::linear(e, w.time2_w, w.time2_b);                                  // [B, D]
  const Tensor e0 = ops::linear(ops::silu(e), w.proj_w, w.proj_b).view({B, 6, D});  // [B, 6, D]
  // Every block's modulation, m[i][k] = modulation_i[k] + e0[:, k], in one upload: [layers, 6, B, D].
  Tensor mods_host = Tensor::empty({c.num_layers, 6, B, D}, DType::F32);
  for (int64_t i = 0; i < c.num_layers; ++i)
    for (int64_t k = 0; k < 6; ++k)
      mods_host.select(0, i).select(0, k).copy_from(ops::add(e0.select(1, k), w.modulation[size_t(i)].view({6, D}).select(0, k)));
  const Tensor mods = to_device(mods_host, Device::CUDA);

  // Patch embedding: gather on the host, the product on the GPU; padding tokens are zeros.
  Tensor x = empty_on({B, seq_len, D}, DType::F32, Device::CUDA);  // the f32 residual stream
  fill_zero_(x);
  std::vector<ops::Grid3> grids;
  std::vector<int64_t> lens;
  for (int64_t b = 0; b < B; ++b) {
    const Tensor xb = x_in[size_t(b)].to(DType::F32).contiguous();
    WAN_CHECK(xb.dim() == 4 && xb.size(0) == c.in_dim, "WanDiTCuda: latent ", b, " is ", xb.describe());
    for (int a = 0; a < 3; ++a)
      WAN_CHECK(xb.size(1 + a) % p[size_t(a)] == 0, "WanDiTCuda: latent size not a multiple of the patch");
    grids.push_back({xb.size(1) / p[0], xb.size(2) / p[1], xb.size(3) / p[2]});
    const int64_t n = grids.back()[0] * grids.back()[1] * grids.back()[2];
    WAN_CHECK(n <= seq_len, "WanDiTCuda: ", n, " tokens exceed seq_len ", seq_len);
    lens.push_back(n);
    // [C, F, pt, H', ph, W', pw] -> [F, H', W', C, pt, ph, pw]: the Conv3d's receptive fields.
    const Tensor patches = xb.view({c.in_dim, grids.back()[0], p[0], grids.back()[1], p[1], grids.back()[2], p[2]})
                               .permute({1, 3, 5, 0, 2, 4, 6}).contiguous().view({n, c.in_dim * c.patch_volume()});
    const Tensor emb = ops::linear(gpu_bf16(patches), d.patch_w, d.patch_b);  // [n, D] bf16
    Tensor rows = x.select(0, b).narrow(0, 0, n);
    copy_into(rows, convert_on_device(emb, DType::F32));
  }

  // Text: zero-padded to text_len, Linear–GELU–Linear on the GPU.
  Tensor padded = Tensor::zeros({B, c.text_len, c.text_dim}, DType::F32);
  for (int64_t b = 0; b < B; ++b) {
    const Tensor& ctx = context[size_t(b)];
    WAN_CHECK(ctx.dim() == 2 && ctx.size(1) == c.text_dim && ctx.size(0) <= c.text_len, "WanDiTCuda: context ", b,
              " is ", ctx.describe());
    padded.select(0, b).narrow(0, 0, ctx.size(0)).copy_from(ctx);
  }
  Tensor text = ops::linear(gpu_bf16(padded), d.text0_w, d.text0_b, ops::Activation::GeluTanh);
  text = ops::linear(text, d.text2_w, d.text2_b);  // [B, text_len, D] bf16
  const int64_t Lt = c.text_len;

  const double eps = c.eps, scale = 1.0 / std::sqrt(double(Dh));
  for (size_t i = 0; i < d.blocks.size(); ++i) {
    const BlockGpu& g = d.blocks[i];
    Tensor m[6];
    for (int64_t k = 0; k < 6; ++k) m[k] = mods.select(0, int64_t(i)).select(0, k);  // [B, D] f32 views

    // Self-attention.
    region("other");
    Tensor h = ops::layer_norm_modulate(x, eps, {}, {}, m[0], m[1]);               // [B, S, D] bf16
    region("matmul");
    Tensor q = ops::linear(h, g.self_attn.q_w, g.self_attn.q_b);
    Tensor k = ops::linear(h, g.self_attn.k_w, g.self_attn.k_b);
    const Tensor v = ops::linear(h, g.self_attn.v_w, g.self_attn.v_b);
    region("other");
    if (c.qk_norm) {
      q = ops::rms_norm_rope(q, g.self_attn.norm_q, eps, H, grids, &d.rope);
      k = ops::rms_norm_rope(k, g.self_attn.norm_k, eps, H, grids, &d.rope);
    }
    region("attention");
    Tensor o = ops::attention(q.view({B, seq_len, H, Dh}), k.view({B, seq_len, H, Dh}), v.view({B, seq_len, H, Dh}),
                              lens, scale);
    region("matmul");
    Tensor y = ops::linear(o.view({B, seq_len, D}), g.self_attn.o_w, g.self_attn.o_b);
    region("other");
    ops::residual_add_(x, y, m[2]);

    // Cross-attention on norm3(x): all text_len keys, no RoPE, no gate.
    h = ops::layer_norm_modulate(x, eps, g.norm3_w, g.norm3_b, {}, {});
    region("matmul");
    Tensor cq = ops::linear(h, g.cross_attn.q_w, g.cross_attn.q_b);
    Tensor ck = ops::linear(text, g.cross_attn.k_w, g.cross_attn.k_b);
    const Tensor cv = ops::linear(text, g.cross_attn.v_w, g.cross_attn.v_b);
    region("other");
    if (c.qk_norm) {
      cq = ops::rms_norm_rope(cq, g.cross_attn.norm_q, eps, H, {}, nullptr);
      ck = ops::rms_norm_rope(ck, g.cross_attn.norm_k, eps, H, {}, nullptr);
    }
    region("attention");
    o = ops::attention(cq.view({B, seq_len, H, Dh}), ck.view({B, Lt, H, Dh}), cv.view({B, Lt, H, Dh}), {}, scale);
    region("matmul");
    y = ops::linear(o.view({B, seq_len, D}), g.cross_attn.o_w, g.cross_attn.o_b);
    region("other");
    ops::residual_add_(x, y, Tensor());

    // FFN.
    h = ops::layer_norm_modulate(x, eps, {}, {}, m[3], m[4]);
    region("matmul");
    const Tensor f = ops::linear(h, g.ffn0_w, g.ffn0_b, ops::Activation::GeluTanh);
    y = ops::linear(f, g.ffn2_w, g.ffn2_b);
    region("other");
    ops::residual_add_(x, y, m[5]);
  }

  // Head: modulation from e (no SiLU), then the output projection.
  const Tensor head_mod = w.head_modulation.view({2, D});  // shift, scale = head.modulation + e
  const Tensor h = ops::layer_norm_modulate(x, eps, {}, {}, gpu_f32(ops::add(e, head_mod.select(0, 0))),
                                            gpu_f32(ops::add(e, head_mod.select(0, 1))));
  const Tensor out = to_device(ops::linear(h, d.head_w, d.head_b), Device::CPU).to(DType::F32);  // [B, S, p·C]
  std::vector<Tensor> result;
  for (int64_t b = 0; b < B; ++b)
    result.push_back(ops::unpatchify(out.select(0, b), grids[size_t(b)], c.patch_size, c.out_dim));
  return result;
}

}  // namespace wan
