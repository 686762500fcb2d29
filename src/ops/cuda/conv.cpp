// ops/conv.h on the GPU: cuDNN's convolution (the descriptor API, which cuDNN 9 keeps) in
// channels-last (NDHWC, N = 1), where cuDNN's fast 3-D kernels are: bf16 with fp32 accumulation,
// or f32 with TF32 tensor-core math (as PyTorch runs f32 convolutions by default on Ampere and
// later). Each shape is planned once: cuDNN's candidate algorithms are run on the first call's real
// tensors and the fastest kept (the heuristics' first choice was up to several times slower on
// the VAE's shapes). The bias is a separate pass over the output (channels innermost).
#include <cudnn.h>

#include <array>
#include <limits>
#include <map>
#include <mutex>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/cudnn_check.h"
#include "backend/cuda/stream_timer.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::ops::cuda {
namespace {

cudnnHandle_t handle() { return wan::cuda::cudnn_handle(); }

// Workspace beyond this is not worth it: the algorithms that want more (FFT) are not the fast ones here.
constexpr size_t kMaxWorkspace = size_t(1) << 30;

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t algo{};
  size_t workspace = 0;
  bool usable = false;  // false: no algorithm runs this shape (the caller splits it)
};

// dtype, C, T, H, W, O, kt, kh, kw, st, sh, sw, ph, pw
using Key = std::array<int64_t, 14>;

int as_int(int64_t v, const char* what) {
  WAN_CHECK(v <= std::numeric_limits<int>::max(), "conv3d on CUDA: ", what, " ", v,
            " exceeds cuDNN's 32-bit sizes; decode a smaller video size");
  return int(v);
}

// [1, C, T, H, W] stored as [T, H, W, C].
void set_channels_last(cudnnTensorDescriptor_t d, cudnnDataType_t type, int64_t C, int64_t T, int64_t H, int64_t W) {
  const int dims[5] = {1, int(C), int(T), int(H), int(W)};
  const int strides[5] = {as_int(C * T * H * W, "a tensor of"), 1, as_int(H * W * C, "a frame of"), int(W * C), int(C)};
  WAN_CUDNN_CHECK(cudnnSetTensorNdDescriptor(d, type, 5, dims, strides));
}

Tensor& workspace_of(size_t bytes) {
  static Tensor workspace;
  if (bytes > 0 && (!workspace.defined() || workspace.nbytes() < bytes))
    workspace = wan::cuda::empty({int64_t(bytes)}, DType::U8);
  return workspace;
}

cudnnStatus_t run(const ConvPlan& p, cudnnConvolutionFwdAlgo_t algo, size_t ws, const Tensor& x, const Tensor& w,
                  Tensor& out) {
  const float alpha = 1.0f, beta = 0.0f;
  return cudnnConvolutionForward(handle(), &alpha, p.x, x.data_ptr(), p.w, w.data_ptr(), p.conv, algo,
                                 ws > 0 ? workspace_of(ws).data_ptr() : nullptr, ws, &beta, p.y, out.data_ptr());
}

ConvPlan make_plan(const Key& k, const Tensor& x, const Tensor& w, Tensor& out) {
  const auto [dtype, C, T, H, W, O, kt, kh, kw, st, sh, sw, ph, pw] = k;
  const bool bf16 = DType(dtype) == DType::BF16;
  const cudnnDataType_t type = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  ConvPlan p;
  WAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.x));
  WAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.y));
  WAN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p.w));
  WAN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
  set_channels_last(p.x, type, C, T, H, W);
  const int fdims[5] = {int(O), int(C), int(kt), int(kh), int(kw)};
  WAN_CUDNN_CHECK(cudnnSetFilterNdDescriptor(p.w, type, CUDNN_TENSOR_NHWC, 5, fdims));
  const int pads[3] = {0, int(ph), int(pw)}, strides[3] = {int(st), int(sh), int(sw)}, dil[3] = {1, 1, 1};
  WAN_CUDNN_CHECK(
      cudnnSetConvolutionNdDescriptor(p.conv, 3, pads, strides, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  WAN_CUDNN_CHECK(cudnnSetConvolutionMathType(
      p.conv, bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
  int dims[5] = {};
  WAN_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(p.conv, p.x, p.w, 5, dims));
  WAN_CHECK(dims[1] == out.size(0) && dims[2] == out.size(1) && dims[3] == out.size(2) && dims[4] == out.size(3),
            "conv3d on CUDA: cuDNN's output size differs from ", out.describe());
  set_channels_last(p.y, type, dims[1], dims[2], dims[3], dims[4]);

  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int found = 0;
  WAN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle(), p.x, p.w, p.conv, p.y,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf));
  // Time every usable candidate on the real tensors: one warm-up, then the best of two runs.
  float best = std::numeric_limits<float>::max();
  for (int i = 0; i < found; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    size_t ws = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(handle(), p.x, p.w, p.conv, p.y, perf[i].algo, &ws) !=
            CUDNN_STATUS_SUCCESS ||
        ws > kMaxWorkspace)
      continue;
    if (run(p, perf[i].algo, ws, x, w, out) != CUDNN_STATUS_SUCCESS) continue;
    const float fastest = wan::cuda::fastest_ms(2, [&] { WAN_CUDNN_CHECK(run(p, perf[i].algo, ws, x, w, out)); });
    if (fastest < best) {
      best = fastest;
      p.algo = perf[i].algo;
      p.workspace = ws;
    }
  }
  p.usable = best < std::numeric_limits<float>::max();
  return p;
}

}  // namespace

bool conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
            std::array<int64_t, 4> pad, Tensor& out) {
  WAN_CHECK(pad[0] == pad[1] && pad[2] == pad[3], "conv3d on CUDA: asymmetric padding must be applied first");
  const Key key{int64_t(x.dtype()), x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2),
                weight.size(3), weight.size(4), stride[0], stride[1], stride[2], pad[0], pad[2]};
  static std::mutex mutex;
  static std::map<Key, ConvPlan> plans;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(key, x, weight, out)).first;
  if (!it->second.usable) return false;
  WAN_CUDNN_CHECK(run(it->second, it->second.algo, it->second.workspace, x, weight, out));
  if (bias.defined()) add_channel_bias_last(out, bias);
  return true;
}

}  // namespace wan::ops::cuda
