// The choices first-call tuning makes (the fastest cuBLASLt algorithm of a product's candidates,
// the fastest cuDNN engine of an attention shape, our attention kernel or cuDNN's), kept in a text
// file so that a later process on the same machine takes them without timing again: a whole video
// otherwise spends 1.5-3 s of its first step on it (docs/performance.md, tenth session).
//
// Each line is "<fingerprint>\t<problem>\t<choice>": the fingerprint names the card and every
// library whose choice it is (backend/cuda/tuning_fingerprint.h), so one file serves several cards
// and versions and a changed driver or library simply tunes again. Lines are appended (one write
// each, so processes sharing the file do not interleave them); the last line of a problem wins;
// lines that do not parse are ignored. A file that cannot be read or written costs nothing but the
// timing it would have saved (logged at debug level): the cache never fails a run.
//
// Where: WAN_TUNING_CACHE (a file path; "off" or "0" for none), else
// $XDG_CACHE_HOME/wan/tuning-cache.tsv, else $HOME/.cache/wan/tuning-cache.tsv.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace wan {

class TuningCache {
 public:
  // Reads `path` (absent: empty) and keeps the lines of `fingerprint`.
  TuningCache(std::string path, std::string fingerprint);

  std::optional<std::string> lookup(const std::string& problem) const;
  // Remembers the choice here and appends it to the file (its folder made if missing).
  void store(const std::string& problem, const std::string& choice);

  const std::string& path() const { return path_; }
  size_t size() const;

 private:
  std::string path_, fingerprint_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> choices_;
  bool write_failed_ = false;
};

// The file WAN_TUNING_CACHE and the XDG rules above name; empty when the cache is off.
std::string default_tuning_cache_path();

// Text with no tab or line break (those separate the file's fields and lines).
std::string tuning_cache_field(std::string text);

}  // namespace wan
