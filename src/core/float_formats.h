// Storage-only floating-point formats and their exact conversions to and from float.
//
// bf16, f16 (IEEE binary16), f8 e4m3fn and f8 e5m2 as PyTorch defines them. Conversions to float
// are exact; conversions from float round to nearest, ties to even, as torch's .to(dtype) does.
// Overflow: bf16/f16/e5m2 go to infinity; e4m3fn has no infinity and gives NaN (torch semantics).
#pragma once

#include <cstdint>
#include <cstring>

namespace wan {

struct bf16 {
  uint16_t bits;
};
struct f16 {
  uint16_t bits;
};
struct f8e4m3 {
  uint8_t bits;
};
struct f8e5m2 {
  uint8_t bits;
};

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float to_float(bf16 v) { return bits_float(uint32_t(v.bits) << 16); }

inline bf16 to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{uint16_t((u >> 16) | 0x0040u)};  // quiet NaN
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return bf16{uint16_t((u + rounding) >> 16)};
}

float to_float(f16 v);
f16 to_f16(float f);
float to_float(f8e4m3 v);
f8e4m3 to_f8e4m3(float f);
float to_float(f8e5m2 v);
f8e5m2 to_f8e5m2(float f);

}  // namespace wan
