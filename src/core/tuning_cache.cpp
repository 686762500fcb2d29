#include "core/tuning_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/log.h"

namespace wan {

std::string tuning_cache_field(std::string text) {
  for (char& c : text)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return text;
}

TuningCache::TuningCache(std::string path, std::string fingerprint)
    : path_(std::move(path)), fingerprint_(tuning_cache_field(std::move(fingerprint))) {
  std::ifstream in(path_);
  std::string line;
  size_t lines = 0;
  while (std::getline(in, line)) {
    const size_t a = line.find('\t');
    const size_t b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos || line.find('\t', b + 1) != std::string::npos) continue;  // not three fields
    if (line.compare(0, a, fingerprint_) != 0 || a != fingerprint_.size()) continue;     // another card or version
    const std::string choice = line.substr(b + 1);
    if (choice.empty()) continue;
    choices_[line.substr(a + 1, b - a - 1)] = choice;
    ++lines;
  }
  if (lines) WAN_LOG_DEBUG("tuning cache ", path_, ": ", choices_.size(), " choices for this card and its libraries");
}

std::optional<std::string> TuningCache::lookup(const std::string& problem) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = choices_.find(tuning_cache_field(problem));
  if (it == choices_.end()) return std::nullopt;
  return it->second;
}

size_t TuningCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return choices_.size();
}

void TuningCache::store(const std::string& problem, const std::string& choice) {
  const std::string p = tuning_cache_field(problem), c = tuning_cache_field(choice);
  std::lock_guard<std::mutex> lock(mutex_);
  choices_[p] = c;
  if (write_failed_ || path_.empty()) return;
  std::error_code ec;
  const std::filesystem::path file(path_);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  const std::string line = fingerprint_ + "\t" + p + "\t" + c + "\n";
  std::ofstream out(path_, std::ios::app | std::ios::binary);
  if (out) out.write(line.data(), std::streamsize(line.size())).flush();
  if (!out) {
    write_failed_ = true;  // said once; the choices still serve this process
    WAN_LOG_DEBUG("tuning cache ", path_, " cannot be written; tuning choices are kept for this process only");
  }
}

std::string default_tuning_cache_path() {
  if (const char* env = std::getenv("WAN_TUNING_CACHE")) {
    const std::string v = env;
    if (v == "off" || v == "0") return "";
    if (!v.empty()) return v;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/wan/tuning-cache.tsv";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/wan/tuning-cache.tsv";
  return "";
}

}  // namespace wan
