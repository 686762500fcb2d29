// The flow-matching sampling schedule (wan/utils/fm_solvers_unipc.py set_timesteps,
// wan/utils/fm_solvers.py get_sampling_sigmas), with no model code.
//
// sigmas (float64): σ_i = linspace(σ_max, 0, N + 1)[i], i < N, then shifted: s·σ / (1 + (s − 1)·σ).
//   σ_max is float32(0.999) for UniPC (and Euler) and exactly 1.0 for DPM++.
// timesteps: int64(σ_i · 1000), truncated: what the DiT receives.
// solver sigmas: the shifted σ_i as float32, plus a final 0: what the solvers use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wan {

enum class Solver { UniPC, DPMpp, Euler };

// "unipc", "dpm++" (also "dpmpp"), "euler"; throws with the accepted names otherwise.
Solver solver_from_name(const std::string& name);
const char* solver_name(Solver solver);

struct FlowSchedule {
  std::vector<int64_t> timesteps;  // N
  std::vector<float> sigmas;       // N + 1, the last 0
};

FlowSchedule flow_schedule(Solver solver, int64_t steps, double shift, int64_t num_train_timesteps = 1000);

}  // namespace wan
