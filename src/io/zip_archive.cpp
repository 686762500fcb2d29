#include "io/zip_archive.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace wan {
namespace {

constexpr uint32_t kEocdSig = 0x06054b50, kEocd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;
constexpr uint32_t kCentralSig = 0x02014b50, kLocalSig = 0x04034b50;

// Little-endian reads that check their bounds against the file.
class Reader {
 public:
  Reader(const MappedFile& f) : f_(f) {}
  void need(uint64_t off, uint64_t len, const char* what) const {
    WAN_CHECK(off <= f_.size() && len <= f_.size() - off, f_.path(), ": ", what, " at byte ", off,
              " runs past the end of the file (", f_.size(), " bytes); the file is truncated or not a zip archive");
  }
  uint64_t le(uint64_t off, int bytes) const {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | f_.data()[off + uint64_t(i)];
    return v;
  }
  uint16_t u16(uint64_t off) const { return uint16_t(le(off, 2)); }
  uint32_t u32(uint64_t off) const { return uint32_t(le(off, 4)); }
  uint64_t u64(uint64_t off) const { return le(off, 8); }

 private:
  const MappedFile& f_;
};

}  // namespace

std::shared_ptr<ZipArchive> ZipArchive::open(const std::string& path) {
  auto zip = std::make_shared<ZipArchive>();
  zip->file_ = MappedFile::open(path);
  const MappedFile& f = *zip->file_;
  const Reader r(f);
  const uint64_t size = f.size();
  WAN_CHECK(size >= 22, path, ": ", size, " bytes is too small for a zip archive (not a PyTorch .pth file?)");

  // The end-of-central-directory record is in the last 22 + 65535 bytes.
  uint64_t eocd = UINT64_MAX;
  const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t p = size - 22 + 1; p-- > lowest;) {
    if (r.u32(p) == kEocdSig) {
      eocd = p;
      break;
    }
  }
  WAN_CHECK(eocd != UINT64_MAX, path, ": no zip end-of-central-directory record; not a zip archive (PyTorch .pth "
            "files written by torch.save since 1.6 are zip archives) or truncated");
  uint64_t count = r.u16(eocd + 10);
  uint64_t cd_size = r.u32(eocd + 12);
  uint64_t cd_offset = r.u32(eocd + 16);
  if (count == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    // ZIP64: a locator just before the EOCD points at the ZIP64 EOCD record.
    WAN_CHECK(eocd >= 20 && r.u32(eocd - 20) == kLocator64Sig, path, ": ZIP64 locator missing");
    const uint64_t eocd64 = r.u64(eocd - 20 + 8);
    r.need(eocd64, 56, "ZIP64 end-of-central-directory record");
    WAN_CHECK(r.u32(eocd64) == kEocd64Sig, path, ": bad ZIP64 end-of-central-directory signature");
    count = r.u64(eocd64 + 32);
    cd_size = r.u64(eocd64 + 40);
    cd_offset = r.u64(eocd64 + 48);
  }
  r.need(cd_offset, cd_size, "central directory");
  WAN_CHECK(count <= cd_size / 46, path, ": central directory claims ", count, " members in ", cd_size, " bytes");

  uint64_t p = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    r.need(p, 46, "central directory entry");
    WAN_CHECK(r.u32(p) == kCentralSig, path, ": bad central directory entry signature at byte ", p);
    ZipMember m;
    m.method = r.u16(p + 10);
    uint64_t csize = r.u32(p + 20), usize = r.u32(p + 24);
    const uint64_t name_len = r.u16(p + 28), extra_len = r.u16(p + 30), comment_len = r.u16(p + 32);
    uint64_t local = r.u32(p + 42);
    r.need(p + 46, name_len + extra_len + comment_len, "central directory entry name");
    m.name.assign(reinterpret_cast<const char*>(f.data() + p + 46), name_len);
    // ZIP64 extended information replaces the fields that are 0xffffffff, in this order.
    for (uint64_t e = p + 46 + name_len; e + 4 <= p + 46 + name_len + extra_len;) {
      const uint16_t id = r.u16(e), len = r.u16(e + 2);
      WAN_CHECK(e + 4 + len <= p + 46 + name_len + extra_len, path, ": malformed extra field of '", m.name, "'");
      if (id == 0x0001) {
        uint64_t q = e + 4;
        auto take = [&](uint64_t& field) {
          if (field != 0xffffffffu) return;
          WAN_CHECK(q + 8 <= e + 4 + len, path, ": short ZIP64 field of '", m.name, "'");
          field = r.u64(q);
          q += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      e += 4 + uint64_t(len);
    }
    r.need(local, 30, "local header");
    WAN_CHECK(r.u32(local) == kLocalSig, path, ": bad local header signature for '", m.name, "'");
    m.offset = local + 30 + r.u16(local + 26) + r.u16(local + 28);
    m.size = m.method == 0 ? usize : csize;
    WAN_CHECK(m.method != 0 || csize == usize, path, ": stored member '", m.name, "' has different sizes");
    r.need(m.offset, m.size, ("member '" + m.name + "'").c_str());
    zip->members_.push_back(std::move(m));
    p += 46 + name_len + extra_len + comment_len;
  }
  return zip;
}

const ZipMember* ZipArchive::find(const std::string& name) const {
  for (const auto& m : members_)
    if (m.name == name) return &m;
  return nullptr;
}

const uint8_t* ZipArchive::data(const ZipMember& member) const {
  WAN_CHECK(member.method == 0, path(), ": member '", member.name, "' is compressed (method ", member.method,
            "); only stored members, as torch.save writes them, can be read");
  return file_->data() + member.offset;
}

}  // namespace wan
