#include "pipeline/denoise.h"

#include "backend/backend.h"
#include "core/thread_pool.h"
#include "dist/communicator.h"
#include "pipeline/task_config.h"

namespace wan {

Tensor classifier_free_guidance(const Tensor& cond, const Tensor& uncond, double guide) {
  WAN_CHECK(cond.shape() == uncond.shape(), "CFG: shapes ", cond.describe(), " and ", uncond.describe(), " differ");
  const Tensor c = cond.to(DType::F32).contiguous(), u = uncond.to(DType::F32).contiguous();
  Tensor out = Tensor::empty(c.shape(), DType::F32);
  const float g = float(guide);
  const float *cp = c.data<float>(), *up = u.data<float>();
  float* op = out.data<float>();
  parallel_for(c.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) op[i] = up[i] + g * (cp[i] - up[i]);
  }, 1 << 16);
  return out;
}

namespace {

// CFG-parallel: this rank's prediction and its partner's, as (cond, uncond).
std::pair<Tensor, Tensor> exchange_predictions(const dist::Communicator& pair, const Tensor& mine) {
  const Tensor send = to_device(mine.to(DType::F32).contiguous(), Device::CUDA);
  Shape shape = send.shape();
  shape.insert(shape.begin(), 2);
  Tensor both = empty_on(shape, DType::F32, Device::CUDA);  // [branch, ...]
  pair.all_gather(send, both);
  const Tensor host = to_device(both, Device::CPU);
  return {host.select(0, 0).contiguous(), host.select(0, 1).contiguous()};
}

}  // namespace

Tensor denoise(const DenoiseInputs& in, const StepCallback& on_step) {
  WAN_CHECK(in.low_noise, "denoise: no model");
  WAN_CHECK(in.noise.dim() == 4, "denoise: noise must be [C, T, h, w], got ", in.noise.describe());
  const WanDiTConfig& cfg = in.low_noise->config();
  const auto& p = cfg.patch_size;
  const int64_t seq_len = (in.noise.size(1) / p[0]) * (in.noise.size(2) / p[1]) * (in.noise.size(3) / p[2]);
  const FlowSchedule schedule = flow_schedule(in.solver, in.steps, in.shift, kNumTrainTimesteps);
  auto solver = make_solver(in.solver, schedule);
  const double boundary_t = in.boundary * double(kNumTrainTimesteps);

  // What the models keep per text (cross-attention's keys and values) goes when this loop is done
  // with them: the high-noise expert's at the boundary, both at the end, also on Cancelled.
  struct ReleaseTextCaches {
    const DenoiseInputs& in;
    ~ReleaseTextCaches() {
      if (in.high_noise) in.high_noise->release_text_cache();
      in.low_noise->release_text_cache();
    }
  } release_at_end{in};
  Tensor x = in.noise.to(DType::F32).clone();
  for (int64_t i = 0; i < in.steps; ++i) {
    const int64_t t = schedule.timesteps[size_t(i)];
    const bool high = in.high_noise && double(t) >= boundary_t;
    if (!high && in.high_noise && i > 0 && double(schedule.timesteps[size_t(i - 1)]) >= boundary_t)
      in.high_noise->release_text_cache();  // the high-noise expert's steps are over
    const DiTModel& model = high ? *in.high_noise : *in.low_noise;
    const double guide = high ? in.guide_high : in.guide_low;
    const Tensor timestep = Tensor::from_vector<float>({float(t)}, {1});
    Tensor cond, uncond;
    if (in.cfg_group) {
      WAN_CHECK(in.cfg_group->size() == 2, "CFG-parallel needs a pair of ranks, got ", in.cfg_group->size());
      const Tensor mine = model.predict({x}, timestep, {in.cfg_branch == 0 ? in.context : in.context_null}, seq_len)[0];
      std::tie(cond, uncond) = exchange_predictions(*in.cfg_group, mine);
    } else {
      std::tie(cond, uncond) = model.predict_guided(x, timestep, in.context, in.context_null, seq_len);
    }
    x = solver->step(classifier_free_guidance(cond, uncond, guide), x);
    if (on_step && !on_step(i, in.steps, t, high)) throw Cancelled();
  }
  return x;
}

}  // namespace wan
