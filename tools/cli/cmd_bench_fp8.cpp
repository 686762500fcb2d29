// wan bench fp8: what FP8 E4M3 weights cost in accuracy at a real width (issue 8's error
// budget), on the CPU: the DiT with random weights (bf16 values, N(0, 0.02)) at the task's real
// width and heads, a few blocks and a short sequence, run with its f32 weights and with every
// block's Linear weights in E4M3 (per output channel, then per tensor; models/wan_dit_fp8.h);
// each block's output and the final prediction compared by relative L2 and cosine similarity.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "args.h"
#include "commands.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/stats.h"
#include "models/wan_dit.h"
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
    {"help", false, "show this help", {"h"}},
};

}  // namespace

int cmd_bench_fp8(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "bench fp8");
  if (args.has("help")) {
    std::printf("usage: wan bench fp8 [options]\n\nThe accuracy cost of FP8 E4M3 weights at a real width, on the "
                "CPU.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  const TaskConfig& task = task_config(args.get_or("task", "t2v-A14B"));
  WanDiTConfig config = official_dit_config(task);
  config.num_layers = args.get_int("layers", 2);
  config.text_len = args.get_int("text-len", 32);
  const int64_t frames = args.get_int("frames", 2);
  WAN_CHECK(config.num_layers >= 1 && config.text_len >= 1 && frames >= 1, "--layers, --text-len, --frames must be positive");
  config.validate("wan bench fp8");

  const auto t0 = std::chrono::steady_clock::now();
  const WanDiTWeights weights = random_wan_dit_weights(config, 1);
  Rng rng(5);
  Tensor x = Tensor::empty({config.in_dim, frames, 8, 8}, DType::F32);
  rng.fill_normal(x);
  Tensor ctx = Tensor::empty({std::min<int64_t>(20, config.text_len), config.text_dim}, DType::F32);
  rng.fill_normal(ctx);
  const Tensor t = Tensor::from_vector<float>({900.0f}, {1});
  const int64_t seq_len = frames * 4 * 4;
  std::printf("%s width %lld, %lld heads, ffn %lld: %lld blocks, %lld tokens, text_len %lld (CPU, f32 reference)\n",
              task.name.c_str(), (long long)config.dim, (long long)config.num_heads, (long long)config.ffn_dim,
              (long long)config.num_layers, (long long)seq_len, (long long)config.text_len);

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
