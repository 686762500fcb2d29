// Scaled weights (FP8 checkpoints) as models/weight_binding.h reads them: every form of scale
// gives values · scale exactly; E4M3 weights with one or per-row scales can be kept as stored;
// unknown quantisation formats, ambiguous or misshapen scales are refused with a clear message.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "models/weight_binding.h"
#include "test_util.h"

namespace wan {
namespace {

using Tensors = std::vector<std::pair<std::string, Tensor>>;

// A one-file store of `tensors`, kept with its folder.
struct Store {
  explicit Store(const Tensors& tensors) {
    save_safetensors(dir.file("w.safetensors"), tensors);
    store = TensorStore::open(dir.file("w.safetensors"));
  }
  test::TempDir dir;
  TensorStore store;
};

// A [rows, cols] weight in `dtype` (E4M3 or E5M2 values of a random matrix scaled into their range).
Tensor fp8_values(int64_t rows, int64_t cols, DType dtype, uint64_t seed) {
  Tensor w = test::random_tensor({rows, cols}, seed, 100.0);
  return w.to(dtype);
}

// JSON text as a uint8 tensor (a ComfyUI `.comfy_quant` marker).
Tensor json_bytes(const std::string& text) {
  Tensor t = Tensor::empty({int64_t(text.size())}, DType::U8);
  std::memcpy(t.data_ptr(), text.data(), text.size());
  return t;
}

// Expected read: values · the scale that covers each element, in f32.
void expect_dequantised(const Tensor& read, const Tensor& values, const std::function<float(int64_t, int64_t)>& scale) {
  const Tensor v = values.to(DType::F32).contiguous();
  ASSERT_EQ(read.dtype(), DType::F32);
  ASSERT_EQ(read.shape(), values.shape());
  const int64_t rows = v.size(0), cols = v.size(1);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      ASSERT_EQ(read.data<float>()[r * cols + c], v.data<float>()[r * cols + c] * scale(r, c)) << r << "," << c;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(WeightBinding, EveryScaleFormDequantisesExactly) {
  const int64_t rows = 6, cols = 8;
  const Tensor v = fp8_values(rows, cols, DType::F8_E4M3, 1);
  Tensor per_row = Tensor::empty({rows}, DType::F32), blocks = Tensor::empty({rows, 2}, DType::F32);
  for (int64_t r = 0; r < rows; ++r) per_row.data<float>()[r] = 0.001f * float(r + 1);
  for (int64_t i = 0; i < rows * 2; ++i) blocks.data<float>()[i] = 0.003f * float(i + 1);
  const Tensor bf16_rows = per_row.to(DType::BF16).to(DType::F32);  // the values a bf16 scale holds
  struct Form {
    const char* what;
    const char* suffix;
    Tensor scale;
    std::function<float(int64_t, int64_t)> expected;
  };
  const std::vector<Form> forms{
      {"one f32 value, shape []", ".scale_weight", Tensor::from_vector<float>({0.02f}, {}), [](int64_t, int64_t) { return 0.02f; }},
      {"one f32 value, shape [1]", ".weight_scale", Tensor::from_vector<float>({0.5f}, {1}), [](int64_t, int64_t) { return 0.5f; }},
      {"per row [rows]", ".scale_weight", per_row, [&](int64_t r, int64_t) { return per_row.data<float>()[r]; }},
      {"per row [rows, 1] in bf16", ".weight_scale", per_row.to(DType::BF16).view({rows, 1}),
       [&](int64_t r, int64_t) { return bf16_rows.data<float>()[r]; }},
      {"per block [rows, 2]", ".scale_weight", blocks, [&](int64_t r, int64_t c) { return blocks.data<float>()[r * 2 + c / 4]; }},
      {"per block [rows, 2, 1]", ".scale_weight", blocks.view({rows, 2, 1}),
       [&](int64_t r, int64_t c) { return blocks.data<float>()[r * 2 + c / 4]; }},
  };
  for (const Form& f : forms) {
    SCOPED_TRACE(f.what);
    Store s({{"layer.weight", v}, {std::string("layer") + f.suffix, f.scale}});
    const WeightSlot slot{"layer.weight", nullptr, {rows, cols}};
    check_weights(s.store, {slot}, "test");
    expect_dequantised(read_weight(s.store, "layer.weight", DType::F32), v, f.expected);
  }
  // E5M2 values with a scale, and a scale beside a bf16 weight: values · scale the same way.
  for (DType dtype : {DType::F8_E5M2, DType::BF16}) {
    const Tensor w = fp8_values(rows, cols, dtype, 2);
    Store s({{"layer.weight", w}, {"layer.scale_weight", Tensor::from_vector<float>({0.25f}, {1})}});
    expect_dequantised(read_weight(s.store, "layer.weight", DType::F32), w, [](int64_t, int64_t) { return 0.25f; });
  }
}

TEST(WeightBinding, ComfyQuantisedLayersWithTheirExtrasAreAccepted) {
  const Tensor v = fp8_values(4, 16, DType::F8_E4M3, 3);
  Store s({{"a.weight", v},
           {"a.weight_scale", Tensor::from_vector<float>({0.125f}, {})},
           {"a.input_scale", Tensor::from_vector<float>({1.0f}, {})},
           {"a.comfy_quant", json_bytes(R"({"format": "float8_e4m3fn"})")},
           {"b.weight", v},
           {"b.scale_weight", Tensor::from_vector<float>({2.0f}, {1})},
           {"b.scale_input", Tensor::from_vector<float>({1.0f}, {1})},
           {"scaled_fp8", Tensor::from_vector<float>({0.0f}, {1})}});
  std::vector<Tensor> bound(2);
  bind_weights(s.store, {{"a.weight", &bound[0], {4, 16}}, {"b.weight", &bound[1], {4, 16}}}, "test", DType::F32);
  expect_dequantised(bound[0], v, [](int64_t, int64_t) { return 0.125f; });
  expect_dequantised(bound[1], v, [](int64_t, int64_t) { return 2.0f; });
}

TEST(WeightBinding, StoredE4M3IsKeptAsItIs) {
  const int64_t rows = 5, cols = 16;
  const Tensor v = fp8_values(rows, cols, DType::F8_E4M3, 4);
  Tensor per_row = Tensor::empty({rows, 1}, DType::F32);
  for (int64_t r = 0; r < rows; ++r) per_row.data<float>()[r] = 0.01f * float(r + 1);
  Store s({{"one.weight", v}, {"one.scale_weight", Tensor::from_vector<float>({0.04f}, {1})},
           {"row.weight", v}, {"row.weight_scale", per_row},
           {"none.weight", v},
           {"block.weight", v}, {"block.scale_weight", Tensor::from_vector<float>(std::vector<float>(rows * 2, 0.5f), {rows, 2})},
           {"e5m2.weight", fp8_values(rows, cols, DType::F8_E5M2, 5)},
           {"bf16.weight", v.to(DType::BF16)}});
  auto expect_kept = [&](const std::string& name, const std::function<float(int64_t)>& scale) {
    SCOPED_TRACE(name);
    const std::optional<StoredFp8Weight> kept = read_stored_fp8(s.store, name);
    ASSERT_TRUE(kept.has_value());
    ASSERT_EQ(kept->values.dtype(), DType::F8_E4M3);
    ASSERT_EQ(kept->values.shape(), v.shape());
    EXPECT_EQ(std::memcmp(kept->values.data_ptr(), v.contiguous().data_ptr(), size_t(v.nbytes())), 0);
    ASSERT_EQ(kept->row_scales.shape(), (Shape{rows}));
    for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(kept->row_scales.data<float>()[r], scale(r)) << r;
  };
  expect_kept("one.weight", [](int64_t) { return 0.04f; });
  expect_kept("row.weight", [&](int64_t r) { return per_row.data<float>()[r]; });
  expect_kept("none.weight", [](int64_t) { return 1.0f; });
  for (const char* other : {"block.weight", "e5m2.weight", "bf16.weight"})
    EXPECT_FALSE(read_stored_fp8(s.store, other).has_value()) << other;

  // Binding keeps the picked slots as stored and converts the rest.
  Tensor row, block, one;
  std::map<std::string, Tensor> row_scales;
  const std::vector<WeightSlot> slots{{"row.weight", &row, {rows, cols}}, {"block.weight", &block, {rows, cols}},
                                      {"one.weight", &one, {rows, cols}}};
  Store only({{"row.weight", v}, {"row.weight_scale", per_row}, {"block.weight", v},
              {"block.scale_weight", Tensor::from_vector<float>(std::vector<float>(rows * 2, 0.5f), {rows, 2})},
              {"one.weight", v}, {"one.scale_weight", Tensor::from_vector<float>({0.04f}, {1})}});
  bind_weights_keeping_fp8(only.store, slots, "test", DType::F32,
                           [](const std::string& n) { return n != "one.weight"; }, row_scales);
  EXPECT_EQ(row.dtype(), DType::F8_E4M3);
  EXPECT_EQ(block.dtype(), DType::F32);  // block scales: dequantised
  EXPECT_EQ(one.dtype(), DType::F32);    // not picked
  EXPECT_EQ(row_scales.size(), 1u);
  ASSERT_TRUE(row_scales.count("row.weight"));
  expect_dequantised(one, v, [](int64_t, int64_t) { return 0.04f; });
}

TEST(WeightBinding, UnreadableScalesAndFormatsAreRefusedClearly) {
  const Tensor v = fp8_values(4, 16, DType::F8_E4M3, 6);
  const WeightSlot slot{"a.weight", nullptr, {4, 16}};
  auto error_with = [&](const Tensors& extra) {
    Tensors t{{"a.weight", v}};
    t.insert(t.end(), extra.begin(), extra.end());
    Store s(t);
    return error_of([&] { check_weights(s.store, {slot}, "test"); });
  };
  std::string err = error_with({{"a.scale_weight", test::random_tensor({3}, 1)}});
  EXPECT_NE(err.find("has shape [3]"), std::string::npos) << err;
  EXPECT_NE(err.find("one per row ([4] or [4, 1])"), std::string::npos) << err;
  err = error_with({{"a.scale_weight", test::random_tensor({4, 3}, 1)}});  // 16 columns are not 3 blocks
  EXPECT_NE(err.find("has shape [4, 3]"), std::string::npos) << err;
  err = error_with({{"a.scale_weight", Tensor::from_vector<float>({1.0f}, {1})},
                    {"a.weight_scale", Tensor::from_vector<float>({1.0f}, {1})}});
  EXPECT_NE(err.find("has two scales"), std::string::npos) << err;
  err = error_with({{"a.scale_weight", Tensor::from_vector<int32_t>({1}, {1})}});
  EXPECT_NE(err.find("must be floating point"), std::string::npos) << err;
  err = error_with({{"a.weight_scale", Tensor::from_vector<float>({1.0f}, {})},
                    {"a.comfy_quant", json_bytes(R"({"format": "nvfp4"})")}});
  EXPECT_NE(err.find("quantised as 'nvfp4'"), std::string::npos) << err;
  err = error_with({{"a.comfy_quant", json_bytes("not json")}});
  EXPECT_NE(err.find("not valid JSON"), std::string::npos) << err;
  // Integer weights (int8 / packed 4-bit files): the message says what the engine reads.
  Store ints({{"a.weight", Tensor::zeros({4, 16}, DType::I32)}});
  err = error_of([&] { check_weights(ints.store, {slot}, "test"); });
  EXPECT_NE(err.find("integer-quantised files"), std::string::npos) << err;
  // A scale of a weight the model does not have is a leftover, as any unused tensor.
  err = error_with({{"b.scale_weight", Tensor::from_vector<float>({1.0f}, {1})}});
  EXPECT_NE(err.find("does not use: b.scale_weight"), std::string::npos) << err;
}

}  // namespace
}  // namespace wan
