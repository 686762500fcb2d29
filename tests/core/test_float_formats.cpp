#include <gtest/gtest.h>

#include <cmath>

#include "core/float_formats.h"

namespace wan {
namespace {

TEST(FloatFormats, Bf16KnownValuesAndTiesToEven) {
  EXPECT_EQ(to_bf16(1.0f).bits, 0x3f80);
  EXPECT_EQ(to_bf16(-2.0f).bits, 0xc000);
  EXPECT_EQ(to_bf16(1.0f + 0x1p-8f).bits, 0x3f80);      // tie, even stays
  EXPECT_EQ(to_bf16(1.0f + 3 * 0x1p-8f).bits, 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(to_bf16(1.0f + 0x1p-8f + 0x1p-20f).bits, 0x3f81);
  EXPECT_TRUE(std::isnan(to_float(to_bf16(NAN))));
  EXPECT_EQ(to_bf16(INFINITY).bits, 0x7f80);
  EXPECT_EQ(to_float(bf16{0x4049}), 3.140625f);
}

TEST(FloatFormats, F16KnownValues) {
  EXPECT_EQ(to_f16(1.0f).bits, 0x3c00);
  EXPECT_EQ(to_f16(0.1f).bits, 0x2e66);
  EXPECT_EQ(to_f16(65504.0f).bits, 0x7bff);
  EXPECT_EQ(to_f16(65520.0f).bits, 0x7c00);  // rounds past the max: infinity
  EXPECT_EQ(to_f16(0x1p-24f).bits, 0x0001);  // smallest subnormal
  EXPECT_EQ(to_f16(0x1p-26f).bits, 0x0000);  // below half of it: zero
  EXPECT_EQ(to_f16(-0x1p-14f).bits, 0x8400);
  EXPECT_EQ(to_float(f16{0x3555}), 0.333251953125f);
}

TEST(FloatFormats, F8KnownValues) {
  EXPECT_EQ(to_f8e4m3(1.0f).bits, 0x38);
  EXPECT_EQ(to_f8e4m3(448.0f).bits, 0x7e);
  EXPECT_EQ(to_f8e4m3(-448.0f).bits, 0xfe);
  EXPECT_EQ(to_f8e4m3(0x1p-9f).bits, 0x01);
  EXPECT_TRUE(std::isnan(to_float(to_f8e4m3(1000.0f))));  // e4m3fn has no infinity
  EXPECT_TRUE(std::isnan(to_float(f8e4m3{0x7f})));
  EXPECT_EQ(to_f8e5m2(1.0f).bits, 0x3c);
  EXPECT_EQ(to_f8e5m2(57344.0f).bits, 0x7b);
  EXPECT_EQ(to_f8e5m2(1e6f).bits, 0x7c);  // infinity
  EXPECT_EQ(to_f8e5m2(0x1p-16f).bits, 0x01);
  EXPECT_EQ(to_float(f8e5m2{0x7c}), INFINITY);
}

// Decoding then encoding every code gives the code back (NaNs aside).
TEST(FloatFormats, EveryCodeRoundTrips) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float h = to_float(f16{uint16_t(b)});
    if (!std::isnan(h)) ASSERT_EQ(to_f16(h).bits, b) << std::hex << b;
    const float bf = to_float(bf16{uint16_t(b)});
    if (!std::isnan(bf)) ASSERT_EQ(to_bf16(bf).bits, b) << std::hex << b;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    const float e4 = to_float(f8e4m3{uint8_t(b)});
    if (!std::isnan(e4)) ASSERT_EQ(to_f8e4m3(e4).bits, b) << std::hex << b;
    const float e5 = to_float(f8e5m2{uint8_t(b)});
    if (!std::isnan(e5)) ASSERT_EQ(to_f8e5m2(e5).bits, b) << std::hex << b;
  }
}

// Every value rounds to a nearest representable neighbour (checked against the decoded grid).
TEST(FloatFormats, RoundsToNearest) {
  for (float x = -460.0f; x < 460.0f; x += 0.37f) {  // beyond ±464 rounds past 448: NaN
    const float r = to_float(to_f8e4m3(x));
    const uint8_t code = to_f8e4m3(x).bits;
    for (int d : {-1, 1}) {
      const uint8_t other = uint8_t(code + d);
      const float o = to_float(f8e4m3{other});
      if (std::isnan(o) || ((other ^ code) & 0x80)) continue;
      EXPECT_LE(std::fabs(r - x), std::fabs(o - x)) << x;
    }
  }
}

}  // namespace
}  // namespace wan
