#include "models/wan_dit_case.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"

namespace wan {
namespace {

nlohmann::json metadata_value(const SafetensorsFile& file, const std::string& key) {
  auto it = file.metadata().find(key);
  WAN_CHECK(it != file.metadata().end(), file.path(), ": metadata has no '", key, "'");
  try {
    return nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    fail(file.path(), ": metadata '", key, "' is not JSON: ", e.what());
  }
}

}  // namespace

WanDiTCase read_wan_dit_case(const std::string& path) {
  auto file = SafetensorsFile::open(path);
  WanDiTCase c;
  c.path = path;
  try {
    c.batch = metadata_value(*file, "batch").get<int64_t>();
    c.seq_len = metadata_value(*file, "seq_len").get<int64_t>();
    c.grids = metadata_value(*file, "grids").get<std::vector<std::vector<int64_t>>>();
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": metadata has the wrong form: ", e.what());
  }
  WAN_CHECK(c.batch >= 1 && int64_t(c.grids.size()) == c.batch, path, ": metadata batch ", c.batch, " and ",
            c.grids.size(), " grids disagree");
  for (int64_t i = 0; i < c.batch; ++i) {
    const std::string s = std::to_string(i);
    c.x.push_back(file->tensor("x." + s));
    c.context.push_back(file->tensor("context." + s));
    if (file->contains("out." + s)) c.out.push_back(file->tensor("out." + s));
  }
  c.t = file->tensor("t");
  for (int64_t k = 0; file->contains("block_out." + std::to_string(k)); ++k)
    c.block_out.push_back(file->tensor("block_out." + std::to_string(k)));
  return c;
}

std::string wan_dit_case_checkpoint(const std::string& case_path) {
  const std::filesystem::path p(case_path);
  const std::string name = p.filename().string();
  return (p.parent_path() / name.substr(0, name.find('.'))).string();
}

}  // namespace wan
