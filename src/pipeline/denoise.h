// The denoising loop of text-to-video (wan/text2video.py WanT2V.generate L300–360, and the
// single-model TI2V-5B path of textimage2video.py), with no I/O:
//   for each timestep t: expert = high-noise if t >= boundary·1000 else low-noise (one model:
//   always `low_noise`); cond = model(x, t, context), uncond = model(x, t, context_null);
//   v = uncond + g·(cond − uncond) with the expert's guide scale; x = solver.step(v, x).
#pragma once

#include <functional>
#include <string>

#include "core/error.h"
#include "models/dit_model.h"
#include "sampling/solvers.h"

namespace wan {
namespace dist {
class Communicator;
}

// Thrown when the step callback asks to stop; nothing partial is returned.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

struct DenoiseInputs {
  Tensor noise;         // [C, T, h, w] f32: the starting latent
  Tensor context;       // [L, text_dim]: the prompt's T5 output
  Tensor context_null;  // [L', text_dim]: the negative prompt's
  const DiTModel* high_noise = nullptr;  // null for single-model tasks
  const DiTModel* low_noise = nullptr;
  double boundary = 0.0;  // fraction of num_train_timesteps
  double guide_high = 5.0, guide_low = 5.0;
  Solver solver = Solver::UniPC;
  int64_t steps = 50;
  double shift = 5.0;
  // CFG-parallel (dist/parallel.h): this rank runs only its branch's forward (0: `context`,
  // 1: `context_null`) and the pair exchanges the two predictions each step. Null: both here.
  const dist::Communicator* cfg_group = nullptr;
  int cfg_branch = 0;
};

// Called after every step (index from 0); return false to stop (denoise then throws Cancelled).
using StepCallback = std::function<bool(int64_t step, int64_t total, int64_t timestep, bool high_noise)>;

Tensor denoise(const DenoiseInputs& in, const StepCallback& on_step = {});

// CFG: uncond + g·(cond − uncond), elementwise in float32.
Tensor classifier_free_guidance(const Tensor& cond, const Tensor& uncond, double guide);

}  // namespace wan
