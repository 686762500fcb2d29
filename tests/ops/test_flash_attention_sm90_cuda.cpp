// Our Hopper attention kernel (ops/cuda/flash_attention_sm90.h) against the CPU reference
// attention on the same bf16-rounded inputs: query and key counts that are not multiples of 128
// (the last tiles partly past the end), a single query and key, several heads, Q/K/V as strided
// views of one fused QKV buffer, an output with a token stride. bf16: relative L2 <= 1e-2 as for
// cuDNN's attention. FP8: within 1.5x the CPU emulation of FP8 attention's error + 5e-3, the bound
// cuDNN's FP8 attention meets (tests/ops/test_fp8_cuda.cpp). Skipped off Hopper.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "backend/backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "core/stats.h"
#include "ops/attention.h"
#include "ops/attention_fp8.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/flash_attention_sm90.h"
#include "test_util.h"

namespace wan::ops {
namespace {

Tensor bf16_round(const Tensor& t) { return t.to(DType::BF16).to(DType::F32); }

class FlashAttentionSm90 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_device_summary();
    if (!cuda::flash_sm90_available(128))
      GTEST_SKIP() << "not a Hopper GPU, not an sm_90a build, or WAN_FLASH_SM90=0: " << cuda_device_summary();
  }
};

struct Case {
  int64_t Lq, Lk, H;
};
// Whole last tiles: 352 keys (176-key tiles), 384 (96, 128, 192), 400 (80); the others end in a
// partial one. Query counts below, between and above the CTAs' 128 and 192 rows.
const Case kCases[] = {{77, 77, 2},     {128, 128, 1},  {301, 515, 3}, {1, 1, 1},     {129, 129, 4},
                       {1000, 1000, 2}, {2000, 333, 1}, {352, 352, 1}, {384, 384, 2}, {400, 400, 1}};

const double kScale = 1.0 / std::sqrt(128.0);

// qkv [L, 3, H, 128] as one fused projection writes it (L = max(Lq, Lk)), on the GPU; q, k, v
// [1, L, H, 128] its parts on the host, for the references.
struct Inputs {
  Tensor dev, q, k, v;
  int64_t H;
  const char* ptr(int64_t part) const { return static_cast<const char*>(dev.data_ptr()) + part * H * 128 * 2; }
  int64_t stride() const { return 3 * H * 128; }
};

// qkv [L, 3, H, 128] in f32: on the GPU rounded to bf16, in parts for the references as given.
Inputs inputs_of(const Tensor& qkv, const Case& c) {
  const auto part = [&](int64_t i, int64_t len) {
    return qkv.narrow(0, 0, len).select(1, i).contiguous().unsqueeze(0);
  };
  return {to_device(qkv.to(DType::BF16), Device::CUDA), part(0, c.Lq), part(1, c.Lk), part(2, c.Lk), c.H};
}

Inputs inputs(const Case& c, uint64_t seed) {
  return inputs_of(bf16_round(test::random_tensor({std::max(c.Lq, c.Lk), 3, c.H, 128}, seed)), c);
}

// Our FP8 kernel on f's parts, each quantised to E4M3 with one scale as the DiT does: the output
// [1, Lq, H, 128] in f32 on the host.
Tensor flash_fp8(const Inputs& f, const Case& c, Tensor& workspace) {
  const int64_t ld = c.H * 128;
  Tensor q8 = wan::cuda::empty({c.Lq, ld}, DType::F8_E4M3), k8 = wan::cuda::empty({c.Lk, ld}, DType::F8_E4M3);
  Tensor v8 = wan::cuda::empty({c.Lk, ld}, DType::F8_E4M3), amax = wan::cuda::empty({1}, DType::F32);
  Tensor sq = wan::cuda::empty({1}, DType::F32), sk = wan::cuda::empty({1}, DType::F32);
  Tensor sv = wan::cuda::empty({1}, DType::F32);
  cuda::quantize_tensor_fp8(f.ptr(0), c.Lq, ld, f.stride(), q8, sq, amax);
  cuda::quantize_tensor_fp8(f.ptr(1), c.Lk, ld, f.stride(), k8, sk, amax);
  cuda::quantize_tensor_fp8(f.ptr(2), c.Lk, ld, f.stride(), v8, sv, amax);
  Tensor out = wan::cuda::empty({c.Lq, c.H, 128}, DType::BF16);
  cuda::flash_attention_sm90_fp8(q8.data_ptr(), k8.data_ptr(), sq.data<float>(), sk.data<float>(), f.ptr(2),
                                 f.stride(), sv.data<float>(), out.data_ptr(), ld, c.Lq, c.Lk, c.H, float(kScale),
                                 workspace);
  return to_device(out, Device::CPU).to(DType::F32).unsqueeze(0);
}

// Sets the kernel's key tile for one precision and restores the previous one when it goes.
class KeyTile {
 public:
  KeyTile(bool fp8, int keys) : fp8_(fp8), before_(cuda::flash_sm90_key_tile(fp8)) {
    cuda::flash_sm90_set_key_tile(fp8, keys);
  }
  ~KeyTile() { cuda::flash_sm90_set_key_tile(fp8_, before_); }
  KeyTile(const KeyTile&) = delete;
  KeyTile& operator=(const KeyTile&) = delete;

 private:
  bool fp8_;
  int before_;
};

// Every key tile of each precision (bf16 80, 128 and 176; FP8 96, 128 and 192).
TEST_F(FlashAttentionSm90, Bf16MatchesTheCpuReference) {
  for (const int tile : {80, 128, 176}) {
    const KeyTile scope(false, tile);
    uint64_t seed = 900;
    for (const Case& c : kCases) {
      const Inputs f = inputs(c, ++seed);
      const Tensor ref = attention(f.q, f.k, f.v, {}, kScale);
      // out with a token stride of 2·H·128: the kernel writes its own columns only.
      Tensor out = wan::cuda::empty({c.Lq, 2, c.H, 128}, DType::BF16);
      WAN_CUDA_CHECK(cudaMemsetAsync(out.data_ptr(), 0, out.nbytes(), wan::cuda::context().stream));
      cuda::flash_attention_sm90_bf16(f.ptr(0), f.stride(), f.ptr(1), f.ptr(2), f.stride(), out.data_ptr(),
                                      2 * c.H * 128, c.Lq, c.Lk, c.H, float(kScale));
      const Tensor host = to_device(out, Device::CPU).to(DType::F32);
      const Tensor got = host.select(1, 0).contiguous().unsqueeze(0);
      EXPECT_EQ(tensor_stats(got).non_finite, 0);
      const double err = rel_l2(got, ref);
      std::printf("flash bf16 (%d-key tiles) Lq %lld Lk %lld H %lld: relative L2 %.3e\n", tile, (long long)c.Lq,
                  (long long)c.Lk, (long long)c.H, err);
      EXPECT_LE(err, 1e-2) << tile << "-key tiles, Lq " << c.Lq << " Lk " << c.Lk << " H " << c.H;
      const TensorStats untouched = tensor_stats(host.select(1, 1).contiguous());
      EXPECT_TRUE(untouched.min == 0.0 && untouched.max == 0.0) << "wrote outside its columns";
    }
  }
}

// bf16 keeps each CTA's first key tile's row maxima for the later tiles and redoes, exactly, the
// CTAs where that failed (flash_attention_sm90.cu, softmax_frozen). Every query gets a common
// component u (all ones) and two keys past the first tiles are a·u: their scores exceed the first
// tile's maxima by ~a·128·scale·log2(e) binary orders: ~49 for a = 3 (the frozen probabilities
// reach ~2^15, kept), ~196 for a = 12 (they would overflow to inf: only the exact redo gives a
// finite output); and a = 3 with those keys' values at 2^120 (p·v overflows in the frozen O, not
// in the exact one). The output is then mostly those keys' values.
TEST_F(FlashAttentionSm90, Bf16LaterScoresFarAboveTheFirstTile) {
  struct Far {
    float a, value;  // value: the far keys' values (0: as drawn)
  };
  for (const int tile : {80, 128, 176}) {
    const KeyTile scope(false, tile);
    for (const Far far : {Far{3.0f, 0.0f}, Far{12.0f, 0.0f}, Far{3.0f, std::ldexp(1.0f, 120)}}) {
      const Case c{500, 1000, 2};
      Tensor qkv = bf16_round(test::random_tensor({c.Lk, 3, c.H, 128}, 990 + uint64_t(far.a)));
      float* x = qkv.data<float>();
      const int64_t row = 3 * c.H * 128, width = c.H * 128;
      for (int64_t l = 0; l < c.Lk; ++l)
        for (int64_t i = 0; i < width; ++i) {
          x[l * row + i] += 1.0f;  // q
          if (l == 613 || l == 877) {
            x[l * row + width + i] = far.a;  // k
            if (far.value != 0.0f) x[l * row + 2 * width + i] = far.value;  // v
          }
        }
      const Inputs f = inputs_of(qkv, c);
      const Tensor ref = attention(f.q, f.k, f.v, {}, kScale);
      Tensor out = wan::cuda::empty({c.Lq, c.H, 128}, DType::BF16);
      cuda::flash_attention_sm90_bf16(f.ptr(0), f.stride(), f.ptr(1), f.ptr(2), f.stride(), out.data_ptr(), width,
                                      c.Lq, c.Lk, c.H, float(kScale));
      const Tensor got = to_device(out, Device::CPU).to(DType::F32).unsqueeze(0);
      EXPECT_EQ(tensor_stats(got).non_finite, 0) << tile << "-key tiles, a = " << far.a << ", values " << far.value;
      const double err = rel_l2(got, ref);
      std::printf("flash bf16 (%d-key tiles), keys %g·u past the first tiles, values %g: relative L2 %.3e\n", tile,
                  far.a, far.value, err);
      EXPECT_LE(err, 1e-2) << tile << "-key tiles, a = " << far.a << ", values " << far.value;
    }
  }
}

// FP8 keeps the offsets of earlier tiles too, but E4M3 leaves ~2^4.8 of headroom above them, so
// a warp whose probabilities outgrow it moves its rows' offsets up (softmax_lazy_fp8), and a CTA
// whose f32 probabilities overflowed is redone exactly. As the bf16 test, with the queries' common
// component u: two far keys a·u past the first tiles (a = 0.6: ~5 binary orders above the first
// tile's maxima, at the headroom's edge; a = 3: ~49, the offsets move; a = 12: ~196, only the
// redo is finite), and a ramp: key l gets b·(l / Lk)·u, b = 1.5 (scores rise ~24 binary orders
// steadily over the keys, the offsets move in many tiles). Bound: 1.15x the CPU emulation's error
// + 2e-3, tighter than Fp8StaysWithinTheEmulatedFp8Error's: where far keys dominate their rows and
// where a moved offset left their probabilities anywhere but at an exactly representable maximum
// (as the emulation's and the exact kernel's are), their E4M3 rounding (up to 6%) scaled the whole
// output (a = 3 measured 3.86e-2 against the emulation's 2.86e-2 with moves by whole binary orders).
TEST_F(FlashAttentionSm90, Fp8LaterScoresAboveTheFirstTile) {
  struct Rise {
    float far, ramp;
  };
  for (const int tile : {96, 128, 192}) {
    const KeyTile scope(true, tile);
    Tensor workspace;
    for (const Rise rise : {Rise{0.6f, 0.0f}, Rise{3.0f, 0.0f}, Rise{12.0f, 0.0f}, Rise{0.0f, 1.5f}}) {
      const Case c{500, 1000, 2};
      Tensor qkv = bf16_round(test::random_tensor({c.Lk, 3, c.H, 128}, 970 + uint64_t(10 * rise.far)));
      float* x = qkv.data<float>();
      const int64_t row = 3 * c.H * 128, width = c.H * 128;
      for (int64_t l = 0; l < c.Lk; ++l)
        for (int64_t i = 0; i < width; ++i) {
          x[l * row + i] += 1.0f;  // q
          if (rise.far != 0.0f && (l == 613 || l == 877)) x[l * row + width + i] = rise.far;  // k
          x[l * row + width + i] += rise.ramp * float(l) / float(c.Lk);
        }
      qkv = bf16_round(qkv);
      const Inputs f = inputs_of(qkv, c);
      const Tensor exact = attention(f.q, f.k, f.v, {}, kScale);
      const double emulated = rel_l2(attention_fp8(f.q, f.k, f.v, {}, kScale), exact);
      const Tensor got = flash_fp8(f, c, workspace);
      EXPECT_EQ(tensor_stats(got).non_finite, 0) << tile << "-key tiles, far " << rise.far << ", ramp " << rise.ramp;
      const double err = rel_l2(got, exact);
      std::printf("flash fp8 (%d-key tiles), keys %g·u past the first tiles, ramp %g·u: relative L2 %.3e (CPU "
                  "emulation %.3e)\n",
                  tile, rise.far, rise.ramp, err, emulated);
      EXPECT_LE(err, 1.15 * emulated + 2e-3) << tile << "-key tiles, far " << rise.far << ", ramp " << rise.ramp;
    }
  }
}

TEST(FlashAttentionSm90Settings, RejectsAnUnsupportedKeyTile) {
  EXPECT_THROW(cuda::flash_sm90_set_key_tile(false, 96), Error);
  EXPECT_THROW(cuda::flash_sm90_set_key_tile(true, 80), Error);
  EXPECT_THROW(cuda::flash_sm90_set_key_tile(false, 192), Error);
  EXPECT_THROW(cuda::flash_sm90_set_key_tile(true, 176), Error);
  EXPECT_THROW(cuda::flash_sm90_set_key_tile(true, 256), Error);
}

TEST_F(FlashAttentionSm90, Fp8StaysWithinTheEmulatedFp8Error) {
  for (const int tile : {96, 128, 192}) {
    const KeyTile scope(true, tile);
    uint64_t seed = 950;
    Tensor workspace;
    for (const Case& c : kCases) {
      const Inputs f = inputs(c, ++seed);
      const Tensor exact = attention(f.q, f.k, f.v, {}, kScale);
      const double emulated = rel_l2(attention_fp8(f.q, f.k, f.v, {}, kScale), exact);
      const Tensor got = flash_fp8(f, c, workspace);
      EXPECT_EQ(tensor_stats(got).non_finite, 0);
      const double err = rel_l2(got, exact);
      std::printf("flash fp8 (%d-key tiles) Lq %lld Lk %lld H %lld: relative L2 %.3e (CPU emulation %.3e)\n", tile,
                  (long long)c.Lq, (long long)c.Lk, (long long)c.H, err, emulated);
      EXPECT_LE(err, 1.5 * emulated + 5e-3) << tile << "-key tiles, Lq " << c.Lq << " Lk " << c.Lk << " H " << c.H;
    }
  }
}

}  // namespace
}  // namespace wan::ops
