// The schedules and solvers against schedulers.io.safetensors (official set_timesteps and step
// with the stand-in model v(x, t) = tanh(0.7·x + 0.001·t) − 0.3·x), and Euler against closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "core/stats.h"
#include "io/safetensors.h"
#include "sampling/solvers.h"
#include "test_util.h"

namespace wan {
namespace {

std::shared_ptr<SafetensorsFile> golden() {
  const auto files = test::golden_files("schedulers", ".io.safetensors");
  WAN_CHECK(!files.empty(), "no schedulers*.io.safetensors in ", test::golden_dir());
  return SafetensorsFile::open(files[0]);
}

// "<solver>.<steps>.<shift>" keys present in the file for `what` (timesteps or trajectory).
std::vector<std::tuple<std::string, int64_t, double>> cases(const SafetensorsFile& f, const std::string& what) {
  std::vector<std::tuple<std::string, int64_t, double>> out;
  const std::regex re("^(unipc|dpm\\+\\+)\\.([0-9]+)\\.([0-9.]+)\\." + what + "$");
  for (const auto& e : f.entries()) {
    std::smatch m;
    if (std::regex_match(e.name, m, re)) out.emplace_back(m[1], std::stoll(m[2]), std::stod(m[3]));
  }
  return out;
}

std::string key(const std::string& solver, int64_t steps, double shift) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s.%lld.%.1f", solver.c_str(), (long long)steps, shift);
  return buf;
}

TEST(FlowSchedule, MatchesSetTimesteps) {
  const auto f = golden();
  const auto all = cases(*f, "timesteps");
  ASSERT_GE(all.size(), 4u);
  for (const auto& [solver, steps, shift] : all) {
    const FlowSchedule s = flow_schedule(solver_from_name(solver), steps, shift);
    const std::string k = key(solver, steps, shift);
    const auto ts = f->tensor(k + ".timesteps").to_vector<float>();
    const auto sig = f->tensor(k + ".sigmas").to_vector<float>();
    ASSERT_EQ(s.timesteps.size(), ts.size()) << k;
    ASSERT_EQ(s.sigmas.size(), sig.size()) << k;
    for (size_t i = 0; i < ts.size(); ++i) EXPECT_EQ(float(s.timesteps[i]), ts[i]) << k << " timestep " << i;
    for (size_t i = 0; i < sig.size(); ++i) EXPECT_EQ(s.sigmas[i], sig[i]) << k << " sigma " << i;
  }
}

TEST(FlowSchedule, OfficialA14BTimesteps) {
  // wan22-reference.md §4.1: t2v-A14B, 40 steps, shift 12; 26 at or above the 875 boundary.
  const FlowSchedule s = flow_schedule(Solver::UniPC, 40, 12.0);
  EXPECT_EQ(s.timesteps.front(), 999);
  EXPECT_EQ(s.timesteps[25], 877);
  EXPECT_EQ(s.timesteps[26], 865);
  EXPECT_EQ(s.timesteps.back(), 235);
  EXPECT_EQ(flow_schedule(Solver::DPMpp, 40, 12.0).timesteps.front(), 1000);
  EXPECT_THROW(flow_schedule(Solver::UniPC, 0, 5.0), Error);
  EXPECT_THROW(solver_from_name("ddim"), Error);
}

Tensor stand_in(const Tensor& x, int64_t t) {
  Tensor v = Tensor::empty(x.shape(), DType::F32);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float xv = x.data<float>()[i];
    v.data<float>()[i] = std::tanh(0.7f * xv + 0.001f * float(t)) - 0.3f * xv;
  }
  return v;
}

TEST(FlowSolvers, TrajectoriesMatchTheOfficialSolvers) {
  const auto f = golden();
  const auto all = cases(*f, "trajectory");
  ASSERT_GE(all.size(), 2u);
  for (const auto& [solver, steps, shift] : all) {
    const std::string k = key(solver, steps, shift);
    const FlowSchedule s = flow_schedule(solver_from_name(solver), steps, shift);
    const Tensor traj = f->tensor(k + ".trajectory");
    ASSERT_EQ(traj.size(0), steps);
    auto solver_obj = make_solver(solver_from_name(solver), s);
    Tensor x = f->tensor("x0").clone();
    for (int64_t i = 0; i < steps; ++i) {
      x = solver_obj->step(stand_in(x, s.timesteps[size_t(i)]), x);
      ASSERT_LE(rel_l2(x, traj.select(0, i)), 1e-4) << k << " step " << i;
    }
    EXPECT_THROW(solver_obj->step(x, x), Error);  // past the last step
  }
}

TEST(FlowSolvers, EulerIsExactForConstantVelocity) {
  // dx/dσ = v constant: Euler lands on x0 − σ_0·v after all steps.
  const FlowSchedule s = flow_schedule(Solver::Euler, 7, 3.0);
  auto euler = make_solver(Solver::Euler, s);
  const Tensor v = test::random_tensor({5}, 1);
  Tensor x = test::random_tensor({5}, 2);
  const Tensor x0 = x.clone();
  for (int i = 0; i < 7; ++i) x = euler->step(v, x);
  for (int64_t i = 0; i < 5; ++i)
    EXPECT_NEAR(x.data<float>()[i], x0.data<float>()[i] - s.sigmas[0] * v.data<float>()[i], 1e-5);
}

TEST(FlowSolvers, AllSolversReachTheDataForAnExactModel) {
  // With v = (x − x_data)/σ (the exact velocity for a point target), every solver ends at x_data.
  const Tensor data = test::random_tensor({6}, 3);
  for (Solver sv : {Solver::UniPC, Solver::DPMpp, Solver::Euler}) {
    const FlowSchedule s = flow_schedule(sv, 12, 5.0);
    auto solver = make_solver(sv, s);
    Tensor x = test::random_tensor({6}, 4);
    for (size_t i = 0; i < s.timesteps.size(); ++i) {
      Tensor v = Tensor::empty({6}, DType::F32);
      for (int64_t j = 0; j < 6; ++j) v.data<float>()[j] = (x.data<float>()[j] - data.data<float>()[j]) / s.sigmas[i];
      x = solver->step(v, x);
    }
    EXPECT_LE(rel_l2(x, data), 1e-5) << solver_name(sv);
  }
}

}  // namespace
}  // namespace wan
