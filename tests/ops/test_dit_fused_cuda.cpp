// The fused DiT ops on CUDA against their CPU references (tolerance: bf16 outputs 1e-2, the f32
// residual 1e-5), on odd sizes: rows not a multiple of 32, widths not a multiple of 256, padding
// tokens past the grid, several samples. Widths that are a multiple of 4 take the vectorised
// kernels, the others (258, 18, 266) the scalar ones: both are checked.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "backend/backend.h"
#include "core/stats.h"
#include "core/error.h"
#include "ops/dit_fused.h"
#include "ops/elementwise.h"
#include "ops/quantize.h"
#include "test_util.h"

namespace wan::ops {
namespace {

Tensor gpu(const Tensor& t) { return to_device(t, Device::CUDA); }
Tensor host(const Tensor& t) { return to_device(t, Device::CPU); }

class DitFusedCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_F(DitFusedCuda, LayerNormModulate) {
  for (auto [B, L, D] : {std::tuple{1, 7, 256}, {2, 33, 520}, {1, 1, 5120}, {2, 5, 258}, {1, 3, 8192}}) {
    const Tensor x = test::random_tensor({B, L, D}, 1, 3.0);
    const Tensor w = test::random_tensor({D}, 2), b = test::random_tensor({D}, 3);
    const Tensor shift = test::random_tensor({B, D}, 4), scale = test::random_tensor({B, D}, 5, 0.3);
    EXPECT_LE(rel_l2(host(layer_norm_modulate(gpu(x), 1e-6, {}, {}, gpu(shift), gpu(scale))),
                     layer_norm_modulate(x, 1e-6, {}, {}, shift, scale)), 1e-2) << B << "x" << L << "x" << D;
    EXPECT_LE(rel_l2(host(layer_norm_modulate(gpu(x), 1e-6, gpu(w), gpu(b), {}, {})),
                     layer_norm_modulate(x, 1e-6, w, b, {}, {})), 1e-2);
  }
}

// The norm that quantises its own output (FP8 products' input): on the GPU bit for bit what the
// two ops give apart there (the same bf16 row, then quantize_fp8's arithmetic), for widths with
// the vectorised kernel (256, 520, 5120: whole and partial last vectors) and one without (258:
// the ops run apart); against the CPU's composition within E4M3's rounding (the bf16 rows may
// differ by an ulp, which can move a value to the next E4M3 step: relative L2 <= 2^-4).
TEST_F(DitFusedCuda, LayerNormModulateFp8EqualsTheNormThenQuantisation) {
  for (auto [B, L, D] : {std::tuple{1, 7, 256}, {2, 33, 520}, {1, 3, 5120}, {2, 5, 258}}) {
    const Tensor x = test::random_tensor({B, L, D}, 21, 3.0);
    const Tensor w = test::random_tensor({D}, 22), b = test::random_tensor({D}, 23);
    const Tensor shift = test::random_tensor({B, D}, 24), scale = test::random_tensor({B, D}, 25, 0.3);
    for (bool modulated : {true, false}) {
      const Tensor nw = modulated ? Tensor() : w, nb = modulated ? Tensor() : b;
      const Tensor sh = modulated ? shift : Tensor(), sc = modulated ? scale : Tensor();
      auto on_gpu = [](const Tensor& t) { return t.defined() ? gpu(t) : t; };
      const Fp8Matrix fused = layer_norm_modulate_fp8(gpu(x), 1e-6, on_gpu(nw), on_gpu(nb), on_gpu(sh), on_gpu(sc));
      const Tensor normed = layer_norm_modulate(gpu(x), 1e-6, on_gpu(nw), on_gpu(nb), on_gpu(sh), on_gpu(sc));
      const Fp8Matrix apart = quantize_fp8(normed.view({B * L, D}), Fp8Scaling::PerRow);
      ASSERT_EQ(fused.values.shape(), (Shape{B * L, D}));
      ASSERT_EQ(fused.scales.shape(), (Shape{B * L}));
      const Tensor fv = host(fused.values), av = host(apart.values);
      EXPECT_EQ(std::memcmp(fv.data_ptr(), av.data_ptr(), size_t(fv.nbytes())), 0) << B << "x" << L << "x" << D;
      const Tensor fs = host(fused.scales), as = host(apart.scales);
      EXPECT_EQ(std::memcmp(fs.data_ptr(), as.data_ptr(), size_t(fs.nbytes())), 0) << B << "x" << L << "x" << D;
      const Fp8Matrix cpu = layer_norm_modulate_fp8(x, 1e-6, nw, nb, sh, sc);
      EXPECT_LE(rel_l2(dequantize_fp8({fv, fs}), dequantize_fp8(cpu)), 0.0625) << B << "x" << L << "x" << D;
      EXPECT_GT(tensor_stats(dequantize_fp8(cpu)).stddev, 0.1);
    }
  }
}

TEST_F(DitFusedCuda, RmsNormRope) {
  for (auto [B, L, H, Dh] : {std::tuple{1, 30, 3, 24}, {2, 41, 2, 24}, {2, 41, 3, 6}, {1, 30, 40, 128}}) {
    const RopeTable table = rope_table_3d(Dh);
    const int64_t D = H * Dh;
    const Tensor x = test::random_tensor({B, L, D}, 6, 2.0).to(DType::BF16);
    const Tensor w = test::random_tensor({D}, 7).to(DType::BF16).to(DType::F32);
    std::vector<Grid3> grids = {{2, 3, 5}};
    if (B == 2) grids = {{2, 4, 5}, {1, 5, 7}};  // 40 and 35 tokens of 41: padding rows
    const Tensor ref = rms_norm_rope(x, w, 1e-6, H, grids, &table);
    EXPECT_LE(rel_l2(host(rms_norm_rope(gpu(x), gpu(w), 1e-6, H, grids, &table)), ref), 1e-2) << B;
    EXPECT_LE(rel_l2(host(rms_norm_rope(gpu(x), gpu(w), 1e-6, H, {}, nullptr)), rms_norm_rope(x, w, 1e-6, H, {}, nullptr)),
              1e-2);
  }
}

// A slice of the rows starting at token `first` (Ulysses) against the CPU reference of the
// same slice, and the CPU slice against the whole sequence's rows.
TEST_F(DitFusedCuda, RmsNormRopeOnASliceOfTheSequence) {
  for (int64_t Dh : {24, 6}) {  // vectorised and scalar kernels
    const RopeTable table = rope_table_3d(Dh);
    const int64_t B = 2, L = 41, H = 3, D = H * Dh;
    const Tensor x = test::random_tensor({B, L, D}, 15, 2.0).to(DType::BF16);
    const Tensor w = test::random_tensor({D}, 16).to(DType::BF16).to(DType::F32);
    const std::vector<Grid3> grids = {{2, 4, 5}, {1, 5, 7}};
    const Tensor whole = rms_norm_rope(x, w, 1e-6, H, grids, &table).to(DType::F32);
    for (int64_t first : {13, 35}) {
      const int64_t n = std::min<int64_t>(13, L - first);
      const Tensor part = x.narrow(1, first, n).contiguous();
      const Tensor ref = rms_norm_rope(part, w, 1e-6, H, grids, &table, first).to(DType::F32);
      EXPECT_EQ(rel_l2(ref, whole.narrow(1, first, n).contiguous()), 0.0) << first;
      EXPECT_LE(rel_l2(host(rms_norm_rope(gpu(part), gpu(w), 1e-6, H, grids, &table, first)).to(DType::F32), ref), 1e-2)
          << Dh << " " << first;
    }
  }
}

TEST_F(DitFusedCuda, ResidualAdd) {
  for (int64_t D : {264, 266}) {
    for (bool gated : {false, true}) {
      const Tensor x = test::random_tensor({2, 37, D}, 8);
      const Tensor y = test::random_tensor({2, 37, D}, 9).to(DType::BF16);
      const Tensor gate = test::random_tensor({2, D}, 10);
      Tensor ref = x.clone();
      residual_add_(ref, y, gated ? gate : Tensor());
      Tensor dev = gpu(x);
      residual_add_(dev, gpu(y), gated ? gpu(gate) : Tensor());
      EXPECT_LE(rel_l2(host(dev), ref), 1e-5) << D << " " << gated;
      EXPECT_GT(rel_l2(ref, x), 1e-2);  // the update is not vacuous
    }
  }
}

// The residual update and the next norm in one pass: bit for bit the two ops apart on the GPU (x
// and the output; FP8: values and scales), and within the usual bounds of the CPU's composition;
// widths with the vectorised kernel (520, 5120) and one without (258: the ops run apart), gated or
// not, modulated or affine.
TEST_F(DitFusedCuda, ResidualLayerNormModulateEqualsTheTwoOpsApart) {
  const auto same = [](const Tensor& a, const Tensor& b) {
    const Tensor ha = host(a), hb = host(b);
    return ha.nbytes() == hb.nbytes() && std::memcmp(ha.data_ptr(), hb.data_ptr(), size_t(ha.nbytes())) == 0;
  };
  const auto on_gpu = [](const Tensor& t) { return t.defined() ? gpu(t) : t; };
  for (auto [B, L, D] : {std::tuple{2, 33, 520}, {1, 5, 5120}, {2, 5, 258}}) {
    const Tensor x = test::random_tensor({B, L, D}, 31, 3.0);
    const Tensor y = test::random_tensor({B, L, D}, 32).to(DType::BF16);
    const Tensor gate = test::random_tensor({B, D}, 33);
    const Tensor w = test::random_tensor({D}, 34), b = test::random_tensor({D}, 35);
    const Tensor shift = test::random_tensor({B, D}, 36), scale = test::random_tensor({B, D}, 37, 0.3);
    for (bool gated : {true, false})
      for (bool modulated : {true, false}) {
        const Tensor g = gated ? gate : Tensor();
        const Tensor nw = modulated ? Tensor() : w, nb = modulated ? Tensor() : b;
        const Tensor sh = modulated ? shift : Tensor(), sc = modulated ? scale : Tensor();
        const std::string what = str(B, "x", L, "x", D, gated ? " gated" : "", modulated ? " modulated" : " affine");
        // bf16 output
        Tensor fused_x = gpu(x), apart_x = gpu(x);
        const Tensor fused =
            residual_layer_norm_modulate_(fused_x, gpu(y), on_gpu(g), 1e-6, on_gpu(nw), on_gpu(nb), on_gpu(sh), on_gpu(sc));
        residual_add_(apart_x, gpu(y), on_gpu(g));
        const Tensor apart = layer_norm_modulate(apart_x, 1e-6, on_gpu(nw), on_gpu(nb), on_gpu(sh), on_gpu(sc));
        EXPECT_TRUE(same(fused_x, apart_x)) << what;
        EXPECT_TRUE(same(fused, apart)) << what;
        Tensor cpu_x = x.clone();
        const Tensor cpu = residual_layer_norm_modulate_(cpu_x, y, g, 1e-6, nw, nb, sh, sc);
        EXPECT_LE(rel_l2(host(fused_x), cpu_x), 1e-5) << what;
        EXPECT_GT(rel_l2(cpu_x, x), 1e-2) << what;  // the update is not vacuous
        EXPECT_LE(rel_l2(host(fused), cpu), 1e-2) << what;
        // FP8 output
        Tensor fused8_x = gpu(x), apart8_x = gpu(x);
        const Fp8Matrix fused8 = residual_layer_norm_modulate_fp8_(fused8_x, gpu(y), on_gpu(g), 1e-6, on_gpu(nw),
                                                                   on_gpu(nb), on_gpu(sh), on_gpu(sc));
        residual_add_(apart8_x, gpu(y), on_gpu(g));
        const Fp8Matrix apart8 = layer_norm_modulate_fp8(apart8_x, 1e-6, on_gpu(nw), on_gpu(nb), on_gpu(sh), on_gpu(sc));
        EXPECT_TRUE(same(fused8_x, apart8_x)) << what << " (fp8)";
        EXPECT_TRUE(same(fused8.values, apart8.values)) << what << " (fp8)";
        EXPECT_TRUE(same(fused8.scales, apart8.scales)) << what << " (fp8)";
      }
  }
}

TEST_F(DitFusedCuda, RmsNormRopeInPlaceOnFusedColumns) {
  const RopeTable table = rope_table_3d(24);
  const int64_t B = 2, L = 41, H = 3, D = H * 24;
  const Tensor qkv = test::random_tensor({B, L, 3 * D}, 11, 2.0).to(DType::BF16);
  const Tensor w = test::random_tensor({D}, 12).to(DType::BF16).to(DType::F32);
  const std::vector<Grid3> grids = {{2, 4, 5}, {1, 5, 7}};
  Tensor dev = gpu(qkv);
  for (int64_t part : {0, 1}) {
    Tensor cols = dev.narrow(2, part * D, D);
    rms_norm_rope_(cols, gpu(w), 1e-6, H, grids, &table);
  }
  const Tensor back = host(dev);
  for (int64_t part : {0, 1})
    EXPECT_LE(rel_l2(back.narrow(2, part * D, D).contiguous().to(DType::F32),
                     rms_norm_rope(qkv.narrow(2, part * D, D).contiguous(), w, 1e-6, H, grids, &table).to(DType::F32)),
              1e-2) << part;
  EXPECT_EQ(rel_l2(back.narrow(2, 2 * D, D).contiguous().to(DType::F32),
                   qkv.narrow(2, 2 * D, D).contiguous().to(DType::F32)), 0.0);  // v untouched
}

// The GPU's f32 -> bf16 rounding is the host's, bit for bit (ties to even, infinities, NaN), and
// bf16 -> f32 is exact.
TEST_F(DitFusedCuda, ConvertsBetweenF32AndBf16LikeTheHost) {
  Tensor x = test::random_tensor({1000}, 17, 50.0);
  float* p = x.data<float>();
  const float specials[] = {0.0f, -0.0f, 1.00390625f /* a tie: 1 + 2^-8 */, 1.01171875f /* 1 + 3·2^-8 */,
                            3.0e38f, -3.4e38f, 1e-40f, std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()};
  for (size_t i = 0; i < sizeof specials / sizeof *specials; ++i) p[i] = specials[i];
  const Tensor down = host(convert_on_device(gpu(x), DType::BF16));
  const Tensor ref = x.to(DType::BF16);
  ASSERT_EQ(down.dtype(), DType::BF16);
  const uint16_t *a = static_cast<const uint16_t*>(down.data_ptr()), *b = static_cast<const uint16_t*>(ref.data_ptr());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const bool both_nan = std::isnan(p[i]) && (a[i] & 0x7f80) == 0x7f80 && (a[i] & 0x7f) != 0;
    if (!both_nan) EXPECT_EQ(a[i], b[i]) << i << ": " << p[i];
  }
  const Tensor finite = ref.narrow(0, 9, x.numel() - 9).contiguous();  // past the specials
  EXPECT_EQ(rel_l2(host(convert_on_device(gpu(finite), DType::F32)), finite.to(DType::F32)), 0.0);
}

// The gated FFN's product in bf16 (ops::mul on CUDA): f32 product, one rounding; odd size.
TEST_F(DitFusedCuda, MulBf16RoundsTheF32ProductOnce) {
  const Tensor a = test::random_tensor({3, 37, 11}, 18).to(DType::BF16), b = test::random_tensor({3, 37, 11}, 19).to(DType::BF16);
  const Tensor got = host(mul(gpu(a), gpu(b)));
  const Tensor ref = mul(a.to(DType::F32), b.to(DType::F32)).to(DType::BF16);
  ASSERT_EQ(got.dtype(), DType::BF16);
  EXPECT_EQ(rel_l2(got.to(DType::F32), ref.to(DType::F32)), 0.0);
  EXPECT_THROW(mul(gpu(a), gpu(a.narrow(0, 0, 2).contiguous())), Error);
}

TEST_F(DitFusedCuda, BlockModulation) {
  for (int64_t Ke : {6, 1}) {
    const Tensor e = test::random_tensor({2, Ke, 333}, 13), table = test::random_tensor({5, 6, 333}, 14);
    EXPECT_LE(rel_l2(host(block_modulation(gpu(e), gpu(table))), block_modulation(e, table)), 1e-7) << Ke;
  }
}

}  // namespace
}  // namespace wan::ops
