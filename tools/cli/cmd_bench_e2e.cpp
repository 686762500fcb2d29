// wan bench e2e: one whole text-to-video run of a checkpoint folder (a real one, or one made by
// `wan random-checkpoint`, or random weights made on the GPU) with the time of every stage:
// loading, the text encoder, each expert's denoising steps, the VAE decode, and writing the mp4
// (optional), plus the peak GPU memory. On the public API: the stage times are the ones
// wan_generate reports; the steps are timed between progress callbacks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "args.h"
#include "commands.h"
#include "common_options.h"
#include "cli_error.h"
#include "wan/wan.hpp"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"ckpt-dir", true, "checkpoint folder (default: the built-in demo checkpoint)", {"ckpt_dir"}},
    {"random", true, "no checkpoint: random weights of this task (t2v-A14B or ti2v-5B) at the real sizes, made on "
     "the GPU", {}},
    {"t5-cpu", false, "the text encoder on the CPU (official --t5_cpu; default: on --device)", {"t5_cpu"}},
    {"t5-layers", true, "with --random: text encoder layers, 1 to 24 (default 24, the real count)", {}},
    {"size", true, "W*H (default per task)", {}},
    {"frames", true, "frame count, 4n+1 (default per task)", {"frame_num"}},
    {"steps", true, "sampling steps (default per task)", {"sample_steps"}},
    {"device", true, "cpu or cuda (default cuda when a GPU is present)", {}},
    {"output", true, "also write the mp4 here and time it", {}},
    {"seed", true, "seed (default 1)", {}},
    {"cfg-parallel", false, "the two CFG branches on two GPUs (one process each)", {"cfg_parallel"}},
    {"ulysses", true, "split the tokens over N GPUs (default 1)", {"ulysses_size"}},
    {"offload", true, "true/false: T2V-A14B's inactive expert in host memory, one expert on the GPU (default: as wan "
                      "generate chooses for this GPU)", {"offload_model"}},
    {"precision", true, "bf16 (default) or fp8: the DiT's arithmetic (fp8: Ada or later, its attention in FP8 on Hopper)", {}},
    {"help", false, "show this help", {"h"}},
};

}  // namespace

int cmd_bench_e2e(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "bench e2e");
  if (args.has("help")) {
    std::printf("usage: wan bench e2e [options]\n\nTimes one whole text-to-video run, stage by stage.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  const std::string device = device_option(args);
  api::ContextOptions options;
  options.device = device == "cuda" ? WAN_DEVICE_CUDA : WAN_DEVICE_CPU;
  const int world = parallel_options(args, device, options);
  if (world > 1 && api::process_rank() < 0) {  // the user's process: the same command once per GPU
    std::vector<std::string> rank_args{"bench", "e2e"};
    rank_args.insert(rank_args.end(), argv.begin(), argv.end());
    return api::launch_ranks(world, rank_args);
  }
  const bool report = api::process_rank() <= 0;  // only rank 0 reports
  const std::string random_task = args.get_or("random", "");
  CLI_CHECK(random_task.empty() || !args.has("ckpt-dir"), "--random and --ckpt-dir exclude each other");
  CLI_CHECK(random_task.empty() || device == "cuda", "--random makes its weights on the GPU: use --device cuda");
  options.precision = precision_option(args);
  const char* precision = precision_name(options.precision);
  options.t5_cpu = args.has("t5-cpu");
  if (args.has("offload"))
    options.offload = parse_bool_flag(*args.get("offload"), "--offload") ? WAN_OFFLOAD_ON : WAN_OFFLOAD_OFF;
  std::string folder = args.get_or("ckpt-dir", "");
  const bool demo = folder.empty() && random_task.empty();
  if (demo) {
    folder = demo_checkpoint_dir();
    api::prepare_demo_checkpoint(data_dir(), folder);
  }
  if (!random_task.empty()) {
    options.task = random_task;
    options.random_weights = api::ContextOptions::RandomWeights{int(args.get_int("t5-layers", 24)), 1,
                                                                data_dir() + "/tokenizer/spiece.model"};
    folder = "random weights";
  } else {
    options.checkpoint_dir = folder;
  }
  // Library messages: the run's notes and warnings on rank 0 (the demo's non-official size is expected).
  options.on_log = [demo, report](wan_log_level level, const std::string& message) {
    if (!report || level < WAN_LOG_INFO || (demo && level < WAN_LOG_ERROR)) return;
    std::fprintf(stderr, "%s%s\n", level >= WAN_LOG_WARNING ? "warning: " : "", message.c_str());
  };

  api::Request r;
  if (args.has("size")) std::tie(r.width, r.height) = parse_size(*args.get("size"));
  if (demo && !args.has("size")) std::tie(r.width, r.height) = std::pair<int, int>{96, 64};
  r.frames = int(args.get_int("frames", demo ? 17 : 0));
  r.steps = int(args.get_int("steps", demo ? 10 : 0));
  r.seed = args.get_int("seed", 1);
  r.prompt = "A red fox trots through fresh snow at dawn, steam rising from its breath.";
  if (args.has("output")) r.output_path = *args.get("output");
  r = api::Context::resolve(options, r);  // the request checked before anything loads

  if (report)
    std::printf("device: %s%s\n", device == "cuda" ? wan_cuda_device_summary() : "cpu",
                world > 1 ? str(" (each of ", world, " GPUs: CFG-parallel ", options.cfg_parallel ? 2 : 1, ", Ulysses ",
                                options.ulysses, ")").c_str()
                          : "");
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const auto t_load = Clock::now();
  api::Context ctx(options);
  const double load_s = since(t_load);
  if (!report) {  // another GPU's share of every step
    ctx.generate(r);
    return 0;
  }
  std::printf("%s from %s: %dx%d, %d frames, %d steps, %s DiT%s\n", ctx.task().c_str(), folder.c_str(), r.width,
              r.height, r.frames, r.steps, precision,
              ctx.offloads_experts() ? ", the inactive expert offloaded" : "");
  std::vector<double> step_times;  // every step, both experts
  int high_steps = 0;
  Clock::time_point step_start;
  r.on_progress = [&](const wan_progress& p) {
    if (p.step == 0) {  // a stage starts
      step_start = Clock::now();
      return true;
    }
    step_times.push_back(since(step_start));
    high_steps += p.high_noise;
    step_start = Clock::now();
    return true;
  };
  const wan_generate_result g = ctx.generate(r);
  const int low_steps = int(step_times.size()) - high_steps;
  const double low_s = g.denoise_seconds - g.high_noise_seconds;
  std::printf("load                 %9.3f s\n", load_s);
  std::printf("text encoder         %9.3f s\n", g.text_seconds);
  if (high_steps)
    std::printf("high-noise expert    %9.3f s (%d steps, %.3f s/step)\n", g.high_noise_seconds, high_steps,
                g.high_noise_seconds / high_steps);
  std::printf("%-20s %9.3f s (%d steps, %.3f s/step)\n", high_steps ? "low-noise expert" : "denoising", low_s,
              low_steps, low_steps ? low_s / low_steps : 0.0);
  if (step_times.size() > 1) {  // the first step also times kernel candidates (cuDNN, cuBLASLt)
    std::vector<double> rest(step_times.begin() + 1, step_times.end());
    std::sort(rest.begin(), rest.end());
    std::printf("  first step %.3f s, then median %.3f s/step\n", step_times.front(), rest[rest.size() / 2]);
    std::printf("  each step (s):");  // in order: a drift shows whether the card slows as it warms
    for (const double s : step_times) std::printf(" %.3f", s);
    std::printf("\n");
  }
  std::printf("VAE decode           %9.3f s (%d frames)\n", g.decode_seconds, g.frames);
  if (r.output_path) std::printf("writing the mp4      %9.3f s\n", g.write_seconds);
  const double run_s = g.seconds;  // the whole call
  std::printf("end to end (after load) %6.3f s; peak GPU memory %.2f GiB%s\n", run_s, g.peak_gpu_gib,
              world > 1 ? " (rank 0)" : "");
  std::printf("JSON {\"bench\":\"e2e\",\"task\":\"%s\",\"width\":%d,\"height\":%d,\"frames\":%d,\"steps\":%d,"
              "\"load_s\":%.3f,\"text_s\":%.3f,\"high_s\":%.3f,\"low_s\":%.3f,\"vae_s\":%.3f,\"write_s\":%.3f,"
              "\"run_s\":%.3f,\"peak_gib\":%.3f,\"gpus\":%d,\"cfg_parallel\":%d,\"ulysses\":%d,\"precision\":\"%s\"}\n",
              ctx.task().c_str(), r.width, r.height, r.frames, r.steps, load_s, g.text_seconds, g.high_noise_seconds,
              low_s, g.decode_seconds, g.write_seconds, run_s, g.peak_gpu_gib, world, options.cfg_parallel ? 2 : 1,
              options.ulysses, precision);
  return 0;
}

}  // namespace wan::cli
