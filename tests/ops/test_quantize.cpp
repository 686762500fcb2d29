// FP8 E4M3 weight quantisation (ops/quantize.h) against its definition.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/float_formats.h"
#include "core/stats.h"
#include "ops/quantize.h"
#include "test_util.h"

namespace wan::ops {
namespace {

TEST(QuantizeFp8, PerRowScalesMapEachRowMaximumTo448) {
  const Tensor w = Tensor::from_vector<float>({1.0f, -2.0f, 0.5f, 0.0f, 0.0f, 0.0f, 3.0f, 0.1f, -0.2f}, {3, 3});
  const Fp8Matrix q = quantize_fp8(w, Fp8Scaling::PerRow);
  ASSERT_EQ(q.scales.numel(), 3);
  EXPECT_FLOAT_EQ(q.scales.data<float>()[0], 2.0f / 448);
  EXPECT_FLOAT_EQ(q.scales.data<float>()[1], 1.0f);  // all-zero row
  EXPECT_FLOAT_EQ(q.scales.data<float>()[2], 3.0f / 448);
  const Tensor back = dequantize_fp8(q);
  // The row maxima come back exactly (448 is an E4M3 value), zeros stay zeros.
  EXPECT_FLOAT_EQ(back.data<float>()[1], -2.0f);
  EXPECT_FLOAT_EQ(back.data<float>()[6], 3.0f);
  for (int i = 3; i < 6; ++i) EXPECT_EQ(back.data<float>()[i], 0.0f);
}

TEST(QuantizeFp8, RoundingErrorIsWithinE4M3sStep) {
  const Tensor w = test::random_tensor({37, 129}, 3, 0.02);  // odd sizes, checkpoint-like scale
  for (Fp8Scaling s : {Fp8Scaling::PerRow, Fp8Scaling::PerTensor}) {
    const Fp8Matrix q = quantize_fp8(w, s);
    const Tensor back = dequantize_fp8(q);
    const float* a = w.data<float>();
    const float* b = back.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t row = i / 129;
      const float scale = q.scales.data<float>()[s == Fp8Scaling::PerRow ? row : 0];
      // Normal E4M3 values (>= 2^-6 after scaling) round within 2^-4 relative; subnormals within
      // half their fixed step 2^-9 (times the scale).
      const float bound = std::max(std::fabs(a[i]) * 0.0625f, 0.5f * std::ldexp(1.0f, -9) * scale) * 1.0001f;
      ASSERT_LE(std::fabs(b[i] - a[i]), bound) << i;
    }
    const double err = rel_l2(back, w);
    EXPECT_GT(err, 1e-3);  // E4M3 is coarse: the error is real
    EXPECT_LT(err, 0.05);
  }
  // Per row is at least as good as per tensor when the rows' ranges differ.
  Tensor skew = test::random_tensor({8, 64}, 4, 0.02);
  for (int64_t k = 0; k < 64; ++k) skew.data<float>()[k] *= 100.0f;  // one loud row
  EXPECT_LT(rel_l2(dequantize_fp8(quantize_fp8(skew.narrow(0, 1, 7).contiguous(), Fp8Scaling::PerRow)),
                   skew.narrow(0, 1, 7).contiguous()),
            0.05);
  const Tensor per_tensor = dequantize_fp8(quantize_fp8(skew, Fp8Scaling::PerTensor));
  const Tensor per_row = dequantize_fp8(quantize_fp8(skew, Fp8Scaling::PerRow));
  EXPECT_LT(rel_l2(per_row.narrow(0, 1, 7).contiguous(), skew.narrow(0, 1, 7).contiguous()),
            rel_l2(per_tensor.narrow(0, 1, 7).contiguous(), skew.narrow(0, 1, 7).contiguous()));
}

TEST(QuantizeFp8, RefusesWhatItCannotQuantize) {
  EXPECT_THROW(quantize_fp8(Tensor::zeros({4}, DType::F32), Fp8Scaling::PerRow), Error);
  Tensor w = Tensor::zeros({2, 2}, DType::F32);
  w.data<float>()[3] = NAN;
  EXPECT_THROW(quantize_fp8(w, Fp8Scaling::PerRow), Error);
}

}  // namespace
}  // namespace wan::ops
