#include "pipeline/convert_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/atomic_folder.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "models/wan_dit_config.h"
#include "models/wan_dit_weights.h"
#include "models/weight_binding.h"
#include "ops/quantize.h"
#include "pipeline/checkpoint_files.h"
#include "pipeline/text_to_video.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

constexpr const char* kBase = "diffusion_pytorch_model";

// The DiT's files in a TI2V-5B folder: its safetensors (official shards, or one file of any name
// but a text encoder's or VAE's: ComfyUI's are safetensors too) and the shards' index.
bool is_dit_file(const fs::path& p) {
  const std::string name = p.filename().string();
  return (p.extension() == ".safetensors" && !is_text_encoder_or_vae_file_name(name)) ||
         (name.rfind(kBase, 0) == 0 && name.size() > 11 && name.substr(name.size() - 11) == ".index.json");
}

// Hard link when possible (same file system), else copy.
void link_or_copy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (fs::is_directory(from, ec)) {
    fs::create_directories(to, ec);
    for (const auto& e : fs::directory_iterator(from)) link_or_copy(e.path(), to / e.path().filename());
    return;
  }
  fs::create_hard_link(from, to, ec);
  if (!ec) return;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  WAN_CHECK(!ec, "cannot copy ", from.string(), " to ", to.string(), ": ", ec.message());
}

}  // namespace

void write_dit_shards(const fs::path& dst, const std::vector<std::string>& names,
                      const std::function<int64_t(const std::string&)>& bytes_of,
                      const std::function<Tensor(const std::string&)>& produce, int64_t shard_bytes,
                      ConvertReport& r) {
  // Shards in name order, each at most shard_bytes (a larger tensor alone).
  std::vector<std::vector<std::string>> shards(1);
  int64_t in_shard = 0;
  for (const std::string& n : names) {
    const int64_t bytes = bytes_of(n);
    if (in_shard > 0 && in_shard + bytes > shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(n);
    in_shard += bytes;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  int64_t total = 0;
  std::mutex mutex;
  for (size_t s = 0; s < shards.size(); ++s) {
    char file[96];
    if (shards.size() == 1) std::snprintf(file, sizeof file, "%s.safetensors", kBase);
    else std::snprintf(file, sizeof file, "%s-%05zu-of-%05zu.safetensors", kBase, s + 1, shards.size());
    std::vector<std::pair<std::string, Tensor>> tensors(shards[s].size());
    // Reading (or drawing) and converting: in parallel over the shard's tensors.
    parallel_for(int64_t(tensors.size()), [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) {
        Tensor t = produce(shards[s][size_t(i)]);
        std::lock_guard<std::mutex> lock(mutex);
        tensors[size_t(i)] = {shards[s][size_t(i)], std::move(t)};
      }
    });
    for (const auto& [name, t] : tensors) {
      r.bytes_written += int64_t(t.nbytes());
      total += int64_t(t.nbytes());
      weight_map[name] = file;
    }
    save_safetensors((dst / file).string(), tensors, {{"format", "pt"}});
    r.tensors += int64_t(tensors.size());
    ++r.shards;
  }
  if (shards.size() > 1) {
    const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    std::ofstream out(dst / (std::string(kBase) + ".safetensors.index.json"));
    out << index.dump(2) << "\n";
    WAN_CHECK(out.good(), (dst / kBase).string(), ".safetensors.index.json: cannot write");
  }
}

namespace {

// A block weight in the form an FP8 run on the GPU computes with: the file's own E4M3 values and
// row scales when it stores them so (read_stored_fp8), else its bf16 values quantised per row by
// ops::quantize_fp8 — bit for bit what the GPU makes of them at load (ops/quantize.h), so an FP8
// run of the converted folder computes exactly what an FP8 run of the source does. (Made twice per
// weight, once for the values and once for the scales: cheaper than holding the results.)
ops::Fp8Matrix fp8_weight_for_run(const TensorStore& store, const std::string& name) {
  if (const std::optional<StoredFp8Weight> stored = read_stored_fp8(store, name))
    return {stored->values, stored->row_scales};
  return ops::quantize_fp8(read_weight(store, name, DType::BF16).to(DType::F32), ops::Fp8Scaling::PerRow);
}

// One DiT folder: validated against its config, converted in shards, config copied (or, for a
// single-file DiT without one, the config inferred from its shapes written: the official layout).
void convert_dit(const fs::path& src, const fs::path& dst, DType dtype, int64_t shard_bytes, ConvertReport& r) {
  const WanDiTConfig config = wan_dit_config_of_folder(src.string());
  const TensorStore store = TensorStore::open(src.string());
  check_wan_dit_checkpoint(store, config);  // exactly the tensors the config needs, before writing anything
  fs::create_directories(dst);
  if (fs::exists(src / "config.json")) {
    fs::copy_file(src / "config.json", dst / "config.json");
  } else {
    std::ofstream out(dst / "config.json");
    out << config.to_json();
    WAN_CHECK(out.good(), (dst / "config.json").string(), ": cannot write");
  }
  for (const std::string& n : store.names()) r.bytes_read += int64_t(store.get(n).nbytes());
  // The official tensors only, read as the loader reads them: a scaled FP8 file's weights come out
  // dequantised (values · scale) and its scale tensors and marker are not copied.
  WanDiTWeights scratch;
  std::vector<std::string> names;
  for (const WeightSlot& slot : wan_dit_weight_slots(scratch, config)) names.push_back(slot.name);
  if (dtype == DType::F8_E4M3) {
    // FP8: the block Linear weights as an FP8 run computes with them, with their scales beside.
    std::map<std::string, std::string> weight_of_scale;
    for (const std::string& n : std::vector<std::string>(names))
      if (is_fp8_block_weight(n)) {
        const std::string scale = scale_weight_name(n);
        names.push_back(scale);
        weight_of_scale[scale] = n;
      }
    std::sort(names.begin(), names.end());
    write_dit_shards(
        dst, names,
        [&](const std::string& n) -> int64_t {
          if (const auto it = weight_of_scale.find(n); it != weight_of_scale.end())
            return store.get(it->second).size(0) * 4;
          return store.get(n).numel() * (is_fp8_block_weight(n) ? 1 : 2);
        },
        [&](const std::string& n) {
          if (const auto it = weight_of_scale.find(n); it != weight_of_scale.end()) {
            const Tensor scales = fp8_weight_for_run(store, it->second).scales;
            return scales.view({scales.numel(), 1});
          }
          if (is_fp8_block_weight(n)) return fp8_weight_for_run(store, n).values;
          return read_weight(store, n, DType::BF16).contiguous();
        },
        shard_bytes, r);
  } else {
    std::sort(names.begin(), names.end());
    write_dit_shards(
        dst, names, [&](const std::string& n) { return store.get(n).numel() * int64_t(dtype_size(dtype)); },
        [&](const std::string& n) { return read_weight(store, n, dtype).contiguous(); }, shard_bytes, r);
  }
  ++r.dit_folders;
}

}  // namespace

ConvertReport convert_checkpoint(const std::string& src_in, const std::string& dst_in, DType dtype,
                                 int64_t shard_bytes) {
  WAN_CHECK(dtype == DType::BF16 || dtype == DType::F16 || dtype == DType::F32 || dtype == DType::F8_E4M3,
            "convert: dtype ", dtype_name(dtype), " is not bf16, f16, f32 or fp8 (f8_e4m3)");
  WAN_CHECK(shard_bytes > 0, "convert: the shard size must be positive");
  const fs::path src(src_in), dst(dst_in);
  std::error_code ec;
  WAN_CHECK(fs::is_directory(src, ec), src_in, ": no such checkpoint folder");
  WAN_CHECK(!fs::exists(dst, ec), dst_in, " already exists: convert writes a new folder; choose another name");
  ConvertReport r;
  build_folder_atomically(dst, [&](const fs::path& tmp) {
    if (!has_text_encoder_file(src) && !has_expert(src)) {
      convert_dit(src, tmp, dtype, shard_bytes, r);  // a lone DiT folder
      return;
    }
    const TaskConfig& task = task_config(detect_task(src_in));
    check_checkpoint_folder(src_in, task);
    // T2V-A14B's experts, folders or single files in the folder itself (pipeline/checkpoint_files.h),
    // each written as the official folder.
    std::map<fs::path, std::string> expert_of;
    if (task.two_experts)
      for (const char* expert : {"high_noise_model", "low_noise_model"}) expert_of[*find_expert(src, expert)] = expert;
    for (const auto& e : fs::directory_iterator(src)) {
      const std::string name = e.path().filename().string();
      if (expert_of.count(e.path())) {
        convert_dit(e.path(), tmp / expert_of.at(e.path()), dtype, shard_bytes, r);
      } else if (!task.two_experts && (is_dit_file(e.path()) || name == "config.json")) {
        continue;  // the 5B DiT lives in the folder itself: converted below
      } else {
        link_or_copy(e.path(), tmp / name);
        ++r.other_files;
      }
    }
    if (!task.two_experts) {
      const fs::path staged = tmp / ".dit";
      convert_dit(src, staged, dtype, shard_bytes, r);
      for (const auto& e : fs::directory_iterator(staged)) fs::rename(e.path(), tmp / e.path().filename());
      fs::remove(staged);
    }
  });
  return r;
}

}  // namespace wan
