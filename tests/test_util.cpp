#include "test_util.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/backend.h"
#include "core/rng.h"

namespace fs = std::filesystem;

namespace wan::test {

std::string golden_dir() {
  if (const char* env = std::getenv("WAN_GOLDEN_DIR"); env && *env) return env;
  return std::string(WAN_SOURCE_DIR) + "/tests/data/golden";
}

std::vector<std::string> golden_files(const std::string& prefix, const std::string& suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(golden_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() >= prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string golden_case_name(const std::string& path) {
  std::string n = fs::path(path).filename().string();
  const std::string ext = ".io.safetensors";
  if (n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0) n.resize(n.size() - ext.size());
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

std::string golden_sibling(const std::string& case_path, const std::string& suffix) {
  const fs::path p(case_path);
  const std::string name = p.filename().string();
  return (p.parent_path() / (name.substr(0, name.find('.')) + suffix)).string();
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "wan-test-XXXXXX").string();
  WAN_CHECK(::mkdtemp(tmpl.data()) != nullptr, "cannot create a temporary folder");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

WanDiTConfig small_a14b_dit_config(int64_t layers) {
  WanDiTConfig config = WanDiTConfig::t2v_a14b();
  config.dim = 256;
  config.num_heads = 2;
  config.ffn_dim = 512;
  config.num_layers = layers;
  config.text_dim = 64;
  config.text_len = 40;
  return config;
}

Tensor random_tensor(const Shape& shape, uint64_t seed, double stddev) {
  Tensor t = Tensor::empty(shape, DType::F32);
  Rng rng(seed);
  rng.fill_normal(t, 0.0, stddev);
  return t;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  WAN_CHECK(out.good(), "cannot write ", path);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool holds_rows_only(const Tensor& buffer, int64_t first, const Tensor& expected, std::string& why) {
  const Tensor got = to_device(buffer, Device::CPU).contiguous();
  const int64_t rows = expected.size(0), total = got.size(0);
  const Tensor mine = got.narrow(0, first, rows).contiguous();
  if (mine.nbytes() != expected.nbytes() ||
      std::memcmp(mine.data_ptr(), expected.contiguous().data_ptr(), size_t(expected.nbytes())) != 0) {
    why = "its rows differ from the expected ones";
    return false;
  }
  for (const Tensor& edge : {got.narrow(0, 0, first), got.narrow(0, first + rows, total - first - rows)}) {
    const Tensor bytes = edge.contiguous();
    const auto* p = static_cast<const unsigned char*>(bytes.data_ptr());
    for (size_t i = 0; i < size_t(bytes.nbytes()); ++i)
      if (p[i] != 0) {
        why = "it wrote outside its rows";
        return false;
      }
  }
  return true;
}

}  // namespace wan::test
