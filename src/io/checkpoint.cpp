#include "io/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/text.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A shard name from an index must stay inside the checkpoint folder.
void check_shard_name(const std::string& index_path, const std::string& shard) {
  const fs::path p(shard);
  bool escapes = shard.empty() || p.is_absolute();
  for (const auto& part : p)
    if (part == "..") escapes = true;
  WAN_CHECK(!escapes, index_path, ": shard name '", shard, "' is not a file name inside the checkpoint folder");
}

bool is_torch_file(const std::string& file) {
  if (ends_with(file, ".pth") || ends_with(file, ".pt") || ends_with(file, ".ckpt")) return true;
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

}  // namespace

void TensorStore::add_safetensors(const std::string& file, const std::vector<std::string>* only) {
  auto st = SafetensorsFile::open(file);
  files_.push_back(file);
  if (!only) {
    for (const auto& e : st->entries()) index_[e.name] = {st->tensor(e), files_.size() - 1};
    return;
  }
  for (const std::string& name : *only) {
    const SafetensorsEntry* e = st->find(name);
    WAN_CHECK(e, path_, ": the index says tensor '", name, "' is in ", fs::path(file).filename().string(),
              ", but that shard has no such tensor");
    index_[name] = {st->tensor(*e), files_.size() - 1};
  }
}

bool is_umt5_file_name(const std::string& filename) { return filename.rfind("umt5", 0) == 0; }

bool is_text_encoder_or_vae_file_name(const std::string& filename) {
  const std::string lower = ascii_lower(filename);
  return is_umt5_file_name(lower) || lower.find("vae") != std::string::npos;
}

std::string folder_weights_file(const std::string& folder, const std::string& base, int* safetensors_files) {
  std::error_code ec;
  const fs::path index = fs::path(folder) / (base + ".safetensors.index.json");
  const fs::path single = fs::path(folder) / (base + ".safetensors");
  // A folder holding one .safetensors file of another name (a single-file DiT, as ComfyUI's
  // repackaged ones are named) is that file.
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator(folder, ec))
    if (e.path().extension() == ".safetensors" && !is_text_encoder_or_vae_file_name(e.path().filename().string()))
      found.push_back(e.path());
  if (safetensors_files) *safetensors_files = int(found.size());
  if (fs::exists(index, ec)) return index.string();
  if (fs::exists(single, ec)) return single.string();
  return found.size() == 1 ? found[0].string() : std::string();
}

TensorStore TensorStore::open(const std::string& path, const std::string& base) {
  std::error_code ec;
  WAN_CHECK(fs::exists(path, ec), path, ": no such file or folder");
  std::string file = path;
  if (fs::is_directory(path, ec)) {
    int found = 0;
    file = folder_weights_file(path, base, &found);
    WAN_CHECK(!file.empty(), path, ": no weights found: expected ", base, ".safetensors or ", base,
              ".safetensors.index.json", found == 0 ? std::string(" in this folder")
                                                    : str(" in this folder, or a single .safetensors file (there are ",
                                                          found, ")"));
  }

  TensorStore store;
  store.path_ = path;
  if (!ends_with(file, ".index.json")) {
    if (is_torch_file(file)) {
      store.files_.push_back(file);
      for (auto& [name, t] : load_torch_checkpoint(file)) store.index_[name] = {std::move(t), 0};
    } else {
      store.add_safetensors(file, nullptr);
    }
    store.strip_comfyui_prefix();
    return store;
  }

  // Sharded: read the index, open each shard once, and check that each tensor is where it says.
  std::ifstream in(file);
  WAN_CHECK(in, file, ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    fail(file, ": not valid JSON: ", e.what());
  }
  WAN_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), file,
            ": no \"weight_map\" object (not a safetensors index?)");
  store.path_ = file;
  const fs::path folder = fs::path(file).parent_path();
  std::map<std::string, std::vector<std::string>> by_shard;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    WAN_CHECK(it.value().is_string(), file, ": weight_map entry '", it.key(), "' is not a file name");
    const std::string shard = it.value().get<std::string>();
    check_shard_name(file, shard);
    by_shard[shard].push_back(it.key());
  }
  for (const auto& [shard, names] : by_shard) {
    const fs::path shard_path = folder / shard;
    WAN_CHECK(fs::exists(shard_path, ec), file, ": names shard '", shard, "', which is missing from ",
              folder.string(), " (incomplete download?)");
    store.add_safetensors(shard_path.string(), &names);
  }
  store.strip_comfyui_prefix();
  return store;
}

void TensorStore::strip_comfyui_prefix() {
  const std::string prefix = "model.diffusion_model.";
  if (index_.empty()) return;
  for (const auto& [name, item] : index_)
    if (name.compare(0, prefix.size(), prefix) != 0) return;
  std::map<std::string, Item> stripped;
  for (auto& [name, item] : index_) stripped.emplace(name.substr(prefix.size()), std::move(item));
  index_ = std::move(stripped);
}

const TensorStore::Item& TensorStore::locate(const std::string& name) const {
  auto it = index_.find(name);
  WAN_CHECK(it != index_.end(), path_, ": checkpoint has no tensor '", name, "'");
  return it->second;
}

const Tensor& TensorStore::get(const std::string& name) const { return locate(name).tensor; }

const std::string& TensorStore::file_of(const std::string& name) const { return files_[locate(name).file]; }

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, item] : index_) out.push_back(name);
  return out;
}

}  // namespace wan
