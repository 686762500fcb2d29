#include "sampling/schedule.h"

#include "core/error.h"

namespace wan {

Solver solver_from_name(const std::string& name) {
  if (name == "unipc") return Solver::UniPC;
  if (name == "dpm++" || name == "dpmpp") return Solver::DPMpp;
  if (name == "euler") return Solver::Euler;
  fail("unknown sample solver '", name, "' (choose unipc, dpm++ or euler)");
}

const char* solver_name(Solver solver) {
  switch (solver) {
    case Solver::UniPC: return "unipc";
    case Solver::DPMpp: return "dpm++";
    case Solver::Euler: return "euler";
  }
  return "?";
}

FlowSchedule flow_schedule(Solver solver, int64_t steps, double shift, int64_t num_train_timesteps) {
  WAN_CHECK(steps >= 1, "sample steps must be at least 1, got ", steps);
  WAN_CHECK(shift > 0, "sample shift must be positive, got ", shift);
  // UniPC: the training sigmas are float32, so σ_max = float32(1 − 1/1000) as a double.
  const double sigma_max = solver == Solver::DPMpp ? 1.0 : double(float(1.0 - 1.0 / double(num_train_timesteps)));
  FlowSchedule s;
  const double step = (0.0 - sigma_max) / double(steps);  // numpy.linspace
  for (int64_t i = 0; i < steps; ++i) {
    double sigma = sigma_max + double(i) * step;
    sigma = shift * sigma / (1.0 + (shift - 1.0) * sigma);
    s.timesteps.push_back(int64_t(sigma * double(num_train_timesteps)));
    s.sigmas.push_back(float(sigma));
  }
  s.sigmas.push_back(0.0f);
  return s;
}

}  // namespace wan
