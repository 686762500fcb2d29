// ops/cuda/flash_attention_sm90.h: the kernel, the pass that writes Vᵀ, and the TMA descriptors.
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

#include "backend/backend.h"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/stream_timer.h"
#include "core/env.h"
#include "core/error.h"
#include "core/log.h"
#include "ops/cuda/flash_attention_sm90.h"
#include "ops/cuda/fp8_device.h"
#include "ops/cuda/sm90_device.h"

// A multi-architecture build (WAN_CUDA_GENCODE) compiles this file for every target; all but
// sm_90a get empty kernels (never launched: flash_sm90_available), which leave the constants below
// unreferenced there.
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#pragma nv_diag_suppress 177
#endif

namespace wan::ops::cuda {
namespace {

using namespace sm90;

constexpr int kD = 128;         // head dim
constexpr int kKeyGroup = 32;   // FP8 Vᵀ rows are padded to a multiple of this and reordered within it
constexpr float kLog2e = 1.4426950408889634f;

// BN: keys per tile. The small tiles, 80 keys (bf16) and 96 (FP8), run three computing warpgroups
// (192 queries a CTA): each thread then holds fewer scores and the 160 registers a thread of three
// warpgroups may have suffice (128-key tiles spill there), and three warps per scheduler hide the
// exponentials' latency where two did not; FP8 4-5% faster, bf16 1-6% (docs/performance.md,
// fifteenth session), the defaults. The large ones run two: bf16 128 or 176 (FlashAttention-3's
// choice at head dim 128: S is then 64 x 176 per warpgroup and P·V sums over 11 k-steps of 16);
// FP8 128 or 192 (a multiple of its 32-key k-steps). 192 bf16 and 224 FP8 keys (shared memory then
// full) measured no faster than 176 and 192 and were dropped (eleventh session); bf16 96 keys with
// three warpgroups spills.
constexpr bool supported_tile(bool fp8, int keys) {
  return keys == (fp8 ? 96 : 80) || keys == 128 || keys == (fp8 ? 192 : 176);
}

// FP8 with kept maxima: the largest probability of a row is 2^kFp8Lazy after the tile that moved
// its offset last (see softmax_lazy_fp8).
constexpr float kFp8Lazy = 4.0f;
// E4M3's largest finite value: probabilities must stay below it (cvt.satfinite would clamp them).
constexpr float kE4m3Max = 448.0f;

// Frozen: the row maxima of a CTA's first key tile serve the later tiles instead of each tile's
// own (bf16: every later tile, softmax_frozen; FP8: until a warp's probabilities outgrow E4M3's
// range, when those rows' offsets move up, softmax_lazy_fp8): the exact kernel (Frozen false)
// redoes the CTAs where that failed.
template <bool FP8, int BN, bool Frozen = false>
struct Traits {
  static_assert(supported_tile(FP8, BN), "key tiles");
  static constexpr int kBN = BN;
  // Computing warpgroups (64 queries each): three for the small tiles, two for the others.
  static constexpr int kWGs = BN < 128 ? 3 : 2;
  static constexpr int kBM = 64 * kWGs;                   // queries per CTA
  static constexpr int kThreads = 128 * (kWGs + 1);       // and one loading warpgroup
  static constexpr int kElem = FP8 ? 1 : 2;               // bytes per value
  static constexpr int kRowValues = 128 / kElem;          // values in one 128-byte swizzled row
  static constexpr int kBoxes = kD * kElem / 128;         // 128-byte boxes across the head dim
  static constexpr int kQBoxBytes = kBM * 128;            // a Q box: kBM rows of 128 bytes
  static constexpr int kKBoxBytes = BN * 128;             // a K box: BN rows (keys)
  // V: bf16 reads V as stored, boxes like K's ([BN keys][64 head-dim values], the operand MN-major);
  // FP8 reads Vᵀ (wgmma takes 8-bit operands K-major only): boxes of 128 rows (head dim) by 128
  // bytes of keys along a tile's keys (96-key tiles: rows of 128 bytes, 96 loaded, kVInner), the
  // last box's keys past the tile (192 keys: 64) loaded and unused.
  static constexpr bool kVTransposed = FP8;
  static constexpr int kVBoxBytes = kVTransposed ? kD * 128 : BN * 128;
  static constexpr int kVBoxes = kVTransposed ? (BN * kElem + 127) / 128 : kBoxes;
  static constexpr int kQTileBytes = kBoxes * kQBoxBytes;
  static constexpr int kKTileBytes = kBoxes * kKBoxBytes;
  static constexpr int kVTileBytes = kVBoxes * kVBoxBytes;
  // The bytes of keys a Vᵀ box loads (96-key tiles: 96; their shared-memory rows stay 128 bytes,
  // the swizzled layout wgmma reads, the last 32 unwritten: 1-2% faster than loading 128 keys,
  // nineteenth session), and the bytes a V tile's load brings.
  static constexpr int kVInner = kVTransposed && BN < 128 ? BN * kElem : 128;
  static constexpr int kVLoadBytes = kVTransposed ? kVBoxes * kD * kVInner : kVTileBytes;
  static constexpr int kQKSteps = kD * kElem / 32;        // wgmma k-steps over the head dim (32 bytes each)
  static constexpr int kPVSteps = BN * kElem / 32;        // wgmma k-steps over a tile's keys
  static constexpr int kGroups = BN / 8;                  // 8-column groups of S; a thread holds 4 scores of each
  static constexpr int kScores = 4 * kGroups;             // S accumulators per thread
  // Ring stages: K is released as soon as S = Q·Kᵀ is done, V only after the next tile's P·V.
  // Two warpgroups: FP8 (half-size values) takes 4 + 3; bf16 keeps 2 + 2 (a third K stage, with the
  // skipped rescale, measured slower: docs/performance.md, ninth session). Three (small tiles):
  // FP8 6 + 5; bf16 4 + 4, which fills shared memory beside the 48 KB Q tile (a V stage is held
  // longer than a K stage, until the next tile's P·V is done: the fourth measured 3% faster than a
  // fifth K stage or 4 + 3 in the sixteenth session; FP8 gained nothing from 8 + 5 or 6 + 7).
  static constexpr int kKStages = kWGs == 3 ? (FP8 ? 6 : 4) : FP8 ? 4 : 2,
                       kVStages = kWGs == 3 ? (FP8 ? 5 : 4) : FP8 ? 3 : 2;
  // Registers per thread: the loading warpgroup keeps kLoadRegs, the computing ones claim
  // kComputeRegs (128·load + 128·kWGs·compute <= 64K; larger tiles hold 24 or 32 more S accumulators).
  static constexpr int kLoadRegs = kWGs == 3 ? 24 : BN == 128 ? 40 : 24,
                       kComputeRegs = kWGs == 3 ? 160 : BN == 128 ? 232 : 240;
  static constexpr int kSmem = kQTileBytes + kKStages * kKTileBytes + kVStages * kVTileBytes +
                               8 * (1 + 2 * (kKStages + kVStages)) + 1024;  // + alignment
  static_assert(kSmem <= 227 * 1024, "shared memory per block");
  // Exponent offset of the probabilities: in FP8 they are P·256, in [0, 256] (E4M3 reaches 448),
  // so those down to 2^-14 stay normal E4M3 numbers. Frozen bf16: 2^-32 at the first tile's maxima,
  // so that later keys may exceed those by up to 2^96 (softmax_frozen). Frozen FP8: 2^kFp8Lazy at
  // the maxima so far, headroom for later keys up to ~2^(8.8 - kFp8Lazy) above them
  // (softmax_lazy_fp8); those down to 2^-(6 + kFp8Lazy) stay normal.
  static constexpr float kPOffset = FP8 ? (Frozen ? kFp8Lazy : 8.0f) : Frozen ? -32.0f : 0.0f;
};

// Frozen maxima: a tile's probabilities (and so a thread's partial row sum) must stay below this.
constexpr float kFrozenLimit = 18446744073709551616.0f;  // 2^64

struct Params {
  int Lq, Lk;
  // One flag per CTA (blockIdx.y · gridDim.x + blockIdx.x), zeroed before the frozen kernel,
  // which sets those of the CTAs whose maxima moved too far; the exact kernel then runs only those.
  // nullptr: the exact kernel runs every CTA.
  int* redo;
  float scale_log2;         // softmax scale · log2(e)
  const float* q_scale;     // FP8: device [1] each (nullptr for bf16)
  const float* k_scale;
  const float* v_scale;
  __nv_bfloat16* out;
  int64_t so;               // out token stride (elements)
};

// Byte offset of k-step `ks` in a K-major tile of boxes of `box_bytes`: 32 bytes a step along
// 128-byte rows, box by box.
__device__ inline uint32_t step_offset(int ks, int box_bytes) {
  return uint32_t((ks * 32) / 128) * uint32_t(box_bytes) + uint32_t((ks * 32) % 128);
}

__device__ inline float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ inline uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// Four values as E4M3 bytes, the first in the lowest byte.
__device__ inline uint32_t pack_e4m3(float x0, float x1, float x2, float x3) {
  uint16_t lo, hi;
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(lo) : "f"(x1), "f"(x0));
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(hi) : "f"(x3), "f"(x2));
  return uint32_t(lo) | (uint32_t(hi) << 16);
}

// A descriptor moved on by `bytes`: its start-address field (bits 0-13, the address / 16) never
// carries (shared memory ends below 256 KB), so one add to the low word replaces building the
// descriptor again for every k-step (the uniform-register arithmetic that did so sat between the
// products; sixteenth session: with the two changes below, bf16 720p 184.5 -> 173 ms).
__device__ inline uint64_t desc_plus(uint64_t d, uint32_t bytes) {
  return (d & 0xFFFFFFFF00000000ull) | uint64_t(uint32_t(d) + (bytes >> 4));
}

// S [64 x BN] = Q · Kᵀ for this warpgroup's 64 queries (issued, not waited for); q_desc describes
// the warpgroup's Q rows.
template <class T>
__device__ inline void issue_qk(float (&sc)[T::kScores], uint64_t q_desc, uint32_t k_tile) {
  const uint64_t k_desc = desc_k_major_sw128(k_tile);
#pragma unroll
  for (int ks = 0; ks < T::kQKSteps; ++ks) {
    const uint64_t da = desc_plus(q_desc, step_offset(ks, T::kQBoxBytes));
    const uint64_t db = desc_plus(k_desc, step_offset(ks, T::kKBoxBytes));
    if constexpr (T::kElem == 1 && T::kBN == 96)
      wgmma_ss_e4m3_n96(sc, da, db, ks > 0);
    else if constexpr (T::kElem == 1 && T::kBN == 192)
      wgmma_ss_e4m3_n192(sc, da, db, ks > 0);
    else if constexpr (T::kElem == 1)
      wgmma_ss_e4m3(sc, da, db, ks > 0);
    else if constexpr (T::kBN == 80)
      wgmma_ss_bf16_n80(sc, da, db, ks > 0);
    else if constexpr (T::kBN == 176)
      wgmma_ss_bf16_n176(sc, da, db, ks > 0);
    else
      wgmma_ss_bf16(sc, da, db, ks > 0);
  }
  wgmma_commit();
}

// O += P · V with P from registers and V as B (keys as the summed dimension): FP8 the Vᵀ tile
// (K-major), bf16 the V tile as stored (MN-major: a k-step of 16 keys is 16 rows of 128 bytes on).
template <class T>
__device__ inline void issue_pv(float (&o)[64], const uint32_t (&a)[T::kPVSteps][4], uint32_t v_tile) {
  const uint64_t v_desc =
      T::kVTransposed ? desc_k_major_sw128(v_tile) : desc_mn_major_sw128(v_tile, T::kVBoxBytes);
#pragma unroll
  for (int ks = 0; ks < T::kPVSteps; ++ks) {
    if constexpr (T::kVTransposed)
      wgmma_rs_e4m3(o, a[ks], desc_plus(v_desc, step_offset(ks, T::kVBoxBytes)));
    else
      wgmma_rs_bf16_mn(o, a[ks], desc_plus(v_desc, uint32_t(ks * 16 * 128)));
  }
  wgmma_commit();
}

// Keys past Lk in the last tile (zeros from TMA) take no weight.
template <int kScores>
__device__ inline void mask_keys(float (&sc)[kScores], int valid, int quad) {
#pragma unroll
  for (int i = 0; i < kScores / 4; ++i)
#pragma unroll
    for (int e = 0; e < 2; ++e)
      if (8 * i + 2 * quad + e >= valid) sc[4 * i + e] = sc[4 * i + 2 + e] = -INFINITY;
}

// m[0] = max(m[0 .. n)), folding the upper half onto the lower (n a constant: no local memory).
template <int n>
__device__ inline void fold_max(float* m0, float* m1) {
  if constexpr (n > 1) {
    constexpr int half = (n + 1) / 2;
#pragma unroll
    for (int i = 0; i < n - half; ++i) {
      m0[i] = fmaxf(m0[i], m0[i + half]);
      m1[i] = fmaxf(m1[i], m1[i + half]);
    }
    fold_max<half>(m0, m1);
  }
}

// The scores of this thread's two rows become exp2(s·scale_log2 − shift[row]); sum[row] their
// (partial) row sums.
template <class T>
__device__ inline void exponentiate(float (&sc)[T::kScores], const float (&shift)[2], float scale_log2,
                                    float (&sum)[2]) {
  sum[0] = sum[1] = 0.0f;
#pragma unroll
  for (int i = 0; i < T::kGroups; ++i)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      sc[4 * i + e] = ex2(fmaf(sc[4 * i + e], scale_log2, -shift[0]));
      sc[4 * i + 2 + e] = ex2(fmaf(sc[4 * i + 2 + e], scale_log2, -shift[1]));
      sum[0] += sc[4 * i + e];
      sum[1] += sc[4 * i + 2 + e];
    }
}

// Online softmax of the two rows this thread holds (a quad of threads shares each row): the
// scores become exp2(s·scale_log2 − max + offset), the running max and sum move on, and corr[r]
// is what O's earlier sums must be multiplied by. The row maxima are reduced as a tree (the
// softmax's first dependency chain: 5 steps instead of 16). Taking 2 to 6 of every 16 column
// groups' exponentials on the FMA pipe (a polynomial, as FlashAttention-4 does on Blackwell)
// instead of the exp2 unit measured 1.6-12% slower in both precisions (docs/performance.md, tenth
// session): the softmax is bound by issue slots and latency here, not by the exp2 unit. (Each row's
// sum as four partial sums instead of one chain measured no faster in the eleventh session.)
template <class T>
__device__ inline void softmax_step(float (&sc)[T::kScores], float (&row_max)[2], float (&row_sum)[2],
                                    float (&corr)[2], float scale_log2) {
  constexpr int G = T::kGroups;
  float m0[G], m1[G];
#pragma unroll
  for (int i = 0; i < G; ++i) {
    m0[i] = fmaxf(sc[4 * i], sc[4 * i + 1]);
    m1[i] = fmaxf(sc[4 * i + 2], sc[4 * i + 3]);
  }
  fold_max<G>(m0, m1);
  float mx[2] = {m0[0], m1[0]};
  float shift[2], sum[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
    const float m_new = fmaxf(row_max[r], mx[r] * scale_log2);
    corr[r] = ex2(row_max[r] - m_new);  // 0 on the first tile (row_max = -inf)
    row_max[r] = m_new;
    shift[r] = m_new - T::kPOffset;
  }
  exponentiate<T>(sc, shift, scale_log2, sum);
  row_sum[0] = row_sum[0] * corr[0] + sum[0];
  row_sum[1] = row_sum[1] * corr[1] + sum[1];
}

// The softmax of a tile after the first with the first tile's row maxima kept ("frozen"): shift
// is max_0 + 32, so p = exp2(s·scale_log2 − shift) is 2^-32 at the first tile's maximum. Softmax
// does not depend on the offset, so any offset serves while no p overflows and the largest do not
// vanish: here every p below 2^64 (a later score up to 96 binary orders, 66 natural, above the
// first tile's maximum; O then stays below 2^81·max|v|), and scores more than ~94 orders below
// the maximum flush to 0 (a weight below 2^-94 beside it). This drops the row maxima (a max per
// score and their shuffles), their correction factors and O's rescale from every later tile:
// bf16's loop is bound by the card's power, not by one pipe. Returns false where a partial row
// sum reached 2^64 (or is not finite): the caller marks the CTA for the exact kernel.
template <class T>
__device__ inline bool softmax_frozen(float (&sc)[T::kScores], const float (&shift)[2], float (&row_sum)[2],
                                      float scale_log2) {
  float sum[2];
  exponentiate<T>(sc, shift, scale_log2, sum);
  row_sum[0] += sum[0];
  row_sum[1] += sum[1];
  return sum[0] < kFrozenLimit && sum[1] < kFrozenLimit;
}

// FP8's softmax of a tile after the first with the offsets kept from earlier tiles: E4M3 reaches
// only 448, so the headroom above the first tile's maxima is ~2^4.8 (p = 2^kFp8Lazy there), too
// little to keep them for every later tile as bf16 does. A thread's partial row sum below 448
// proves each of its probabilities is (the sums are computed anyway: no per-score max, which is
// what this saves); where a thread of the warp finds one that is not, the warp takes each of its
// rows' largest p (in f32) and moves the offsets of rows above 2^kFp8Lazy up by d = log2(max p) -
// kFp8Lazy, so p·2^-d (the row's largest exactly 2^kFp8Lazy again, as the exact kernel's largest
// is exactly 256: a key that dominates its row is not rounded), their sum and (through corr,
// rescale_o) O and the running sum are scaled alike. Rare after the first tiles: a row's offset
// moves only when a score exceeds the maxima so far by more than the headroom. Returns false
// where a row's f32 probabilities overflowed (a score ~124 binary orders above the offset): the
// exact kernel redoes the CTA.
template <class T>
__device__ inline bool softmax_lazy_fp8(float (&sc)[T::kScores], float (&shift)[2], float (&row_sum)[2],
                                        float (&corr)[2], float scale_log2) {
  float sum[2];
  exponentiate<T>(sc, shift, scale_log2, sum);
  corr[0] = corr[1] = 1.0f;
  if (__any_sync(0xffffffffu, !(sum[0] < kE4m3Max && sum[1] < kE4m3Max))) {
    float mp[2] = {0.0f, 0.0f};
#pragma unroll
    for (int i = 0; i < T::kGroups; ++i) {
      mp[0] = fmaxf(mp[0], fmaxf(sc[4 * i], sc[4 * i + 1]));
      mp[1] = fmaxf(mp[1], fmaxf(sc[4 * i + 2], sc[4 * i + 3]));
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mp[r] = fmaxf(mp[r], __shfl_xor_sync(0xffffffffu, mp[r], 1));
      mp[r] = fmaxf(mp[r], __shfl_xor_sync(0xffffffffu, mp[r], 2));
      if (mp[r] > float(1u << unsigned(T::kPOffset))) {
        // mp = inf: d = inf, corr 0, sum NaN: the check below.
        const float d = __log2f(mp[r]) - T::kPOffset;
        corr[r] = ex2(-d);
        shift[r] += d;
        sum[r] *= corr[r];
      }
    }
#pragma unroll
    for (int i = 0; i < T::kGroups; ++i) {
      sc[4 * i] *= corr[0];
      sc[4 * i + 1] *= corr[0];
      sc[4 * i + 2] *= corr[1];
      sc[4 * i + 3] *= corr[1];
    }
  }
  row_sum[0] = row_sum[0] * corr[0] + sum[0];
  row_sum[1] = row_sum[1] * corr[1] + sum[1];
  return isfinite(sum[0]) && isfinite(sum[1]);
}

// The probabilities as wgmma's A operand, straight from the score registers (see the header).
template <class T>
__device__ inline void pack_p(const float (&sc)[T::kScores], uint32_t (&a)[T::kPVSteps][4]) {
#pragma unroll
  for (int ks = 0; ks < T::kPVSteps; ++ks) {
    if constexpr (T::kElem == 1) {
      const float* x = sc + 16 * ks;
      a[ks][0] = pack_e4m3(x[0], x[1], x[4], x[5]);
      a[ks][1] = pack_e4m3(x[2], x[3], x[6], x[7]);
      a[ks][2] = pack_e4m3(x[8], x[9], x[12], x[13]);
      a[ks][3] = pack_e4m3(x[10], x[11], x[14], x[15]);
    } else {
      const float* x = sc + 8 * ks;
      a[ks][0] = pack_bf16(x[0], x[1]);
      a[ks][1] = pack_bf16(x[2], x[3]);
      a[ks][2] = pack_bf16(x[4], x[5]);
      a[ks][3] = pack_bf16(x[6], x[7]);
    }
  }
}

// The computing warpgroups take turns to issue their products, round a ring (warpgroup c waits on
// named barrier 1 + c and passes to the next one's), so that their softmaxes run while another's
// products occupy the tensor cores.
__device__ inline void turn_wait(int cw) { asm volatile("bar.sync %0, 256;" ::"r"(1 + cw) : "memory"); }
template <int kWGs>
__device__ inline void turn_pass(int cw) { asm volatile("bar.arrive %0, 256;" ::"r"(1 + (cw + 1) % kWGs) : "memory"); }

template <bool FP8, int BN, bool Frozen>
__global__ void __launch_bounds__(Traits<FP8, BN>::kThreads, 1)
    flash_fwd_kernel(const __grid_constant__ CUtensorMap tq, const __grid_constant__ CUtensorMap tk,
                     const __grid_constant__ CUtensorMap tv, const Params p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)  // sm_90a only; other targets get an empty kernel, never launched
  using T = Traits<FP8, BN, Frozen>;
  int* const redo_flag = p.redo ? p.redo + blockIdx.y * gridDim.x + blockIdx.x : nullptr;
  if (!Frozen && redo_flag && *redo_flag == 0) return;  // the frozen kernel's result stands
  constexpr int kBN = T::kBN;
  constexpr int KS = T::kKStages, VS = T::kVStages;
  extern __shared__ uint8_t smem_raw[];
  const uint32_t sQ = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t sK = sQ + T::kQTileBytes, sV = sK + KS * T::kKTileBytes;
  // mbarriers: q_full, then k_full, k_empty [KS] and v_full, v_empty [VS].
  const uint32_t q_full = sV + VS * T::kVTileBytes;
  enum { kFull = 0, kEmpty = 1, vFull = 2, vEmpty = 3 };
  const auto bar = [&](int set, int s) {
    const int first = set < 2 ? set * KS : 2 * KS + (set - 2) * VS;
    return q_full + 8u + 8u * uint32_t(first + s);
  };
  const auto k_tile = [&](int s) { return sK + uint32_t(s * T::kKTileBytes); };
  const auto v_tile = [&](int s) { return sV + uint32_t(s * T::kVTileBytes); };

  const int tid = threadIdx.x, wg = tid / 128;
  constexpr int kBM = T::kBM, W = T::kWGs;
  const int m0 = blockIdx.x * kBM, h = blockIdx.y;
  const int tiles = (p.Lk + kBN - 1) / kBN;
  if (tid == 0) {
    mbar_init(q_full, 1);
    for (int s = 0; s < KS; ++s) {
      mbar_init(bar(kFull, s), 1);
      mbar_init(bar(kEmpty, s), 4 * W);  // one arrival per computing warp
    }
    for (int s = 0; s < VS; ++s) {
      mbar_init(bar(vFull, s), 1);
      mbar_init(bar(vEmpty, s), 4 * W);
    }
    mbar_fence_init();
  }
  __syncthreads();

  if (wg == 0) {  // loading warpgroup: one thread issues every TMA load, K and Vᵀ in separate rings
    regs_release<T::kLoadRegs>();
    if (tid != 0) return;
    mbar_arrive_expect_tx(q_full, T::kQTileBytes);
    for (int b = 0; b < T::kBoxes; ++b) tma_load_3d(sQ + b * T::kQBoxBytes, &tq, q_full, b * T::kRowValues, h, m0);
    for (int j = 0; j < tiles; ++j) {
      const int sk = j % KS, sv = j % VS;
      mbar_wait(bar(kEmpty, sk), ((j / KS) & 1) ^ 1);
      mbar_arrive_expect_tx(bar(kFull, sk), T::kKTileBytes);
      for (int b = 0; b < T::kBoxes; ++b)
        tma_load_3d(k_tile(sk) + b * T::kKBoxBytes, &tk, bar(kFull, sk), b * T::kRowValues, h, j * kBN);
      mbar_wait(bar(vEmpty, sv), ((j / VS) & 1) ^ 1);
      mbar_arrive_expect_tx(bar(vFull, sv), T::kVLoadBytes);
      for (int b = 0; b < T::kVBoxes; ++b) {
        if constexpr (T::kVTransposed)
          tma_load_3d(v_tile(sv) + b * T::kVBoxBytes, &tv, bar(vFull, sv), j * kBN + b * T::kRowValues, 0, h);
        else
          tma_load_3d(v_tile(sv) + b * T::kVBoxBytes, &tv, bar(vFull, sv), b * T::kRowValues, h, j * kBN);
      }
    }
    return;
  }

  regs_claim<T::kComputeRegs>();
  const int cw = wg - 1, lane = tid & 31, warp = (tid & 127) >> 5, quad = lane & 3;
  float scale_log2 = p.scale_log2, out_scale = 1.0f;
  if constexpr (FP8) {
    scale_log2 *= *p.q_scale * *p.k_scale;
    out_scale = *p.v_scale;
  }
  const uint64_t q_desc = desc_k_major_sw128(sQ + uint32_t(cw) * 64u * 128u);  // this warpgroup's 64 query rows
  const int last_valid = p.Lk - (tiles - 1) * kBN;          // keys in the last tile
  const auto release = [&](int set, int s) {
    __syncwarp();
    if (lane == 0) mbar_arrive(bar(set, s));
  };

  float o[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f}, corr[2] = {1.0f, 1.0f};
  float frozen_shift[2];  // Frozen: the first tile's row maxima − kPOffset (FP8: moved up where needed)
  bool frozen_failed = false;
  float sc[T::kScores];
  uint32_t a[T::kPVSteps][4];

  // O = O·corr: the step that closes a tile's softmax, once O's previous product is done. Once the
  // row maxima settle (most tiles) every factor is exactly 1 and the multiply is skipped (a warp
  // votes; bf16 measured 3-4% faster with the skip in the sixteenth session, FP8 had it before).
  const auto rescale_o = [&]() {
    if (Frozen && !FP8) return;  // bf16: factors all 1 after the first tile (and O still 0 at the first)
    if (__any_sync(0xffffffffu, corr[0] != 1.0f || corr[1] != 1.0f)) {
#pragma unroll
      for (int i = 0; i < 16; ++i) {
        o[4 * i] *= corr[0];
        o[4 * i + 1] *= corr[0];
        o[4 * i + 2] *= corr[1];
        o[4 * i + 3] *= corr[1];
      }
    }
  };

  // Tile 0: S_0 and its softmax. The last warpgroup lets warpgroup 0 go first.
  if (cw == W - 1) turn_pass<W>(cw);
  mbar_wait(q_full, 0);
  mbar_wait(bar(kFull, 0), 0);
  turn_wait(cw);
  wgmma_fence();
  issue_qk<T>(sc, q_desc, k_tile(0));
  turn_pass<W>(cw);
  wgmma_wait<0>();
  reg_fence(sc);
  release(kEmpty, 0);
  if (tiles == 1 && last_valid < kBN) mask_keys(sc, last_valid, quad);
  softmax_step<T>(sc, row_max, row_sum, corr, scale_log2);
  frozen_shift[0] = row_max[0] - T::kPOffset;
  frozen_shift[1] = row_max[1] - T::kPOffset;

  // Tile j: S_j = Q·K_jᵀ and O += P_{j-1}·V_{j-1} issued together, then the softmax of S_j while
  // P_{j-1}·V runs. The wait for that product opens the next iteration rather than closing this
  // one: written after the softmax in one stretch of code, ptxas had moved it above the softmax
  // (twelfth session: the SASS), so that the softmax waited for the product it was meant to
  // overlap. O's rescale by the previous softmax's factors runs while S_j's product does
  // (FlashAttention-3's place for it). FP8 has taken this form since the thirteenth session (3-4%);
  // bf16, which waited for both products before its softmax, since the sixteenth (~1% once the
  // descriptors and the skipped rescale above had shortened its loop; slower before).
  for (int j = 1; j < tiles; ++j) {
    // Close tile j-1: P_{j-2}·V done, its V stage free, P_{j-1} packed.
    wgmma_wait<0>();
    reg_fence(o);
    if (j >= 2) release(vEmpty, (j - 2) % VS);
    pack_p<T>(sc, a);
    const int s = j % KS, prev = (j - 1) % VS;
    mbar_wait(bar(kFull, s), (j / KS) & 1);
    mbar_wait(bar(vFull, prev), ((j - 1) / VS) & 1);
    turn_wait(cw);
    wgmma_fence();
    issue_qk<T>(sc, q_desc, k_tile(s));
    rescale_o();  // by 0 for j = 1 (the first tile's factors): O is still 0
    reg_fence(o);
    wgmma_fence();
    issue_pv<T>(o, a, v_tile(prev));
    turn_pass<W>(cw);
    wgmma_wait<1>();
    reg_fence(sc);
    release(kEmpty, s);
    if (j == tiles - 1 && last_valid < kBN) mask_keys(sc, last_valid, quad);
    if constexpr (Frozen && FP8)
      frozen_failed |= !softmax_lazy_fp8<T>(sc, frozen_shift, row_sum, corr, scale_log2);
    else if constexpr (Frozen)
      frozen_failed |= !softmax_frozen<T>(sc, frozen_shift, row_sum, scale_log2);
    else
      softmax_step<T>(sc, row_max, row_sum, corr, scale_log2);
  }
  // As the loop's top: P_{tiles-2}·V done, P_{tiles-1} packed, O rescaled.
  wgmma_wait<0>();
  reg_fence(o);
  if (tiles >= 2) release(vEmpty, (tiles - 2) % VS);
  pack_p<T>(sc, a);
  rescale_o();

  // The last product; the last warpgroup's turn passes nowhere (its first pass, before tile 0,
  // stood in for it: warpgroup 0 waits for no further turn).
  const int last = (tiles - 1) % VS;
  mbar_wait(bar(vFull, last), ((tiles - 1) / VS) & 1);
  turn_wait(cw);
  reg_fence(o);
  wgmma_fence();
  issue_pv<T>(o, a, v_tile(last));
  if (cw != W - 1) turn_pass<W>(cw);
  wgmma_wait<0>();
  reg_fence(o);
  release(vEmpty, last);

  if constexpr (Frozen) {
    // bf16: and where O itself overflowed (a p near 2^64 times a value beyond 2^47): the exact
    // kernel's O stays below 2^17·max|v|. FP8's cannot (p below 448 times E4M3 values, 448 at most).
    if constexpr (!FP8) {
#pragma unroll
      for (int i = 0; i < 64; ++i) frozen_failed |= !isfinite(o[i]);
    }
    if (frozen_failed) *redo_flag = 1;  // this CTA's rows go to the exact kernel
  }

  // O / rowsum (· V's scale), bf16 rows of 128 values.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
  }
  const float inv[2] = {out_scale / row_sum[0], out_scale / row_sum[1]};
  const int row0 = m0 + cw * 64 + warp * 16 + (lane >> 2);
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = row0 + 8 * r;
    if (row >= p.Lq) continue;
    __nv_bfloat16* dst = p.out + int64_t(row) * p.so + int64_t(h) * kD + 2 * quad;
#pragma unroll
    for (int i = 0; i < 16; ++i)
      *reinterpret_cast<__nv_bfloat162*>(dst + 8 * i) =
          __floats2bfloat162_rn(o[4 * i + 2 * r] * inv[r], o[4 * i + 2 * r + 1] * inv[r]);
  }
#endif
}

// Physical key (0..31) at position l of a reordered group of 32 (FP8): the order in which a
// thread's score accumulators (columns 2c, 2c+1, 8+2c, 9+2c of each half) become its E4M3 bytes.
__device__ inline int reordered_key(int l) {
  return 16 * (l >> 4) + 8 * ((l & 3) >> 1) + 2 * ((l >> 2) & 3) + (l & 1);
}

// vt [H, 128, Lpad] = v [Lk, H, 128] (token stride skv) transposed, times 1 / *v_scale as E4M3 (as
// quantize_tensor_fp8 rounds), keys reordered within each group of 32; zero past Lk (FP8 only: bf16
// reads V as stored).
__global__ void transpose_v_fp8_kernel(const __nv_bfloat16* __restrict__ v, int64_t skv, int Lk, int Lpad,
                                       const float* __restrict__ v_scale, __nv_fp8_storage_t* __restrict__ vt) {
  __shared__ float tile[32][33];
  const int key0 = blockIdx.x * 32, d0 = blockIdx.y * 32, h = blockIdx.z;
  const int x = threadIdx.x;
  const float inv = 1.0f / *v_scale;
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    const int key = key0 + i;
    tile[i][x] = key < Lk ? __bfloat162float(v[int64_t(key) * skv + int64_t(h) * kD + d0 + x]) : 0.0f;
  }
  __syncthreads();
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    vt[(int64_t(h) * kD + d0 + i) * Lpad + key0 + x] = fp8::to_e4m3(tile[reordered_key(x)][i] * inv);
  }
}

// ---- host ----

using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

EncodeTiled encoder() {
  static EncodeTiled fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult found{};
    WAN_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found));
    WAN_CHECK(found == cudaDriverEntryPointSuccess && f, "the CUDA driver has no cuTensorMapEncodeTiled (TMA)");
    return reinterpret_cast<EncodeTiled>(f);
  }();
  return fn;
}

// A 3-D map over `base` (dims innermost first, byte strides of dims 1 and 2) whose box is `inner`
// values of dim 0 (default: 128 bytes of them) by box1 by box2, 128-byte swizzled (rows of 128
// bytes in shared memory whatever `inner`); reads past the dims are zeros.
CUtensorMap tensor_map(const void* base, bool fp8, const uint64_t dims[3], const uint64_t byte_strides[2],
                       uint32_t box1, uint32_t box2, uint32_t inner = 0) {
  CUtensorMap map;
  const uint32_t box[3] = {inner ? inner : fp8 ? 128u : 64u, box1, box2};
  const uint32_t element_strides[3] = {1, 1, 1};
  const CUresult r = encoder()(&map, fp8 ? CU_TENSOR_MAP_DATA_TYPE_UINT8 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3,
                               const_cast<void*>(base), dims, byte_strides, box, element_strides,
                               CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  WAN_CHECK(r == CUDA_SUCCESS, "cuTensorMapEncodeTiled failed (", int(r), ") for dims ", dims[0], "x", dims[1], "x",
            dims[2], ": a pointer not 16-byte aligned or a stride not a multiple of 16 bytes");
  return map;
}

int64_t padded_keys(int64_t Lk) { return (Lk + kKeyGroup - 1) / kKeyGroup * kKeyGroup; }

// The kernel's grid: one CTA per kBM queries of one head (blockIdx.x the query block, y the head).
template <class T>
dim3 grid_of(int64_t Lq, int64_t H) {
  return dim3(unsigned((Lq + T::kBM - 1) / T::kBM), unsigned(H));
}

// v: FP8 the Vᵀ workspace [H, 128, Lpad]; bf16 V as stored, [Lk, H, 128] rows of v_row_bytes.
template <bool FP8, int BN, bool Frozen = false>
void launch(const void* q, int64_t q_row_bytes, const void* k, int64_t k_row_bytes, const void* v, int64_t v_row_bytes,
            int64_t Lpad, int64_t Lq, int64_t Lk, int64_t H, const Params& p) {
  using T = Traits<FP8, BN, Frozen>;
  static std::once_flag once;
  std::call_once(once, [] {
    WAN_CUDA_CHECK(cudaFuncSetAttribute(flash_fwd_kernel<FP8, BN, Frozen>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        T::kSmem));
  });
  const uint64_t e = T::kElem;
  const uint64_t q_dims[3] = {uint64_t(kD), uint64_t(H), uint64_t(Lq)};
  const uint64_t q_strides[2] = {kD * e, uint64_t(q_row_bytes)};
  const uint64_t k_dims[3] = {uint64_t(kD), uint64_t(H), uint64_t(Lk)};
  const uint64_t k_strides[2] = {kD * e, uint64_t(k_row_bytes)};
  const uint64_t vt_dims[3] = {uint64_t(Lpad), uint64_t(kD), uint64_t(H)};
  const uint64_t vt_strides[2] = {uint64_t(Lpad) * e, uint64_t(Lpad) * kD * e};
  const uint64_t v_strides[2] = {kD * e, uint64_t(v_row_bytes)};
  const CUtensorMap tq = tensor_map(q, FP8, q_dims, q_strides, 1, T::kBM);
  const CUtensorMap tk = tensor_map(k, FP8, k_dims, k_strides, 1, BN);
  const CUtensorMap tv = T::kVTransposed ? tensor_map(v, FP8, vt_dims, vt_strides, kD, 1, T::kVInner)
                                         : tensor_map(v, FP8, k_dims, v_strides, 1, BN);
  const dim3 grid = grid_of<T>(Lq, H);
  flash_fwd_kernel<FP8, BN, Frozen><<<grid, T::kThreads, T::kSmem, wan::cuda::context().stream>>>(tq, tk, tv, p);
  WAN_CUDA_CHECK_LAUNCH();
}

// The kept-maxima kernel, then the exact one for the CTAs it marked (elsewhere its blocks read
// their flag and return; the timings of docs/performance.md include that launch).
template <bool FP8, int BN>
void launch_kept_then_exact(const void* q, int64_t q_row_bytes, const void* k, int64_t k_row_bytes, const void* v,
                            int64_t v_row_bytes, int64_t Lpad, int64_t Lq, int64_t Lk, int64_t H, Params p) {
  const dim3 grid = grid_of<Traits<FP8, BN>>(Lq, H);
  const int64_t ctas = int64_t(grid.x) * grid.y;
  Tensor flags = wan::cuda::empty({ctas}, DType::I32);  // back to the pool after the launches: stream-ordered
  p.redo = static_cast<int*>(flags.data_ptr());
  WAN_CUDA_CHECK(cudaMemsetAsync(p.redo, 0, size_t(ctas) * sizeof(int), wan::cuda::context().stream));
  launch<FP8, BN, true>(q, q_row_bytes, k, k_row_bytes, v, v_row_bytes, Lpad, Lq, Lk, H, p);
  launch<FP8, BN, false>(q, q_row_bytes, k, k_row_bytes, v, v_row_bytes, Lpad, Lq, Lk, H, p);
}

template <int BN>
void launch_bf16(const void* q, int64_t sq, const void* k, const void* v, int64_t skv, int64_t Lq, int64_t Lk,
                 int64_t H, const Params& p) {
  launch_kept_then_exact<false, BN>(q, sq * 2, k, skv * 2, v, skv * 2, 0, Lq, Lk, H, p);
}

void* transpose_v_fp8(const void* v, int64_t skv, int64_t Lk, int64_t H, const float* v_scale, Tensor& workspace) {
  const int64_t Lpad = padded_keys(Lk);
  const int64_t bytes = H * kD * Lpad;
  if (!workspace.defined() || workspace.nbytes() < size_t(bytes))
    workspace = wan::cuda::empty({bytes}, DType::U8);
  const dim3 grid(unsigned(Lpad / 32), unsigned(kD / 32), unsigned(H)), block(32, 8);
  transpose_v_fp8_kernel<<<grid, block, 0, wan::cuda::context().stream>>>(
      static_cast<const __nv_bfloat16*>(v), skv, int(Lk), int(Lpad), v_scale,
      static_cast<__nv_fp8_storage_t*>(workspace.data_ptr()));
  WAN_CUDA_CHECK_LAUNCH();
  return workspace.data_ptr();
}

// Keys per tile: the default, or the environment's choice where it names a supported one.
std::atomic<int>& key_tile(bool fp8) {
  const auto from_env = [](const char* name, bool fp8, int fallback) {
    const char* env = std::getenv(name);
    const int keys = env ? std::atoi(env) : 0;
    return supported_tile(fp8, keys) ? keys : fallback;
  };
  static std::atomic<int> bf16{from_env("WAN_FLASH_BF16_KEYS", false, 80)};
  static std::atomic<int> f8{from_env("WAN_FLASH_FP8_KEYS", true, 96)};
  return fp8 ? f8 : bf16;
}

std::atomic<bool>& enabled() {
  static std::atomic<bool> on{!env_is("WAN_FLASH_SM90", "0")};
  return on;
}

}  // namespace

void flash_sm90_enable(bool on) { enabled() = on; }

void flash_sm90_set_key_tile(bool fp8, int keys) {
  WAN_CHECK(supported_tile(fp8, keys), "flash attention: a ", fp8 ? "FP8" : "bf16", " key tile of ",
            fp8 ? "96, 128 or 192" : "80, 128 or 176", " keys, not ", keys);
  key_tile(fp8) = keys;
}
int flash_sm90_key_tile(bool fp8) { return key_tile(fp8); }

bool flash_sm90_available(int64_t head_dim) {
#if defined(WAN_HAVE_SM90A)
  // Compute capability 9.0 as the engine treats the GPU (WAN_CUDA_CAPABILITY_LIMIT may lower it).
  return head_dim == kD && enabled() && wan::cuda_compute_capability() == 90;
#else
  (void)head_dim;
  return false;  // built without sm_90a code (WAN_CUDA_GENCODE)
#endif
}

bool flash_sm90_aligned(std::initializer_list<const void*> operands, std::initializer_list<int64_t> row_bytes) {
  for (const void* p : operands)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  for (int64_t b : row_bytes)
    if (b % 16 != 0) return false;
  return true;
}

bool flash_sm90_is_faster(const std::function<void()>& theirs, const std::function<void()>& ours, const char* what) {
  theirs();  // warm-up (the first run of each may load code or grow workspaces)
  ours();
  float theirs_ms = wan::cuda::fastest_ms(1, theirs), ours_ms = wan::cuda::fastest_ms(1, ours);
  theirs_ms = std::min(theirs_ms, wan::cuda::fastest_ms(1, theirs));
  ours_ms = std::min(ours_ms, wan::cuda::fastest_ms(1, ours));
  WAN_LOG_DEBUG(what, ": cuDNN ", theirs_ms, " ms, ours (sm90) ", ours_ms, " ms; chose ",
                ours_ms < theirs_ms ? "ours" : "cuDNN");
  return ours_ms < theirs_ms;
}

void flash_attention_sm90_bf16(const void* q, int64_t sq, const void* k, const void* v, int64_t skv, void* out,
                               int64_t so, int64_t Lq, int64_t Lk, int64_t H, float scale) {
  WAN_CHECK(Lq > 0 && Lk > 0 && Lq < (int64_t(1) << 31) && Lk < (int64_t(1) << 31), "flash attention: Lq ", Lq,
            " Lk ", Lk);
  Params p{int(Lq), int(Lk), nullptr, scale * kLog2e, nullptr, nullptr, nullptr, static_cast<__nv_bfloat16*>(out), so};
  switch (key_tile(false)) {
    case 176: launch_bf16<176>(q, sq, k, v, skv, Lq, Lk, H, p); break;
    case 80: launch_bf16<80>(q, sq, k, v, skv, Lq, Lk, H, p); break;
    default: launch_bf16<128>(q, sq, k, v, skv, Lq, Lk, H, p);
  }
}

void flash_attention_sm90_fp8(const void* q8, const void* k8, const float* q_scale, const float* k_scale,
                              const void* v, int64_t skv, const float* v_scale, void* out, int64_t so, int64_t Lq,
                              int64_t Lk, int64_t H, float scale, Tensor& workspace) {
  WAN_CHECK(Lq > 0 && Lk > 0 && Lq < (int64_t(1) << 31) && Lk < (int64_t(1) << 31), "flash attention: Lq ", Lq,
            " Lk ", Lk);
  const void* vt = transpose_v_fp8(v, skv, Lk, H, v_scale, workspace);
  Params p{int(Lq), int(Lk), nullptr, scale * kLog2e, q_scale, k_scale, v_scale, static_cast<__nv_bfloat16*>(out), so};
  switch (key_tile(true)) {
    case 192: launch_kept_then_exact<true, 192>(q8, H * kD, k8, H * kD, vt, 0, padded_keys(Lk), Lq, Lk, H, p); break;
    case 96: launch_kept_then_exact<true, 96>(q8, H * kD, k8, H * kD, vt, 0, padded_keys(Lk), Lq, Lk, H, p); break;
    default: launch_kept_then_exact<true, 128>(q8, H * kD, k8, H * kD, vt, 0, padded_keys(Lk), Lq, Lk, H, p);
  }
}

}  // namespace wan::ops::cuda
