#include "core/float_formats.h"

#include <cmath>
#include <limits>

namespace wan {
namespace {

// Decodes a small float with the given exponent/mantissa widths and bias; `has_inf` says whether
// the all-ones exponent means inf/NaN (IEEE style) or is an ordinary binade (e4m3fn).
float decode_small(uint32_t bits, int exp_bits, int man_bits, int bias, bool ieee_special) {
  const uint32_t sign = bits >> (exp_bits + man_bits);
  const uint32_t exp = (bits >> man_bits) & ((1u << exp_bits) - 1);
  const uint32_t man = bits & ((1u << man_bits) - 1);
  float value;
  if (ieee_special && exp == (1u << exp_bits) - 1) {
    value = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else if (exp == 0) {
    value = std::ldexp(float(man), 1 - bias - man_bits);
  } else {
    value = std::ldexp(float(man | (1u << man_bits)), int(exp) - bias - man_bits);
  }
  return sign ? -value : value;
}

// Encodes |f| (finite, non-negative) with round-to-nearest-even into a format with the given
// widths; returns the magnitude bits, which may overflow into the top binade (caller decides).
uint32_t encode_magnitude(float a, int exp_bits, int man_bits, int bias) {
  (void)exp_bits;
  if (a == 0.0f) return 0;
  int e;
  std::frexp(a, &e);           // a = m * 2^e, m in [0.5, 1)
  int unbiased = e - 1;        // a = 1.xxx * 2^unbiased
  const int min_normal = 1 - bias;
  // Quantum (value of the last mantissa bit) for this binade, or the subnormal quantum.
  const int q_exp = (unbiased < min_normal ? min_normal : unbiased) - man_bits;
  const double scaled = std::ldexp(double(a), -q_exp);  // exact: a has 24 bits, fits a double
  double integral = std::nearbyint(scaled);              // ties-to-even under the default mode
  uint32_t units = uint32_t(integral);
  // units counts quanta: below 2^man_bits it is a subnormal; otherwise it carries the implicit one.
  if (unbiased < min_normal) {
    if (units < (1u << man_bits)) return units;  // subnormal (or rounded up to min normal below)
    return (1u << man_bits);                     // exactly the smallest normal: exp field 1, man 0
  }
  uint32_t exp_field = uint32_t(unbiased + bias);
  if (units == (2u << man_bits)) {  // rounding carried into the next binade
    units >>= 1;
    exp_field += 1;
  }
  return (exp_field << man_bits) | (units & ((1u << man_bits) - 1));
}

uint16_t f32_to_f16_bits(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return uint16_t(sign | 0x7e00u);
  if (std::isinf(a)) return uint16_t(sign | 0x7c00u);
  uint32_t mag = encode_magnitude(a, 5, 10, 15);
  if (mag >= 0x7c00u) mag = 0x7c00u;  // overflow to infinity
  return uint16_t(sign | mag);
}

}  // namespace

float to_float(f16 v) { return decode_small(v.bits, 5, 10, 15, true); }
f16 to_f16(float f) { return f16{f32_to_f16_bits(f)}; }

float to_float(f8e4m3 v) {
  if ((v.bits & 0x7fu) == 0x7fu) return std::numeric_limits<float>::quiet_NaN();
  return decode_small(v.bits, 4, 3, 7, false);
}

f8e4m3 to_f8e4m3(float f) {
  const uint8_t sign = (float_bits(f) >> 24) & 0x80u;
  const float a = std::fabs(f);
  if (std::isnan(f) || std::isinf(a)) return f8e4m3{uint8_t(sign | 0x7fu)};
  uint32_t mag = encode_magnitude(a, 4, 3, 7);
  if (mag > 0x7eu) mag = 0x7fu;  // beyond 448: NaN, as torch's float8_e4m3fn cast gives
  return f8e4m3{uint8_t(sign | mag)};
}

float to_float(f8e5m2 v) { return decode_small(v.bits, 5, 2, 15, true); }

f8e5m2 to_f8e5m2(float f) {
  const uint8_t sign = (float_bits(f) >> 24) & 0x80u;
  const float a = std::fabs(f);
  if (std::isnan(f)) return f8e5m2{uint8_t(sign | 0x7fu)};
  if (std::isinf(a)) return f8e5m2{uint8_t(sign | 0x7cu)};
  uint32_t mag = encode_magnitude(a, 5, 2, 15);
  if (mag >= 0x7cu) mag = 0x7cu;  // overflow to infinity
  return f8e5m2{uint8_t(sign | mag)};
}

}  // namespace wan
