// wan-dev fp8: what FP8 costs in accuracy at a real width (issue 8's error budget): the DiT with
// random weights (bf16 values, N(0, 0.02)) at the task's real width and heads, a few blocks and a
// short sequence; each block's output and the final prediction compared by relative L2 and cosine
// similarity.
//  - On the CPU (default): the f32 model against every block's Linear weights in E4M3 (per output
//    channel, then per tensor; models/wan_dit_fp8.h): what the weights alone cost.
//  - --device cuda: what runs — the GPU's FP8 forward (E4M3 weights, per-token E4M3 activations,
//    FP8 attention) against its bf16 forward and against the CPU's f32 reference, the same
//    weights read by all three from one random checkpoint folder (written to a temporary folder).
#include <chrono>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <vector>

#include <unistd.h>

#include "args.h"
#include "dev_commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/stats.h"
#include "backend/backend.h"
#include "models/wan_dit.h"
#ifdef WAN_HAVE_CUDA
#include "models/wan_dit_cuda.h"
#endif
#include "models/wan_dit_fp8.h"
#include "pipeline/random_checkpoint.h"
#include "pipeline/task_config.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"task", true, "t2v-A14B or ti2v-5B: the width and heads (default t2v-A14B)", {}},
    {"layers", true, "blocks (default 2)", {}},
    {"frames", true, "latent frames; the sequence is frames x 4 x 4 tokens (default 2: 32 tokens)", {}},
    {"text-len", true, "text tokens the DiT pads to (default 32; the official 512 only costs time here)", {}},
    {"device", true, "cpu (default: E4M3 weights emulated) or cuda (the GPU's FP8 and bf16 forwards)", {}},
    {"help", false, "show this help", {"h"}},
};

[[maybe_unused]] void print_row(const char* what, const Tensor& a, const Tensor& b) {  // the GPU table
  std::printf("  %-26s relative L2 %.3e, cosine %.6f\n", what, rel_l2(a, b), cosine_similarity(a, b));
}

// The GPU's FP8 and bf16 forwards against each other and the CPU's f32 reference, block by block.
int bench_on_gpu(const std::string& task, const WanDiTConfig& config, const Tensor& x, const Tensor& t,
                 const Tensor& ctx, int64_t seq_len) {
#ifndef WAN_HAVE_CUDA
  (void)task, (void)config, (void)x, (void)t, (void)ctx, (void)seq_len;
  fail("--device cuda: this build has no CUDA backend (build where nvcc is found, see README)");
#else
  WAN_CHECK(cuda_available(), "--device cuda needs a GPU: ", cuda_device_summary());
  WAN_CHECK(cuda_compute_capability() >= 89, "FP8 needs compute capability 8.9 or later (Ada, Hopper); this GPU: ",
            cuda_device_summary());
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("wan-bench-fp8-" + std::to_string(::getpid()));
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } remove{dir};
  write_random_dit(dir.string(), config, 1, DType::BF16);
  std::vector<Tensor> ref_blocks, bf16_blocks, fp8_blocks;
  auto keep = [](std::vector<Tensor>& into) {
    return [&into](int64_t, const Tensor& out) { into.push_back(out.contiguous().clone()); };
  };
  const Tensor ref = WanDiT::load(dir.string()).forward({x}, t, {ctx}, seq_len, keep(ref_blocks))[0];
  const Tensor bf16 =
      WanDiTCuda::load(dir.string(), Precision::BF16).forward({x}, t, {ctx}, seq_len, nullptr, keep(bf16_blocks))[0];
  const Tensor fp8 =
      WanDiTCuda::load(dir.string(), Precision::FP8).forward({x}, t, {ctx}, seq_len, nullptr, keep(fp8_blocks))[0];
  std::printf("device: %s\n", cuda_device_summary().c_str());
  for (size_t i = 0; i < ref_blocks.size(); ++i) {
    std::printf("block %zu output:\n", i);
    print_row("fp8 GPU vs bf16 GPU", fp8_blocks[i], bf16_blocks[i]);
    print_row("fp8 GPU vs f32 CPU", fp8_blocks[i], ref_blocks[i]);
    print_row("bf16 GPU vs f32 CPU", bf16_blocks[i], ref_blocks[i]);
  }
  std::printf("prediction:\n");
  print_row("fp8 GPU vs bf16 GPU", fp8, bf16);
  print_row("fp8 GPU vs f32 CPU", fp8, ref);
  print_row("bf16 GPU vs f32 CPU", bf16, ref);
  std::printf("JSON {\"bench\":\"fp8\",\"device\":\"cuda\",\"task\":\"%s\",\"layers\":%lld,\"tokens\":%lld,"
              "\"fp8_vs_bf16\":%.4e,\"fp8_vs_f32\":%.4e,\"bf16_vs_f32\":%.4e,\"fp8_cosine_f32\":%.6f}\n",
              task.c_str(), (long long)config.num_layers, (long long)seq_len, rel_l2(fp8, bf16), rel_l2(fp8, ref),
              rel_l2(bf16, ref), cosine_similarity(fp8, ref));
  return 0;
#endif
}

}  // namespace

int cmd_fp8(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "wan-dev fp8");
  if (args.has("help")) {
    std::printf("usage: wan-dev fp8 [options]\n\nThe accuracy cost of FP8 at a real width: E4M3 weights on the "
                "CPU, or the GPU's whole FP8 forward (--device cuda).\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  const TaskConfig& task = task_config(args.get_or("task", "t2v-A14B"));
  WanDiTConfig config = official_dit_config(task);
  config.num_layers = args.get_int("layers", 2);
  config.text_len = args.get_int("text-len", 32);
  const int64_t frames = args.get_int("frames", 2);
  WAN_CHECK(config.num_layers >= 1 && config.text_len >= 1 && frames >= 1, "--layers, --text-len, --frames must be positive");
  config.validate("wan-dev fp8");

  const auto t0 = std::chrono::steady_clock::now();
  const WanDiTWeights weights = random_wan_dit_weights(config, 1);
  Rng rng(5);
  Tensor x = Tensor::empty({config.in_dim, frames, 8, 8}, DType::F32);
  rng.fill_normal(x);
  Tensor ctx = Tensor::empty({std::min<int64_t>(20, config.text_len), config.text_dim}, DType::F32);
  rng.fill_normal(ctx);
  const Tensor t = Tensor::from_vector<float>({900.0f}, {1});
  const int64_t seq_len = frames * 4 * 4;
  std::printf("%s width %lld, %lld heads, ffn %lld: %lld blocks, %lld tokens, text_len %lld (f32 reference on the CPU)\n",
              task.name.c_str(), (long long)config.dim, (long long)config.num_heads, (long long)config.ffn_dim,
              (long long)config.num_layers, (long long)seq_len, (long long)config.text_len);

  if (args.get_or("device", "cpu") == "cuda") return bench_on_gpu(task.name, config, x, t, ctx, seq_len);
  WAN_CHECK(args.get_or("device", "cpu") == "cpu", "--device must be cpu or cuda");

  auto run = [&](const WanDiTWeights& w, std::vector<Tensor>& blocks) {
    const WanDiT model(config, w);
    return model.forward({x}, t, {ctx}, seq_len, [&](int64_t, const Tensor& out) { blocks.push_back(out.clone()); })[0];
  };
  std::vector<Tensor> ref_blocks;
  const Tensor ref = run(weights, ref_blocks);
  for (ops::Fp8Scaling s : {ops::Fp8Scaling::PerRow, ops::Fp8Scaling::PerTensor}) {
    std::vector<Tensor> blocks;
    const Tensor out = run(with_fp8_block_weights(weights, s), blocks);
    const char* name = s == ops::Fp8Scaling::PerRow ? "per output channel" : "per tensor";
    for (size_t i = 0; i < blocks.size(); ++i)
      std::printf("fp8 weights %-18s block %zu output: relative L2 %.3e, cosine %.6f\n", name, i,
                  rel_l2(blocks[i], ref_blocks[i]), cosine_similarity(blocks[i], ref_blocks[i]));
    std::printf("fp8 weights %-18s prediction:     relative L2 %.3e, cosine %.6f\n", name, rel_l2(out, ref),
                cosine_similarity(out, ref));
    std::printf("JSON {\"bench\":\"fp8\",\"task\":\"%s\",\"scaling\":\"%s\",\"layers\":%lld,\"tokens\":%lld,"
                "\"rel_l2\":%.4e,\"cosine\":%.6f}\n",
                task.name.c_str(), s == ops::Fp8Scaling::PerRow ? "row" : "tensor", (long long)config.num_layers,
                (long long)seq_len, rel_l2(out, ref), cosine_similarity(out, ref));
  }
  std::printf("%.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace wan::cli
