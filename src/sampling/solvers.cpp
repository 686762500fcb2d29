#include "sampling/solvers.h"

#include <cmath>
#include <deque>
#include <vector>

#include "core/thread_pool.h"

namespace wan {
namespace {

// out = a·x + b·y elementwise in float32 (the solvers' only tensor arithmetic).
Tensor axpby(float a, const Tensor& x, float b, const Tensor& y) {
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* xp = x.data<float>();
  const float* yp = y.data<float>();
  float* op = out.data<float>();
  // Threads: a 720p latent is millions of elements, touched several times per step.
  parallel_for(x.numel(), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) op[i] = a * xp[i] + b * yp[i];
  }, 1 << 16);
  return out;
}

// λ(σ) = log(1 − σ) − log(σ): +∞ at σ = 0, −∞ at σ = 1.
float lambda_of(float sigma) { return std::log(1.0f - sigma) - std::log(sigma); }

// m = x − σ·v (convert_model_output, flow prediction with predict_x0).
Tensor data_prediction(const Tensor& x, const Tensor& v, float sigma) { return axpby(1.0f, x, -sigma, v); }

class FlowUniPC : public FlowSolver {
 public:
  explicit FlowUniPC(FlowSchedule s) : FlowSolver(std::move(s)) {}

  Tensor step(const Tensor& v_in, const Tensor& x_in) override {
    check_step(v_in, x_in);
    const Tensor v = v_in.to(DType::F32).contiguous(), x0 = x_in.to(DType::F32).contiguous();
    const int64_t i = index_, N = int64_t(schedule_.timesteps.size());
    const Tensor m = data_prediction(x0, v, schedule_.sigmas[size_t(i)]);
    Tensor x = x0;
    if (i > 0 && last_sample_.defined()) x = corrector(m, this_order_);
    if (history_.size() == 2) history_.pop_front();
    history_.push_back(m);
    this_order_ = std::min<int64_t>(std::min<int64_t>(2, N - i), lower_order_nums_ + 1);
    last_sample_ = x;
    Tensor next = predictor(x, this_order_);
    if (lower_order_nums_ < 2) ++lower_order_nums_;
    ++index_;
    return next;
  }

 private:
  // multistep_uni_p_bh_update: from x at σ_i to σ_{i+1}; history_.back() is m_i.
  Tensor predictor(const Tensor& x, int64_t order) const {
    const int64_t i = index_;
    const float sigma_t = schedule_.sigmas[size_t(i + 1)], sigma_s0 = schedule_.sigmas[size_t(i)];
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = lambda_of(sigma_s0);
    const float h = lambda_of(sigma_t) - lambda_s0;
    const float hh = -h;
    const float h_phi_1 = std::expm1(hh);
    const float B_h = std::expm1(hh);  // bh2
    const Tensor& m0 = history_.back();
    Tensor x_t = axpby(sigma_t / sigma_s0, x, -(alpha_t * h_phi_1), m0);
    if (order == 2) {
      const Tensor& m1 = history_.front();
      const float rk = (lambda_of(schedule_.sigmas[size_t(i - 1)]) - lambda_s0) / h;
      const Tensor D1 = axpby(1.0f / rk, m1, -1.0f / rk, m0);  // (m_{i−1} − m_i) / r
      const float rho_p = 0.5f;                                // order 2: fixed, not solved
      x_t = axpby(1.0f, x_t, -(alpha_t * B_h) * rho_p, D1);
    }
    return x_t;
  }

  // multistep_uni_c_bh_update: corrects x_i (last_sample_ is x_{i−1}) with m_t = m_i; history_ is
  // still [m_{i−2}, m_{i−1}].
  Tensor corrector(const Tensor& m_t, int64_t order) const {
    const int64_t i = index_;
    const float sigma_t = schedule_.sigmas[size_t(i)], sigma_s0 = schedule_.sigmas[size_t(i - 1)];
    const float alpha_t = 1.0f - sigma_t;
    const float lambda_s0 = lambda_of(sigma_s0);
    const float h = lambda_of(sigma_t) - lambda_s0;
    const float hh = -h;
    const float h_phi_1 = std::expm1(hh);
    const float B_h = std::expm1(hh);
    const Tensor& m0 = history_.back();
    // rks = [r_1, 1], b_k = h_phi_k · k! / B_h, R = [rks^0; rks^1].
    std::vector<float> rks;
    Tensor D1;
    if (order == 2) {
      const Tensor& m1 = history_.front();
      const float rk = (lambda_of(schedule_.sigmas[size_t(i - 2)]) - lambda_s0) / h;
      rks.push_back(rk);
      D1 = axpby(1.0f / rk, m1, -1.0f / rk, m0);
    }
    rks.push_back(1.0f);
    std::vector<float> b;
    float h_phi_k = h_phi_1 / hh - 1.0f;
    float factorial = 1.0f;
    for (int64_t k = 1; k <= order; ++k) {
      b.push_back(h_phi_k * factorial / B_h);
      factorial *= float(k + 1);
      h_phi_k = h_phi_k / hh - 1.0f / factorial;
    }
    std::vector<float> rho;
    if (order == 1) {
      rho = {0.5f};
    } else {  // solve [[1, 1], [r, 1]] · ρ = b
      const float r = rks[0];
      const float det = 1.0f * 1.0f - 1.0f * r;
      rho = {(b[0] * 1.0f - 1.0f * b[1]) / det, (1.0f * b[1] - r * b[0]) / det};
    }
    Tensor x_t = axpby(sigma_t / sigma_s0, last_sample_, -(alpha_t * h_phi_1), m0);
    Tensor res = axpby(rho.back(), m_t, -rho.back(), m0);  // ρ_last · (m_t − m0)
    if (order == 2) res = axpby(1.0f, res, rho[0], D1);
    return axpby(1.0f, x_t, -(alpha_t * B_h), res);
  }

  std::deque<Tensor> history_;  // data predictions, newest last (at most 2)
  Tensor last_sample_;
  int64_t this_order_ = 1;
  int64_t lower_order_nums_ = 0;
};

class FlowDPMpp : public FlowSolver {
 public:
  explicit FlowDPMpp(FlowSchedule s) : FlowSolver(std::move(s)) {}

  Tensor step(const Tensor& v_in, const Tensor& x_in) override {
    check_step(v_in, x_in);
    const Tensor v = v_in.to(DType::F32).contiguous(), x = x_in.to(DType::F32).contiguous();
    const int64_t i = index_, N = int64_t(schedule_.timesteps.size());
    const float sigma_t = schedule_.sigmas[size_t(i + 1)], sigma_s0 = schedule_.sigmas[size_t(i)];
    const float alpha_t = 1.0f - sigma_t;
    const Tensor m0 = data_prediction(x, v, sigma_s0);
    const float lambda_s0 = lambda_of(sigma_s0);
    const float h = lambda_of(sigma_t) - lambda_s0;
    const float coef = alpha_t * (std::exp(-h) - 1.0f);
    Tensor next;
    if (lower_order_nums_ < 1 || i == N - 1) {
      next = axpby(sigma_t / sigma_s0, x, -coef, m0);  // first order
    } else {  // second order, midpoint
      const float h_0 = lambda_s0 - lambda_of(schedule_.sigmas[size_t(i - 1)]);
      const float r0 = h_0 / h;
      const Tensor D1 = axpby(1.0f / r0, m0, -1.0f / r0, prev_);  // (m0 − m1) / r0
      next = axpby(sigma_t / sigma_s0, x, -coef, m0);
      next = axpby(1.0f, next, -0.5f * coef, D1);
    }
    prev_ = m0;
    if (lower_order_nums_ < 2) ++lower_order_nums_;
    ++index_;
    return next;
  }

 private:
  Tensor prev_;
  int64_t lower_order_nums_ = 0;
};

class FlowEuler : public FlowSolver {
 public:
  explicit FlowEuler(FlowSchedule s) : FlowSolver(std::move(s)) {}
  Tensor step(const Tensor& v, const Tensor& x) override {
    check_step(v, x);
    const float dt = schedule_.sigmas[size_t(index_ + 1)] - schedule_.sigmas[size_t(index_)];
    ++index_;
    return axpby(1.0f, x.to(DType::F32).contiguous(), dt, v.to(DType::F32).contiguous());
  }
};

}  // namespace

void FlowSolver::check_step(const Tensor& v, const Tensor& x) const {
  WAN_CHECK(index_ < int64_t(schedule_.timesteps.size()), "solver: all ", schedule_.timesteps.size(),
            " steps are done");
  WAN_CHECK(v.shape() == x.shape(), "solver: prediction ", v.describe(), " and sample ", x.describe(), " differ");
}

std::unique_ptr<FlowSolver> make_solver(Solver solver, const FlowSchedule& schedule) {
  switch (solver) {
    case Solver::UniPC: return std::make_unique<FlowUniPC>(schedule);
    case Solver::DPMpp: return std::make_unique<FlowDPMpp>(schedule);
    case Solver::Euler: return std::make_unique<FlowEuler>(schedule);
  }
  fail("unknown solver");
}

}  // namespace wan
