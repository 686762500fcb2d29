#include "models/t5_encoder.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace wan {

std::vector<WeightSlot> t5_weight_slots(T5Weights& w, const T5Config& c) {
  std::vector<WeightSlot> s;
  s.push_back({"token_embedding.weight", &w.token_embedding_weight, {c.vocab, c.dim}});
  if (c.shared_pos) s.push_back({"pos_embedding.embedding.weight", &w.pos_embedding_weight, {c.num_buckets, c.num_heads}});
  w.blocks.resize(size_t(c.num_layers));
  for (int64_t i = 0; i < c.num_layers; ++i) {
    T5BlockWeights& b = w.blocks[size_t(i)];
    const std::string p = "blocks." + std::to_string(i);
    s.push_back({p + ".norm1.weight", &b.norm1_weight, {c.dim}});
    s.push_back({p + ".attn.q.weight", &b.attn_q_weight, {c.dim_attn, c.dim}});
    s.push_back({p + ".attn.k.weight", &b.attn_k_weight, {c.dim_attn, c.dim}});
    s.push_back({p + ".attn.v.weight", &b.attn_v_weight, {c.dim_attn, c.dim}});
    s.push_back({p + ".attn.o.weight", &b.attn_o_weight, {c.dim, c.dim_attn}});
    s.push_back({p + ".norm2.weight", &b.norm2_weight, {c.dim}});
    s.push_back({p + ".ffn.gate.0.weight", &b.ffn_gate_0_weight, {c.dim_ffn, c.dim}});
    s.push_back({p + ".ffn.fc1.weight", &b.ffn_fc1_weight, {c.dim_ffn, c.dim}});
    s.push_back({p + ".ffn.fc2.weight", &b.ffn_fc2_weight, {c.dim, c.dim_ffn}});
    if (!c.shared_pos)
      s.push_back({p + ".pos_embedding.embedding.weight", &b.pos_embedding_weight, {c.num_buckets, c.num_heads}});
  }
  s.push_back({"norm.weight", &w.norm_weight, {c.dim}});
  return s;
}

std::string t5_hugging_face_name(const std::string& official) {
  if (official == "token_embedding.weight") return "shared.weight";
  if (official == "norm.weight") return "encoder.final_layer_norm.weight";
  // A shared position bias (T5's, not UMT5's) is block 0's in Hugging Face's naming.
  if (official == "pos_embedding.embedding.weight")
    return "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  static const std::pair<const char*, const char*> kBlockParts[] = {
      {"norm1.weight", "layer.0.layer_norm.weight"},
      {"attn.q.weight", "layer.0.SelfAttention.q.weight"},
      {"attn.k.weight", "layer.0.SelfAttention.k.weight"},
      {"attn.v.weight", "layer.0.SelfAttention.v.weight"},
      {"attn.o.weight", "layer.0.SelfAttention.o.weight"},
      {"pos_embedding.embedding.weight", "layer.0.SelfAttention.relative_attention_bias.weight"},
      {"norm2.weight", "layer.1.layer_norm.weight"},
      {"ffn.gate.0.weight", "layer.1.DenseReluDense.wi_0.weight"},
      {"ffn.fc1.weight", "layer.1.DenseReluDense.wi_1.weight"},
      {"ffn.fc2.weight", "layer.1.DenseReluDense.wo.weight"},
  };
  const std::string prefix = "blocks.";
  WAN_CHECK(official.rfind(prefix, 0) == 0, "t5_hugging_face_name: '", official, "' is not a T5 encoder tensor");
  const size_t dot = official.find('.', prefix.size());
  WAN_CHECK(dot != std::string::npos, "t5_hugging_face_name: '", official, "' is not a T5 encoder tensor");
  const std::string index = official.substr(prefix.size(), dot - prefix.size()), part = official.substr(dot + 1);
  for (const auto& [ours, theirs] : kBlockParts)
    if (part == ours) return "encoder.block." + index + "." + theirs;
  fail("t5_hugging_face_name: '", official, "' is not a T5 encoder tensor");
}

bool t5_store_uses_hugging_face_names(const TensorStore& store) {
  return store.contains("encoder.final_layer_norm.weight");
}

const char* const kT5EmbeddedTokenizer = "spiece_model";

std::optional<std::string> t5_embedded_tokenizer(const std::string& path) {
  const TensorStore store = TensorStore::open(path);
  if (!store.contains(kT5EmbeddedTokenizer)) return std::nullopt;
  const Tensor t = store.get(kT5EmbeddedTokenizer).contiguous();
  WAN_CHECK(t.dtype() == DType::U8 && t.dim() == 1, store.file_of(kT5EmbeddedTokenizer), ": '", kT5EmbeddedTokenizer,
            "' is ", t.describe(), ", not the bytes of a SentencePiece model (u8, one dimension)");
  return std::string(static_cast<const char*>(t.data_ptr()), size_t(t.numel()));
}

// t5.py T5RelativeEmbedding._relative_position_bucket, bidirectional: half the buckets for keys
// after the query; distances below a quarter of the buckets are exact, larger ones logarithmic up
// to max_dist. The logarithm is evaluated in float32, as torch does on the float tensor.
int64_t t5_relative_bucket(int64_t rel, int64_t num_buckets, int64_t max_dist) {
  const int64_t half = num_buckets / 2;
  const int64_t base = rel > 0 ? half : 0;
  const int64_t n = rel < 0 ? -rel : rel;
  const int64_t max_exact = half / 2;
  if (n < max_exact) return base + n;
  const float scaled = std::log(float(n) / float(max_exact)) / float(std::log(double(max_dist) / double(max_exact))) *
                       float(half - max_exact);
  const int64_t large = max_exact + int64_t(scaled);
  return base + std::min(large, half - 1);
}

T5Encoder::T5Encoder(T5Config config, T5Weights weights) : config_(std::move(config)), weights_(std::move(weights)) {
  config_.validate();
}

T5Encoder T5Encoder::load(const std::string& path, DType block_matrices) {
  return load(path, T5Config::for_checkpoint(path), block_matrices);
}

std::vector<Tensor*> t5_block_matrices(T5Weights& weights) {
  std::vector<Tensor*> out;
  for (T5BlockWeights& w : weights.blocks)
    for (Tensor* t : {&w.attn_q_weight, &w.attn_k_weight, &w.attn_v_weight, &w.attn_o_weight, &w.ffn_gate_0_weight,
                      &w.ffn_fc1_weight, &w.ffn_fc2_weight})
      out.push_back(t);
  return out;
}

void T5Encoder::hold_block_matrices_in(DType dtype) {
  for (Tensor* t : t5_block_matrices(weights_)) *t = t->to(dtype);  // in parallel (Tensor::to)
}

T5Encoder T5Encoder::load(const std::string& path, const T5Config& config, DType block_matrices_dtype) {
  config.validate(path);
  const TensorStore store = TensorStore::open(path);
  T5Weights weights;
  std::vector<WeightSlot> slots = t5_weight_slots(weights, config);
  std::set<std::string> ignored;
  if (t5_store_uses_hugging_face_names(store)) {
    for (WeightSlot& slot : slots) slot.name = t5_hugging_face_name(slot.name);
    // transformers' tied copy of the token embedding, and the tokenizer ComfyUI's files may carry.
    ignored = {"encoder.embed_tokens.weight", kT5EmbeddedTokenizer};
  }
  check_weights(store, slots, config.summary(), ignored);
  const std::vector<Tensor*> matrices = t5_block_matrices(weights);
  for (const WeightSlot& slot : slots) {
    const bool matrix = std::find(matrices.begin(), matrices.end(), slot.tensor) != matrices.end();
    *slot.tensor = read_weight(store, slot.name, matrix ? block_matrices_dtype : DType::F32);
  }
  return T5Encoder(config, std::move(weights));
}

// bias[h, i, j] = embedding[bucket(j − i), h] (T5RelativeEmbedding.forward).
Tensor T5Encoder::position_bias(const Tensor& embedding, int64_t L) const {
  const int64_t H = config_.num_heads;
  Tensor bias = Tensor::empty({H, L, L}, DType::F32);
  const float* e = embedding.data<float>();
  float* b = bias.data<float>();
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) {
      const int64_t bucket = t5_relative_bucket(j - i, config_.num_buckets, config_.max_dist);
      for (int64_t h = 0; h < H; ++h) b[(h * L + i) * L + j] = e[bucket * H + h];
    }
  return bias;
}

namespace {

// The mask [B, L] as key lengths: ones followed by zeros.
std::vector<int64_t> key_lengths(const Tensor& ids, const Tensor& mask) {
  WAN_CHECK(ids.dim() == 2, "T5Encoder: ids must be [B, L], got ", ids.describe());
  WAN_CHECK(mask.shape() == ids.shape(), "T5Encoder: mask ", mask.describe(), " does not match ids ", ids.describe());
  const int64_t B = ids.size(0), L = ids.size(1);
  const Tensor m = mask.to(DType::I64).contiguous();
  std::vector<int64_t> lens(size_t(B), 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* row = m.data<int64_t>() + b * L;
    int64_t n = 0;
    while (n < L && row[n] != 0) ++n;
    for (int64_t k = n; k < L; ++k)
      WAN_CHECK(row[k] == 0, "T5Encoder: attention mask of sample ", b, " is not ones followed by zeros");
    lens[size_t(b)] = n;
  }
  return lens;
}

}  // namespace

Tensor T5Encoder::forward(const Tensor& ids, const Tensor& mask) const {
  const std::vector<int64_t> lens = key_lengths(ids, mask);
  const int64_t B = ids.size(0), L = ids.size(1), H = config_.num_heads, Dh = config_.head_dim();

  Tensor x = ops::embedding_lookup(ids, weights_.token_embedding_weight);  // [B, L, dim]
  const Tensor shared_bias = config_.shared_pos ? position_bias(weights_.pos_embedding_weight, L) : Tensor();
  for (const T5BlockWeights& w : weights_.blocks) {
    const Tensor bias = config_.shared_pos ? shared_bias : position_bias(w.pos_embedding_weight, L);  // [H, L, L]
    // x = x + attn(norm1(x)) (T5SelfAttention.forward, T5Attention.forward).
    const auto f32 = [](const Tensor& m) { return m.to(DType::F32); };  // itself when already f32
    Tensor h = ops::rms_norm(x, w.norm1_weight, config_.eps);
    const Tensor q = ops::linear(h, f32(w.attn_q_weight), {}).view({B, L, H, Dh});
    const Tensor k = ops::linear(h, f32(w.attn_k_weight), {}).view({B, L, H, Dh});
    const Tensor v = ops::linear(h, f32(w.attn_v_weight), {}).view({B, L, H, Dh});
    const Tensor a = ops::attention(q, k, v, lens, 1.0, bias);  // no 1/√d scaling in T5
    ops::add_(x, ops::linear(a.view({B, L, H * Dh}), f32(w.attn_o_weight), {}));
    // x = x + fc2(fc1(norm2(x)) · gelu(gate(norm2(x)))) (T5FeedForward.forward).
    h = ops::rms_norm(x, w.norm2_weight, config_.eps);
    const Tensor gate = ops::linear(h, f32(w.ffn_gate_0_weight), {}, ops::Activation::GeluTanh);
    const Tensor up = ops::linear(h, f32(w.ffn_fc1_weight), {});
    ops::add_(x, ops::linear(ops::mul(up, gate), f32(w.ffn_fc2_weight), {}));
  }
  return ops::rms_norm(x, weights_.norm_weight, config_.eps);  // [B, L, dim]
}

std::vector<Tensor> T5Encoder::encode(const Tensor& ids, const Tensor& mask, Device device) const {
  if (device == Device::CUDA) {
#ifdef WAN_HAVE_CUDA
    return encode_cuda(ids, key_lengths(ids, mask));
#else
    fail("the text encoder on CUDA: this build has no CUDA backend");
#endif
  }
  const Tensor out = forward(ids, mask);
  const Tensor m = mask.to(DType::I64).contiguous();
  std::vector<Tensor> contexts;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    int64_t n = 0;
    for (int64_t k = 0; k < ids.size(1); ++k) n += m.data<int64_t>()[b * ids.size(1) + k] != 0;
    contexts.push_back(out.select(0, b).narrow(0, 0, n).contiguous());  // [n, dim]
  }
  return contexts;
}

}  // namespace wan
