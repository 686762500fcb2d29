#include "io/torch_writer.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace wan {
namespace {

uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc = 0) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

const char* storage_class(DType d) {
  switch (d) {
    case DType::F32: return "FloatStorage";
    case DType::F64: return "DoubleStorage";
    case DType::F16: return "HalfStorage";
    case DType::BF16: return "BFloat16Storage";
    case DType::I64: return "LongStorage";
    case DType::I32: return "IntStorage";
    case DType::U8: return "ByteStorage";
    case DType::Bool: return "BoolStorage";
    default: fail("save_torch_state_dict: dtype ", dtype_name(d), " has no torch storage class");
  }
}

// Pickle protocol 2, the opcodes torch.save's state dicts use.
class Pickle {
 public:
  std::string out = "\x80\x02";
  void op(char c) { out += c; }
  void global(const std::string& module, const std::string& name) { out += "c" + module + "\n" + name + "\n"; }
  void str(const std::string& s) {
    op('X');
    u32(uint32_t(s.size()));
    out += s;
  }
  void integer(int64_t v) {
    if (v >= 0 && v < (int64_t(1) << 31)) {
      op('J');
      u32(uint32_t(v));
    } else {  // LONG1: 8 little-endian bytes
      out += '\x8a';
      out += '\x08';
      for (int i = 0; i < 8; ++i) out += char((uint64_t(v) >> (8 * i)) & 0xFF);
    }
  }
  void tuple(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v) integer(x);
    op('t');
  }
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }

 private:
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out += char((v >> (8 * i)) & 0xFF);
  }
};

class ZipWriter {
 public:
  explicit ZipWriter(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    WAN_CHECK(f_, path, ": cannot create");
  }
  ~ZipWriter() {
    if (f_) std::fclose(f_);
  }
  // A stored member; its data starts at a multiple of 64 bytes.
  void add(const std::string& name, const uint8_t* data, uint64_t size) {
    Entry e{name, size, crc32(data, size_t(size)), offset_};
    const bool big = size >= 0xFFFFFFFFull;
    std::string extra;
    if (big) {  // ZIP64: uncompressed and compressed sizes
      put16(extra, 0x0001);
      put16(extra, 16);
      put64(extra, size);
      put64(extra, size);
    }
    const uint64_t header = 30 + name.size() + extra.size() + 4;  // + the padding field's own header
    const uint64_t pad = (64 - (offset_ + header) % 64) % 64;
    put16(extra, 0x4b46);  // padding, as torch.save's writer (miniz) aligns storages
    put16(extra, uint16_t(pad));
    extra.append(size_t(pad), 'Z');
    std::string h;
    put32(h, 0x04034b50);
    put16(h, big ? 45 : 20);
    put16(h, 0);
    put16(h, 0);  // stored
    put16(h, 0);
    put16(h, 0);
    put32(h, e.crc);
    put32(h, big ? 0xFFFFFFFFu : uint32_t(size));
    put32(h, big ? 0xFFFFFFFFu : uint32_t(size));
    put16(h, uint16_t(name.size()));
    put16(h, uint16_t(extra.size()));
    h += name + extra;
    write(h.data(), h.size());
    write(data, size_t(size));
    entries_.push_back(e);
  }
  void finish() {
    const uint64_t cd_start = offset_;
    for (const Entry& e : entries_) {
      std::string extra;
      const bool big = e.size >= 0xFFFFFFFFull || e.offset >= 0xFFFFFFFFull;
      if (big) {
        put16(extra, 0x0001);
        put16(extra, 24);
        put64(extra, e.size);
        put64(extra, e.size);
        put64(extra, e.offset);
      }
      std::string h;
      put32(h, 0x02014b50);
      put16(h, 45);
      put16(h, big ? 45 : 20);
      put16(h, 0);
      put16(h, 0);
      put16(h, 0);
      put16(h, 0);
      put32(h, e.crc);
      put32(h, big ? 0xFFFFFFFFu : uint32_t(e.size));
      put32(h, big ? 0xFFFFFFFFu : uint32_t(e.size));
      put16(h, uint16_t(e.name.size()));
      put16(h, uint16_t(extra.size()));
      put16(h, 0);
      put16(h, 0);
      put16(h, 0);
      put32(h, 0);
      put32(h, big ? 0xFFFFFFFFu : uint32_t(e.offset));
      h += e.name + extra;
      write(h.data(), h.size());
    }
    const uint64_t cd_size = offset_ - cd_start, count = entries_.size();
    const uint64_t zip64_eocd = offset_;
    std::string t;
    put32(t, 0x06064b50);  // ZIP64 end of central directory (always: simple, and valid for small files)
    put64(t, 44);
    put16(t, 45);
    put16(t, 45);
    put32(t, 0);
    put32(t, 0);
    put64(t, count);
    put64(t, count);
    put64(t, cd_size);
    put64(t, cd_start);
    put32(t, 0x07064b50);  // its locator
    put32(t, 0);
    put64(t, zip64_eocd);
    put32(t, 1);
    put32(t, 0x06054b50);  // end of central directory
    put16(t, 0);
    put16(t, 0);
    put16(t, uint16_t(std::min<uint64_t>(count, 0xFFFF)));
    put16(t, uint16_t(std::min<uint64_t>(count, 0xFFFF)));
    put32(t, uint32_t(std::min<uint64_t>(cd_size, 0xFFFFFFFFu)));
    put32(t, uint32_t(std::min<uint64_t>(cd_start, 0xFFFFFFFFu)));
    put16(t, 0);
    write(t.data(), t.size());
    WAN_CHECK(std::fclose(f_) == 0, path_, ": write failed (disk full?)");
    f_ = nullptr;
  }

 private:
  struct Entry {
    std::string name;
    uint64_t size;
    uint32_t crc;
    uint64_t offset;
  };
  static void put16(std::string& s, uint16_t v) { s += char(v & 0xFF), s += char(v >> 8); }
  static void put32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s += char((v >> (8 * i)) & 0xFF);
  }
  static void put64(std::string& s, uint64_t v) {
    for (int i = 0; i < 8; ++i) s += char((v >> (8 * i)) & 0xFF);
  }
  void write(const void* p, size_t n) {
    WAN_CHECK(n == 0 || std::fwrite(p, 1, n, f_) == n, path_, ": write failed (disk full?)");
    offset_ += n;
  }
  std::string path_;
  FILE* f_;
  uint64_t offset_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace

void save_torch_state_dict(const std::string& path, const std::vector<TensorSpec>& specs,
                           const std::function<Tensor(size_t)>& produce) {
  const std::string archive = "archive";
  Pickle pk;
  pk.empty_ordered_dict();
  pk.op('(');
  for (size_t k = 0; k < specs.size(); ++k) {
    const TensorSpec& t = specs[k];
    pk.str(t.name);
    pk.global("torch._utils", "_rebuild_tensor_v2");
    pk.op('(');
    pk.op('(');  // the persistent id: ('storage', class, key, location, numel)
    pk.str("storage");
    pk.global("torch", storage_class(t.dtype));
    pk.str(std::to_string(k));
    pk.str("cpu");
    pk.integer(shape_numel(t.shape));
    pk.op('t');
    pk.op('Q');
    pk.integer(0);  // storage offset
    pk.tuple(t.shape);
    pk.tuple(contiguous_strides(t.shape));
    pk.op('\x89');  // requires_grad False
    pk.empty_ordered_dict();  // backward hooks
    pk.op('t');
    pk.op('R');
  }
  pk.op('u');
  pk.op('.');

  const std::string tmp = path + ".partial-" + std::to_string(::getpid());
  try {
    ZipWriter zip(tmp);
    zip.add(archive + "/data.pkl", reinterpret_cast<const uint8_t*>(pk.out.data()), pk.out.size());
    const std::string order = "little";
    zip.add(archive + "/byteorder", reinterpret_cast<const uint8_t*>(order.data()), order.size());
    for (size_t k = 0; k < specs.size(); ++k) {
      const Tensor t = produce(k).contiguous();
      WAN_CHECK(t.device() == Device::CPU && t.shape() == specs[k].shape && t.dtype() == specs[k].dtype,
                "save_torch_state_dict: ", specs[k].name, " was made as ", t.describe(), ", not ",
                dtype_name(specs[k].dtype), shape_str(specs[k].shape), " on the host");
      zip.add(archive + "/data/" + std::to_string(k), static_cast<const uint8_t*>(t.data_ptr()), t.nbytes());
    }
    const std::string version = "3\n";
    zip.add(archive + "/version", reinterpret_cast<const uint8_t*>(version.data()), version.size());
    zip.finish();
    std::filesystem::rename(tmp, path);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void save_torch_state_dict(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) {
    WAN_CHECK(t.device() == Device::CPU, "save_torch_state_dict: ", name, " is not on the host");
    specs.push_back({name, t.shape(), t.dtype()});
  }
  save_torch_state_dict(path, specs, [&](size_t k) { return tensors[k].second; });
}

}  // namespace wan
