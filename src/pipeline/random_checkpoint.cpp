#include "pipeline/random_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/atomic_folder.h"
#include "io/torch_writer.h"
#include "models/t5_config.h"
#include "models/t5_encoder.h"
#include "models/wan_dit_config.h"
#include "models/wan_dit_weights.h"
#include "models/wan_vae.h"
#include "pipeline/task_config.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// N(0, stddev) from a counter hash and Box-Muller: element i depends only on (key, i), so the
// tensor fills in parallel (a real-size checkpoint is ~10^10 values).
void fill_normal_parallel(Tensor& t, uint64_t key, double stddev) {
  float* p = t.data<float>();
  parallel_for(
      t.numel(),
      [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) {
          const uint64_t h = mix64(key * 0x9e3779b97f4a7c15ull + uint64_t(i));
          const double u1 = (double(h >> 40) + 0.5) / double(1ull << 24), u2 = double((h >> 16) & 0xffffff) / double(1 << 24);
          p[i] = float(stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
        }
      },
      int64_t(1) << 16);
}

// Biases 0, norm gains 1, the rest N(0, 0.02); each tensor from its own key (seed, index).
Tensor random_weight(const std::string& name, const Shape& shape, DType dtype, uint64_t seed, uint64_t index) {
  Tensor t = Tensor::empty(shape, DType::F32);
  if (ends_with(name, ".bias")) t.fill(0.0);
  else if (name.find("norm") != std::string::npos || ends_with(name, "gamma")) t.fill(1.0);
  else fill_normal_parallel(t, seed * 1000003 + index, 0.02);
  return t.to(dtype);
}

}  // namespace

T5Encoder random_t5_encoder(const T5Config& config, uint64_t seed, DType block_matrices) {
  T5Weights weights;
  const std::vector<WeightSlot> slots = t5_weight_slots(weights, config);
  const std::vector<Tensor*> matrices = t5_block_matrices(weights);
  uint64_t index = 0;
  for (const WeightSlot& s : slots) {
    const bool matrix = std::find(matrices.begin(), matrices.end(), s.tensor) != matrices.end();
    *s.tensor = random_weight(s.name, s.shape, DType::BF16, seed, index++).to(matrix ? block_matrices : DType::F32);
  }
  return T5Encoder(config, std::move(weights));
}

WanDiTWeights random_wan_dit_weights(const WanDiTConfig& config, uint64_t seed) {
  WanDiTWeights weights;
  uint64_t index = 0;
  for (const WeightSlot& s : wan_dit_weight_slots(weights, config))
    *s.tensor = random_weight(s.name, s.shape, DType::BF16, seed, index++).to(DType::F32);
  return weights;
}

namespace {

std::string t5_config_json(const T5Config& c) {
  const nlohmann::json j = {{"vocab", c.vocab},         {"dim", c.dim},
                            {"dim_attn", c.dim_attn},   {"dim_ffn", c.dim_ffn},
                            {"num_heads", c.num_heads}, {"num_layers", c.num_layers},
                            {"num_buckets", c.num_buckets}, {"shared_pos", c.shared_pos}};
  return j.dump() + "\n";
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  WAN_CHECK(out.good(), path.string(), ": cannot write");
}

// The fp8_scaled form's scale of every block Linear weight: 6 standard deviations of the
// N(0, 0.02) draw land on E4M3's largest value, 448 (a real-size matrix's largest draw is ~5.8
// deviations; anything beyond is clamped). Fixed, so that a scale needs no pass over its weight.
constexpr float kRandomFp8Scale = 6 * 0.02f / 448.0f;

// A block Linear weight's E4M3 values in the fp8_scaled form.
Tensor fp8_scaled_values(const Tensor& w32) {
  const float* p = w32.data<float>();
  Tensor q = Tensor::empty(w32.shape(), DType::F32);
  float* d = q.data<float>();
  parallel_for(w32.numel(), [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) d[i] = std::clamp(p[i] / kRandomFp8Scale, -448.0f, 448.0f);
  }, int64_t(1) << 18);
  return q.to(DType::F8_E4M3);
}

void write_dit(const fs::path& dir, const WanDiTConfig& config, const RandomCheckpointOptions& o, uint64_t stream,
               ConvertReport& r) {
  fs::create_directories(dir);
  if (!o.dit_fp8_scaled) write_text(dir / "config.json", config.to_json());
  WanDiTWeights weights;
  std::map<std::string, std::pair<Shape, uint64_t>> slots;  // name -> shape, stream index
  uint64_t i = 0;
  for (const WeightSlot& s : wan_dit_weight_slots(weights, config)) slots[s.name] = {s.shape, i++};
  std::vector<std::string> names;
  std::map<std::string, std::string> weight_of_scale;  // fp8_scaled: "X.scale_weight" -> "X.weight"
  for (const auto& [n, _] : slots) {
    names.push_back(n);
    if (o.dit_fp8_scaled && is_fp8_block_weight(n)) {
      const std::string scale = scale_weight_name(n);
      names.push_back(scale);
      weight_of_scale[scale] = n;
    }
  }
  auto values32 = [&](const std::string& n) {
    return random_weight(n, slots.at(n).first, DType::F32, o.seed + stream, slots.at(n).second);
  };
  if (!o.dit_fp8_scaled) {
    const int64_t esize = int64_t(dtype_size(o.dit_dtype));
    write_dit_shards(
        dir, names, [&](const std::string& n) { return shape_numel(slots.at(n).first) * esize; },
        [&](const std::string& n) {
          return random_weight(n, slots.at(n).first, o.dit_dtype, o.seed + stream, slots.at(n).second);
        },
        o.shard_bytes, r);
  } else {
    // One file: shards as large as the whole DiT.
    write_dit_shards(
        dir, names,
        [&](const std::string& n) -> int64_t {
          if (weight_of_scale.count(n)) return 4;
          return shape_numel(slots.at(n).first) * (is_fp8_block_weight(n) ? 1 : 2);
        },
        [&](const std::string& n) {
          if (weight_of_scale.count(n)) return Tensor::from_vector<float>({kRandomFp8Scale}, {1});
          if (is_fp8_block_weight(n)) return fp8_scaled_values(values32(n));
          return random_weight(n, slots.at(n).first, DType::BF16, o.seed + stream, slots.at(n).second);
        },
        std::numeric_limits<int64_t>::max(), r);
  }
  ++r.dit_folders;
}

void write_pth(const fs::path& path, std::vector<WeightSlot> slots, DType dtype, uint64_t seed) {
  std::vector<TensorSpec> specs;
  for (const WeightSlot& s : slots) specs.push_back({s.name, s.shape, dtype});
  save_torch_state_dict(path.string(), specs,
                        [&](size_t k) { return random_weight(specs[k].name, specs[k].shape, dtype, seed, k); });
}

}  // namespace

ConvertReport write_random_dit(const std::string& dst_in, const WanDiTConfig& config, uint64_t seed, DType dtype) {
  const fs::path dst(dst_in);
  std::error_code ec;
  WAN_CHECK(!fs::exists(dst, ec), dst_in, " already exists: choose a new folder");
  config.validate();
  RandomCheckpointOptions o;
  o.seed = seed;
  o.dit_dtype = dtype;
  ConvertReport r;
  build_folder_atomically(dst, [&](const fs::path& tmp) { write_dit(tmp, config, o, 0, r); });
  return r;
}

ConvertReport write_random_checkpoint(const std::string& dst_in, const RandomCheckpointOptions& o) {
  const TaskConfig& task = task_config(o.task);
  const fs::path dst(dst_in);
  std::error_code ec;
  WAN_CHECK(!fs::exists(dst, ec), dst_in, " already exists: choose a new folder");
  WAN_CHECK(fs::is_regular_file(o.tokenizer_model, ec), "tokenizer model ", o.tokenizer_model,
            " not found (a SentencePiece spiece.model, e.g. tests/data/tokenizer/spiece.model)");
  WanDiTConfig dit = o.dit_config_json.empty()
                         ? official_dit_config(task)
                         : WanDiTConfig::from_json(o.dit_config_json, "the DiT config");
  if (o.dit_layers > 0) dit.num_layers = o.dit_layers;
  dit.validate();
  T5Config t5 = o.t5_config_json.empty() ? T5Config::umt5_xxl() : T5Config::from_json(o.t5_config_json, "the T5 config");
  if (o.t5_layers > 0) t5.num_layers = o.t5_layers;
  t5.validate();
  const int version = task.z_dim == 48 ? 22 : 21;
  const WanVAEConfig vae = o.vae_config_json.empty()
                               ? (version == 22 ? WanVAEConfig::wan22() : WanVAEConfig::wan21())
                               : WanVAEConfig::from_json(o.vae_config_json, "the VAE config", version);
  WAN_CHECK(dit.in_dim == task.z_dim && vae.z_dim == task.z_dim && dit.text_dim == t5.dim, "the configs do not fit "
            "together: DiT in_dim ", dit.in_dim, ", VAE z_dim ", vae.z_dim, ", task z_dim ", task.z_dim,
            ", DiT text_dim ", dit.text_dim, ", T5 dim ", t5.dim);

  ConvertReport r;
  build_folder_atomically(dst, [&](const fs::path& tmp) {
    fs::create_directories(tmp / kT5Tokenizer);
    if (task.two_experts) {
      write_dit(tmp / "high_noise_model", dit, o, 1, r);
      write_dit(tmp / "low_noise_model", dit, o, 2, r);
    } else {
      write_dit(tmp, dit, o, 1, r);
    }
    T5Weights t5w;
    write_pth(tmp / kT5Checkpoint, t5_weight_slots(t5w, t5), DType::BF16, o.seed + 10);
    if (!o.t5_config_json.empty() || o.t5_layers > 0)
      write_text(tmp / (fs::path(kT5Checkpoint).stem().string() + ".json"), t5_config_json(t5));
    WanVAE vae_model(vae);
    write_pth(tmp / task.vae_file, vae_model.weight_slots(), DType::F32, o.seed + 20);
    if (!o.vae_config_json.empty())
      write_text(tmp / (fs::path(task.vae_file).stem().string() + ".json"), o.vae_config_json);
    fs::copy_file(o.tokenizer_model, tmp / kT5Tokenizer / "spiece.model");
    r.other_files = 3;
  });
  return r;
}

}  // namespace wan
