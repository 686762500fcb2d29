// ops/attention_fp8.h on the GPU: q, k and v quantised to E4M3 with one scale each (their |max| /
// 448, computed on the GPU: no host round trip), then cuDNN's fused FP8 flash attention. cuDNN
// 9.14 has no FP8 form of the unified SDPA operation (attention.cpp), so the graph is the
// composite one its runtime fusion engine recognises, spelled out in backend descriptors:
//
//   S  = (Q8 · K8ᵀ) · attn_scale · descale_q · descale_k          (fp32, virtual)
//   M  = rowmax(S); E = exp(S − M); Z = rowsum(E); stats = M + log Z; P = E / Z
//   amax_s = max|P|;  P8 = E4M3(P · scale_s)                       (scale_s = 448: P <= 1)
//   O  = (P8 · V8) · descale_s · descale_v;  amax_o = max|O|;  out = O · scale_o
//
// out is bf16 when cuDNN has an engine for that, else E4M3 with scale_o = 1 / descale_v (|O| is at
// most max|V|: each row of O is a convex combination of V's rows) and a pass back to bf16.
// Plans are cached per shape like the bf16 attention; the first call of a shape times the
// candidates, and on Hopper (head dim 128) our own FP8 kernel (flash_attention_sm90.h) against
// cuDNN's choice, keeping the faster. Padded keys: as attention.cpp, a narrower K/V per sample. A
// shape cuDNN has no FP8 engine for (a single key or query, e.g.) runs through our kernel on Hopper,
// else through the bf16 attention.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "core/log.h"
#include "ops/cuda/attention_choice.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/cudnn_graph.h"
#include "ops/cuda/flash_attention_sm90.h"

namespace wan::ops::cuda {
namespace {

enum Uid : int64_t {
  kQ = 1, kK, kV, kO, kAttnScale, kDescaleQ, kDescaleK, kDescaleV, kDescaleS, kScaleS, kScaleO, kAmaxS, kAmaxO,
  kFirstVirtual = 100
};

constexpr float kE4M3Max = 448.0f;

// Builds the operation graph; every descriptor stays alive with it.
struct GraphBuilder {
  std::vector<Desc> keep;
  std::vector<cudnnBackendDescriptor_t> ops;
  int64_t next_uid = kFirstVirtual;

  cudnnBackendDescriptor_t tensor(int64_t uid, cudnnDataType_t type, std::array<int64_t, 4> dims,
                                  std::array<int64_t, 4> strides, TensorKind kind = TensorKind::Memory) {
    keep.push_back(tensor_desc(uid, type, dims, strides, kind));
    return keep.back().d;
  }
  cudnnBackendDescriptor_t scalar(int64_t uid, TensorKind kind = TensorKind::Memory) {
    return tensor(uid, CUDNN_DATA_FLOAT, {1, 1, 1, 1}, {1, 1, 1, 1}, kind);
  }
  // A virtual fp32 (or `type`) tensor, row-major strides.
  cudnnBackendDescriptor_t virt(std::array<int64_t, 4> dims, cudnnDataType_t type = CUDNN_DATA_FLOAT) {
    const std::array<int64_t, 4> strides{dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
    return tensor(next_uid++, type, dims, strides, TensorKind::Virtual);
  }
  void add(Desc&& op) {
    op.finalize();
    keep.push_back(std::move(op));
    ops.push_back(keep.back().d);
  }
  void pointwise(cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t b,
                 cudnnBackendDescriptor_t y) {
    Desc pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    pw.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
    pw.set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec);
    pw.finalize();
    Desc op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    op.set(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pw.d);
    op.set(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
    if (b) op.set(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b);
    op.set(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
    keep.push_back(std::move(pw));
    add(std::move(op));
  }
  void reduction(cudnnReduceTensorOp_t mode, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t y) {
    Desc red(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    red.set(CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &mode);
    red.set(CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &prec);
    red.finalize();
    Desc op(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    op.set(CUDNN_ATTR_OPERATION_REDUCTION_XDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
    op.set(CUDNN_ATTR_OPERATION_REDUCTION_YDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
    op.set(CUDNN_ATTR_OPERATION_REDUCTION_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &red.d);
    keep.push_back(std::move(red));
    add(std::move(op));
  }
  void matmul(cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t c) {
    Desc mm(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    const cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    mm.set(CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &prec);
    mm.finalize();
    Desc op(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    op.set(CUDNN_ATTR_OPERATION_MATMUL_ADESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &a);
    op.set(CUDNN_ATTR_OPERATION_MATMUL_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &b);
    op.set(CUDNN_ATTR_OPERATION_MATMUL_CDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &c);
    op.set(CUDNN_ATTR_OPERATION_MATMUL_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &mm.d);
    keep.push_back(std::move(mm));
    add(std::move(op));
  }
  // The same three operations into a new virtual tensor of `dims` (fp32 unless `type`), returned.
  cudnnBackendDescriptor_t pointwise(cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x, cudnnBackendDescriptor_t b,
                                     std::array<int64_t, 4> dims, cudnnDataType_t type = CUDNN_DATA_FLOAT) {
    const cudnnBackendDescriptor_t y = virt(dims, type);
    pointwise(mode, x, b, y);
    return y;
  }
  cudnnBackendDescriptor_t reduction(cudnnReduceTensorOp_t mode, cudnnBackendDescriptor_t x,
                                     std::array<int64_t, 4> dims) {
    const cudnnBackendDescriptor_t y = virt(dims);
    reduction(mode, x, y);
    return y;
  }
  cudnnBackendDescriptor_t matmul(cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b, std::array<int64_t, 4> dims) {
    const cudnnBackendDescriptor_t c = virt(dims);
    matmul(a, b, c);
    return c;
  }
};

struct Plan {
  std::vector<Candidate> candidates;  // empty: cuDNN has no FP8 engine for the shape (seen at 1 token)
  bool built = false;                 // candidates asked of cuDNN (not where the tuning cache says "ours")
  bool fp8_out = false;
  bool tuned = false;
  bool ours = false;  // flash_attention_sm90 measured faster (or cuDNN has no engine)
};

// Lq, Lk, H, D, O's token stride (elements), fp8 output.
using Key = std::array<int64_t, 6>;

// The graph for one sample: Q8/K8/V8 packed [L, H, D] (token stride H·D), O with token stride so.
std::vector<Candidate> build(const Key& key, std::string& why) {
  const auto [Lq, Lk, H, D, so, fp8_out] = key;
  const int64_t ld = H * D;
  GraphBuilder g;
  const auto q = g.tensor(kQ, CUDNN_DATA_FP8_E4M3, {1, H, Lq, D}, {Lq * ld, D, ld, 1});
  const auto kt = g.tensor(kK, CUDNN_DATA_FP8_E4M3, {1, H, D, Lk}, {Lk * ld, D, 1, ld});  // Kᵀ: [d, s] per head
  const auto v = g.tensor(kV, CUDNN_DATA_FP8_E4M3, {1, H, Lk, D}, {Lk * ld, D, ld, 1});
  const auto o = g.tensor(kO, fp8_out ? CUDNN_DATA_FP8_E4M3 : CUDNN_DATA_BFLOAT16, {1, H, Lq, D}, {Lq * so, D, so, 1});
  const auto attn_scale = g.scalar(kAttnScale, TensorKind::ByValue);
  const auto descale_q = g.scalar(kDescaleQ), descale_k = g.scalar(kDescaleK), descale_v = g.scalar(kDescaleV);
  const auto descale_s = g.scalar(kDescaleS), scale_s = g.scalar(kScaleS), scale_o = g.scalar(kScaleO);
  const auto amax_s = g.scalar(kAmaxS), amax_o = g.scalar(kAmaxO);

  const std::array<int64_t, 4> s_dims{1, H, Lq, Lk}, row_dims{1, H, Lq, 1}, o_dims{1, H, Lq, D};
  const auto s0 = g.matmul(q, kt, s_dims);
  const auto s1 = g.pointwise(CUDNN_POINTWISE_MUL, s0, attn_scale, s_dims);
  const auto s2 = g.pointwise(CUDNN_POINTWISE_MUL, s1, descale_q, s_dims);
  const auto s3 = g.pointwise(CUDNN_POINTWISE_MUL, s2, descale_k, s_dims);
  // Softmax with statistics (the flash form: the row max and sum stay virtual).
  const auto m = g.reduction(CUDNN_REDUCE_TENSOR_MAX, s3, row_dims);
  const auto sub = g.pointwise(CUDNN_POINTWISE_SUB, s3, m, s_dims);
  const auto e = g.pointwise(CUDNN_POINTWISE_EXP, sub, nullptr, s_dims);
  const auto z = g.reduction(CUDNN_REDUCE_TENSOR_ADD, e, row_dims);
  const auto log_z = g.pointwise(CUDNN_POINTWISE_LOG, z, nullptr, row_dims);
  g.pointwise(CUDNN_POINTWISE_ADD, m, log_z, row_dims);  // the statistics (max + log sum)
  const auto p = g.pointwise(CUDNN_POINTWISE_DIV, e, z, s_dims);
  g.reduction(CUDNN_REDUCE_TENSOR_AMAX, p, amax_s);
  const auto p8 = g.pointwise(CUDNN_POINTWISE_MUL, p, scale_s, s_dims, CUDNN_DATA_FP8_E4M3);
  // O = P8 · V8, descaled, its amax, scaled into the output.
  const auto o0 = g.matmul(p8, v, o_dims);
  const auto o1 = g.pointwise(CUDNN_POINTWISE_MUL, o0, descale_s, o_dims);
  const auto o2 = g.pointwise(CUDNN_POINTWISE_MUL, o1, descale_v, o_dims);
  g.pointwise(CUDNN_POINTWISE_MUL, o2, scale_o, o);
  g.reduction(CUDNN_REDUCE_TENSOR_AMAX, o2, amax_o);

  cudnnHandle_t h = wan::cuda::cudnn_handle();
  Desc graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, int64_t(g.ops.size()), g.ops.data());
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
  if (cudnnBackendFinalize(graph.d) != CUDNN_STATUS_SUCCESS) {
    why = wan::cuda::cudnn_last_error();
    return {};
  }
  return execution_plans(graph, 4, why);
}

// Device scalars: [0] descale_q, [1] descale_k, [2] descale_v, [3] 1 / descale_v, [4] descale_s,
// [5] scale_s, [6] scale_o = 1, [7] amax_s, [8] amax_o, [9] scratch amax.
struct Scalars {
  Tensor t;
  float* at(int i) const { return t.data<float>() + i; }
  Tensor slot(int i) const { return t.narrow(0, i, 1); }
};

const Scalars& scalars() {
  static Scalars s;
  if (!s.t.defined()) {
    const std::vector<float> init{1, 1, 1, 1, 1 / kE4M3Max, kE4M3Max, 1, 0, 0, 0};
    s.t = to_device(Tensor::from_vector<float>(init, {int64_t(init.size())}), Device::CUDA);
  }
  return s;
}

}  // namespace

void attention_fp8(const Tensor& q, const Tensor& k, const Tensor& v, const std::vector<int64_t>& k_lens,
                   double scale, Tensor& out) {
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3), Lk = k.size(1), ld = H * D;
  static std::mutex mutex;
  static std::map<Key, Plan> plans;
  static Tensor workspace;
  std::lock_guard<std::mutex> lock(mutex);
  Tensor flash_workspace;  // our kernel's Vᵀ: from the caching allocator for this call only
  const Scalars& sc = scalars();
  Tensor q8 = wan::cuda::empty({B, Lq, H, D}, DType::F8_E4M3);
  Tensor k8 = wan::cuda::empty({B, Lk, H, D}, DType::F8_E4M3);
  Tensor amax = sc.slot(9), s_q = sc.slot(0), s_k = sc.slot(1), s_v = sc.slot(2);
  quantize_tensor_fp8(q.data_ptr(), B * Lq, ld, q.stride(1), q8, s_q, amax);
  quantize_tensor_fp8(k.data_ptr(), B * Lk, ld, k.stride(1), k8, s_k, amax);
  // V's scale now; its E4M3 copy only once cuDNN runs a sample (our kernel quantises V itself), from
  // the |max| still in `amax` (nothing below writes that slot).
  tensor_scale_fp8(v.data_ptr(), B * Lk, ld, v.stride(1), s_v, amax, sc.at(3));
  Tensor v8;
  const auto quantized_v = [&] {
    if (!v8.defined()) {
      v8 = wan::cuda::empty({B, Lk, H, D}, DType::F8_E4M3);
      quantize_tensor_fp8_from_amax(v.data_ptr(), B * Lk, ld, v.stride(1), v8, s_v, amax, sc.at(3));
    }
    return static_cast<char*>(v8.data_ptr());
  };
  Tensor o8;  // the E4M3 output when cuDNN has no bf16-output engine
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = k_lens.empty() ? Lk : k_lens[size_t(b)];
    char* op = static_cast<char*>(out.data_ptr()) + b * out.stride(0) * 2;
    if (len == 0) {
      WAN_CUDA_CHECK(cudaMemsetAsync(op, 0, size_t(Lq * ld * 2), wan::cuda::context().stream));
      continue;
    }
    const Key key{Lq, len, H, D, out.stride(1), 0};
    Plan& plan = plans[key];
    // cuDNN's candidates, asked for once cuDNN may run (seconds of planning at the DiT's shapes).
    const auto build_plan = [&] {
      if (plan.built) return;
      plan.built = true;
      std::string why;
      plan.candidates = build(key, why);
      if (plan.candidates.empty()) {  // no bf16-output engine: E4M3 out, then a pass to bf16
        WAN_LOG_DEBUG("cuDNN FP8 attention: no bf16-output engine (", why, "); E4M3 output");
        plan.candidates = build(Key{Lq, len, H, D, ld, 1}, why);
        plan.fp8_out = true;
      }
      if (plan.candidates.empty())
        WAN_LOG_DEBUG("cuDNN has no FP8 attention engine for Lq=", Lq, " Lk=", len, " H=", H, " D=", D, " (",
                      why.empty() ? "no engine" : why, ")");
      else
        WAN_LOG_DEBUG("cuDNN FP8 attention Lq=", Lq, " Lk=", len, " H=", H, ": ", plan.candidates.size(),
                      " plans built");
    };
    char* q8_b = static_cast<char*>(q8.data_ptr()) + b * Lq * ld;
    char* k8_b = static_cast<char*>(k8.data_ptr()) + b * Lk * ld;
    const char* v_b = static_cast<const char*>(v.data_ptr()) + b * v.stride(0) * 2;
    const bool ours_fits =
        flash_sm90_available(D) && flash_sm90_aligned({q8_b, k8_b, v_b, op}, {ld, 2 * v.stride(1), 2 * out.stride(1)});
    const auto run_ours = [&] {
      flash_attention_sm90_fp8(q8_b, k8_b, sc.at(0), sc.at(1), v_b, v.stride(1), sc.at(2), op, out.stride(1), Lq, len,
                               H, float(scale), flash_workspace);
    };
    float attn_scale = float(scale);
    const std::vector<int64_t> uids{kQ, kK, kV, kO, kAttnScale, kDescaleQ, kDescaleK, kDescaleV,
                                    kDescaleS, kScaleS, kScaleO, kAmaxS, kAmaxO};
    const auto ptrs = [&] {
      void* o_ptr = op;
      if (plan.fp8_out) {
        if (!o8.defined()) o8 = wan::cuda::empty({Lq, H, D}, DType::F8_E4M3);
        o_ptr = o8.data_ptr();
      }
      return std::vector<void*>{q8_b, k8_b, quantized_v() + b * Lk * ld, o_ptr, &attn_scale, sc.at(0), sc.at(1),
                                sc.at(2), sc.at(4), sc.at(5), plan.fp8_out ? sc.at(3) : sc.at(6), sc.at(7), sc.at(8)};
    };
    const auto run_cudnn = [&](const Candidate& c) {
      execute(c, uids, ptrs(), workspace);
      if (plan.fp8_out) {  // back to bf16 in place: O = stored · descale_v (out is contiguous)
        Tensor dst = out.select(0, b);
        dequantize_fp8_bf16(o8, s_v, dst);
      }
    };
    if (!plan.tuned) {
      plan.tuned = true;
      plan.ours = choose_attention(
          {wan::cuda::tuning_cache(),
           str("attention fp8 Lq=", Lq, " Lk=", len, " H=", H, " D=", D, " out=", out.stride(1),
               " ours=", ours_fits ? flash_sm90_key_tile(true) : 0),
           str("FP8 attention Lq=", Lq, " Lk=", len, " H=", H), ours_fits, build_plan, run_cudnn, run_ours},
          plan.candidates);
    }
    if (!(plan.ours && ours_fits)) build_plan();  // ours chosen, but not for these operands
    if (plan.ours && ours_fits) {
      run_ours();
    } else if (!plan.candidates.empty()) {
      run_cudnn(plan.candidates.front());
    } else {  // the bf16 attention for this sample (tiny shapes without a Hopper card)
      Tensor o_b = out.narrow(0, b, 1);
      attention(q.narrow(0, b, 1), k.narrow(0, b, 1).narrow(1, 0, len), v.narrow(0, b, 1).narrow(1, 0, len), {},
                scale, o_b);
    }
  }
}

}  // namespace wan::ops::cuda
