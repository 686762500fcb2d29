#include "pipeline/checkpoint_files.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "io/checkpoint.h"
#include "models/t5_encoder.h"

namespace fs = std::filesystem;

namespace wan {

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows links: a linked-in file counts
}

// The .safetensors files in `dir` whose lower-case names contain `part` (and are not a text
// encoder's or VAE's), sorted.
std::vector<fs::path> files_named_with(const fs::path& dir, const std::string& part) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".safetensors" && ascii_lower(name).find(part) != std::string::npos &&
        !is_text_encoder_or_vae_file_name(name) && is_file(entry.path()))
      found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string listed(const std::vector<fs::path>& files) {
  std::string list;
  for (const fs::path& p : files) list += "\n  " + p.filename().string();
  return list;
}

// "high_noise_model" -> "high_noise".
std::string expert_key(const std::string& name) {
  WAN_CHECK(name == "high_noise_model" || name == "low_noise_model", "find_expert: no expert '", name, "'");
  return name.substr(0, name.size() - 6);
}

}  // namespace

std::optional<fs::path> find_expert(const fs::path& dir, const std::string& name) {
  const std::string key = expert_key(name);
  if (!folder_weights_file((dir / name).string()).empty()) return dir / name;
  const std::vector<fs::path> files = files_named_with(dir, key);
  if (files.empty()) return std::nullopt;
  WAN_CHECK(files.size() == 1, dir.string(), ": no ", name, "/ and several ", key, " files:", listed(files),
            "\nkeep one of them in the folder (or put the expert in ", name, "/)");
  return files.front();
}

bool has_expert(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "high_noise_model", ec) || fs::exists(dir / "low_noise_model", ec) ||
         !files_named_with(dir, "high_noise").empty() || !files_named_with(dir, "low_noise").empty();
}

std::optional<fs::path> find_text_encoder(const fs::path& dir) {
  if (is_file(dir / kT5Checkpoint)) return dir / kT5Checkpoint;
  std::vector<fs::path> comfy;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_umt5_file_name(name) && entry.path().extension() == ".safetensors" && is_file(entry.path()))
      comfy.push_back(entry.path());
  }
  if (comfy.empty()) return std::nullopt;
  std::sort(comfy.begin(), comfy.end());
  WAN_CHECK(comfy.size() == 1, dir.string(), ": several text encoder files and no ", kT5Checkpoint, ":", listed(comfy),
            "\nkeep one of them in the folder (or add the official file, which is then used)");
  return comfy.front();
}

bool has_text_encoder_file(const fs::path& dir) {
  try {
    return find_text_encoder(dir).has_value();
  } catch (const Error&) {
    return true;  // several: there are text encoder files, only not one to choose
  }
}

std::optional<fs::path> find_tokenizer(const fs::path& dir, const std::optional<fs::path>& text_encoder) {
  if (is_file(dir / kT5Tokenizer / "spiece.model")) return dir / kT5Tokenizer;
  if (text_encoder && text_encoder->extension() == ".safetensors" &&
      TensorStore::open(text_encoder->string()).contains(kT5EmbeddedTokenizer))
    return *text_encoder;
  return std::nullopt;
}

const char* comfy_vae_file(const TaskConfig& task) {
  return task.z_dim == 48 ? "wan2.2_vae.safetensors" : "wan_2.1_vae.safetensors";
}

std::optional<fs::path> find_vae(const fs::path& dir, const TaskConfig& task) {
  for (const char* name : {task.vae_file, comfy_vae_file(task)})
    if (is_file(dir / name)) return dir / name;
  return std::nullopt;
}

std::string text_encoder_expectation() {
  return str(kT5Checkpoint, " (or ComfyUI's umt5_xxl_*.safetensors)");
}

std::string tokenizer_expectation() {
  return str(kT5Tokenizer, "/spiece.model (or a text encoder file that carries its tokenizer, as ComfyUI's may)");
}

std::string vae_expectation(const TaskConfig& task) {
  return str(task.vae_file, " (or ComfyUI's ", comfy_vae_file(task), ")");
}

}  // namespace wan
