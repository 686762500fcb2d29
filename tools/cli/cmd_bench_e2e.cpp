// wan bench e2e: one whole text-to-video run of a checkpoint folder (a real one, or one made by
// `wan random-checkpoint`) with the time of every stage: loading, the text encoder, each expert's
// denoising steps, the VAE decode, and writing the mp4 (optional), plus the peak GPU memory.
// The stages are timed from the pipeline's own callbacks; the frames are written inside the decode
// loop, so "VAE decode" excludes the writing time, which is reported apart.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "args.h"
#include "backend/backend.h"
#include "core/precision.h"
#include "commands.h"
#include "core/error.h"
#include "core/log.h"
#include "dist/launcher.h"
#include "dist/process_group.h"
#include "io/video_writer.h"
#include "pipeline/demo_checkpoint.h"
#include "pipeline/text_to_video.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"ckpt-dir", true, "checkpoint folder (default: the built-in demo checkpoint)", {"ckpt_dir"}},
    {"random", true, "no checkpoint: random weights of this task (t2v-A14B or ti2v-5B) at the real sizes, made on "
     "the GPU", {}},
    {"t5-cpu", false, "the text encoder on the CPU (official --t5_cpu; default: on --device)", {"t5_cpu"}},
    {"t5-layers", true, "with --random: text encoder layers (default 24, the real count; it runs on the CPU)", {}},
    {"size", true, "W*H (default per task)", {}},
    {"frames", true, "frame count, 4n+1 (default per task)", {"frame_num"}},
    {"steps", true, "sampling steps (default per task)", {"sample_steps"}},
    {"device", true, "cpu or cuda (default cuda when a GPU is present)", {}},
    {"output", true, "also write the mp4 here and time it", {}},
    {"seed", true, "seed (default 1)", {}},
    {"cfg-parallel", false, "the two CFG branches on two GPUs (one process each)", {"cfg_parallel"}},
    {"ulysses", true, "split the tokens over N GPUs (default 1)", {"ulysses_size"}},
    {"offload", true, "true/false: T2V-A14B's inactive expert in host memory, one expert on the GPU (default false)",
     {"offload_model"}},
    {"precision", true, "bf16 (default) or fp8: the DiT's arithmetic (fp8: Hopper or later)", {}},
    {"help", false, "show this help", {"h"}},
};

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int cmd_bench_e2e(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "bench e2e");
  if (args.has("help")) {
    std::printf("usage: wan bench e2e [options]\n\nTimes one whole text-to-video run, stage by stage.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  const std::string device = args.get_or("device", cuda_available() ? "cuda" : "cpu");
  WAN_CHECK(device == "cpu" || device == "cuda", "--device must be cpu or cuda");
  WAN_CHECK(device == "cpu" || cuda_available(), "--device cuda: ", cuda_device_summary());
  const dist::ParallelConfig parallel{args.has("cfg-parallel") ? 2 : 1, int(args.get_int("ulysses", 1))};
  parallel.validate();
  WAN_CHECK(parallel.world() == 1 || device == "cuda", "--cfg-parallel and --ulysses need --device cuda");
  std::shared_ptr<const dist::ProcessGroup> group;
  std::vector<std::string> rank_args{"bench", "e2e"};  // the same command once per GPU
  rank_args.insert(rank_args.end(), argv.begin(), argv.end());
  if (const auto launched = dist::launch_or_join(parallel, rank_args, group)) return *launched;
  const bool report = !group || group->is_output_rank();
  const std::string random_task = args.get_or("random", "");
  WAN_CHECK(random_task.empty() || !args.has("ckpt-dir"), "--random and --ckpt-dir exclude each other");
  WAN_CHECK(random_task.empty() || device == "cuda", "--random makes its weights on the GPU: use --device cuda");
  const auto precision = parse_precision(args.get_or("precision", "bf16"));
  WAN_CHECK(precision, "--precision must be bf16 or fp8, got '", args.get_or("precision", ""), "'");
  std::string folder = args.get_or("ckpt-dir", "");
  const bool demo = folder.empty() && random_task.empty();
  if (demo) folder = ensure_demo_checkpoint(demo_checkpoint_dir(), data_dir());

  GenerateParams p;
  if (args.has("size")) std::tie(p.width, p.height) = parse_size(*args.get("size"));
  if (demo && !args.has("size")) std::tie(p.width, p.height) = std::pair<int64_t, int64_t>{96, 64};
  p.frames = args.get_int("frames", demo ? 17 : 0);
  p.steps = args.get_int("steps", demo ? 10 : 0);
  p.seed = uint64_t(args.get_int("seed", 1));
  p.prompt = "A red fox trots through fresh snow at dawn, steam rising from its breath.";

  if (!report) set_log_level(LogLevel::Error);
  if (report)
    std::printf("device: %s%s\n", device == "cuda" ? cuda_device_summary().c_str() : "cpu",
                group ? str(" (each of ", parallel.world(), " GPUs: CFG-parallel ", parallel.cfg, ", Ulysses ",
                            parallel.ulysses, ")").c_str()
                      : "");
  reset_device_peak_memory();
  const auto t_load = Clock::now();
  const bool offload = args.has("offload") && parse_bool_flag(*args.get("offload"), "--offload");
  TextToVideo t2v = random_task.empty()
                        ? TextToVideo::load(folder, "", device == "cuda" ? Device::CUDA : Device::CPU, group,
                                            DType::BF16, offload, *precision)
                        : TextToVideo::random(task_config(random_task).name, args.get_int("t5-layers", 24),
                                              data_dir() + "/tokenizer/spiece.model", group, 1, offload, *precision);
  if (!random_task.empty()) folder = "random weights";
  if (args.has("t5-cpu")) t2v.set_text_encoder_device(Device::CPU);
  const double load_s = since(t_load);
  if (demo || !report) set_log_level(LogLevel::Error);
  p = resolve_params(t2v.task(), p);
  if (report) set_log_level(LogLevel::Info);
  if (!report) {  // another GPU's share of every step
    t2v.generate(p, {});
    return 0;
  }
  std::printf("%s from %s: %lldx%lld, %lld frames, %lld steps, %s DiT\n", t2v.task().name.c_str(), folder.c_str(),
              (long long)p.width, (long long)p.height, (long long)p.frames, (long long)p.steps,
              precision_name(*precision));

  std::unique_ptr<VideoWriter> writer;
  if (args.has("output")) writer = std::make_unique<VideoWriter>(*args.get("output"), p.width, p.height, t2v.task().fps);
  std::map<std::string, double> stage_s;
  std::string stage;
  auto stage_start = Clock::now(), step_start = Clock::now();
  double high_s = 0, low_s = 0, write_s = 0;
  int64_t high_steps = 0, low_steps = 0, frames = 0;
  std::vector<double> step_times;  // every step, both experts
  GenerateCallbacks cb;
  cb.on_stage = [&](const std::string& s) {
    if (!stage.empty()) stage_s[stage] = since(stage_start);
    stage = s;
    stage_start = step_start = Clock::now();
  };
  cb.on_step = [&](int64_t, int64_t, int64_t, bool high) {
    const double s = since(step_start);
    step_times.push_back(s);
    (high ? high_s : low_s) += s;
    ++(high ? high_steps : low_steps);
    step_start = Clock::now();
    return true;
  };
  cb.on_frames = [&](const Tensor& f) {
    const auto t = Clock::now();
    if (writer) writer->write(f);
    write_s += since(t);
    frames += f.size(1);
  };
  const auto t_run = Clock::now();
  t2v.generate(p, cb);
  stage_s[stage] = since(stage_start);
  if (writer) {
    const auto t = Clock::now();
    writer->finish();
    write_s += since(t);
  }
  const double run_s = since(t_run);
  const DeviceMemoryStats mem = device_memory_stats();
  std::printf("load                 %9.3f s\n", load_s);
  std::printf("text encoder         %9.3f s\n", stage_s["text encoder"]);
  if (high_steps) std::printf("high-noise expert    %9.3f s (%lld steps, %.3f s/step)\n", high_s, (long long)high_steps,
                              high_s / double(high_steps));
  std::printf("%-20s %9.3f s (%lld steps, %.3f s/step)\n", high_steps ? "low-noise expert" : "denoising", low_s,
              (long long)low_steps, low_steps ? low_s / double(low_steps) : 0.0);
  if (step_times.size() > 1) {  // the first step also times kernel candidates (cuDNN, cuBLASLt)
    std::vector<double> rest(step_times.begin() + 1, step_times.end());
    std::sort(rest.begin(), rest.end());
    std::printf("  first step %.3f s, then median %.3f s/step\n", step_times.front(), rest[rest.size() / 2]);
  }
  std::printf("VAE decode           %9.3f s (%lld frames)\n", stage_s["decoding"] - write_s, (long long)frames);
  if (writer) std::printf("writing the mp4      %9.3f s\n", write_s);
  std::printf("end to end (after load) %6.3f s; peak GPU memory %.2f GiB%s\n", run_s,
              double(mem.peak) / double(1ull << 30), group ? " (rank 0)" : "");
  std::printf("JSON {\"bench\":\"e2e\",\"task\":\"%s\",\"width\":%lld,\"height\":%lld,\"frames\":%lld,\"steps\":%lld,"
              "\"load_s\":%.3f,\"text_s\":%.3f,\"high_s\":%.3f,\"low_s\":%.3f,\"vae_s\":%.3f,\"write_s\":%.3f,"
              "\"run_s\":%.3f,\"peak_gib\":%.3f,\"gpus\":%d,\"cfg_parallel\":%d,\"ulysses\":%d,\"precision\":\"%s\"}\n",
              t2v.task().name.c_str(), (long long)p.width, (long long)p.height, (long long)p.frames,
              (long long)p.steps, load_s, stage_s["text encoder"], high_s, low_s, stage_s["decoding"] - write_s,
              write_s, run_s, double(mem.peak) / double(1ull << 30), parallel.world(), parallel.cfg, parallel.ulysses,
              precision_name(*precision));
  return 0;
}

}  // namespace wan::cli
