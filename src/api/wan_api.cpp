// The C API (include/wan/wan.h): the one place where exceptions become status codes. Each entry
// point runs its body through `guarded` (api/api_guard.h), which records the message for
// wan_last_error(). The tools' entry points (comparing videos, converting checkpoints, describing
// the machine) are in wan_tools_api.cpp.
#include "wan/wan.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api/api_guard.h"
#include "backend/backend.h"
#include "core/error.h"
#include "core/log.h"
#include "core/precision.h"
#include "core/thread_pool.h"
#include "dist/communicator.h"
#include "dist/launcher.h"
#include "dist/process_group.h"
#include "io/video_writer.h"
#include "pipeline/demo_checkpoint.h"
#include "pipeline/memory_plan.h"
#include "pipeline/denoise.h"
#include "pipeline/text_to_video.h"

namespace fs = std::filesystem;

struct wan_context {
  std::unique_ptr<wan::TextToVideo> pipeline;
  std::string task;
  int64_t ulysses = 1;
  bool offload_experts = false;
  wan_precision precision = WAN_PRECISION_BF16;
  wan_log_callback log_callback = nullptr;
  void* log_user_data = nullptr;
};

namespace wan::api {

std::string& last_error() {
  thread_local std::string message;
  return message;
}

}  // namespace wan::api

namespace {

using wan::api::guarded;

wan::LogSink sink_for(wan_log_callback cb, void* user_data) {
  if (!cb) return {};
  return [cb, user_data](wan::LogLevel level, const std::string& message) {
    const wan_log_level l = level == wan::LogLevel::Debug  ? WAN_LOG_DEBUG
                            : level == wan::LogLevel::Info ? WAN_LOG_INFO
                            : level == wan::LogLevel::Warn ? WAN_LOG_WARNING
                                                           : WAN_LOG_ERROR;
    cb(user_data, l, message.c_str());
  };
}

wan::Solver solver_of(wan_solver s) {
  switch (s) {
    case WAN_SOLVER_UNIPC: return wan::Solver::UniPC;
    case WAN_SOLVER_DPMPP: return wan::Solver::DPMpp;
    case WAN_SOLVER_EULER: return wan::Solver::Euler;
  }
  wan::fail("unknown solver ", int(s), " (use WAN_SOLVER_UNIPC, WAN_SOLVER_DPMPP or WAN_SOLVER_EULER)");
}

std::string task_of(const wan_context_params& cp) {
  if (cp.random_weights) {
    WAN_CHECK(cp.task && *cp.task, "random_weights needs the task (t2v-A14B or ti2v-5B)");
    return wan::task_config(cp.task).name;
  }
  WAN_CHECK(cp.checkpoint_dir && *cp.checkpoint_dir, "checkpoint_dir is not set");
  return cp.task && *cp.task ? wan::task_config(cp.task).name : wan::detect_task(cp.checkpoint_dir);
}

// The checkpoint's files, or a random-weight context's settings, checked before anything loads.
void check_source(const wan_context_params& cp, const wan::TaskConfig& task) {
  if (!cp.random_weights) return wan::check_checkpoint_folder(cp.checkpoint_dir, task);
  const wan_random_weights& r = *cp.random_weights;
  WAN_CHECK(cp.device == WAN_DEVICE_CUDA, "random_weights makes its weights on the GPU: use WAN_DEVICE_CUDA");
  WAN_CHECK(r.t5_layers >= 0 && r.t5_layers <= 24, "random_weights->t5_layers must be in [0, 24] (0: the real 24), "
            "got ", r.t5_layers);
  WAN_CHECK(r.tokenizer_model && *r.tokenizer_model, "random_weights->tokenizer_model must name a SentencePiece "
            "model (the demo data's tests/data/tokenizer/spiece.model)");
  std::error_code ec;
  WAN_CHECK(fs::is_regular_file(r.tokenizer_model, ec), r.tokenizer_model, ": no such tokenizer model file");
}

// The DiT config a context runs: its folder's, or the task's official one for random weights.
wan::WanDiTConfig dit_config_for(const wan_context_params& cp, const wan::TaskConfig& task) {
  return cp.random_weights ? wan::official_dit_config(task) : wan::dit_config_of(cp.checkpoint_dir, task);
}

wan::dist::ParallelConfig parallel_of(const wan_context_params& cp) {
  WAN_CHECK(cp.ulysses >= 0, "ulysses must not be negative (0 or 1: off)");
  wan::dist::ParallelConfig pc{cp.cfg_parallel ? 2 : 1, cp.ulysses > 1 ? int(cp.ulysses) : 1};
  pc.validate();
  WAN_CHECK(pc.world() == 1 || cp.device == WAN_DEVICE_CUDA, "cfg_parallel and ulysses need WAN_DEVICE_CUDA");
  return pc;
}

void check_modes(const wan_context_params& cp) {
  WAN_CHECK(cp.offload == WAN_OFFLOAD_AUTO || cp.offload == WAN_OFFLOAD_ON || cp.offload == WAN_OFFLOAD_OFF,
            "unknown offload mode ", int(cp.offload), " (use WAN_OFFLOAD_AUTO, WAN_OFFLOAD_ON or WAN_OFFLOAD_OFF)");
  WAN_CHECK(cp.precision == WAN_PRECISION_BF16 || cp.precision == WAN_PRECISION_FP8, "unknown precision ",
            int(cp.precision), " (use WAN_PRECISION_BF16 or WAN_PRECISION_FP8)");
}

// A context that runs (not one asked for a GPU memory prediction): FP8 only on the GPU.
void check_precision_on_device(const wan_context_params& cp) {
  WAN_CHECK(cp.precision == WAN_PRECISION_BF16 || cp.device == WAN_DEVICE_CUDA,
            "FP8 runs on the GPU (WAN_DEVICE_CUDA); the CPU path is the f32 reference");
}

// FP8 where asked and the GPU has it; BF16 otherwise (no GPU here: as asked, for predictions).
bool runs_fp8(const wan_context_params& cp) {
  return cp.precision == WAN_PRECISION_FP8 &&
         (!wan::cuda_available() || wan::fp8_products_supported(wan::cuda_compute_capability()));
}

// The placement a context's run gets on the GPU; WAN_OFFLOAD_AUTO decides from the free memory
// now (both experts resident on a machine without a GPU).
wan::GpuPlacement placement_of(const wan_context_params& cp, const wan::TaskConfig& task, const wan::WanDiTConfig& dit,
                               int64_t frames) {
  check_modes(cp);
  wan::GpuPlacement placement;
  placement.ulysses = parallel_of(cp).ulysses;
  placement.vae_f32 = cp.vae_f32 != 0;
  placement.fp8 = runs_fp8(cp);
  // Without a GPU here the plan is Hopper's (predictions for the official setup).
  placement.fp8_attention = !wan::cuda_available() || wan::fp8_attention_supported(wan::cuda_compute_capability());
  placement.offload_experts =
      task.two_experts && (cp.offload == WAN_OFFLOAD_ON ||
                           (cp.offload == WAN_OFFLOAD_AUTO && wan::cuda_available() &&
                            wan::needs_expert_offload(task, dit, frames, wan::device_memory_info().free, placement)));
  return placement;
}

// The C request as the pipeline's parameters, defaults filled in and validated.
wan::GenerateParams resolve(const wan::TaskConfig& task, const wan_generate_params& gp) {
  WAN_CHECK(gp.prompt != nullptr, "prompt is not set");
  WAN_CHECK(gp.width >= 0 && gp.height >= 0 && gp.frames >= 0 && gp.steps >= 0,
            "width, height, frames and steps must not be negative (0 takes the task's default)");
  WAN_CHECK(gp.shift >= 0 && gp.guide_scale_low >= 0 && gp.guide_scale_high >= 0,
            "shift and guide scales must not be negative (0 takes the task's default)");
  WAN_CHECK((gp.width == 0) == (gp.height == 0), "set both width and height, or neither");
  wan::GenerateParams p;
  p.width = gp.width;
  p.height = gp.height;
  p.frames = gp.frames;
  p.steps = gp.steps;
  p.shift = gp.shift;
  p.solver = solver_of(gp.solver);
  p.guide_low = gp.guide_scale_low;
  p.guide_high = gp.guide_scale_high;
  if (p.guide_low == 0 && p.guide_high != 0) p.guide_low = p.guide_high;
  if (p.guide_high == 0 && p.guide_low != 0) p.guide_high = p.guide_low;
  p.prompt = gp.prompt;
  p.negative_prompt = gp.negative_prompt ? gp.negative_prompt : "";
  p.seed = gp.seed < 0 ? 0 : uint64_t(gp.seed);
  p = wan::resolve_params(task, p);
  if (gp.output_path) {
    const std::string out = gp.output_path;
    WAN_CHECK(out.size() > 4 && out.substr(out.size() - 4) == ".mp4", "output_path '", out, "' must end in .mp4");
    const fs::path dir = fs::path(out).parent_path().empty() ? fs::path(".") : fs::path(out).parent_path();
    std::error_code ec;
    WAN_CHECK(fs::is_directory(dir, ec), "output_path: the folder ", dir.string(), " does not exist");
  }
  return p;
}

// An mp4 or PNG output asked of a build without FFmpeg: refused before anything loads or runs.
wan_status check_video_output(const wan_generate_params* params) {
  if (!params || (!params->output_path && !params->frames_dir) || wan::video_writer_available()) return WAN_OK;
  wan::api::last_error() = "this build has no FFmpeg, so it cannot write mp4 or PNG files; install libavcodec-dev, "
                 "libavformat-dev, libswscale-dev and libavutil-dev and rebuild (or take the frames through on_frames)";
  return WAN_ERROR_UNSUPPORTED;
}

wan_generate_params to_c(const wan::GenerateParams& p, const wan_generate_params& in) {
  wan_generate_params r = in;
  r.width = int32_t(p.width);
  r.height = int32_t(p.height);
  r.frames = int32_t(p.frames);
  r.steps = int32_t(p.steps);
  r.shift = p.shift;
  r.guide_scale_low = p.guide_low;
  r.guide_scale_high = p.guide_high;
  return r;
}

}  // namespace

extern "C" {

const char* wan_version(void) { return WAN_VERSION_STRING; }

const char* wan_status_string(wan_status status) {
  switch (status) {
    case WAN_OK: return "ok";
    case WAN_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case WAN_ERROR_IO: return "input/output error";
    case WAN_ERROR_OUT_OF_MEMORY: return "out of memory";
    case WAN_ERROR_UNSUPPORTED: return "unsupported";
    case WAN_ERROR_INTERNAL: return "internal error";
    case WAN_ERROR_CANCELLED: return "cancelled";
  }
  return "unknown status";
}

const char* wan_last_error(void) { return wan::api::last_error().c_str(); }

int wan_video_output_available(void) { return wan::video_writer_available() ? 1 : 0; }

int wan_cuda_device_count(void) {
  try {
    return wan::cuda_device_count();
  } catch (...) {
    return 0;
  }
}

wan_status wan_nccl_unique_id(char* hex, int32_t size) {
  return guarded(WAN_ERROR_UNSUPPORTED, [&] {
    WAN_CHECK(hex && size >= 257, "wan_nccl_unique_id: needs a buffer of at least 257 bytes");
    const std::string id = wan::dist::nccl_unique_id_hex();
    std::copy(id.begin(), id.end(), hex);
    hex[id.size()] = '\0';
    return WAN_OK;
  });
}

int32_t wan_process_rank(void) {
  int32_t rank = -1;
  const wan_status s = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    const auto info = wan::dist::rank_from_environment();
    rank = info ? int32_t(info->rank) : -1;
    return WAN_OK;
  });
  return s == WAN_OK ? rank : -2;
}

wan_status wan_launch_ranks(int32_t world, const char* const* args, int32_t arg_count, int32_t* exit_code) {
  std::vector<std::string> argv;
  const wan_status bad = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(world >= 1 && exit_code, "wan_launch_ranks: world must be at least 1 and exit_code not NULL");
    WAN_CHECK(arg_count >= 0 && (args || arg_count == 0), "wan_launch_ranks: args must hold arg_count strings");
    for (int32_t i = 0; i < arg_count; ++i) {
      WAN_CHECK(args[i], "wan_launch_ranks: args[", i, "] is NULL");
      argv.emplace_back(args[i]);
    }
    return WAN_OK;
  });
  if (bad != WAN_OK) return bad;
  return guarded(WAN_ERROR_UNSUPPORTED, [&] {
    *exit_code = wan::dist::launch_ranks(world, argv);
    return WAN_OK;
  });
}

int wan_cuda_available(void) {
  try {
    return wan::cuda_available() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

const char* wan_cuda_device_summary(void) {
  static thread_local std::string summary;
  return wan::api::described(summary, [] { return wan::cuda_device_summary(); });
}

wan_context_params wan_context_default_params(void) {
  wan_context_params p{};
  p.device = WAN_DEVICE_CPU;
  return p;
}

wan_generate_params wan_generate_default_params(void) {
  wan_generate_params p{};
  p.solver = WAN_SOLVER_UNIPC;
  p.seed = -1;
  return p;
}

wan_status wan_context_create(const wan_context_params* params, wan_context** out) {
  if (out) *out = nullptr;
  wan::ScopedThreadLogSink log(params ? sink_for(params->log_callback, params->log_user_data) : wan::LogSink());
  // Argument checks report INVALID_ARGUMENT; failures while reading the checkpoint report IO.
  std::string task;
  wan::dist::ParallelConfig parallel;
  std::optional<wan::dist::RankInfo> rank;
  const wan_status bad = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(params && out, "wan_context_create: params and out must not be NULL");
    WAN_CHECK(params->device == WAN_DEVICE_CPU || params->device == WAN_DEVICE_CUDA, "unknown device ",
              int(params->device));
    WAN_CHECK(params->threads >= 0, "threads must not be negative (0: all cores)");
    check_modes(*params);
    check_precision_on_device(*params);
    task = task_of(*params);
    if (params->random_weights) check_source(*params, wan::task_config(task));
    parallel = parallel_of(*params);
    if (parallel.world() > 1) {
      rank = wan::dist::rank_from_environment();
      WAN_CHECK(rank, "cfg_parallel/ulysses run one process per GPU, and this one has no rank: start them with "
                      "`wan generate --cfg-parallel` / `--ulysses N`, or set WAN_RANK, WAN_WORLD_SIZE and WAN_NCCL_ID "
                      "(see wan_nccl_unique_id in wan.h)");
    }
    return WAN_OK;
  });
  if (bad != WAN_OK) return bad;
  if (params->device == WAN_DEVICE_CUDA) {
    const wan_status s = guarded(WAN_ERROR_UNSUPPORTED, [&] {
      WAN_CHECK(wan::cuda_available(), "device CUDA: ", wan::cuda_device_summary(), "; use WAN_DEVICE_CPU");
      return WAN_OK;
    });
    if (s != WAN_OK) return s;
  }
  std::shared_ptr<const wan::dist::ProcessGroup> group;
  if (rank) {  // joining the other ranks: a missing NCCL or a failed rendezvous is UNSUPPORTED
    const wan_status s = guarded(WAN_ERROR_UNSUPPORTED, [&] {
      group = wan::dist::ProcessGroup::join(parallel, *rank);
      return WAN_OK;
    });
    if (s != WAN_OK) return s;
  }
  return guarded(WAN_ERROR_IO, [&] {
    if (params->threads > 0) wan::set_num_threads(params->threads);
    auto ctx = std::make_unique<wan_context>();
    ctx->task = task;  // TextToVideo::load checks the folder's files
    ctx->ulysses = parallel.ulysses;
    const wan::TaskConfig& tc = wan::task_config(ctx->task);
    const bool offload = params->device == WAN_DEVICE_CUDA &&
                         placement_of(*params, tc, dit_config_for(*params, tc), tc.frame_num).offload_experts;
    const bool fp8 = runs_fp8(*params);
    if (params->precision == WAN_PRECISION_FP8 && !fp8)
      WAN_LOG_WARN("FP8 needs compute capability 8.9 (Ada) or later; ", wan::cuda_device_summary(),
                   " has not: running in bf16");
    const wan::Precision precision = fp8 ? wan::Precision::FP8 : wan::Precision::BF16;
    if (const wan_random_weights* r = params->random_weights)
      ctx->pipeline = std::make_unique<wan::TextToVideo>(wan::TextToVideo::random(
          ctx->task, r->t5_layers > 0 ? r->t5_layers : 24, r->tokenizer_model, group, r->seed, offload, precision,
          params->vae_f32 ? wan::DType::F32 : wan::DType::BF16));
    else
      ctx->pipeline = std::make_unique<wan::TextToVideo>(wan::TextToVideo::load(
        params->checkpoint_dir, ctx->task, params->device == WAN_DEVICE_CUDA ? wan::Device::CUDA : wan::Device::CPU,
        group, params->vae_f32 ? wan::DType::F32 : wan::DType::BF16, offload,
        precision));
    ctx->offload_experts = offload;
    ctx->precision = fp8 ? WAN_PRECISION_FP8 : WAN_PRECISION_BF16;
    if (params->t5_cpu) ctx->pipeline->set_text_encoder_device(wan::Device::CPU);
    ctx->log_callback = params->log_callback;
    ctx->log_user_data = params->log_user_data;
    if (params->device == WAN_DEVICE_CUDA) wan::device_synchronize();  // loaded means in place, uploads done
    *out = ctx.release();
    return WAN_OK;
  });
}

void wan_context_free(wan_context* ctx) { delete ctx; }

const char* wan_context_task(const wan_context* ctx) { return ctx ? ctx->task.c_str() : ""; }

int wan_context_offloads_experts(const wan_context* ctx) { return ctx && ctx->offload_experts ? 1 : 0; }

wan_precision wan_context_precision(const wan_context* ctx) { return ctx ? ctx->precision : WAN_PRECISION_BF16; }

int wan_context_produces_frames(const wan_context* ctx) { return ctx && ctx->pipeline->produces_frames() ? 1 : 0; }

wan_status wan_resolve_params(const wan_context_params* context, const wan_generate_params* params,
                              wan_generate_params* resolved) {
  wan::ScopedThreadLogSink log(context ? sink_for(context->log_callback, context->log_user_data) : wan::LogSink());
  if (const wan_status s = check_video_output(params); s != WAN_OK) return s;
  return guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(context && params, "wan_resolve_params: context and params must not be NULL");
    check_modes(*context);
    check_precision_on_device(*context);
    const wan::TaskConfig& task = wan::task_config(task_of(*context));
    check_source(*context, task);
    const wan::dist::ParallelConfig parallel = parallel_of(*context);
    const wan::GenerateParams p = resolve(task, *params);
    if (context->device == WAN_DEVICE_CUDA) {
      const wan::WanDiTConfig dit = dit_config_for(*context, task);
      parallel.validate(dit.num_heads);
      // Fail now, not after minutes of loading; a launcher of several GPUs (no rank of its own)
      // leaves the check to each rank, and keeps its hands off the GPUs.
      const bool launcher = parallel.world() > 1 && !wan::dist::rank_from_environment();
      if (wan::cuda_available() && !launcher)
        wan::check_fits(task, dit, p.width, p.height, p.frames, wan::device_memory_info().free,
                        placement_of(*context, task, dit, p.frames));
    }
    if (resolved) *resolved = to_c(p, *params);
    return WAN_OK;
  });
}

wan_status wan_predict_memory(const wan_context_params* context, const wan_generate_params* params,
                              wan_memory_prediction* out) {
  wan::ScopedThreadLogSink log(context ? sink_for(context->log_callback, context->log_user_data) : wan::LogSink());
  return guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(context && params && out, "wan_predict_memory: context, params and out must not be NULL");
    const bool folder = context->checkpoint_dir && *context->checkpoint_dir && !context->random_weights;
    WAN_CHECK(folder || (context->task && *context->task), "wan_predict_memory: set checkpoint_dir or task");
    const wan::TaskConfig& task = wan::task_config(folder ? task_of(*context) : std::string(context->task));
    const wan::WanDiTConfig dit =
        folder ? wan::dit_config_of(context->checkpoint_dir, task) : wan::official_dit_config(task);
    wan_context_params cp = *context;
    cp.device = WAN_DEVICE_CUDA;  // the prediction is for the GPU, whatever the context says
    const wan::dist::ParallelConfig parallel = parallel_of(cp);
    parallel.validate(dit.num_heads);
    wan_generate_params gp = *params;
    if (!gp.prompt) gp.prompt = "";  // the prompt does not change the memory
    gp.output_path = nullptr;
    gp.frames_dir = nullptr;
    const wan::GenerateParams p = resolve(task, gp);
    const wan::MemoryPlan plan =
        wan::plan_gpu_memory(task, dit, p.width, p.height, p.frames, placement_of(cp, task, dit, p.frames));
    constexpr double kGiB = double(1ull << 30);
    *out = {};
    out->peak_gib = double(plan.peak()) / kGiB;
    out->experts = int32_t(plan.experts);
    out->dit_weights_gib = double(plan.dit_weights) / kGiB;
    out->dit_activations_gib = double(plan.dit_activations) / kGiB;
    out->vae_weights_gib = double(plan.vae_weights) / kGiB;
    out->vae_decode_gib = double(plan.vae_decode) / kGiB;
    out->margin_gib = double(plan.margin) / kGiB;
    out->width = int32_t(p.width);
    out->height = int32_t(p.height);
    out->frames = int32_t(p.frames);
    out->offloaded_experts = task.two_experts ? int32_t(2 - plan.experts) : 0;
    if (wan::cuda_available()) {
      out->free_gib = double(wan::device_memory_info().free) / kGiB;
      out->fits = out->peak_gib <= out->free_gib ? 1 : 0;
    }
    return WAN_OK;
  });
}

wan_status wan_generate(wan_context* ctx, const wan_generate_params* params, wan_generate_result* result) {
  const auto t0 = std::chrono::steady_clock::now();
  wan::ScopedThreadLogSink log(ctx ? sink_for(ctx->log_callback, ctx->log_user_data) : wan::LogSink());
  if (const wan_status s = check_video_output(params); s != WAN_OK) return s;
  wan::GenerateParams p;
  const wan_status bad = guarded(WAN_ERROR_INVALID_ARGUMENT, [&] {
    WAN_CHECK(ctx && params, "wan_generate: ctx and params must not be NULL");
    p = resolve(ctx->pipeline->task(), *params);
    p.seed = params->seed >= 0 ? uint64_t(params->seed) : uint64_t(std::random_device{}() & 0x7fffffff);
    return WAN_OK;
  });
  if (bad != WAN_OK) return bad;
  return guarded(WAN_ERROR_IO, [&] {
    std::unique_ptr<wan::VideoWriter> writer;
    const bool frames_here = ctx->pipeline->produces_frames();  // rank 0 of several GPUs writes
    if (params->output_path && frames_here)
      writer = std::make_unique<wan::VideoWriter>(params->output_path, p.width, p.height, ctx->pipeline->task().fps);
    if (params->frames_dir && frames_here) {
      std::error_code ec;
      fs::create_directories(params->frames_dir, ec);
      WAN_CHECK(fs::is_directory(params->frames_dir, ec), "frames_dir ", params->frames_dir,
                ": cannot create the folder");
    }
    int64_t produced = 0;
    bool stop = false;
    std::string stage_name;
    // Where the time goes: the start of each stage, the high-noise expert's steps, the writing.
    using Clock = std::chrono::steady_clock;
    auto seconds = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
    std::map<std::string, Clock::time_point> stage_start;
    Clock::time_point step_start;
    double high_s = 0, write_s = 0;
    if (wan::cuda_available()) wan::reset_device_peak_memory();
    wan::GenerateCallbacks cb;
    wan_progress progress{"", 0, int32_t(p.steps), 0, 0};
    auto report = [&] {
      if (params->on_progress && params->on_progress(params->user_data, &progress) != 0) stop = true;
      return !stop;
    };
    cb.on_stage = [&](const std::string& stage) {
      stage_start[stage] = step_start = Clock::now();
      stage_name = stage;
      progress = {stage_name.c_str(), 0, int32_t(p.steps), 0, 0};
      report();
    };
    cb.on_step = [&](int64_t i, int64_t, int64_t t, bool high) {
      const Clock::time_point now = Clock::now();
      if (high) high_s += seconds(step_start, now);
      step_start = now;
      progress.step = int32_t(i + 1);
      progress.timestep = int32_t(t);
      progress.high_noise = high ? 1 : 0;
      return report();
    };
    cb.on_frames = [&](const wan::Tensor& frames) {  // [3, t, H, W] in [-1, 1]
      const Clock::time_point write_start = Clock::now();
      if (writer) writer->write(frames);
      if (params->frames_dir) wan::write_png_frames(params->frames_dir, frames, produced);
      const int64_t count = frames.size(1);
      if (params->on_frames) {
        std::vector<uint8_t> rgb;
        rgb.reserve(size_t(count * p.width * p.height * 3));
        for (int64_t t = 0; t < count; ++t) {
          const std::vector<uint8_t> f = wan::frame_to_rgb24(frames, t);
          rgb.insert(rgb.end(), f.begin(), f.end());
        }
        const wan_frames batch{int32_t(frames.size(3)), int32_t(frames.size(2)), int32_t(count), int32_t(produced),
                               rgb.data()};
        if (params->on_frames(params->user_data, &batch) != 0) stop = true;
      }
      produced += count;
      write_s += seconds(write_start, Clock::now());
    };
    cb.should_stop = [&] { return stop; };
    ctx->pipeline->generate(p, cb);
    if (stop) throw wan::Cancelled();
    const Clock::time_point decoded = Clock::now();
    const double decode_s = stage_start.count("decoding") ? seconds(stage_start["decoding"], decoded) - write_s : 0.0;
    if (writer) writer->finish();
    write_s += seconds(decoded, Clock::now());
    if (result) {
      *result = {};
      auto between = [&](const char* from, const char* to) {
        if (!stage_start.count(from)) return 0.0;
        return seconds(stage_start[from], stage_start.count(to) ? stage_start[to] : decoded);
      };
      result->text_seconds = between("text encoder", "denoising");
      result->denoise_seconds = between("denoising", "decoding");
      result->high_noise_seconds = high_s;
      result->decode_seconds = decode_s;
      result->write_seconds = write_s;
      if (wan::cuda_available()) result->peak_gpu_gib = double(wan::device_memory_stats().peak) / double(1ull << 30);
      result->seed = int64_t(p.seed);
      result->width = int32_t(p.width);
      result->height = int32_t(p.height);
      result->frames = int32_t(produced);
      result->steps = int32_t(p.steps);
      result->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return WAN_OK;
  });
}

wan_status wan_prepare_demo_checkpoint(const char* data_dir, const char* dest_dir) {
  return guarded(WAN_ERROR_IO, [&] {
    WAN_CHECK(data_dir && dest_dir, "wan_prepare_demo_checkpoint: data_dir and dest_dir must not be NULL");
    wan::ensure_demo_checkpoint(dest_dir, data_dir);
    return WAN_OK;
  });
}

}  // extern "C"
