#include "pipeline/demo_checkpoint.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/atomic_folder.h"
#include "io/safetensors.h"
#include "pipeline/task_config.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

void copy_item(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  WAN_CHECK(fs::exists(from, ec), from.string(), ": demo data missing (is the source tree complete?)");
  fs::create_directories(to.parent_path(), ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  WAN_CHECK(!ec, "cannot copy ", from.string(), " to ", to.string(), ": ", ec.message());
}

void write_config(const fs::path& io_file, const fs::path& json) {
  const auto f = SafetensorsFile::open(io_file.string());
  WAN_CHECK(f->metadata().count("config"), io_file.string(), ": no config metadata");
  std::ofstream out(json);
  out << f->metadata().at("config") << "\n";
  WAN_CHECK(out.good(), json.string(), ": cannot write");
}

}  // namespace

std::string ensure_demo_checkpoint(const std::string& dest, const std::string& data_dir) {
  std::error_code ec;
  const fs::path out(dest);
  if (fs::exists(out / "low_noise_model" / "config.json", ec) && fs::exists(out / "Wan2.1_VAE.json", ec)) return dest;
  const fs::path golden = fs::path(data_dir) / "golden";
  build_folder_atomically(
      out,
      [&](const fs::path& tmp) {
        copy_item(golden / "pipeline_tiny" / "high_noise_model", tmp / "high_noise_model");
        copy_item(golden / "pipeline_tiny" / "low_noise_model", tmp / "low_noise_model");
        copy_item(golden / "vae21_tiny.pth", tmp / "Wan2.1_VAE.pth");
        write_config(golden / "vae21_tiny.io.safetensors", tmp / "Wan2.1_VAE.json");
        copy_item(golden / "t5_tiny.pth", tmp / kT5Checkpoint);
        write_config(golden / "t5_tiny.io.safetensors", tmp / (fs::path(kT5Checkpoint).stem().string() + ".json"));
        copy_item(fs::path(data_dir) / "tokenizer" / "spiece.model", tmp / kT5Tokenizer / "spiece.model");
      },
      /*replace=*/true);  // an incomplete folder from an older layout is replaced
  return dest;
}

}  // namespace wan
