// wan.hpp: a header-only C++ wrapper of the C API (wan.h) with RAII and exceptions.
//
//   wan::api::Context ctx({.checkpoint_dir = "Wan2.2-T2V-A14B"});
//   wan::api::Request req;
//   req.prompt = "a red fox running through snow";
//   req.output_path = "fox.mp4";
//   req.on_frames = [](const wan_frames& f) { /* f.count frames of RGB */ return true; };
//   wan_generate_result r = ctx.generate(req);
//
// Every failure throws wan::api::Error, which carries the status and the library's message.
#ifndef WAN_WAN_HPP
#define WAN_WAN_HPP

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "wan/wan.h"

namespace wan::api {

class Error : public std::runtime_error {
 public:
  Error(wan_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  wan_status status() const { return status_; }

 private:
  wan_status status_;
};

inline void check(wan_status status) {
  if (status != WAN_OK) throw Error(status, wan_last_error());
}

struct ContextOptions {
  std::string checkpoint_dir;
  std::string task;  // empty: detected
  wan_device device = WAN_DEVICE_CPU;
  int threads = 0;
  bool t5_cpu = false;        // the text encoder on the CPU (official --t5_cpu)
  bool vae_f32 = false;       // the GPU VAE decoder in f32 (see wan_context_params.vae_f32)
  wan_offload offload = WAN_OFFLOAD_AUTO;  // T2V-A14B's inactive expert in host memory (official --offload_model)
  wan_precision precision = WAN_PRECISION_BF16;  // the DiT's arithmetic on CUDA (see wan_precision)
  bool cfg_parallel = false;  // several GPUs, one process each: see wan_nccl_unique_id in wan.h
  int ulysses = 1;
  std::function<void(wan_log_level, const std::string&)> on_log;  // empty: stderr
  // Testing and timing only: random weights of `task` instead of checkpoint_dir, made on the GPU
  // (see wan_random_weights in wan.h).
  struct RandomWeights {
    int t5_layers = 0;  // 0: the real 24
    uint64_t seed = 1;
    std::string tokenizer_model;
  };
  std::optional<RandomWeights> random_weights;
};

// One text-to-video request; zero/empty fields take the task's defaults.
struct Request {
  std::string prompt;
  std::optional<std::string> negative_prompt;  // unset: the official default
  int width = 0, height = 0, frames = 0, steps = 0;
  double shift = 0, guide_scale_low = 0, guide_scale_high = 0;
  wan_solver solver = WAN_SOLVER_UNIPC;
  int64_t seed = -1;                      // negative: random, reported in the result
  std::optional<std::string> output_path;  // an .mp4 to write
  std::optional<std::string> frames_dir;   // also PNG frames here
  std::function<bool(const wan_progress&)> on_progress;  // false: stop
  std::function<bool(const wan_frames&)> on_frames;                   // false: stop
};

namespace detail {

// An exception thrown by a callback must not cross the C library: it is kept, the run is
// stopped, and generate() rethrows it.
struct Callbacks {
  const Request* request;
  std::exception_ptr error;
};

inline int progress_trampoline(void* user, const wan_progress* progress) {
  auto* cb = static_cast<Callbacks*>(user);
  try {
    return cb->request->on_progress(*progress) ? 0 : 1;
  } catch (...) {
    cb->error = std::current_exception();
    return 1;
  }
}

inline int frames_trampoline(void* user, const wan_frames* frames) {
  auto* cb = static_cast<Callbacks*>(user);
  try {
    return cb->request->on_frames(*frames) ? 0 : 1;
  } catch (...) {
    cb->error = std::current_exception();
    return 1;
  }
}

inline void log_trampoline(void* user, wan_log_level level, const char* message) {
  try {
    (*static_cast<std::function<void(wan_log_level, const std::string&)>*>(user))(level, message);
  } catch (...) {  // a failing log sink loses the message, never the run
  }
}

// The C view of context options; valid while `o` and `random` (filled when o.random_weights is set) live.
inline wan_context_params context_params(const ContextOptions& o, wan_random_weights& random) {
  wan_context_params p = wan_context_default_params();
  p.checkpoint_dir = o.checkpoint_dir.c_str();
  p.task = o.task.empty() ? nullptr : o.task.c_str();
  p.device = o.device;
  p.threads = o.threads;
  p.t5_cpu = o.t5_cpu ? 1 : 0;
  p.vae_f32 = o.vae_f32 ? 1 : 0;
  p.offload = o.offload;
  p.precision = o.precision;
  p.cfg_parallel = o.cfg_parallel ? 1 : 0;
  p.ulysses = o.ulysses;
  if (o.random_weights) {
    random = {o.random_weights->t5_layers, o.random_weights->seed, o.random_weights->tokenizer_model.c_str()};
    p.random_weights = &random;
  }
  if (o.on_log) {  // the library's messages go to the options' sink (the trampoline only calls it)
    p.log_callback = log_trampoline;
    p.log_user_data = const_cast<std::function<void(wan_log_level, const std::string&)>*>(&o.on_log);
  }
  return p;
}

// The C view of a request; valid while `r` and `cb` live.
inline wan_generate_params to_c(const Request& r, Callbacks& cb) {
  wan_generate_params p = wan_generate_default_params();
  p.prompt = r.prompt.c_str();
  p.negative_prompt = r.negative_prompt ? r.negative_prompt->c_str() : nullptr;
  p.width = r.width;
  p.height = r.height;
  p.frames = r.frames;
  p.steps = r.steps;
  p.shift = r.shift;
  p.guide_scale_low = r.guide_scale_low;
  p.guide_scale_high = r.guide_scale_high;
  p.solver = r.solver;
  p.seed = r.seed;
  p.output_path = r.output_path ? r.output_path->c_str() : nullptr;
  p.frames_dir = r.frames_dir ? r.frames_dir->c_str() : nullptr;
  p.on_progress = r.on_progress ? progress_trampoline : nullptr;
  p.on_frames = r.on_frames ? frames_trampoline : nullptr;
  p.user_data = &cb;
  return p;
}

}  // namespace detail

class Context {
 public:
  explicit Context(ContextOptions options) : options_(std::make_unique<ContextOptions>(std::move(options))) {
    wan_random_weights random{};
    const wan_context_params p = detail::context_params(*options_, random);
    check(wan_context_create(&p, &ctx_));
  }
  ~Context() { wan_context_free(ctx_); }
  Context(Context&& o) noexcept : options_(std::move(o.options_)), ctx_(std::exchange(o.ctx_, nullptr)) {}
  Context& operator=(Context&& o) noexcept {
    std::swap(options_, o.options_);
    std::swap(ctx_, o.ctx_);
    return *this;
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  std::string task() const { return wan_context_task(ctx_); }
  // False on the ranks other than 0 of several GPUs: generate() there makes no frames or files.
  bool produces_frames() const { return wan_context_produces_frames(ctx_) != 0; }
  bool offloads_experts() const { return wan_context_offloads_experts(ctx_) != 0; }
  wan_precision precision() const { return wan_context_precision(ctx_); }

  // Throws on failure (Error::status() == WAN_ERROR_CANCELLED when a callback stopped it; a
  // callback's own exception is rethrown as it was).
  wan_generate_result generate(const Request& request) {
    detail::Callbacks cb{&request, nullptr};
    const wan_generate_params p = detail::to_c(request, cb);
    wan_generate_result result{};
    const wan_status status = wan_generate(ctx_, &p, &result);
    if (cb.error) std::rethrow_exception(cb.error);
    check(status);
    return result;
  }

  // The GPU memory the request would need (wan_predict_memory); options.checkpoint_dir may be
  // empty when options.task is set.
  static wan_memory_prediction predict_memory(const ContextOptions& options, const Request& request) {
    wan_random_weights random{};
    const wan_context_params cp = detail::context_params(options, random);
    detail::Callbacks cb{&request, nullptr};
    const wan_generate_params p = detail::to_c(request, cb);
    wan_memory_prediction out{};
    check(wan_predict_memory(&cp, &p, &out));
    return out;
  }

  // The request with the task's defaults filled in, validated without loading anything.
  static Request resolve(const ContextOptions& options, const Request& request) {
    wan_random_weights random{};
    const wan_context_params cp = detail::context_params(options, random);  // warnings go where the context's go
    detail::Callbacks cb{&request, nullptr};
    const wan_generate_params p = detail::to_c(request, cb);
    wan_generate_params out{};
    check(wan_resolve_params(&cp, &p, &out));
    Request r = request;
    r.width = out.width;
    r.height = out.height;
    r.frames = out.frames;
    r.steps = out.steps;
    r.shift = out.shift;
    r.guide_scale_low = out.guide_scale_low;
    r.guide_scale_high = out.guide_scale_high;
    return r;
  }

 private:

  std::unique_ptr<ContextOptions> options_;  // stable address: the log callback's user data
  wan_context* ctx_ = nullptr;
};

// A fresh NCCL unique id for the WAN_NCCL_ID of every rank (throws without NCCL or CUDA).
inline std::string nccl_unique_id() {
  char hex[257];
  check(wan_nccl_unique_id(hex, int32_t(sizeof hex)));
  return hex;
}

inline void prepare_demo_checkpoint(const std::string& data_dir, const std::string& dest_dir) {
  check(wan_prepare_demo_checkpoint(data_dir.c_str(), dest_dir.c_str()));
}

// The tools (wan.h, "Tools").
inline wan_device_info device_info(int index = 0) {
  wan_device_info info;
  check(wan_get_device_info(index, &info));
  return info;
}

struct VideoComparison {
  wan_video_comparison summary;
  std::vector<wan_frame_difference> frames;  // every frame's numbers
};

inline VideoComparison compare_videos(const std::string& a, const std::string& b) {
  VideoComparison c{};
  c.frames.resize(1024);  // room for any official clip; a longer one is read again with room for all
  check(wan_compare_videos(a.c_str(), b.c_str(), &c.summary, c.frames.data(), int64_t(c.frames.size())));
  if (c.summary.frames > int64_t(c.frames.size())) {
    c.frames.resize(size_t(c.summary.frames));
    check(wan_compare_videos(a.c_str(), b.c_str(), &c.summary, c.frames.data(), int64_t(c.frames.size())));
  }
  c.frames.resize(size_t(c.summary.frames));
  return c;
}

inline wan_convert_report convert_checkpoint(const std::string& src, const std::string& dst,
                                             const std::string& dtype = "bf16", int64_t shard_bytes = 0) {
  wan_convert_report r;
  check(wan_convert_checkpoint(src.c_str(), dst.c_str(), dtype.c_str(), shard_bytes, &r));
  return r;
}

// Several GPUs (wan.h, wan_launch_ranks): runs this program once per GPU with `args`; the exit code.
inline int launch_ranks(int world, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  int32_t code = 0;
  check(wan_launch_ranks(world, argv.data(), int32_t(argv.size()), &code));
  return code;
}

// This process's rank among several GPUs', or -1 when it was started alone.
inline int process_rank() {
  const int32_t rank = wan_process_rank();
  if (rank == -2) throw Error(WAN_ERROR_INVALID_ARGUMENT, wan_last_error());
  return rank;
}

// The checkpoint tools (wan.h, "Checkpoints").
inline wan_checkpoint_info inspect_checkpoint(const std::string& path) {
  wan_checkpoint_info info;
  check(wan_inspect_checkpoint(path.c_str(), &info));
  return info;
}

inline std::vector<wan_tensor_info> list_tensors(const std::string& path) {
  int64_t count = 0;
  check(wan_list_tensors(path.c_str(), nullptr, 0, &count));
  std::vector<wan_tensor_info> tensors(static_cast<size_t>(count));
  const int64_t capacity = count;
  check(wan_list_tensors(path.c_str(), tensors.data(), capacity, &count));
  tensors.resize(size_t(count < capacity ? count : capacity));  // a file rewritten in between
  return tensors;
}

inline wan_convert_report write_random_checkpoint(const std::string& dir, const wan_random_checkpoint_params& params) {
  wan_convert_report r;
  check(wan_write_random_checkpoint(dir.c_str(), &params, &r));
  return r;
}

}  // namespace wan::api

#endif  // WAN_WAN_HPP
