// Flow-matching solvers, stepping a sample with the model's velocity prediction v.
//
// Each solver is created for one schedule and called once per step, in order:
//   x = solver.step(v, x)   // v = model(x, timesteps[i]), x the sample at step i
// FlowUniPC (fm_solvers_unipc.py: order 2, bh2, predict_x0, lower_order_final, corrector),
// FlowDPM++ 2M (fm_solvers.py: dpmsolver++, midpoint, lower_order_final, final sigma 0) and
// flow Euler (x + (σ_{i+1} − σ_i)·v). Data predictions are m = x − σ_i·v. All arithmetic in
// float32, with the schedule's float32 sigmas. See wan22-reference.md §4.
#pragma once

#include <memory>

#include "core/tensor.h"
#include "sampling/schedule.h"

namespace wan {

class FlowSolver {
 public:
  virtual ~FlowSolver() = default;
  // Advances x (any shape, f32) by one step; returns the new sample.
  virtual Tensor step(const Tensor& v, const Tensor& x) = 0;
  int64_t step_index() const { return index_; }

 protected:
  explicit FlowSolver(FlowSchedule schedule) : schedule_(std::move(schedule)) {}
  void check_step(const Tensor& v, const Tensor& x) const;
  FlowSchedule schedule_;
  int64_t index_ = 0;
};

std::unique_ptr<FlowSolver> make_solver(Solver solver, const FlowSchedule& schedule);

}  // namespace wan
