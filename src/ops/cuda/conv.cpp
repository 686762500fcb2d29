// ops/conv.h on the GPU: cuDNN's convolution (the legacy descriptor API, which cuDNN 9 keeps),
// f32 NCDHW with N = 1 and TF32 tensor-core math (as PyTorch runs f32 convolutions by default on
// Ampere and later), the algorithm from cuDNN's heuristics, planned once per shape. Asymmetric
// spatial padding (the downsampling ZeroPad2d(0, 1, 0, 1)) is applied by copying into a zeroed
// larger tensor first, because cuDNN pads symmetrically.
#include <cudnn.h>

#include <array>
#include <map>
#include <mutex>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_context.h"
#include "backend/cuda/cudnn_check.h"
#include "ops/cuda/cuda_ops.h"

namespace wan::ops::cuda {
namespace {

cudnnHandle_t handle() { return wan::cuda::cudnn_handle(); }

struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t algo{};
  size_t workspace = 0;
};

// C, T, H, W, O, kt, kh, kw, st, sh, sw, ph, pw
using Key = std::array<int64_t, 13>;

void set_tensor(cudnnTensorDescriptor_t d, int64_t C, int64_t T, int64_t H, int64_t W) {
  const int dims[5] = {1, int(C), int(T), int(H), int(W)};
  const int strides[5] = {int(C * T * H * W), int(T * H * W), int(H * W), int(W), 1};
  WAN_CUDNN_CHECK(cudnnSetTensorNdDescriptor(d, CUDNN_DATA_FLOAT, 5, dims, strides));
}

ConvPlan make_plan(const Key& k) {
  const auto [C, T, H, W, O, kt, kh, kw, st, sh, sw, ph, pw] = k;
  ConvPlan p;
  WAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.x));
  WAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p.y));
  WAN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p.w));
  WAN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
  set_tensor(p.x, C, T, H, W);
  const int fdims[5] = {int(O), int(C), int(kt), int(kh), int(kw)};
  WAN_CUDNN_CHECK(cudnnSetFilterNdDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, fdims));
  const int pads[3] = {0, int(ph), int(pw)}, strides[3] = {int(st), int(sh), int(sw)}, dil[3] = {1, 1, 1};
  WAN_CUDNN_CHECK(
      cudnnSetConvolutionNdDescriptor(p.conv, 3, pads, strides, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  WAN_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION));
  int out[5] = {};
  WAN_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(p.conv, p.x, p.w, 5, out));
  set_tensor(p.y, out[1], out[2], out[3], out[4]);
  cudnnConvolutionFwdAlgoPerf_t perf[8];
  int found = 0;
  WAN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle(), p.x, p.w, p.conv, p.y, 8, &found, perf));
  bool ok = false;
  for (int i = 0; i < found && !ok; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS) {
      p.algo = perf[i].algo;
      ok = true;
    }
  WAN_CHECK(ok, "cuDNN has no convolution algorithm for C=", C, " T=", T, " H=", H, " W=", W, " O=", O);
  WAN_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle(), p.x, p.w, p.conv, p.y, p.algo, &p.workspace));
  return p;
}

}  // namespace

void conv3d(const Tensor& x_in, const Tensor& weight, const Tensor& bias, std::array<int64_t, 3> stride,
            std::array<int64_t, 4> pad, Tensor& out) {
  Tensor x = x_in;
  int64_t ph = pad[0], pw = pad[2];
  if (pad[0] != pad[1] || pad[2] != pad[3]) {  // asymmetric: pad explicitly, then no padding
    Tensor padded = wan::cuda::empty({x.size(0), x.size(1), x.size(2) + pad[0] + pad[1], x.size(3) + pad[2] + pad[3]},
                                     DType::F32);
    wan::cuda::fill_zero(padded);
    Tensor inner = padded.narrow(2, pad[0], x.size(2)).narrow(3, pad[2], x.size(3));
    strided_copy(inner, x);
    x = padded;
    ph = pw = 0;
  }
  const Key key{x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2), weight.size(3),
                weight.size(4), stride[0], stride[1], stride[2], ph, pw};
  static std::mutex mutex;
  static std::map<Key, ConvPlan> plans;
  static Tensor workspace;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(key)).first;
  const ConvPlan& p = it->second;
  if (p.workspace > 0 && (!workspace.defined() || workspace.nbytes() < p.workspace))
    workspace = wan::cuda::empty({int64_t(p.workspace)}, DType::U8);
  const float alpha = 1.0f, beta = 0.0f;
  WAN_CUDNN_CHECK(cudnnConvolutionForward(handle(), &alpha, p.x, x.data_ptr(), p.w, weight.data_ptr(), p.conv, p.algo,
                                          p.workspace > 0 ? workspace.data_ptr() : nullptr, p.workspace, &beta, p.y,
                                          out.data_ptr()));
  if (bias.defined()) add_channel_bias(out, bias);
}

}  // namespace wan::ops::cuda
