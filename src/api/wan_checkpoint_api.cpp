// The C API's checkpoint tools (include/wan/wan.h, "Checkpoints"): what a folder or file holds
// (`wan info PATH`), its tensors, and a random-weight checkpoint folder (`wan random-checkpoint`).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "api/api_guard.h"
#include "io/checkpoint.h"
#include "models/wan_dit_weights.h"
#include "pipeline/checkpoint_files.h"
#include "pipeline/random_checkpoint.h"
#include "pipeline/task_config.h"
#include "pipeline/text_to_video.h"
#include "wan/wan.h"

namespace fs = std::filesystem;
using wan::api::guarded;

namespace {

template <size_t N>
void copy_text(char (&dst)[N], const std::string& src) {
  std::snprintf(dst, N, "%s", src.c_str());
}

bool has_safetensors(const fs::path& dir) {
  int files = 0;
  return !wan::folder_weights_file(dir.string(), "diffusion_pytorch_model", &files).empty() || files > 0;
}

// The tensors of one file or DiT folder: count, bytes, bytes per dtype.
void describe_tensors(const wan::TensorStore& store, wan_checkpoint_part& part) {
  std::map<std::string, int64_t> by_dtype;
  for (const std::string& name : store.names()) {
    const wan::Tensor& t = store.get(name);
    part.bytes += int64_t(t.nbytes());
    by_dtype[wan::dtype_name(t.dtype())] += int64_t(t.nbytes());
  }
  part.tensors = int64_t(store.size());
  std::string dtypes;
  for (const auto& [dtype, bytes] : by_dtype) {
    char item[64];
    const double b = double(bytes);
    const char* unit = b >= 1e9 ? "GB" : b >= 1e6 ? "MB" : "kB";
    const double scaled = b >= 1e9 ? b / 1e9 : b >= 1e6 ? b / 1e6 : b / 1e3;
    std::snprintf(item, sizeof item, "%s%s %.3f %s", dtypes.empty() ? "" : ", ", dtype.c_str(), scaled, unit);
    dtypes += item;
  }
  copy_text(part.dtypes, dtypes);
}

// One part of a checkpoint; what is wrong with it goes into part.problem, not into an exception,
// so that the rest of the checkpoint is still described.
void inspect_part(wan_checkpoint_part& part, const std::string& role, const fs::path& path, bool dit) {
  part = {};
  copy_text(part.role, role);
  copy_text(part.path, path.string());
  std::error_code ec;
  part.present = fs::exists(path, ec) ? 1 : 0;
  if (!part.present) {
    copy_text(part.problem, "missing");
    return;
  }
  if (role == "tokenizer") return;  // a SentencePiece model: no tensors
  try {
    const wan::TensorStore store = wan::TensorStore::open(path.string());
    describe_tensors(store, part);
    if (!dit) return;
    // Without config.json (a single-file DiT), the config its shapes imply.
    const bool inferred = !fs::exists(path / "config.json", ec);
    const wan::WanDiTConfig config =
        inferred ? wan::infer_wan_dit_config(store) : wan::WanDiTConfig::from_file((path / "config.json").string());
    copy_text(part.config, config.summary() + (inferred ? " (no config.json: inferred from the shapes)" : ""));
    part.parameters = wan::wan_dit_parameter_count(config);
    wan::check_wan_dit_checkpoint(store, config);
  } catch (const wan::Error& e) {
    copy_text(part.problem, e.what());
  }
}

// A whole checkpoint folder's task, or "" for a DiT folder, a tensor folder or a file.
std::string whole_checkpoint_task(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  if (wan::has_expert(dir)) return "t2v-A14B";
  const bool other_parts = wan::has_text_encoder_file(dir) || fs::exists(dir / wan::kT5Tokenizer, ec);
  if (!other_parts || !(fs::exists(dir / "config.json", ec) || has_safetensors(dir))) return "";
  try {
    return wan::detect_task(dir.string());
  } catch (const wan::Error&) {
    return "";  // described as a DiT folder, whose config then says what it is
  }
}

}  // namespace

wan_status wan_inspect_checkpoint(const char* path, wan_checkpoint_info* out) {
  const wan_status checked = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(path && *path && out, "wan_inspect_checkpoint: path and out must not be NULL");
    return WAN_OK;
  });
  if (checked != WAN_OK) return checked;
  return guarded(WAN_ERROR_IO, [&] {
    const fs::path p(path);
    std::error_code ec;
    WAN_CHECK(fs::exists(p, ec), path, ": no such file or folder");
    wan_checkpoint_info info{};
    const std::string task = whole_checkpoint_task(p);
    copy_text(info.task, task);
    auto add = [&](const std::string& role, const fs::path& part_path, bool dit) {
      inspect_part(info.parts[info.part_count++], role, part_path, dit);
    };
    if (!task.empty()) {
      const wan::TaskConfig& t = wan::task_config(task);
      // A part in its official place or in ComfyUI's (pipeline/checkpoint_files.h); where several
      // candidates stand and none is official, the part says so, naming them.
      const auto add_found = [&](const std::string& role, const auto& find, const fs::path& official, bool dit) {
        std::string several;
        std::optional<fs::path> found;
        try {
          found = find();
        } catch (const wan::Error& e) {
          several = e.what();
        }
        add(role, found.value_or(official), dit);
        if (!several.empty()) copy_text(info.parts[info.part_count - 1].problem, several);
        return found;
      };
      if (t.two_experts) {
        for (const char* expert : {"high_noise_model", "low_noise_model"})
          add_found(expert, [&] { return wan::find_expert(p, expert); }, p / expert, true);
      } else {
        add("dit", p, true);
      }
      const std::optional<fs::path> text_encoder =
          add_found("text_encoder", [&] { return wan::find_text_encoder(p); }, p / wan::kT5Checkpoint, false);
      std::optional<fs::path> tokenizer;
      try {
        tokenizer = wan::find_tokenizer(p, text_encoder);
      } catch (const wan::Error&) {  // an unreadable text encoder file: its own part says why
      }
      add("tokenizer", tokenizer && tokenizer != text_encoder ? *tokenizer / "spiece.model"
                       : tokenizer                            ? *tokenizer
                                                              : p / wan::kT5Tokenizer / "spiece.model",
          false);
      add_found("vae", [&] { return wan::find_vae(p, t); }, p / t.vae_file, false);
    } else if (fs::is_directory(p, ec)) {
      WAN_CHECK(fs::exists(p / "config.json", ec) || has_safetensors(p), path,
                ": neither a checkpoint folder (high_noise_model/ and low_noise_model/, or config.json with the text "
                "encoder and VAE beside it) nor a DiT folder (config.json with diffusion_pytorch_model*.safetensors)");
      add("dit", p, true);
    } else {
      add("tensors", p, false);
      // An unreadable lone file is the caller's error to see at once, not a part's remark.
      WAN_CHECK(info.parts[0].problem[0] == '\0', info.parts[0].problem);
    }
    info.complete = 1;
    for (int32_t i = 0; i < info.part_count; ++i)
      if (info.parts[i].problem[0] != '\0') info.complete = 0;
    *out = info;
    return WAN_OK;
  });
}

wan_status wan_list_tensors(const char* path, wan_tensor_info* out, int64_t capacity, int64_t* count) {
  const wan_status checked = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(path && *path, "wan_list_tensors: path must not be NULL");
    WAN_CHECK(capacity >= 0 && (out || capacity == 0), "wan_list_tensors: out must hold capacity (", capacity,
              ") entries");
    return WAN_OK;
  });
  if (checked != WAN_OK) return checked;
  return guarded(WAN_ERROR_IO, [&] {
    const wan::TensorStore store = wan::TensorStore::open(path);
    int64_t i = 0;
    for (const std::string& name : store.names()) {
      if (i < capacity) {
        const wan::Tensor& t = store.get(name);
        wan_tensor_info& e = out[i];
        e = {};
        copy_text(e.name, name);
        copy_text(e.dtype, wan::dtype_name(t.dtype()));
        e.ndim = int32_t(t.dim());
        WAN_CHECK(e.ndim <= 8, name, " has ", e.ndim, " dimensions; at most 8 are described");
        for (int32_t d = 0; d < e.ndim; ++d) e.shape[d] = t.size(d);
        e.bytes = int64_t(t.nbytes());
      }
      ++i;
    }
    if (count) *count = i;
    return WAN_OK;
  });
}

wan_random_checkpoint_params wan_random_checkpoint_default_params(void) {
  wan_random_checkpoint_params p{};
  p.task = "t2v-A14B";
  p.seed = 1;
  return p;
}

wan_status wan_write_random_checkpoint(const char* dir, const wan_random_checkpoint_params* params,
                                       wan_convert_report* report) {
  wan::RandomCheckpointOptions o;
  const wan_status checked = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(dir && *dir && params, "wan_write_random_checkpoint: dir and params must not be NULL");
    WAN_CHECK(params->task && *params->task, "wan_write_random_checkpoint: params->task must be t2v-A14B or ti2v-5B");
    o.task = wan::task_config(params->task).name;
    WAN_CHECK(params->dit_layers >= 0 && params->t5_layers >= 0,
              "wan_write_random_checkpoint: dit_layers and t5_layers must not be negative (0: the real count)");
    o.dit_layers = params->dit_layers;
    o.t5_layers = params->t5_layers;
    o.seed = params->seed;
    o.dit_fp8_scaled = params->dit_fp8_scaled != 0;
    WAN_CHECK(params->tokenizer_model && *params->tokenizer_model,
              "wan_write_random_checkpoint: params->tokenizer_model must name a SentencePiece model (the demo "
              "data's tests/data/tokenizer/spiece.model)");
    std::error_code ec;
    WAN_CHECK(fs::is_regular_file(params->tokenizer_model, ec), params->tokenizer_model,
              ": no such tokenizer model file");
    o.tokenizer_model = params->tokenizer_model;
    WAN_CHECK(!fs::exists(dir, ec), dir, " exists already: name a new folder");
    return WAN_OK;
  });
  if (checked != WAN_OK) return checked;
  return guarded(WAN_ERROR_IO, [&] {
    const wan::ConvertReport r = wan::write_random_checkpoint(dir, o);
    if (report) *report = {r.dit_folders, r.tensors, r.shards, r.bytes_read, r.bytes_written, r.other_files};
    return WAN_OK;
  });
}
