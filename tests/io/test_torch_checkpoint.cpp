// PyTorch .pth reading: a zip of data.pkl + data/<key>, parsed by a restricted unpickler. Malformed
// or hostile files give clear errors, never a crash (this binary also runs under AddressSanitizer).
#include <gtest/gtest.h>

#include <cstring>

#include "core/stats.h"
#include "io/checkpoint.h"
#include "io/torch_checkpoint.h"
#include "test_util.h"

namespace wan {
namespace {

// A zip archive with stored members, as torch.save writes (CRCs left zero: the reader ignores them).
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& members) {
  auto le = [](uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
    return s;
  };
  std::string out, central;
  for (const auto& [name, data] : members) {
    const uint64_t local = out.size();
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) + le(data.size(), 4) +
           le(data.size(), 4) + le(name.size(), 2) + le(0, 2) + name + data;
    central += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) +
               le(data.size(), 4) + le(data.size(), 4) + le(name.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) +
               le(0, 2) + le(0, 4) + le(local, 4) + name;
  }
  const uint64_t cd = out.size();
  out += central;
  out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(members.size(), 2) + le(members.size(), 2) +
         le(central.size(), 4) + le(cd, 4) + le(0, 2);
  return out;
}

// Pickle opcodes (protocol 2), enough to write what torch.save writes.
struct Pickle {
  std::string s = "\x80\x02";
  Pickle& op(char c) { s.push_back(c); return *this; }
  Pickle& str(const std::string& v) {
    s.push_back('X');
    for (int i = 0; i < 4; ++i) s.push_back(char((v.size() >> (8 * i)) & 0xff));
    s += v;
    return *this;
  }
  Pickle& integer(int v) {
    s.push_back('J');
    for (int i = 0; i < 4; ++i) s.push_back(char((uint32_t(v) >> (8 * i)) & 0xff));
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    s += "c" + module + "\n" + name + "\n";
    return *this;
  }
  Pickle& tuple(const std::vector<int>& v) {
    op('(');
    for (int x : v) integer(x);
    return op('t');
  }
  // key: _rebuild_tensor_v2(('storage', <type>, storage_key, 'cpu', numel), offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& key, const std::string& type, const std::string& storage_key, int numel,
                 int offset, const std::vector<int>& size, const std::vector<int>& stride) {
    str(key).global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", type).str(storage_key).str("cpu").integer(numel).op('t').op('Q');
    integer(offset).tuple(size).tuple(stride).op('\x89').global("collections", "OrderedDict").op(')').op('R');
    return op('t').op('R');
  }
};

std::string floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

class TorchCheckpoint : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes, const std::string& name = "m.pth") {
    const std::string path = dir_.file(std::to_string(n_++) + name);
    test::write_bytes(path, bytes);
    return path;
  }
  void expect_error(const std::string& path, const std::string& what) {
    try {
      load_torch_checkpoint(path);
      FAIL() << "loading succeeded; expected an error about '" << what << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "does not name the file: " << e.what();
    }
  }
  test::TempDir dir_;
  int n_ = 0;
};

TEST_F(TorchCheckpoint, ViewsOfOneStorageWithOffsetsAndStrides) {
  Pickle p;
  p.op('}').op('(');
  p.tensor("a", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.tensor("a_t", "FloatStorage", "0", 6, 0, {3, 2}, {1, 3});  // the transpose, same storage
  p.tensor("tail", "FloatStorage", "0", 6, 4, {2}, {1});
  p.tensor("h", "BFloat16Storage", "1", 2, 0, {2}, {1});
  p.op('u').op('.');
  const std::string bf = std::string("\x80\x3f\x00\xc0", 4);  // bf16 1.0, -2.0
  const std::string path = write(make_zip({{"m/data.pkl", p.s}, {"m/byteorder", "little"},
                                           {"m/data/0", floats({1, 2, 3, 4, 5, 6})}, {"m/data/1", bf}}));
  const auto tensors = load_torch_checkpoint(path);
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[0].first, "a");
  EXPECT_EQ(tensors[0].second.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(tensors[1].second.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(tensors[1].second.data_ptr(), tensors[0].second.data_ptr());  // no copy
  EXPECT_EQ(tensors[2].second.to_vector<float>(), (std::vector<float>{5, 6}));
  EXPECT_EQ(tensors[3].second.dtype(), DType::BF16);
  EXPECT_EQ(tensors[3].second.to_vector<float>(), (std::vector<float>{1, -2}));
}

TEST_F(TorchCheckpoint, ReadsTheGoldenCheckpoints) {
  const TensorStore t5 = TensorStore::open(test::golden_dir() + "/t5_tiny.pth");
  EXPECT_EQ(t5.get("token_embedding.weight").dtype(), DType::BF16);
  EXPECT_EQ(t5.get("blocks.1.pos_embedding.embedding.weight").shape(), (Shape{32, 4}));
  const TensorStore vae = TensorStore::open(test::golden_dir() + "/vae21_tiny.pth");
  EXPECT_EQ(vae.get("encoder.conv1.weight").dtype(), DType::F32);
  EXPECT_GT(tensor_stats(vae.get("encoder.conv1.weight")).stddev, 0.0);
}

TEST_F(TorchCheckpoint, NotAZip) {
  expect_error(write("this is not a zip file, just some text that is long enough"), "not a zip archive");
  expect_error(write("PK"), "too small");
}

TEST_F(TorchCheckpoint, EveryTruncationIsAnError) {
  const std::string bytes = test::read_bytes(test::golden_dir() + "/t5_tiny.pth");
  for (size_t len = 0; len < bytes.size(); len += 1 + len / 7) {
    const std::string path = write(bytes.substr(0, len));
    EXPECT_THROW(load_torch_checkpoint(path), Error) << "truncated to " << len;
  }
}

TEST_F(TorchCheckpoint, RefusesUnexpectedGlobals) {
  Pickle p;
  p.global("os", "system").str("echo pwned").op('\x85').op('R').op('.');
  expect_error(write(make_zip({{"m/data.pkl", p.s}})), "'os.system'");
  Pickle q;
  q.op('}').str("x").global("builtins", "eval").op('s').op('.');
  expect_error(write(make_zip({{"m/data.pkl", q.s}})), "'builtins.eval'");
}

TEST_F(TorchCheckpoint, StorageShorterThanItsTensor) {
  Pickle p;
  p.op('}').op('(');
  p.tensor("w", "FloatStorage", "0", 4, 0, {8}, {1});  // 8 elements of a 4-element storage
  p.op('u').op('.');
  expect_error(write(make_zip({{"m/data.pkl", p.s}, {"m/data/0", floats({1, 2, 3, 4})}})), "reaches element 7");
  Pickle q;
  q.op('}').op('(');
  q.tensor("w", "FloatStorage", "0", 4, 0, {4}, {1});  // the member holds only 2 floats
  q.op('u').op('.');
  expect_error(write(make_zip({{"m/data.pkl", q.s}, {"m/data/0", floats({1, 2})}})), "holds 8 bytes");
}

TEST_F(TorchCheckpoint, MalformedPickles) {
  expect_error(write(make_zip({{"m/data.pkl", "\x80\x02}"}})), "ends before its STOP");
  expect_error(write(make_zip({{"m/data.pkl", "\x80\x02h\x05."}})), "memo key 5");
  expect_error(write(make_zip({{"m/data.pkl", "\x80\x02]."}})), "not a state dict");
  expect_error(write(make_zip({{"m/data.pkl", "\x80\x02\xff"}})), "opcode 0xff");
  expect_error(write(make_zip({{"m/data.pkl", "\x80\x02s."}})), "empty stack");
  expect_error(write(make_zip({{"m/other", "x"}})), "no data.pkl");
  Pickle p;
  p.op('}').op('(').tensor("w", "FloatStorage", "7", 1, 0, {1}, {1});
  p.op('u').op('.');
  expect_error(write(make_zip({{"m/data.pkl", p.s}})), "data/7");
}

TEST_F(TorchCheckpoint, BigEndianStoragesAreRefused) {
  Pickle p;
  p.op('}').op('.');
  expect_error(write(make_zip({{"m/data.pkl", p.s}, {"m/byteorder", "big"}})), "byte order");
}

}  // namespace
}  // namespace wan
