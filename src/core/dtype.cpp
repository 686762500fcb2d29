#include "core/dtype.h"

#include <string>

#include "core/text.h"

namespace wan {
namespace {

struct DTypeInfo {
  DType dtype;
  size_t size;
  const char* name;
  const char* safetensors;
  bool floating;
};

constexpr DTypeInfo kInfo[] = {
    {DType::F32, 4, "f32", "F32", true},         {DType::F64, 8, "f64", "F64", true},
    {DType::BF16, 2, "bf16", "BF16", true},      {DType::F16, 2, "f16", "F16", true},
    {DType::F8_E4M3, 1, "f8_e4m3", "F8_E4M3", true}, {DType::F8_E5M2, 1, "f8_e5m2", "F8_E5M2", true},
    {DType::I32, 4, "i32", "I32", false},        {DType::I64, 8, "i64", "I64", false},
    {DType::U8, 1, "u8", "U8", false},           {DType::Bool, 1, "bool", "BOOL", false},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kInfo)
    if (i.dtype == dtype) return i;
  return kInfo[0];  // unreachable: every enumerator is in the table
}

}  // namespace

size_t dtype_size(DType dtype) { return info(dtype).size; }
const char* dtype_name(DType dtype) { return info(dtype).name; }
bool dtype_is_floating(DType dtype) { return info(dtype).floating; }
const char* dtype_safetensors_name(DType dtype) { return info(dtype).safetensors; }

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& i : kInfo)
    if (name == i.safetensors) return i.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  const std::string s = ascii_lower(std::string(name));
  if (s == "float32" || s == "fp32") return DType::F32;
  if (s == "float64" || s == "fp64") return DType::F64;
  if (s == "bfloat16") return DType::BF16;
  if (s == "float16" || s == "fp16" || s == "half") return DType::F16;
  if (s == "fp8" || s == "f8" || s == "fp8_e4m3" || s == "float8_e4m3fn") return DType::F8_E4M3;
  if (s == "fp8_e5m2" || s == "float8_e5m2") return DType::F8_E5M2;
  for (const auto& i : kInfo)
    if (s == i.name) return i.dtype;
  return std::nullopt;
}

}  // namespace wan
