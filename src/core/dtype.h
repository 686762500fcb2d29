// Element types of tensors, their sizes and names, and the C++ type of each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/float_formats.h"

namespace wan {

enum class DType : uint8_t { F32, F64, BF16, F16, F8_E4M3, F8_E5M2, I32, I64, U8, Bool };

size_t dtype_size(DType dtype);
// Short lower-case name used in messages: "f32", "bf16", "f8_e4m3", ...
const char* dtype_name(DType dtype);
bool dtype_is_floating(DType dtype);
// The names safetensors headers use ("F32", "BF16", "F8_E4M3", ...); nullopt for names we do not support.
std::optional<DType> dtype_from_safetensors(std::string_view name);
const char* dtype_safetensors_name(DType dtype);
// Parses a user-facing name ("f32", "bf16", "fp16", "float32", ...).
std::optional<DType> dtype_from_name(std::string_view name);

template <typename T>
struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::F64; };
template <> struct DTypeOf<bf16> { static constexpr DType value = DType::BF16; };
template <> struct DTypeOf<f16> { static constexpr DType value = DType::F16; };
template <> struct DTypeOf<f8e4m3> { static constexpr DType value = DType::F8_E4M3; };
template <> struct DTypeOf<f8e5m2> { static constexpr DType value = DType::F8_E5M2; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::U8; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };

template <typename T>
inline constexpr DType dtype_of = DTypeOf<T>::value;

}  // namespace wan
