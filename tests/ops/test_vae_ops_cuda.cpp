// The VAE's ops on CUDA against the CPU reference on odd sizes: conv3d (kernels 3x3x3, 1x3x3,
// 3x1x1, 1x1x1; stride 2; symmetric and asymmetric padding), channel RMS norm, nearest upsampling,
// add_, strided device copies, f32 linear through the TF32 GEMM and f32 attention (head dim 96,
// with and without a bias). f32 outputs computed with TF32 (10 mantissa bits): relative L2 <= 5e-3;
// exact ops (copies, upsampling, add) <= 1e-7.
// The same ops on channels-last bf16 and f32 videos (the GPU VAE's layout), against the CPU
// reference evaluated on the bf16-rounded inputs: one rounding of the bf16 output (2^-9 relative)
// plus the accumulation order, relative L2 <= 5e-3; the output keeps the channels-last layout. The
// Wan 2.2 shortcuts' adds (AvgDown3D, DupUp3D) likewise.
#include <gtest/gtest.h>

#include "backend/backend.h"
#include "core/stats.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/vae_ops.h"
#include "test_util.h"

namespace wan::ops {
namespace {

Tensor gpu(const Tensor& t) { return to_device(t, Device::CUDA); }
Tensor host(const Tensor& t) { return to_device(t, Device::CPU); }

class VaeOpsCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
  }
};

TEST_F(VaeOpsCuda, Conv3dMatchesTheCpuReference) {
  struct Case {
    int64_t C, T, H, W, O, kt, kh, kw;
    std::array<int64_t, 3> stride;
    std::array<int64_t, 4> pad;
  };
  int seed = 0;
  for (const Case& c : {Case{5, 3, 7, 9, 6, 3, 3, 3, {1, 1, 1}, {1, 1, 1, 1}}, Case{4, 1, 8, 6, 3, 1, 3, 3, {1, 2, 2}, {0, 1, 0, 1}},
                        Case{3, 5, 4, 5, 6, 3, 1, 1, {2, 1, 1}, {0, 0, 0, 0}}, Case{7, 2, 3, 3, 2, 1, 1, 1, {1, 1, 1}, {0, 0, 0, 0}},
                        Case{16, 4, 17, 11, 8, 3, 3, 3, {1, 1, 1}, {1, 1, 1, 1}}}) {
    const Tensor x = test::random_tensor({c.C, c.T, c.H, c.W}, ++seed);
    const Tensor w = test::random_tensor({c.O, c.C, c.kt, c.kh, c.kw}, ++seed, 0.2);
    const Tensor b = test::random_tensor({c.O}, ++seed);
    const Tensor ref = conv3d(x, w, b, c.stride, c.pad);
    const Tensor got = conv3d(gpu(x), gpu(w), gpu(b), c.stride, c.pad);
    ASSERT_EQ(got.shape(), ref.shape());
    EXPECT_LE(rel_l2(host(got), ref), 5e-3) << c.C << "x" << c.T << "x" << c.H << "x" << c.W << " k" << c.kt << c.kh
                                            << c.kw;
  }
}

// x on the GPU, channels-last, in `dtype`.
Tensor gpu_channels_last(const Tensor& x, DType dtype) {
  Tensor cl = empty_channels_last_on(x.shape(), DType::F32, Device::CUDA);
  copy_into(cl, gpu(x));
  return convert_on_device(cl, dtype);
}
// Back to the host as contiguous f32.
Tensor host_f32(const Tensor& t) { return host(t).to(DType::F32); }
// What a bf16 tensor holds of x (x itself for f32).
Tensor rounded(const Tensor& x, DType dtype) { return x.to(dtype).to(DType::F32); }

TEST_F(VaeOpsCuda, ChannelsLastConv3dMatchesTheCpuReference) {
  struct Case {
    int64_t C, T, H, W, O, kt, kh, kw;
    std::array<int64_t, 3> stride;
    std::array<int64_t, 4> pad;
  };
  int seed = 100;
  for (DType dtype : {DType::BF16, DType::F32})
    for (const Case& c : {Case{8, 3, 7, 9, 16, 3, 3, 3, {1, 1, 1}, {1, 1, 1, 1}},
                          Case{5, 3, 6, 5, 6, 3, 3, 3, {1, 1, 1}, {1, 1, 1, 1}},  // odd channel counts
                          Case{16, 1, 8, 6, 8, 1, 3, 3, {1, 2, 2}, {0, 1, 0, 1}},
                          Case{24, 5, 4, 5, 48, 3, 1, 1, {2, 1, 1}, {0, 0, 0, 0}},
                          Case{32, 2, 3, 3, 16, 1, 1, 1, {1, 1, 1}, {0, 0, 0, 0}}}) {
      const Tensor x = test::random_tensor({c.C, c.T, c.H, c.W}, ++seed);
      const Tensor w = test::random_tensor({c.O, c.C, c.kt, c.kh, c.kw}, ++seed, 0.2);
      const Tensor b = test::random_tensor({c.O}, ++seed);
      const Tensor ref = conv3d(rounded(x, dtype), rounded(w, dtype), b, c.stride, c.pad);
      const Tensor wl = conv3d_weight_layout(gpu(w), dtype);
      EXPECT_EQ(wl.stride(1), 1) << "C innermost";
      const Tensor got = conv3d(gpu_channels_last(x, dtype), wl, gpu(b), c.stride, c.pad);
      ASSERT_EQ(got.shape(), ref.shape());
      EXPECT_TRUE(got.is_channels_last());
      EXPECT_EQ(got.dtype(), dtype);
      EXPECT_LE(rel_l2(host_f32(got), ref), 5e-3)
          << dtype_name(dtype) << " " << c.C << "x" << c.T << "x" << c.H << "x" << c.W << " k" << c.kt << c.kh << c.kw;
    }
}

TEST_F(VaeOpsCuda, ChannelsLastPointwiseOps) {
  int seed = 200;
  for (DType dtype : {DType::BF16, DType::F32})
    // Odd rows take the one-warp norm and 2-byte upsampling; 16, 256 and 1024 channels sum their
    // squares by shuffles within 2 lanes, a warp and four warps, 96 by shared-memory atomics.
    for (int64_t C : {3, 7, 16, 96, 256, 1024}) {
      const Tensor x = test::random_tensor({C, 2, 5, 9}, ++seed, 3.0), gamma = test::random_tensor({C}, ++seed);
      const Tensor xr = rounded(x, dtype), xg = gpu_channels_last(x, dtype);
      for (bool fused_silu : {false, true}) {
        const Tensor got = rms_norm_channels(xg, gpu(gamma), fused_silu);
        EXPECT_TRUE(got.is_channels_last());
        EXPECT_LE(rel_l2(host_f32(got), rms_norm_channels(xr, gamma, fused_silu)), dtype == DType::F32 ? 1e-6 : 5e-3)
            << dtype_name(dtype) << " C=" << C << " silu " << fused_silu;
      }
      const Tensor up = upsample_nearest_2x(xg);
      EXPECT_TRUE(up.is_channels_last());
      EXPECT_EQ(rel_l2(host_f32(up), upsample_nearest_2x(xr)), 0.0) << dtype_name(dtype) << " C=" << C;
      const Tensor clamped = clamp(xg, -1.0f, 2.0f);
      EXPECT_TRUE(clamped.is_channels_last());
      EXPECT_EQ(rel_l2(host_f32(clamped), clamp(xr, -1.0f, 2.0f)), 0.0) << dtype_name(dtype);
      const Tensor s = silu(xg);
      EXPECT_TRUE(s.is_channels_last());
      EXPECT_LE(rel_l2(host_f32(s), silu(xr)), dtype == DType::F32 ? 1e-6 : 5e-3) << dtype_name(dtype);
      // a += b with b channels-last, then with b contiguous (rearranged first).
      const Tensor b = test::random_tensor({C, 2, 5, 9}, ++seed);
      Tensor a = gpu_channels_last(x, dtype);
      add_(a, gpu_channels_last(b, dtype));
      add_(a, convert_on_device(gpu(b), dtype));
      Tensor expect = xr.clone();
      add_(expect, rounded(b, dtype));
      add_(expect, rounded(b, dtype));
      EXPECT_LE(rel_l2(host_f32(a), expect), dtype == DType::F32 ? 1e-7 : 5e-3) << dtype_name(dtype);
    }
}

// A convolution's bias left to the op that reads its output next: the norm of x + bias written into
// a window, and a += bias + b, against the CPU (which the CPU tests check against the unfused ops).
TEST_F(VaeOpsCuda, ChannelsLastOpsWithAConvolutionsBias) {
  int seed = 300;
  for (DType dtype : {DType::BF16, DType::F32})
    for (int64_t C : {3, 16, 96}) {  // C = 3: the one-warp norm and the scalar add
      const Tensor x = test::random_tensor({C, 2, 5, 9}, ++seed, 3.0), gamma = test::random_tensor({C}, ++seed);
      const Tensor bias = test::random_tensor({C}, ++seed);
      const Tensor xr = rounded(x, dtype), xg = gpu_channels_last(x, dtype);
      Tensor out = empty_channels_last_on(x.shape(), dtype, Device::CUDA);
      rms_norm_channels_into(xg, gpu(gamma), /*silu=*/true, out, gpu(bias));
      Tensor expect = empty_on(x.shape(), DType::F32, Device::CPU);
      rms_norm_channels_into(xr, gamma, true, expect, bias);
      EXPECT_LE(rel_l2(host_f32(out), expect), dtype == DType::F32 ? 1e-6 : 5e-3) << dtype_name(dtype) << " C=" << C;
      const Tensor b = test::random_tensor({C, 2, 5, 9}, ++seed);
      Tensor a = gpu_channels_last(x, dtype);
      add_with_channel_bias_(a, gpu(bias), gpu_channels_last(b, dtype));
      add_with_channel_bias_(a, gpu(bias), convert_on_device(gpu(b), dtype));  // b rearranged first
      Tensor sum = xr.clone();
      add_with_channel_bias_(sum, bias, rounded(b, dtype));
      add_with_channel_bias_(sum, bias, rounded(b, dtype));
      EXPECT_LE(rel_l2(host_f32(a), sum), dtype == DType::F32 ? 1e-6 : 5e-3) << dtype_name(dtype) << " C=" << C;
    }
}

// The Wan 2.2 VAE's shortcuts added into a residual sum (dense channels-last y), against the CPU
// on the bf16-rounded inputs: one rounding of the sum; O = 12 takes the 8-channel vectors of
// DupUp3D only where O % 8 == 0, so both of its kernels run.
TEST_F(VaeOpsCuda, ChannelsLastShortcutAdds) {
  struct Case {
    int64_t C, O, ft, fs, T, H, W;
  };
  uint64_t seed = 400;
  for (DType dtype : {DType::BF16, DType::F32}) {
    for (const Case& c : {Case{16, 32, 2, 2, 3, 6, 10}, Case{24, 24, 1, 1, 2, 3, 5}, Case{6, 12, 1, 2, 5, 4, 6}}) {
      const Tensor x = test::random_tensor({c.C, c.T, c.H, c.W}, ++seed);
      const Tensor y0 = test::random_tensor({c.O, (c.T + c.ft - 1) / c.ft, c.H / c.fs, c.W / c.fs}, ++seed);
      Tensor y = gpu_channels_last(y0, dtype);
      add_avg_down_3d_(y, gpu_channels_last(x, dtype), c.ft, c.fs);
      Tensor want = rounded(y0, dtype);
      add_avg_down_3d_(want, rounded(x, dtype), c.ft, c.fs);
      EXPECT_LE(rel_l2(host_f32(y), want), dtype == DType::F32 ? 1e-6 : 5e-3)
          << "avg down " << dtype_name(dtype) << " " << c.C << "->" << c.O;
    }
    for (const Case& c : {Case{16, 16, 2, 2, 2, 3, 5}, Case{16, 8, 1, 2, 3, 2, 3}, Case{6, 12, 2, 2, 2, 3, 2}})
      for (bool first : {true, false}) {
        const int64_t drop = first ? c.ft - 1 : 0;
        const Tensor x = test::random_tensor({c.C, c.T, c.H, c.W}, ++seed);
        const Tensor y0 = test::random_tensor({c.O, c.T * c.ft - drop, c.H * c.fs, c.W * c.fs}, ++seed);
        Tensor y = gpu_channels_last(y0, dtype);
        add_dup_up_3d_(y, gpu_channels_last(x, dtype), c.ft, c.fs, drop);
        Tensor want = rounded(y0, dtype);
        add_dup_up_3d_(want, rounded(x, dtype), c.ft, c.fs, drop);
        EXPECT_LE(rel_l2(host_f32(y), want), dtype == DType::F32 ? 1e-7 : 5e-3)
            << "dup up " << dtype_name(dtype) << " " << c.C << "->" << c.O << " first " << first;
      }
  }
}

TEST_F(VaeOpsCuda, PointwiseOps) {
  const Tensor x = test::random_tensor({7, 2, 5, 9}, 1, 3.0), gamma = test::random_tensor({7}, 2);
  EXPECT_LE(rel_l2(host(rms_norm_channels(gpu(x), gpu(gamma))), rms_norm_channels(x, gamma)), 1e-6);
  EXPECT_LE(rel_l2(host(upsample_nearest_2x(gpu(x))), upsample_nearest_2x(x)), 0.0);
  Tensor a = x.clone(), ga = gpu(x);
  const Tensor b = test::random_tensor({7, 2, 5, 9}, 3);
  add_(a, b);
  add_(ga, gpu(b));
  EXPECT_LE(rel_l2(host(ga), a), 1e-7);
}

TEST_F(VaeOpsCuda, StridedCopiesOnTheDevice) {
  const Tensor x = test::random_tensor({3, 4, 5, 6}, 4);
  const Tensor permuted = contiguous_on_device(gpu(x).permute({2, 0, 3, 1}));
  EXPECT_EQ(rel_l2(host(permuted), x.permute({2, 0, 3, 1}).contiguous()), 0.0);
  Tensor big = zeros_on({3, 6, 5, 6}, DType::F32, Device::CUDA);
  Tensor window = big.narrow(1, 1, 4);
  copy_into(window, gpu(x));
  const Tensor back = host(big);
  EXPECT_EQ(rel_l2(back.narrow(1, 1, 4).contiguous(), x), 0.0);
  const TensorStats pad = tensor_stats(back.narrow(1, 0, 1).contiguous());
  EXPECT_EQ(pad.min, 0.0);
  EXPECT_EQ(pad.max, 0.0);
  EXPECT_EQ(rel_l2(host(clone_on_device(gpu(x).select(1, 2))), x.select(1, 2).contiguous()), 0.0);
}

// The device copy orders and merges dims and copies 16/8/4/2-byte units where rows allow: check
// it on the layouts the VAE makes (channels-last windows, every other frame, every other channel)
// in bf16 and f32, against the host's element-by-element copy.
TEST_F(VaeOpsCuda, StridedCopiesOfChannelsLastVideos) {
  int seed = 300;
  for (DType dtype : {DType::BF16, DType::F32})
    for (int64_t C : {3, 8, 24}) {
      const Tensor x = test::random_tensor({C, 4, 5, 6}, ++seed).to(dtype);
      const Tensor gx = gpu_channels_last(x.to(DType::F32), dtype);
      // Every other frame of a channels-last video of 8 frames, written from a contiguous source.
      Tensor big = empty_channels_last_on({C, 8, 5, 6}, dtype, Device::CUDA);
      fill_zero_(big);
      Tensor odd = Tensor::from_storage_strided(big.storage(), big.byte_offset() + size_t(big.stride(1)) * dtype_size(dtype),
                                                {C, 4, 5, 6}, {big.stride(0), 2 * big.stride(1), big.stride(2), big.stride(3)},
                                                dtype);
      copy_into(odd, gpu(x));
      const Tensor back = host(big).to(DType::F32);
      for (int64_t t = 0; t < 4; ++t) {
        EXPECT_EQ(rel_l2(back.narrow(1, 2 * t + 1, 1).contiguous(), x.to(DType::F32).narrow(1, t, 1).contiguous()), 0.0);
        EXPECT_EQ(tensor_stats(back.narrow(1, 2 * t, 1).contiguous()).max, 0.0);
      }
      // Every other channel (a channel stride of 2) and a transposed copy, back to contiguous.
      if (C % 2 == 0) {
        const Tensor half = Tensor::from_storage_strided(gx.storage(), gx.byte_offset(), {C / 2, 4, 5, 6},
                                                         {2 * gx.stride(0), gx.stride(1), gx.stride(2), gx.stride(3)}, dtype);
        const Tensor want = x.to(DType::F32).view({C / 2, 2, 4, 5, 6}).select(1, 0).contiguous();
        EXPECT_EQ(rel_l2(host(contiguous_on_device(half)).to(DType::F32), want), 0.0) << C;
      }
      EXPECT_EQ(rel_l2(host(contiguous_on_device(gx.permute({2, 0, 3, 1}))).to(DType::F32),
                       x.to(DType::F32).permute({2, 0, 3, 1}).contiguous()),
                0.0);
    }
}

TEST_F(VaeOpsCuda, F32LinearAndAttention) {
  const Tensor x = test::random_tensor({300, 96}, 5), w = test::random_tensor({200, 96}, 6, 0.1);
  const Tensor b = test::random_tensor({200}, 7);
  EXPECT_LE(rel_l2(host(linear(gpu(x), gpu(w), gpu(b))), linear(x, w, b)), 5e-3);
  EXPECT_LE(rel_l2(host(linear(gpu(x), gpu(w), Tensor())), linear(x, w, Tensor())), 5e-3);
  for (bool with_bias : {false, true}) {
    const Tensor q = test::random_tensor({2, 37, 2, 96}, 8), k = test::random_tensor({2, 45, 2, 96}, 9);
    const Tensor v = test::random_tensor({2, 45, 2, 96}, 10);
    const Tensor bias = with_bias ? test::random_tensor({2, 37, 45}, 11) : Tensor();
    const Tensor ref = attention(q, k, v, {}, 0.1, bias);
    const Tensor got = attention(gpu(q), gpu(k), gpu(v), {}, 0.1, with_bias ? gpu(bias) : Tensor());
    EXPECT_LE(rel_l2(host(got), ref), 5e-3) << with_bias;
  }
}

}  // namespace
}  // namespace wan::ops
