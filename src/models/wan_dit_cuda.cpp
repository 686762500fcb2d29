#include "models/wan_dit_cuda.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>

#include "backend/backend.h"
#include "backend/cuda/cuda_context.h"
#include "core/env.h"
#include "core/log.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "io/checkpoint.h"
#include "models/wan_dit_weights.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/attention_fp8.h"
#include "ops/dit_fused.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/linear_fp8.h"
#include "ops/patch.h"

namespace wan {
namespace {

Tensor gpu_bf16(const Tensor& t) { return to_device(t.to(DType::BF16), Device::CUDA); }
Tensor gpu_f32(const Tensor& t) { return to_device(t.to(DType::F32), Device::CUDA); }

// Row-wise concatenation on the host: the fused projections' weights [sum of rows, in], in the
// parts' dtype.
Tensor cat_rows(const std::vector<Tensor>& parts) {
  if (parts.size() == 1) return parts.front();
  int64_t rows = 0;
  for (const Tensor& p : parts) rows += p.size(0);
  Shape shape = parts.front().shape();
  shape[0] = rows;
  Tensor out = Tensor::empty(shape, parts.front().dtype());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    out.narrow(0, at, p.size(0)).copy_from(p);
    at += p.size(0);
  }
  return out;
}

// A block's Linear on the GPU: a bf16 weight, or (Precision::FP8) its E4M3 values with a scale
// per output channel; the bias bf16 either way.
struct LinearGpu {
  Tensor w, b;
  ops::Fp8Matrix q;

  // weight: bf16 [out, in] on the GPU (quantised here for FP8, the bf16 copy dropped).
  LinearGpu(Tensor weight, Tensor bias, Precision p) : b(std::move(bias)) {
    if (p == Precision::FP8) q = ops::quantize_fp8(weight, ops::Fp8Scaling::PerRow);
    else w = std::move(weight);
  }
  // Already E4M3 with per-row scales on the GPU (an FP8 checkpoint's own values).
  LinearGpu(ops::Fp8Matrix stored, Tensor bias) : b(std::move(bias)), q(std::move(stored)) {}
  LinearGpu() = default;
  Tensor operator()(const Tensor& x, ops::Activation act = ops::Activation::None) const {
    return q.defined() ? ops::linear(x, q, b, act) : ops::linear(x, w, b, act);
  }
  // The product of an input the norm already quantised (x2d [B·L, in], FP8 only) → [B, L, out].
  Tensor operator()(const ops::Fp8Matrix& x2d, int64_t B, int64_t L, ops::Activation act = ops::Activation::None) const {
    return ops::linear_fp8(x2d, q, b, act).view({B, L, q.values.size(0)});
  }
  // The product written into `out` (rows of a larger buffer; ops::linear_into).
  void into(const Tensor& x, Tensor& out, ops::Activation act = ops::Activation::None) const {
    if (q.defined())
      ops::linear_fp8_into(ops::quantize_fp8(x.view({-1, x.size(-1)}), ops::Fp8Scaling::PerRow), q, b, act, out);
    else
      ops::linear_into(x, w, b, act, out);
  }
  // The product of the adaLN / LayerNorm of x (ops::layer_norm_modulate's arguments): in FP8 the
  // norm kernel writes the E4M3 input itself (one pass fewer over the activations). With a
  // pending residual (res_y defined), x += res_y · res_gate first, in the norm's pass
  // (ops::residual_layer_norm_modulate_, which takes an undefined res_y as none); res_y is let go
  // before the product (a caller that moves it in frees its memory for the product's output).
  Tensor normed(Tensor& x, double eps, const Tensor& nw, const Tensor& nb, const Tensor& shift, const Tensor& scale,
                ops::Activation act, const std::function<void(const char*)>& region, Tensor res_y = {},
                const Tensor& res_gate = {}) const {
    region("other");
    if (q.defined()) {
      const ops::Fp8Matrix h = ops::residual_layer_norm_modulate_fp8_(x, res_y, res_gate, eps, nw, nb, shift, scale);
      res_y = Tensor();
      region("matmul");
      return (*this)(h, x.size(0), x.size(1), act);
    }
    const Tensor h = ops::residual_layer_norm_modulate_(x, res_y, res_gate, eps, nw, nb, shift, scale);
    res_y = Tensor();
    region("matmul");
    return (*this)(h, act);
  }
  template <typename F>
  void for_each(F&& f) {
    for (Tensor* t : {&w, &b, &q.values, &q.scales}) f(*t);
  }
};

// Self-attention: q, k, v as one product (in_proj [3D, D] = q; k; v). Cross-attention: q from
// the video tokens, k and v from the text as one product ([2D, D] = k; v).
struct AttentionGpu {
  LinearGpu in;           // self [3D, D] (q; k; v), cross [D, D] (q)
  LinearGpu kv;           // cross-attention only: [2D, D] (k; v)
  LinearGpu o;
  Tensor norm_q, norm_k;  // f32 values of the bf16 weights
};

// Row scales of the block weights a --precision fp8 load took as the file stores them (E4M3), by
// tensor name (load_wan_dit_weights_keeping_fp8).
using StoredScales = std::map<std::string, Tensor>;

// One Linear for the GPU from host weights: `parts` ("blocks.i.self_attn.q" and its weight, ...)
// stacked row-wise in order (q; k; v). When every part came from the file in E4M3 with its row
// scales, those values and scales go to the GPU as they are (no second quantisation); otherwise
// the rows in bf16 (a stored part dequantised) for LinearGpu to use or quantise.
LinearGpu upload_linear(const std::vector<std::pair<std::string, const Tensor*>>& parts,
                        const std::vector<const Tensor*>& biases, Precision p, const StoredScales& stored) {
  std::vector<Tensor> bias_rows, values, scales;
  for (const Tensor* b : biases) bias_rows.push_back(*b);
  Tensor bias = gpu_bf16(cat_rows(bias_rows));
  for (const auto& [name, weight] : parts) {
    const auto it = stored.find(name + ".weight");
    if (it == stored.end()) break;
    values.push_back(*weight);
    scales.push_back(it->second);
  }
  if (p == Precision::FP8 && values.size() == parts.size())
    return LinearGpu(ops::Fp8Matrix{to_device(cat_rows(values), Device::CUDA), gpu_f32(cat_rows(scales))},
                     std::move(bias));
  std::vector<Tensor> rows;
  for (const auto& [name, weight] : parts) {
    const auto it = stored.find(name + ".weight");
    rows.push_back(it == stored.end() ? *weight : ops::dequantize_fp8(ops::Fp8Matrix{*weight, it->second}));
  }
  return LinearGpu(gpu_bf16(cat_rows(rows)), std::move(bias), p);
}

AttentionGpu upload_self(const WanAttentionWeights& w, const std::string& prefix, Precision p,
                         const StoredScales& stored) {
  return {upload_linear({{prefix + ".q", &w.q_weight}, {prefix + ".k", &w.k_weight}, {prefix + ".v", &w.v_weight}},
                        {&w.q_bias, &w.k_bias, &w.v_bias}, p, stored),
          {},
          upload_linear({{prefix + ".o", &w.o_weight}}, {&w.o_bias}, p, stored),
          gpu_f32(w.norm_q_weight.to(DType::BF16)),
          gpu_f32(w.norm_k_weight.to(DType::BF16))};
}

AttentionGpu upload_cross(const WanAttentionWeights& w, const std::string& prefix, Precision p,
                          const StoredScales& stored) {
  return {upload_linear({{prefix + ".q", &w.q_weight}}, {&w.q_bias}, p, stored),
          upload_linear({{prefix + ".k", &w.k_weight}, {prefix + ".v", &w.v_weight}}, {&w.k_bias, &w.v_bias}, p, stored),
          upload_linear({{prefix + ".o", &w.o_weight}}, {&w.o_bias}, p, stored),
          gpu_f32(w.norm_q_weight.to(DType::BF16)),
          gpu_f32(w.norm_k_weight.to(DType::BF16))};
}

struct BlockGpu {
  AttentionGpu self_attn, cross_attn;
  Tensor norm3_w, norm3_b;  // f32
  LinearGpu ffn0, ffn2;
};

// Part `part` of a fused [B, L, parts·D] product as [B, L, D] rows (strided, no copy).
Tensor columns(const Tensor& fused, int64_t part, int64_t D) { return fused.narrow(2, part * D, D); }

// The same as [B, L, H, Dh] for attention.
Tensor heads(const Tensor& fused, int64_t part, int64_t H, int64_t Dh) {
  const int64_t B = fused.size(0), L = fused.size(1), parts = fused.size(2) / (H * Dh);
  return fused.view({B, L, parts, H, Dh}).select(2, part);
}

// CUDA-graph capture of the forward (Impl::CapturedForward) by default: WAN_CUDA_GRAPHS=1.
bool cuda_graphs_by_default() {
  static const bool on = env_is("WAN_CUDA_GRAPHS", "1");
  return on;
}

// predict_guided shares the first block's self-attention unless WAN_GUIDED_SHARING=0.
bool guided_sharing_by_default() {
  static const bool on = !env_is("WAN_GUIDED_SHARING", "0");
  return on;
}

}  // namespace

struct WanDiTCuda::Impl {
  WanDiTConfig config;
  Precision precision = Precision::BF16;
  // Time embedding (bf16 weights, f32 arithmetic, as --convert_model_dtype runs it).
  Tensor time0_w, time0_b, time2_w, time2_b, proj_w, proj_b;
  Tensor modulation;       // f32 [layers, 6, D]: every block's modulation parameter
  Tensor head_modulation;  // f32 [1, 2, D]
  Tensor patch_w, patch_b, text0_w, text0_b, text2_w, text2_b, head_w, head_b;  // bf16 on the GPU
  std::vector<BlockGpu> blocks;
  ops::RopeTable rope;
  std::shared_ptr<const dist::Communicator> sequence_parallel;
  bool offloaded = false;
  std::vector<Tensor> host;  // page-locked copies of the weights, in for_each_weight order, once offloaded

  // Cross-attention's keys and values depend on the text alone (WanCrossAttention: k, v of the
  // context), so they are computed on a text's first forward and reused by every later step:
  // one entry per text of a CFG run (a prompt and its negative prompt), the least recently used
  // one replaced by a third; release_text_cache() and offload() free them. A forward finds its
  // entry by comparing its host contexts byte for byte with the entry's copies (8 MB for A14B's
  // 512 x 4096 floats: well under a millisecond, against ~3 ms of products and 120 launches).
  //
  // The forward of a shape (samples' grids and seq_len) seen before with the same text is captured
  // as a CUDA graph and replayed (backend/cuda/cuda_context.h Graph): the first forward runs as
  // is (it plans and tunes every product and attention, which a capture cannot), the second is
  // captured and replayed, later ones only replay after copying their latents and timestep into
  // the graph's input buffers (the first forward also makes every workspace and table the ops keep
  // for good: made inside a capture, one would hold the whole graph memory for as long as it
  // lives). A graph reads the weights and its text's keys and values where
  // they are, so it lives in its text's entry and goes with it (and with offload()); the graphs
  // of one model share one block of graph memory (they never run at once), which goes back to
  // the pool with the last of them. Not with a profiler, an observer or sequence parallelism.
  // Off unless WAN_CUDA_GRAPHS=1 or set_cuda_graphs(true): measured on an H100 (tenth session) it
  // gains nothing at the real sizes nor at 3,120 tokens (the GPU never waits for launches there),
  // and the graph memory, held whole between steps, counts ~2 GiB more in use at 832x480.
  struct CapturedForward {
    bool planned = false;               // its first forward (uncaptured: it plans and tunes) has run
    bool failed = false;                // the capture failed once: this shape runs uncaptured
    std::unique_ptr<cuda::Graph> graph;
    std::vector<Tensor> latents;        // the graph's inputs: per sample [C, F, H, W] f32
    Tensor sin_emb;                     // and [B, freq_dim] f32
    std::vector<Tensor> videos;         // its outputs: per sample [C, F, H, W] f32
  };
  struct TextEntry {
    std::vector<Tensor> contexts;  // host f32 copies of the forward's contexts, one per sample
    std::vector<Tensor> kv;        // per block: [B, text_len, 2D] bf16 (k; v), k RMS-normalised
    uint64_t used = 0;
    std::map<std::vector<int64_t>, CapturedForward> graphs;  // by seq_len and the samples' grids
  };
  static constexpr size_t kTextEntries = 2;
  mutable std::vector<TextEntry> text_cache;
  mutable uint64_t text_clock = 0;
  mutable std::weak_ptr<cuda::GraphMemory> graph_memory;
  mutable int64_t graph_replays = 0;
  bool graphs_on = cuda_graphs_by_default();  // set_cuda_graphs
  bool guided_sharing = guided_sharing_by_default();  // set_guided_sharing
  mutable int64_t shared_first_attentions = 0;
  TextEntry& text_entry(const std::vector<Tensor>& context, const std::function<void(const char*)>& region) const;

  // Every weight tensor on the GPU (undefined ones, e.g. self-attention's kv, skipped by callers).
  template <typename F>
  void for_each_weight(F&& f) {
    for (Tensor* t : {&time0_w, &time0_b, &time2_w, &time2_b, &proj_w, &proj_b, &modulation, &head_modulation, &patch_w,
                      &patch_b, &text0_w, &text0_b, &text2_w, &text2_b, &head_w, &head_b})
      f(*t);
    for (BlockGpu& b : blocks) {
      for (AttentionGpu* a : {&b.self_attn, &b.cross_attn}) {
        for (LinearGpu* l : {&a->in, &a->kv, &a->o}) l->for_each(f);
        for (Tensor* t : {&a->norm_q, &a->norm_k}) f(*t);
      }
      for (Tensor* t : {&b.norm3_w, &b.norm3_b}) f(*t);
      for (LinearGpu* l : {&b.ffn0, &b.ffn2}) l->for_each(f);
    }
  }
};

WanDiTCuda::WanDiTCuda(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WanDiTCuda::~WanDiTCuda() = default;
WanDiTCuda::WanDiTCuda(WanDiTCuda&&) noexcept = default;
const WanDiTConfig& WanDiTCuda::config() const { return impl_->config; }
Precision WanDiTCuda::precision() const { return impl_->precision; }

void WanDiTCuda::release_text_cache() const { impl_->text_cache.clear(); }

void WanDiTCuda::offload() {
  impl_->text_cache.clear();
  if (impl_->offloaded) return;
  const bool first = impl_->host.empty();
  size_t i = 0;
  impl_->for_each_weight([&](Tensor& t) {
    if (first) impl_->host.push_back(t.defined() ? to_pinned_host(t) : Tensor());
    WAN_CHECK(i < impl_->host.size() && impl_->host[i].defined() == t.defined(), "WanDiTCuda::offload: weights changed");
    t = Tensor();  // the GPU block goes back to the pool, for the other expert's same-shaped weights
    ++i;
  });
  impl_->offloaded = true;
}

void WanDiTCuda::reload() {
  if (!impl_->offloaded) return;
  size_t i = 0;
  impl_->for_each_weight([&](Tensor& t) {
    const Tensor& h = impl_->host[i++];
    if (h.defined()) t = to_device(h, Device::CUDA);
  });
  impl_->offloaded = false;
}

bool WanDiTCuda::resident() const { return !impl_->offloaded; }

void WanDiTCuda::set_sequence_parallel(std::shared_ptr<const dist::Communicator> group) {
  WAN_CHECK(!group || impl_->config.num_heads % group->size() == 0, "Ulysses over ", group ? group->size() : 0,
            " GPUs: the DiT's ", impl_->config.num_heads, " heads do not split evenly");
  impl_->sequence_parallel = group && group->size() > 1 ? std::move(group) : nullptr;
}

namespace {
void check_supported(const WanDiTConfig& c, Precision p) {
  WAN_CHECK(c.qk_norm && c.cross_attn_norm,
            "the CUDA DiT implements the Wan 2.2 blocks (qk_norm and cross_attn_norm on); this config has them off: "
            "use --device cpu");
  if (p == Precision::FP8) {
    WAN_CHECK(fp8_products_supported(cuda_compute_capability()),
              "--precision fp8 needs compute capability 8.9 (Ada) or later (FP8 tensor cores); ", cuda_device_summary(),
              " has not: use --precision bf16");
    WAN_CHECK(c.dim % 16 == 0 && c.ffn_dim % 16 == 0 && c.head_dim() % 16 == 0, "--precision fp8: the DiT's widths (dim ",
              c.dim, ", ffn_dim ", c.ffn_dim, ", head dim ", c.head_dim(), ") must be multiples of 16");
  }
}
}  // namespace

WanDiTCuda WanDiTCuda::load(const std::string& folder, Precision precision) {
  WAN_CHECK(cuda_available(), "the CUDA DiT needs a GPU: ", cuda_device_summary());
  // The weights read from the (memory-mapped) checkpoint straight into bf16 on the host: half the
  // host memory of an f32 copy (an A14B expert: 28.6 GB, not 57), converted in parallel. bf16 is
  // what the GPU computes with, and what the official --convert_model_dtype makes of every
  // parameter (modulation and norm gains included; they are used in f32 from those values).
  const WanDiTConfig c = wan_dit_config_of_folder(folder);
  check_supported(c, precision);
  // An FP8 run takes the block weights an FP8 checkpoint stores in E4M3 as they are (StoredScales).
  const TensorStore store = TensorStore::open(folder);
  StoredScales stored;
  const WanDiTWeights w = precision == Precision::FP8
                              ? load_wan_dit_weights_keeping_fp8(store, c, DType::BF16, stored)
                              : load_wan_dit_weights(store, c, DType::BF16);
  auto impl = std::make_unique<Impl>();
  impl->config = c;
  impl->precision = precision;
  impl->time0_w = gpu_bf16(w.time_embedding_0_weight);
  impl->time0_b = gpu_bf16(w.time_embedding_0_bias);
  impl->time2_w = gpu_bf16(w.time_embedding_2_weight);
  impl->time2_b = gpu_bf16(w.time_embedding_2_bias);
  impl->proj_w = gpu_bf16(w.time_projection_1_weight);
  impl->proj_b = gpu_bf16(w.time_projection_1_bias);
  std::vector<Tensor> mods;
  for (const WanBlockWeights& b : w.blocks) mods.push_back(b.modulation.view({6, c.dim}));
  impl->modulation = gpu_f32(cat_rows(mods).view({c.num_layers, 6, c.dim}));
  impl->head_modulation = gpu_f32(w.head_modulation);
  const int64_t D = c.dim, K = c.in_dim * c.patch_volume();
  impl->patch_w = gpu_bf16(w.patch_embedding_weight.contiguous().view({D, K}));
  impl->patch_b = gpu_bf16(w.patch_embedding_bias);
  impl->text0_w = gpu_bf16(w.text_embedding_0_weight);
  impl->text0_b = gpu_bf16(w.text_embedding_0_bias);
  impl->text2_w = gpu_bf16(w.text_embedding_2_weight);
  impl->text2_b = gpu_bf16(w.text_embedding_2_bias);
  impl->head_w = gpu_bf16(w.head_head_weight);
  impl->head_b = gpu_bf16(w.head_head_bias);
  for (size_t i = 0; i < w.blocks.size(); ++i) {
    const WanBlockWeights& b = w.blocks[i];
    const std::string pre = "blocks." + std::to_string(i);
    impl->blocks.push_back(BlockGpu{upload_self(b.self_attn, pre + ".self_attn", precision, stored),
                                    upload_cross(b.cross_attn, pre + ".cross_attn", precision, stored),
                                    gpu_f32(b.norm3_weight.to(DType::BF16)), gpu_f32(b.norm3_bias.to(DType::BF16)),
                                    upload_linear({{pre + ".ffn.0", &b.ffn_0_weight}}, {&b.ffn_0_bias}, precision, stored),
                                    upload_linear({{pre + ".ffn.2", &b.ffn_2_weight}}, {&b.ffn_2_bias}, precision, stored)});
  }
  impl->rope = ops::rope_table_3d(c.head_dim());
  return WanDiTCuda(std::move(impl));
}

WanDiTCuda WanDiTCuda::random(const WanDiTConfig& c, uint64_t seed, Precision precision) {
  WAN_CHECK(cuda_available(), "the CUDA DiT needs a GPU: ", cuda_device_summary());
  c.validate();
  check_supported(c, precision);
  auto impl = std::make_unique<Impl>();
  impl->config = c;
  impl->precision = precision;
  uint64_t stream = seed * 1000003;
  auto dev = [&](const Shape& s, DType dtype, double mean, double stddev) {
    Tensor t = empty_on(s, dtype, Device::CUDA);
    fill_normal_on_device(t, stream++, mean, stddev);
    return t;
  };
  const int64_t D = c.dim, F = c.ffn_dim;
  auto bf16 = [&](const Shape& s) { return dev(s, DType::BF16, 0, 0.02); };
  impl->time0_w = bf16({D, c.freq_dim});
  impl->time0_b = bf16({D});
  impl->time2_w = bf16({D, D});
  impl->time2_b = bf16({D});
  impl->proj_w = bf16({6 * D, D});
  impl->proj_b = bf16({6 * D});
  impl->modulation = dev({c.num_layers, 6, D}, DType::F32, 0, 0.02);
  impl->head_modulation = dev({1, 2, D}, DType::F32, 0, 0.02);
  impl->patch_w = bf16({D, c.in_dim * c.patch_volume()});
  impl->patch_b = bf16({D});
  impl->text0_w = bf16({D, c.text_dim});
  impl->text0_b = bf16({D});
  impl->text2_w = bf16({D, D});
  impl->text2_b = bf16({D});
  impl->head_w = bf16({c.patch_volume() * c.out_dim, D});
  impl->head_b = bf16({c.patch_volume() * c.out_dim});
  auto norm = [&] { return dev({D}, DType::F32, 1, 0.02); };
  for (int64_t i = 0; i < c.num_layers; ++i) {
    auto lin = [&](int64_t out, int64_t in) { return LinearGpu(bf16({out, in}), bf16({out}), precision); };
    AttentionGpu self{lin(3 * D, D), {}, lin(D, D), norm(), norm()};
    AttentionGpu cross{lin(D, D), lin(2 * D, D), lin(D, D), norm(), norm()};
    impl->blocks.push_back(
        BlockGpu{std::move(self), std::move(cross), norm(), dev({D}, DType::F32, 0, 0.02), lin(F, D), lin(D, F)});
  }
  impl->rope = ops::rope_table_3d(c.head_dim());
  device_synchronize();
  return WanDiTCuda(std::move(impl));
}

namespace {

// Ulysses self-attention (wan/distributed/sequence_parallel.py's all-to-all around attention):
// qkv [B, Sl, 3D] holds this rank's Sl tokens of every head; returns the attention output of the
// same tokens, [B, Sl, D]. Between the two all-to-alls each rank attends over all N·Sl tokens of
// its H/N heads; `lens` are the samples' real token counts (padded keys masked). Frees qkv.
// Self-attention in the model's precision: bf16, or E4M3 q, k, v (ops/attention_fp8.h).
Tensor self_attention(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& lens,
                      double scale, bool fp8) {
  return fp8 ? ops::attention_fp8(q, k, v, lens, scale) : ops::attention(q, k, v, lens, scale);
}

template <typename Region>
Tensor ulysses_attention(const dist::Communicator& sp, Tensor& qkv, const std::vector<int64_t>& lens, double scale,
                         int64_t H, int64_t Dh, bool fp8, Region&& region) {
  const int64_t N = sp.size(), B = qkv.size(0), Sl = qkv.size(1), Hn = H / N, S = N * Sl;
  region("all-to-all");
  // Part p of the send buffer: heads [p·Hn, (p+1)·Hn) of q, k and v of this rank's tokens.
  Tensor send = empty_on({N, B, Sl, 3, Hn, Dh}, DType::BF16, Device::CUDA);
  copy_into(send, qkv.view({B, Sl, 3, N, Hn, Dh}).permute({3, 0, 1, 2, 4, 5}));
  qkv = Tensor();
  Tensor recv = empty_on(send.shape(), DType::BF16, Device::CUDA);
  sp.all_to_all(send, recv);  // part p: rank p's tokens, rows p·Sl.. of the sequence
  send = Tensor();
  const Tensor all = B == 1 ? recv.view({1, S, 3, Hn, Dh})
                            : contiguous_on_device(recv.permute({1, 0, 2, 3, 4, 5})).view({B, S, 3, Hn, Dh});
  recv = Tensor();
  region("attention");
  Tensor o = self_attention(all.select(2, 0), all.select(2, 1), all.select(2, 2), lens, scale, fp8);  // [B, S, Hn, Dh]
  region("all-to-all");
  // Part p back to rank p: its tokens' rows of this rank's heads.
  const Tensor back = B == 1 ? o.view({N, 1, Sl, Hn, Dh})
                             : contiguous_on_device(o.view({B, N, Sl, Hn, Dh}).permute({1, 0, 2, 3, 4}));
  o = Tensor();
  Tensor got = empty_on(back.shape(), DType::BF16, Device::CUDA);  // part p: heads of rank p
  sp.all_to_all(back, got);
  Tensor out = empty_on({B, Sl, N, Hn, Dh}, DType::BF16, Device::CUDA);
  copy_into(out, got.permute({1, 2, 0, 3, 4}));
  return out.view({B, Sl, H * Dh});
}
}  // namespace

WanDiTCuda::Impl::TextEntry& WanDiTCuda::Impl::text_entry(const std::vector<Tensor>& context,
                                                          const std::function<void(const char*)>& region) const {
  const WanDiTConfig& c = config;
  const int64_t B = int64_t(context.size()), D = c.dim, H = c.num_heads;
  std::vector<Tensor> given;
  for (int64_t b = 0; b < B; ++b) {
    const Tensor& ctx = context[size_t(b)];
    WAN_CHECK(ctx.dim() == 2 && ctx.size(1) == c.text_dim && ctx.size(0) <= c.text_len, "WanDiTCuda: context ", b,
              " is ", ctx.describe());
    given.push_back(ctx.to(DType::F32).contiguous());
  }
  const auto same = [&](const TextEntry& e) {
    if (e.contexts.size() != given.size()) return false;
    for (size_t b = 0; b < given.size(); ++b)
      if (e.contexts[b].shape() != given[b].shape() ||
          std::memcmp(e.contexts[b].data_ptr(), given[b].data_ptr(), given[b].nbytes()) != 0)
        return false;
    return true;
  };
  for (TextEntry& e : text_cache)
    if (same(e)) {
      e.used = ++text_clock;
      return e;
    }
  if (text_cache.size() >= kTextEntries)  // the least recently used goes first: its memory serves the new one
    text_cache.erase(std::min_element(text_cache.begin(), text_cache.end(),
                                      [](const TextEntry& a, const TextEntry& b) { return a.used < b.used; }));

  // Text: zero-padded to text_len, Linear–GELU–Linear on the GPU (WanModel.forward: text_embedding).
  Tensor padded = Tensor::zeros({B, c.text_len, c.text_dim}, DType::F32);
  for (int64_t b = 0; b < B; ++b)
    padded.select(0, b).narrow(0, 0, given[size_t(b)].size(0)).copy_from(given[size_t(b)]);
  region("matmul");
  Tensor text = ops::linear(gpu_bf16(padded), text0_w, text0_b, ops::Activation::GeluTanh);
  text = ops::linear(text, text2_w, text2_b);  // [B, text_len, D] bf16
  TextEntry entry;
  for (const Tensor& g : given) entry.contexts.push_back(g.clone());
  for (const BlockGpu& g : blocks) {
    region("matmul");
    Tensor kv = g.cross_attn.kv(text);  // [B, Lt, 2D]
    region("other");
    Tensor k = columns(kv, 0, D);
    ops::rms_norm_rope_(k, g.cross_attn.norm_k, c.eps, H, {}, nullptr);  // WanCrossAttention: norm_k(k(context))
    entry.kv.push_back(std::move(kv));
  }
  entry.used = ++text_clock;
  text_cache.push_back(std::move(entry));
  return text_cache.back();
}

std::vector<Tensor> WanDiTCuda::forward(const std::vector<Tensor>& x, const Tensor& t,
                                        const std::vector<Tensor>& context, int64_t seq_len,
                                        StreamProfiler* profiler, const WanBlockObserver& observer) const {
  return run_forward(x, t, context, seq_len, profiler, observer, nullptr);
}

std::pair<Tensor, Tensor> WanDiTCuda::predict_guided(const Tensor& x, const Tensor& t, const Tensor& context,
                                                     const Tensor& context_null, int64_t seq_len) const {
  if (!impl_->guided_sharing || impl_->graphs_on) return DiTModel::predict_guided(x, t, context, context_null, seq_len);
  // The first block's self-attention output: stored by the first forward, taken by the second.
  Tensor first_attention;
  Tensor cond = run_forward({x}, t, {context}, seq_len, nullptr, {}, &first_attention)[0];
  Tensor uncond = run_forward({x}, t, {context_null}, seq_len, nullptr, {}, &first_attention)[0];
  ++impl_->shared_first_attentions;
  return {std::move(cond), std::move(uncond)};
}

void WanDiTCuda::set_guided_sharing(bool on) { impl_->guided_sharing = on; }
int64_t WanDiTCuda::shared_first_attentions() const { return impl_->shared_first_attentions; }

std::vector<Tensor> WanDiTCuda::run_forward(const std::vector<Tensor>& x_in, const Tensor& t_in,
                                            const std::vector<Tensor>& context, int64_t seq_len,
                                            StreamProfiler* profiler, const WanBlockObserver& observer,
                                            Tensor* shared) const {
  auto region = [&](const char* category) {
    if (profiler) profiler->region(category);
  };
  const Impl& d = *impl_;
  WAN_CHECK(!d.offloaded, "the DiT's weights are offloaded to host memory: reload() them before a forward");
  const WanDiTConfig& c = d.config;
  const int64_t B = int64_t(x_in.size()), D = c.dim, H = c.num_heads, Dh = c.head_dim();
  const auto& p = c.patch_size;
  WAN_CHECK(B >= 1 && int64_t(context.size()) == B, "WanDiTCuda: ", B, " latents and ", context.size(), " contexts");

  // The timestep, one per sample: its sinusoidal embedding here, the rest of the time embedding on
  // the GPU (on_gpu).
  region("other");
  Tensor t = t_in.to(DType::F32).contiguous();
  if (t.dim() == 2) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t l = 1; l < t.size(1); ++l)
        WAN_CHECK(t.data<float>()[b * t.size(1) + l] == t.data<float>()[b * t.size(1)],
                  "WanDiTCuda: timesteps that differ within a sample are not supported on CUDA yet");
    t = t.select(1, 0).contiguous();
  }
  WAN_CHECK(t.dim() == 1 && t.size(0) == B, "WanDiTCuda: timestep ", t_in.describe(), " is not [B] or [B, seq_len]");
  const Tensor sin_host = ops::sinusoidal_embedding(t, c.freq_dim);  // [B, freq_dim]

  // Sequence parallel: this rank keeps rows [first, first + Sl) of the sequence padded to N·Sl.
  const dist::Communicator* sp = d.sequence_parallel.get();
  const int64_t N = sp ? sp->size() : 1, Sl = (seq_len + N - 1) / N, first = sp ? sp->rank() * Sl : 0;

  // The latents, checked, and their token grids.
  std::vector<Tensor> latents_host;
  std::vector<ops::Grid3> grids;
  std::vector<int64_t> lens;
  for (int64_t b = 0; b < B; ++b) {
    latents_host.push_back(x_in[size_t(b)].to(DType::F32).contiguous());
    const Tensor& xb = latents_host.back();
    WAN_CHECK(xb.dim() == 4 && xb.size(0) == c.in_dim, "WanDiTCuda: latent ", b, " is ", xb.describe());
    for (int a = 0; a < 3; ++a)
      WAN_CHECK(xb.size(1 + a) % p[size_t(a)] == 0, "WanDiTCuda: latent size not a multiple of the patch");
    grids.push_back({xb.size(1) / p[0], xb.size(2) / p[1], xb.size(3) / p[2]});
    const int64_t n = grids.back()[0] * grids.back()[1] * grids.back()[2];
    WAN_CHECK(n <= seq_len, "WanDiTCuda: ", n, " tokens exceed seq_len ", seq_len);
    lens.push_back(n);
  }

  Impl::TextEntry& text = d.text_entry(context, region);
  const std::vector<Tensor>& text_kv = text.kv;  // per block [B, text_len, 2D]

  // Everything on the GPU, from the uploaded latents [C, F, H, W] and sinusoidal embedding to each
  // sample's prediction [C, F, H, W] on the GPU: what a CUDA graph captures.
  const auto on_gpu = [&](const std::vector<Tensor>& latents, const Tensor& sin_emb) {
    // Time embedding, once per sample (WanModel.forward: time_embedding, time_projection), f32:
    // e [B, D], e0 [B, 6, D]; every block's modulation table in one pass.
    Tensor e = ops::linear(sin_emb, d.time0_w, d.time0_b, ops::Activation::SiLU);
    e = ops::linear(e, d.time2_w, d.time2_b);                                             // [B, D]
    const Tensor e0 = ops::linear(ops::silu(e), d.proj_w, d.proj_b).view({B, 6, D});     // [B, 6, D]
    const Tensor mods = ops::block_modulation(e0, d.modulation);                        // [layers, 6, B, D]
    const Tensor head_mods = ops::block_modulation(e.view({B, 1, D}), d.head_modulation);  // [1, 2, B, D]

    // Patch embedding: the latent's patches gathered on the GPU (a strided copy), the product on
    // the GPU; padding tokens are zeros.
    Tensor x = empty_on({B, Sl, D}, DType::F32, Device::CUDA);  // the f32 residual stream
    fill_zero_(x);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = lens[size_t(b)], mine = std::clamp<int64_t>(n - first, 0, Sl);  // this rank's real tokens
      if (mine == 0) continue;
      // [C, F, pt, H', ph, W', pw] -> [F, H', W', C, pt, ph, pw]: the Conv3d's receptive fields.
      const auto& g = grids[size_t(b)];
      const Tensor& latent = latents[size_t(b)];
      Tensor patches = empty_on({g[0], g[1], g[2], c.in_dim, p[0], p[1], p[2]}, DType::F32, Device::CUDA);
      copy_into(patches, latent.view({c.in_dim, g[0], p[0], g[1], p[1], g[2], p[2]}).permute({1, 3, 5, 0, 2, 4, 6}));
      const Tensor rows = patches.view({n, c.in_dim * c.patch_volume()}).narrow(0, first, mine);
      const Tensor emb = ops::linear(convert_on_device(rows, DType::BF16), d.patch_w, d.patch_b);
      Tensor dst = x.select(0, b).narrow(0, 0, mine);
      copy_into(dst, convert_on_device(emb, DType::F32));
    }

    const double eps = c.eps, scale = 1.0 / std::sqrt(double(Dh));
    // FP8's self-attention needs Hopper (core/precision.h); on Ada only the products run in FP8.
    const bool fp8_attention =
        d.precision == Precision::FP8 && fp8_attention_supported(cuda_compute_capability());
    const int64_t chunk = wan_dit_ffn_chunk_rows(Sl, c.ffn_dim);
    // Each residual update x += y · gate waits for the norm that follows it and runs in that
    // norm's pass (ops::residual_layer_norm_modulate_): x is read and written once per update
    // instead of three times. `pending` holds the update not yet applied.
    struct Pending {
      Tensor y, gate;  // gate undefined: 1
    } pending;
    for (size_t i = 0; i < d.blocks.size(); ++i) {
      const BlockGpu& g = d.blocks[i];
      Tensor m[6];
      for (int64_t k = 0; k < 6; ++k) m[k] = mods.select(0, int64_t(i)).select(0, k);  // [B, D] f32 views

      // Self-attention: one QKV product (after the previous block's FFN residual), q/k normalised
      // and rotated in place, attention reading the three column blocks as strided views. The
      // first block's, the same for both texts of a guided pair, may come from the pair's first
      // forward (predict_guided).
      Tensor y, o;
      if (i == 0 && shared && shared->defined()) {
        y = *shared;
      } else {
        Tensor qkv = g.self_attn.in.normed(x, eps, {}, {}, m[0], m[1], ops::Activation::None, region,
                                           std::move(pending.y), pending.gate);  // [B, S, 3D]
        pending = {};
        region("other");
        Tensor q = columns(qkv, 0, D), k = columns(qkv, 1, D);
        ops::rms_norm_rope_(q, g.self_attn.norm_q, eps, H, grids, &d.rope, first);
        ops::rms_norm_rope_(k, g.self_attn.norm_k, eps, H, grids, &d.rope, first);
        q = k = Tensor();
        if (sp) {
          o = ulysses_attention(*sp, qkv, lens, scale, H, Dh, fp8_attention, region);
        } else {
          region("attention");
          o = self_attention(heads(qkv, 0, H, Dh), heads(qkv, 1, H, Dh), heads(qkv, 2, H, Dh), lens, scale,
                             fp8_attention);
          qkv = Tensor();
        }
        region("matmul");
        y = g.self_attn.o(o.view({B, Sl, D}));
        o = Tensor();
        if (i == 0 && shared) *shared = y;
      }

      // Cross-attention on norm3(x + y · gate): all text_len keys, no RoPE, no gate.
      Tensor cq =
          g.cross_attn.in.normed(x, eps, g.norm3_w, g.norm3_b, {}, {}, ops::Activation::None, region, std::move(y), m[2]);
      region("other");
      ops::rms_norm_rope_(cq, g.cross_attn.norm_q, eps, H, {}, nullptr);
      region("attention");
      const Tensor& ckv = text_kv[i];  // [B, Lt, 2D], k normalised
      o = ops::attention(cq.view({B, Sl, H, Dh}), heads(ckv, 0, H, Dh), heads(ckv, 1, H, Dh), {}, scale);
      cq = Tensor();
      region("matmul");
      Tensor y_cross = g.cross_attn.o(o.view({B, Sl, D}));
      o = Tensor();

      // FFN, over the tokens of each sample in chunks (rows are independent): each chunk's norm
      // takes the cross-attention's residual for its rows; the FFN's outputs gather in one
      // [B, S, D] buffer whose gated residual waits for the next block's first norm.
      Tensor y_ffn = empty_on({B, Sl, D}, DType::BF16, Device::CUDA);
      for (int64_t b = 0; b < B; ++b) {
        const Tensor shift = m[3].narrow(0, b, 1), scl = m[4].narrow(0, b, 1);
        for (int64_t r0 = 0; r0 < Sl; r0 += chunk) {
          const int64_t n = std::min(chunk, Sl - r0);
          const auto rows = [&](const Tensor& t) { return t.select(0, b).narrow(0, r0, n).unsqueeze(0); };
          Tensor xs = rows(x);  // [1, n, D], contiguous rows of x
          Tensor f = g.ffn0.normed(xs, eps, {}, {}, shift, scl, ops::Activation::GeluTanh, region, rows(y_cross), {});
          Tensor ys = rows(y_ffn);
          g.ffn2.into(f, ys);
        }
      }
      y_cross = Tensor();
      pending = {std::move(y_ffn), m[5]};
      if (observer) {  // the block's output, its FFN residual applied
        region("other");
        ops::residual_add_(x, pending.y, pending.gate);
        pending = {};
        observer(int64_t(i), to_device(x, Device::CPU));
      }
    }

    // Head: modulation from e (no SiLU), after the last FFN residual, then the output projection.
    region("other");
    const Tensor h = ops::residual_layer_norm_modulate_(x, pending.y, pending.gate, eps, {}, {},
                                                        head_mods.select(0, 0).select(0, 0),
                                                        head_mods.select(0, 0).select(0, 1));
    pending = {};
    region("matmul");
    Tensor out_gpu = ops::linear(h, d.head_w, d.head_b);  // [B, Sl, p·C]
    if (sp) {  // every rank's rows, in rank order: [N, B, Sl, p·C] → [B, N·Sl, p·C]
      region("all-to-all");
      Tensor all = empty_on({N, B, Sl, out_gpu.size(2)}, out_gpu.dtype(), Device::CUDA);
      sp->all_gather(out_gpu, all);
      out_gpu = B == 1 ? all.view({1, N * Sl, all.size(3)})
                       : contiguous_on_device(all.permute({1, 0, 2, 3})).view({B, N * Sl, all.size(3)});
    }
    // Unpatchify on the GPU (ops/patch.h): feature (i, j, k, c) of token (f, h, w) goes to
    // [c, f·pt + i, h·ph + j, w·pw + k]; only the f32 video latent comes back to the host.
    region("other");
    std::vector<Tensor> videos;
    for (int64_t b = 0; b < B; ++b) {
      const auto& g = grids[size_t(b)];
      const Tensor tokens = convert_on_device(out_gpu.select(0, b).narrow(0, 0, lens[size_t(b)]), DType::F32);
      Tensor video = empty_on({c.out_dim, g[0], p[0], g[1], p[1], g[2], p[2]}, DType::F32, Device::CUDA);
      copy_into(video, tokens.view({g[0], g[1], g[2], p[0], p[1], p[2], c.out_dim}).permute({6, 0, 3, 1, 4, 2, 5}));
      videos.push_back(video.view({c.out_dim, g[0] * p[0], g[1] * p[1], g[2] * p[2]}));
    }
    return videos;
  };

  // The inputs on the GPU (into the given tensors when defined: a graph's input buffers).
  const auto upload = [&](std::vector<Tensor>& latents, Tensor& sin_emb) {
    latents.resize(size_t(B));
    for (int64_t b = 0; b < B; ++b) {
      const Tensor up = to_device(latents_host[size_t(b)], Device::CUDA);
      if (latents[size_t(b)].defined()) copy_into(latents[size_t(b)], up);
      else latents[size_t(b)] = up;
    }
    const Tensor up = to_device(sin_host, Device::CUDA);
    if (sin_emb.defined()) copy_into(sin_emb, up);
    else sin_emb = up;
  };
  std::vector<Tensor> videos;
  const bool graphs = d.graphs_on && !profiler && !observer && !sp && !shared;
  Impl::CapturedForward* captured = nullptr;
  if (graphs) {
    std::vector<int64_t> key{seq_len};
    for (const auto& g : grids) key.insert(key.end(), g.begin(), g.end());
    captured = &text.graphs[key];
    if (captured->failed || !captured->planned) {  // the first forward plans and tunes, uncaptured
      captured->planned = true;
      captured = nullptr;
    }
  }
  if (captured && !captured->graph) {
    upload(captured->latents, captured->sin_emb);
    std::shared_ptr<cuda::GraphMemory> memory = d.graph_memory.lock();
    std::string why;
    captured->graph = cuda::capture([&] { captured->videos = on_gpu(captured->latents, captured->sin_emb); }, memory,
                                    why);
    d.graph_memory = memory;
    if (!captured->graph) {
      static std::once_flag warned;  // once per process; the reason in the debug log every time
      std::call_once(warned, [&] {
        WAN_LOG_WARN("the DiT forward could not be captured as a CUDA graph (", why, "); it runs uncaptured");
      });
      WAN_LOG_DEBUG("CUDA graph capture failed: ", why);
      *captured = Impl::CapturedForward();
      captured->failed = true;
      captured = nullptr;
    }
  } else if (captured) {
    upload(captured->latents, captured->sin_emb);
  }
  if (captured) {
    captured->graph->replay();
    videos = captured->videos;
    ++d.graph_replays;
  } else {
    std::vector<Tensor> latents;
    Tensor sin_emb;
    upload(latents, sin_emb);
    videos = on_gpu(latents, sin_emb);
  }
  std::vector<Tensor> result;
  for (const Tensor& video : videos) result.push_back(to_device(video, Device::CPU));
  return result;
}

int64_t WanDiTCuda::replayed_forwards() const { return impl_->graph_replays; }

void WanDiTCuda::set_cuda_graphs(bool on) {
  impl_->graphs_on = on;
  if (!on)
    for (Impl::TextEntry& e : impl_->text_cache) e.graphs.clear();
}

}  // namespace wan
