// safetensors reading and writing, and every malformed-file error: each names the file and the
// problem, and never crashes or reads out of bounds (this binary also runs under AddressSanitizer).
#include <gtest/gtest.h>

#include <cstring>

#include "core/stats.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace wan {
namespace {

using test::TempDir;

// Writes 8-byte length + header + data; `declared_len` overrides the length field when >= 0.
std::string make_raw(const std::string& header, const std::string& data, int64_t declared_len = -1) {
  const uint64_t len = declared_len >= 0 ? uint64_t(declared_len) : header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((len >> (8 * i)) & 0xff);
  return bytes + header + data;
}

// Expects opening the file to fail with a message containing the path and `what`.
void expect_open_error(const std::string& path, const std::string& what) {
  try {
    SafetensorsFile::open(path);
    FAIL() << "opening " << path << " succeeded; expected an error about '" << what << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << "message does not say '" << what << "': " << msg;
  }
}

class Malformed : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes) {
    const std::string path = dir_.file("case" + std::to_string(n_++) + ".safetensors");
    test::write_bytes(path, bytes);
    return path;
  }
  TempDir dir_;
  int n_ = 0;
};

TEST(Safetensors, RoundTripsTensorsAndMetadata) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  Tensor a = test::random_tensor({3, 5}, 1);
  Tensor b = Tensor::from_vector<int64_t>({1, -2, 3}, {3});
  Tensor c = test::random_tensor({2, 2, 2}, 2).to(DType::BF16);
  Tensor empty = Tensor::zeros({0, 4}, DType::F32);
  save_safetensors(path, {{"w.a", a}, {"ids", b}, {"c", c.permute({2, 1, 0})}, {"empty", empty}},
                   {{"format", "pt"}, {"grids", "[[1, 2, 3]]"}});
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->entries().size(), 4u);
  EXPECT_EQ(f->metadata().at("grids"), "[[1, 2, 3]]");
  EXPECT_EQ(rel_l2(f->tensor("w.a"), a), 0.0);
  EXPECT_EQ(f->tensor("ids").to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f->tensor("c").dtype(), DType::BF16);
  EXPECT_EQ(rel_l2(f->tensor("c"), c.permute({2, 1, 0})), 0.0);
  EXPECT_EQ(f->tensor("empty").shape(), (Shape{0, 4}));
  EXPECT_THROW(f->tensor("missing"), Error);
  // The tensor views the mapping and keeps it alive after the file object is gone.
  Tensor kept = f->tensor("w.a");
  f.reset();
  EXPECT_EQ(rel_l2(kept, a), 0.0);
}

TEST(Safetensors, ReadsTheGoldenFiles) {
  auto f = SafetensorsFile::open(test::golden_dir() + "/dit_tiny/diffusion_pytorch_model.safetensors");
  const SafetensorsEntry* e = f->find("patch_embedding.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype, DType::BF16);
  EXPECT_EQ(e->shape, (Shape{256, 16, 1, 2, 2}));
}

TEST(Safetensors, WriterLeavesNoPartialFile) {
  TempDir dir;
  EXPECT_THROW(save_safetensors(dir.file("no/such/folder/x.safetensors"), {{"a", test::random_tensor({2}, 3)}}),
               Error);
  EXPECT_THROW(save_safetensors(dir.file("x.safetensors"), {{"a", test::random_tensor({2}, 3)},
                                                             {"a", test::random_tensor({2}, 4)}}),
               Error);
}

TEST_F(Malformed, MisalignedDataIsStillRead) {
  // A header of odd length puts the f32 data at an odd address; the reader copies it.
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} )";
  float v[2] = {1.5f, -3.0f};
  const std::string path = write(make_raw(header, std::string(reinterpret_cast<char*>(v), 8)));
  EXPECT_EQ(SafetensorsFile::open(path)->tensor("x").to_vector<float>(), (std::vector<float>{1.5f, -3.0f}));
}

TEST_F(Malformed, EmptyFile) { expect_open_error(write(""), "too small"); }
TEST_F(Malformed, TruncatedLengthField) { expect_open_error(write("\x10\x00\x00"), "too small"); }

TEST_F(Malformed, HeaderLengthPastTheEnd) {
  expect_open_error(write(make_raw(R"({})", "", 1000)), "runs past the end");
  expect_open_error(write(make_raw(R"({})", "", int64_t(-1) & 0x7fffffffffffffff)), "runs past the end");
}

TEST_F(Malformed, TruncatedData) {
  const std::string header = R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  expect_open_error(write(make_raw(header, std::string(10, '\0'))), "outside the data section");
}

TEST_F(Malformed, InvalidJson) {
  expect_open_error(write(make_raw(R"({"x": {"dtype": "F32", )", "")), "not valid JSON");
  expect_open_error(write(make_raw(std::string("\xff\xfe{}", 4), "")), "not valid JSON");
  expect_open_error(write(make_raw(R"([1, 2])", "")), "not a JSON object");
}

TEST_F(Malformed, EntryFieldsMissingOrWrong) {
  expect_open_error(write(make_raw(R"({"x": 5})", "")), "not a JSON object");
  expect_open_error(write(make_raw(R"({"x":{"shape":[1],"data_offsets":[0,4]}})", std::string(4, 0))),
                    "has no 'dtype'");
  expect_open_error(write(make_raw(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, 0))),
                    "non-negative integer");
  expect_open_error(write(make_raw(R"({"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", std::string(4, 0))),
                    "non-negative integer");
  expect_open_error(write(make_raw(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", std::string(4, 0))),
                    "data_offsets must be [begin, end]");
  expect_open_error(write(make_raw(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", std::string(4, 0))),
                    "end before they begin");
  expect_open_error(write(make_raw(R"({"__metadata__":{"a":1}})", "")), "is not a string");
}

TEST_F(Malformed, UnknownDType) {
  expect_open_error(write(make_raw(R"({"x":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,4]}})", std::string(4, 0))),
                    "unsupported dtype 'Q4_K'");
}

TEST_F(Malformed, ShapeAndByteCountDisagree) {
  expect_open_error(write(make_raw(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, 0))),
                    "span 8 bytes");
  // A shape whose byte count overflows 64 bits is refused, not wrapped around.
  expect_open_error(
      write(make_raw(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", "")),
      "too large");
}

TEST_F(Malformed, OverlappingTensors) {
  const std::string header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  expect_open_error(write(make_raw(header, std::string(12, 0))), "overlap");
}

TEST_F(Malformed, BytesBelongingToNoTensor) {
  const std::string hole =
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  expect_open_error(write(make_raw(hole, std::string(12, 0))), "belong to no tensor");
  const std::string trailing = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expect_open_error(write(make_raw(trailing, std::string(9, 0))), "tensors cover 4");
}

TEST_F(Malformed, NotAFile) {
  EXPECT_THROW(SafetensorsFile::open(dir_.path()), Error);
  expect_open_error(dir_.file("absent.safetensors"), "cannot open");
}

// Every truncation of a valid file is refused with an error, never a crash.
TEST_F(Malformed, EveryTruncationIsAnError) {
  const std::string path = dir_.file("valid.safetensors");
  save_safetensors(path, {{"a", test::random_tensor({3, 4}, 5)}, {"b", test::random_tensor({7}, 6).to(DType::BF16)}});
  const std::string bytes = test::read_bytes(path);
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string p = write(bytes.substr(0, len));
    EXPECT_THROW(SafetensorsFile::open(p), Error) << "truncated to " << len << " bytes";
  }
}

}  // namespace
}  // namespace wan
