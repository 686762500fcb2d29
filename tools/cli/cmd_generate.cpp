// wan generate: text to video, with the official generate.py flags (readable names, the official
// spellings as aliases) and the official per-task defaults. Everything it does to make a video
// goes through the public API (wan/wan.hpp), as a program embedding the library would.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <random>
#include <set>

#include "args.h"
#include "commands.h"
#include "common_options.h"
#include "cli_error.h"
#include "wan/wan.hpp"

namespace fs = std::filesystem;

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"ckpt-dir", true, "checkpoint folder in the official layout (default: the built-in demo checkpoint)", {"ckpt_dir"}},
    {"task", true, "t2v-A14B or ti2v-5B (default: detected from the folder)", {}},
    {"size", true, "W*H or WxH, e.g. 1280*720 (default per task)", {}},
    {"frames", true, "frame count, 4n+1 (default per task: 81, 121)", {"frame_num"}},
    {"steps", true, "sampling steps (default per task: 40, 50)", {"sample_steps"}},
    {"shift", true, "noise schedule shift (default per task: 12, 5)", {"sample_shift"}},
    {"solver", true, "unipc, dpm++ or euler (default unipc)", {"sample_solver"}},
    {"guide-scale", true, "CFG scale: one value, or LOW,HIGH for the two A14B experts (default 3,4 / 5)",
     {"sample_guide_scale"}},
    {"seed", true, "random seed; negative or absent: a random one, printed (default -1)", {"base_seed"}},
    {"prompt", true, "the text prompt", {}},
    {"negative-prompt", true, "the negative prompt (default: the official one)", {"n_prompt", "negative_prompt"}},
    {"output", true, "the .mp4 to write (default: the official file name pattern)", {"save_file"}},
    {"frames-dir", true, "also write every frame as PNG into this folder", {}},
    {"device", true, "cpu or cuda: where the DiT, the VAE decoder and the text encoder run (default: cuda when a "
                     "usable GPU is present, else cpu)", {}},
    {"offload", true, "true/false (official --offload_model): T2V-A14B on CUDA keeps the inactive expert in host "
                      "memory, one expert on the GPU (default: only when both do not fit the GPU)", {"offload_model"}},
    {"t5-cpu", false, "run the text encoder on the CPU (official --t5_cpu; default: on --device)", {"t5_cpu"}},
    {"precision", true, "bf16 or fp8: the DiT's arithmetic on CUDA (default bf16; fp8: E4M3 weights, activations and "
                        "self-attention; Ada or later, the attention in FP8 on Hopper; an H100's 720p forward about 1.4x faster, "
                        "half the weights' memory)",
     {}},
    {"vae-f32", false, "the GPU VAE decoder in f32 (TF32 convolutions, as the official f32 VAE; default bf16: about 3x "
                       "faster, half the memory)", {}},
    {"threads", true, "CPU threads (default: all cores)", {}},
    {"cfg-parallel", false, "several GPUs: the two CFG branches on two GPUs (with --ulysses N: 2N GPUs)", {"cfg_parallel"}},
    {"ulysses", true, "several GPUs: split the tokens over N GPUs (N divides the head count: 40 for A14B, 24 for 5B)",
     {"ulysses_size"}},
    {"help", false, "show this help", {"h"}},
};

const char* kExamplePrompt =
    "Two anthropomorphic cats in comfy boxing gear and bright gloves fight intensely on a spotlighted stage.";

volatile std::sig_atomic_t g_stop = 0;

void on_sigint(int) {
  g_stop = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

std::pair<double, double> parse_guide(const std::string& s) {
  const size_t sep = s.find(',');
  char* end = nullptr;
  if (sep == std::string::npos) {
    const double g = std::strtod(s.c_str(), &end);
    CLI_CHECK(!s.empty() && *end == '\0', "--guide-scale '", s, "' must be a number or LOW,HIGH");
    return {g, g};
  }
  const std::string lo = s.substr(0, sep), hi = s.substr(sep + 1);
  const double a = std::strtod(lo.c_str(), &end);
  CLI_CHECK(!lo.empty() && *end == '\0', "--guide-scale '", s, "' must be a number or LOW,HIGH");
  const double b = std::strtod(hi.c_str(), &end);
  CLI_CHECK(!hi.empty() && *end == '\0', "--guide-scale '", s, "' must be a number or LOW,HIGH");
  return {a, b};
}

wan_solver parse_solver(const std::string& name) {
  if (name == "unipc") return WAN_SOLVER_UNIPC;
  if (name == "dpm++") return WAN_SOLVER_DPMPP;
  if (name == "euler") return WAN_SOLVER_EULER;
  fail("unknown sample solver '", name, "' (use unipc, dpm++ or euler)");
}

const char* solver_label(wan_solver s) { return s == WAN_SOLVER_DPMPP ? "dpm++" : s == WAN_SOLVER_EULER ? "euler" : "unipc"; }

// generate.py's default name: {task}_{W*H}_{ulysses}_{prompt[:50], ' ' and '/' → '_'}_{date}.mp4
std::string default_output(const std::string& task, const api::Request& p, int ulysses) {
  std::string prompt = p.prompt.substr(0, 50);
  for (char& c : prompt)
    if (c == ' ' || c == '/') c = '_';
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y%m%d_%H%M%S", std::localtime(&now));
  return str(task, "_", p.width, "*", p.height, "_", ulysses, "_", prompt, "_", date, ".mp4");
}

bool two_experts_task(const std::string& task) { return task == "t2v-A14B"; }

std::string format_seconds(double s) {
  if (s < 60) return str(int(s + 0.5), "s");
  return str(int(s) / 60, "m", (int(s) % 60 < 10 ? "0" : ""), int(s) % 60, "s");
}

}  // namespace

int cmd_generate(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "generate");
  if (args.has("help")) {
    std::printf("usage: wan generate [options]\n\nText to video with Wan 2.2 (T2V-A14B or TI2V-5B). Without --ckpt-dir the "
                "built-in demo checkpoint runs:\ntiny random weights, so its video is noise, made in seconds.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  CLI_CHECK(args.positionals().empty(), "wan generate takes no positional arguments (the prompt goes after --prompt)");
  api::ContextOptions options;
  if (args.has("threads")) {
    options.threads = int(args.get_int("threads", 0));
    CLI_CHECK(options.threads >= 0, "--threads must not be negative");
  }
  const std::string device = device_option(args);
  options.device = device == "cuda" ? WAN_DEVICE_CUDA : WAN_DEVICE_CPU;
  options.t5_cpu = args.has("t5-cpu");
  options.vae_f32 = args.has("vae-f32");
  options.precision = precision_option(args);
  CLI_CHECK(options.precision == WAN_PRECISION_BF16 || device == "cuda", "--precision fp8 needs --device cuda");
  const int world = parallel_options(args, device, options);
  const int rank = api::process_rank();  // one of several GPUs, started by the launcher below, or -1
  const bool quiet = rank > 0;       // only rank 0 reports
  if (args.has("offload"))
    options.offload = parse_bool_flag(*args.get("offload"), "--offload") ? WAN_OFFLOAD_ON : WAN_OFFLOAD_OFF;

  // Parse and validate everything before loading anything.
  api::Request p;
  if (args.has("size")) std::tie(p.width, p.height) = parse_size(*args.get("size"));
  p.frames = int(args.get_int("frames", 0));
  CLI_CHECK(!args.has("frames") || p.frames > 0, "--frames must be positive");
  p.steps = int(args.get_int("steps", 0));
  CLI_CHECK(!args.has("steps") || p.steps > 0, "--steps must be positive");
  p.shift = args.get_double("shift", 0);
  CLI_CHECK(!args.has("shift") || p.shift > 0, "--shift must be positive");
  p.solver = parse_solver(args.get_or("solver", "unipc"));
  if (args.has("guide-scale")) std::tie(p.guide_scale_low, p.guide_scale_high) = parse_guide(*args.get("guide-scale"));
  int64_t seed = args.get_int("seed", -1);
  if (seed < 0) seed = int64_t(std::random_device{}() & 0x7fffffff);
  p.seed = seed;
  p.prompt = args.get_or("prompt", kExamplePrompt);
  if (args.has("negative-prompt")) p.negative_prompt = *args.get("negative-prompt");

  const bool demo = !args.has("ckpt-dir");
  options.checkpoint_dir = args.get_or("ckpt-dir", "");
  options.task = args.get_or("task", "");
  if (demo) {
    options.checkpoint_dir = demo_checkpoint_dir();
    api::prepare_demo_checkpoint(data_dir(), options.checkpoint_dir);
    // Small defaults: the demo's tiny models make noise either way.
    if (p.width == 0 && p.height == 0) std::tie(p.width, p.height) = std::pair<int, int>{96, 64};
    if (p.frames == 0) p.frames = 17;
    if (p.steps == 0) p.steps = 10;
    std::fprintf(stderr, "no --ckpt-dir: using the demo checkpoint %s (tiny random weights: the video is noise)\n",
                 options.checkpoint_dir.c_str());
  }
  // Library messages: warnings as "warning: ...", the rest plain; the demo's non-official size
  // is expected, so its warnings are dropped. The request is checked twice (before loading, and
  // by the run itself): each warning is printed once.
  auto warned = std::make_shared<std::set<std::string>>();
  options.on_log = [demo, quiet, warned](wan_log_level level, const std::string& message) {
    if (quiet && level < WAN_LOG_ERROR) return;
    if (level >= WAN_LOG_WARNING && !demo && warned->insert(message).second)
      std::fprintf(stderr, "warning: %s\n", message.c_str());
    else if (level == WAN_LOG_INFO) std::fprintf(stderr, "%s\n", message.c_str());
  };
  const std::string output = args.get_or("output", "");
  // wan generate always writes a video: without FFmpeg say so now, not after loading.
  CLI_CHECK(wan_video_output_available(), "this build has no FFmpeg, so it cannot write the mp4; install "
            "libavcodec-dev, libavformat-dev, libswscale-dev and libavutil-dev and rebuild (a program can take the "
            "frames through the API's on_frames callback instead)");
  const std::string frames_dir = args.get_or("frames-dir", "");
  if (!output.empty()) p.output_path = output;
  if (!frames_dir.empty()) p.frames_dir = frames_dir;
  if (world > 1 && rank < 0) {
    // The launcher: check the request (each rank checks its own GPU's memory), then start one
    // process per GPU with this command line and the seed fixed for all.
    api::Context::resolve(options, p);
    std::vector<std::string> rank_args = argv;
    rank_args.push_back("--seed=" + std::to_string(seed));
    std::fprintf(stderr, "starting %d processes, one per GPU (%s%s%s)\n", world,
                 options.cfg_parallel ? "CFG-parallel" : "", options.cfg_parallel && options.ulysses > 1 ? ", " : "",
                 options.ulysses > 1 ? str("Ulysses ", options.ulysses).c_str() : "");
    rank_args.insert(rank_args.begin(), "generate");
    return api::launch_ranks(world, rank_args);
  }
  // The checkpoint's files, the request and the output folder, checked (and the task's defaults
  // filled in) before any weights load.
  p = api::Context::resolve(options, p);

  const auto t0 = std::chrono::steady_clock::now();
  api::Context ctx(options);
  if (output.empty()) p.output_path = default_output(ctx.task(), p, options.ulysses);  // in "."
  if (quiet) {  // a rank other than 0: its share of every step, then done
    p.on_progress = [](const wan_progress&) { return g_stop == 0; };
    g_stop = 0;
    std::signal(SIGINT, on_sigint);
    try {
      ctx.generate(p);
    } catch (const api::Error& e) {
      if (e.status() != WAN_ERROR_CANCELLED) throw;
      return 130;
    }
    return 0;
  }
  std::printf("task %s, %dx%d, %d frames, %d steps (%s, shift %g, guide %g/%g), seed %lld\n", ctx.task().c_str(),
              p.width, p.height, p.frames, p.steps, solver_label(p.solver), p.shift, p.guide_scale_low,
              p.guide_scale_high, (long long)p.seed);
  // Every choice the run makes, with the flag that changes it.
  const char* where = device == "cuda" ? "the GPU" : "the CPU";
  const char* experts = !two_experts_task(ctx.task()) ? ""
                        : ctx.offloads_experts()   ? " experts (one on the GPU, the other in host memory: --offload)"
                                                   : " experts (both on the GPU: --offload)";
  std::printf("settings: DiT%s and VAE decoder on %s (--device), text encoder on %s (--t5-cpu), %s, %s\n",
              device == "cuda" ? experts : (two_experts_task(ctx.task()) ? " experts" : ""), where,
              options.t5_cpu ? "the CPU" : where,
              device == "cuda" ? str(ctx.precision() == WAN_PRECISION_FP8 ? "fp8 DiT (--precision)" : "bf16 DiT (--precision)",
                                     options.vae_f32 ? ", f32 VAE (--vae-f32)" : ", bf16 VAE (--vae-f32 for f32)")
                                     .c_str()
                               : "f32 throughout",
              world == 1 ? std::string("one process").c_str()
                         : str(world, " GPUs (", options.cfg_parallel ? "--cfg-parallel" : "",
                               options.cfg_parallel && options.ulysses > 1 ? ", " : "",
                               options.ulysses > 1 ? str("--ulysses ", options.ulysses) : std::string(), ")")
                               .c_str());
  std::printf("repeat with --seed %lld\n", (long long)p.seed);
  std::fflush(stdout);
  std::fprintf(stderr, "loaded %s in %.1f s\n", options.checkpoint_dir.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  g_stop = 0;
  std::signal(SIGINT, on_sigint);
  const bool tty = ::isatty(STDERR_FILENO);
  const bool two_experts = ctx.task() == "t2v-A14B";
  auto step_start = std::chrono::steady_clock::now();
  auto loop_start = step_start;
  p.on_progress = [&](const wan_progress& pr) {
    const auto now = std::chrono::steady_clock::now();
    if (pr.step == 0) {  // a stage starts
      std::fprintf(stderr, "%s...\n", pr.stage);
      step_start = loop_start = now;
      return g_stop == 0;
    }
    const int64_t i = pr.step - 1, n = pr.total_steps;
    const double step_s = std::chrono::duration<double>(now - step_start).count();
    const double per_step = std::chrono::duration<double>(now - loop_start).count() / double(i + 1);
    step_start = now;
    const double eta = per_step * double(n - i - 1);
    const char* expert = two_experts ? (pr.high_noise ? " high-noise" : " low-noise") : "";
    if (tty) {
      const int width = 30, filled = int(width * (i + 1) / n);
      std::fprintf(stderr, "\r[%s%s] %lld/%lld t=%d%s %.2f s/step ETA %s   ", std::string(size_t(filled), '#').c_str(),
                   std::string(size_t(width - filled), '.').c_str(), (long long)(i + 1), (long long)n, pr.timestep,
                   expert, step_s, format_seconds(eta).c_str());
      if (i + 1 == n) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "step %lld/%lld t=%d%s %.2f s ETA %s\n", (long long)(i + 1), (long long)n, pr.timestep,
                   expert, step_s, format_seconds(eta).c_str());
    }
    return g_stop == 0;
  };
  p.on_frames = [&](const wan_frames&) { return g_stop == 0; };
  wan_generate_result result{};
  try {
    result = ctx.generate(p);
  } catch (const api::Error& e) {
    std::signal(SIGINT, SIG_DFL);
    if (e.status() != WAN_ERROR_CANCELLED) throw;
    std::fprintf(stderr, "\nstopped by Ctrl-C; no video written\n");
    return 130;
  }
  std::signal(SIGINT, SIG_DFL);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %s: %d frames, %dx%d (%.1f s)\n", p.output_path->c_str(), result.frames, result.width,
              result.height, total);
  if (!frames_dir.empty()) std::printf("wrote %d PNG frames to %s\n", result.frames, frames_dir.c_str());
  return 0;
}

}  // namespace wan::cli
