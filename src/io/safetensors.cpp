#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace wan {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Reads a non-negative integer that fits int64 from a JSON value, or fails with `what`.
int64_t json_index(const json& v, const std::string& path, const std::string& what) {
  if (v.is_number_unsigned() && v.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()))
    return int64_t(v.get<uint64_t>());
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  fail(path, ": ", what, " must be a non-negative integer, found ", v.dump());
}

SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& v,
                             uint64_t data_size) {
  const std::string where = "tensor '" + name + "'";
  WAN_CHECK(v.is_object(), path, ": ", where, " is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    WAN_CHECK(v.contains(key), path, ": ", where, " has no '", key, "'");
  WAN_CHECK(v["dtype"].is_string(), path, ": ", where, " dtype is not a string");
  const std::string dtype_str = v["dtype"].get<std::string>();
  const auto dtype = dtype_from_safetensors(dtype_str);
  WAN_CHECK(dtype.has_value(), path, ": ", where, " has unsupported dtype '", dtype_str,
            "' (supported: F32, F64, BF16, F16, F8_E4M3, F8_E5M2, I32, I64, U8, BOOL)");

  const json& shape_json = v["shape"];
  WAN_CHECK(shape_json.is_array(), path, ": ", where, " shape is not an array");
  Shape shape;
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : shape_json) {
    const int64_t n = json_index(d, path, where + " shape entries");
    shape.push_back(n);
    if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / uint64_t(n)) overflow = true;
    numel *= uint64_t(n);
  }
  const size_t esize = dtype_size(*dtype);
  WAN_CHECK(!overflow && numel <= std::numeric_limits<uint64_t>::max() / esize, path, ": ", where,
            " shape ", shape_str(shape), " is too large");

  const json& offsets = v["data_offsets"];
  WAN_CHECK(offsets.is_array() && offsets.size() == 2, path, ": ", where,
            " data_offsets must be [begin, end], found ", offsets.dump());
  const uint64_t begin = uint64_t(json_index(offsets[0], path, where + " data_offsets"));
  const uint64_t end = uint64_t(json_index(offsets[1], path, where + " data_offsets"));
  WAN_CHECK(begin <= end, path, ": ", where, " data_offsets [", begin, ", ", end, "] end before they begin");
  WAN_CHECK(end <= data_size, path, ": ", where, " data_offsets [", begin, ", ", end,
            "] lie outside the data section of ", data_size, " bytes (is the file truncated?)");
  WAN_CHECK(end - begin == numel * esize, path, ": ", where, " is ", dtype_str, " ", shape_str(shape),
            " = ", numel * esize, " bytes, but its data_offsets span ", end - begin, " bytes");
  return SafetensorsEntry{name, *dtype, std::move(shape), begin, end};
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto st = std::make_shared<SafetensorsFile>();
  st->file_ = MappedFile::open(path);
  const uint64_t size = st->file_->size();
  WAN_CHECK(size >= 8, path, ": file of ", size,
            " bytes is too small to be a safetensors file (it needs an 8-byte header length)");
  const uint8_t* base = st->file_->data();
  const uint64_t header_len = read_u64_le(base);
  WAN_CHECK(header_len <= size - 8, path, ": header length ", header_len, " runs past the end of the file (",
            size, " bytes); the file is truncated or not a safetensors file");
  WAN_CHECK(header_len <= kMaxHeaderBytes, path, ": header length ", header_len, " exceeds the limit of ",
            kMaxHeaderBytes, " bytes");
  const uint64_t data_size = size - 8 - header_len;

  json header;
  try {
    header = json::parse(base + 8, base + 8 + header_len);
  } catch (const json::exception& e) {
    fail(path, ": header is not valid JSON: ", e.what());
  }
  WAN_CHECK(header.is_object(), path, ": header is not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      WAN_CHECK(it.value().is_object(), path, ": __metadata__ is not a JSON object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        WAN_CHECK(m.value().is_string(), path, ": __metadata__ value '", m.key(), "' is not a string");
        st->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    st->entries_.push_back(parse_entry(path, it.key(), it.value(), data_size));
  }

  // The data section must be covered exactly once: no overlaps (two tensors sharing bytes) and no
  // holes (bytes that no tensor owns), like the reference implementation checks.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : st->entries_)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->begin < b->begin; });
  uint64_t covered = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const auto* e : by_offset) {
    WAN_CHECK(e->begin >= covered, path, ": tensors '", prev ? prev->name : "", "' and '", e->name,
              "' overlap (bytes ", e->begin, "..", std::min(covered, e->end), " are claimed twice)");
    WAN_CHECK(e->begin == covered, path, ": data bytes ", covered, "..", e->begin,
              " belong to no tensor; the header does not describe the data");
    covered = e->end;
    prev = e;
  }
  WAN_CHECK(covered == data_size, path, ": the data section has ", data_size, " bytes but the tensors cover ",
            covered, "; the header does not describe the data");

  std::sort(st->entries_.begin(), st->entries_.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  auto owner = st->file_;
  st->data_ = std::make_shared<Storage>(const_cast<uint8_t*>(base) + 8 + header_len, size_t(data_size),
                                        Device::CPU, std::shared_ptr<const void>(owner, owner.get()));
  return st;
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  return (it != entries_.end() && it->name == name) ? &*it : nullptr;
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry* e = find(name);
  WAN_CHECK(e, path(), ": no tensor named '", name, "'");
  return tensor(*e);
}

Tensor SafetensorsFile::tensor(const SafetensorsEntry& e) const {
  Tensor view = Tensor::from_storage(data_, size_t(e.begin), e.shape, e.dtype);
  if (reinterpret_cast<uintptr_t>(view.data_ptr()) % dtype_size(e.dtype) == 0) return view;
  // Misaligned data (a header length that is not a multiple of 8): copy into aligned memory.
  Tensor copy = Tensor::empty(e.shape, e.dtype);
  std::memcpy(copy.data_ptr(), view.data_ptr(), view.nbytes());
  return copy;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<Tensor> contiguous;
  for (const auto& [name, t] : tensors) {
    WAN_CHECK(name != "__metadata__", "save_safetensors: '__metadata__' is not a tensor name");
    WAN_CHECK(!header.contains(name), "save_safetensors: tensor '", name, "' given twice");
    contiguous.push_back(t.contiguous());
    header[name] = {{"dtype", dtype_safetensors_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // keep the data 8-byte aligned

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    WAN_CHECK(out, tmp, ": cannot open for writing: ", std::strerror(errno));
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& t : contiguous) out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.nbytes()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      fail(tmp, ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(path, ": cannot rename the finished file into place: ", ec.message());
  }
}

}  // namespace wan
