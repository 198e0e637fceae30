// jaq/autograd/gradcheck.hpp: finite-difference check of an op's (or a network's) backward,
// in double, against central differences. The slow, obvious reference for every gradient.
//
//   auto r = jaq::gradcheck(
//       [](jaq::tape<double>& tp, std::span<const jaq::var<double>> in) {
//         return jaq::relu(tp, in[0]);
//       },
//       inputs);                 // std::vector<jaq::tensor<double>>, each checked
//   CHECK_MESSAGE(r.ok, r);      // prints the worst element
//
// A non-scalar output is reduced to the scalar sum(out * r) with fixed random weights r, so
// every output element's gradient path is exercised.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/autograd/tape.hpp"
#include "jaq/core/rng.hpp"

namespace jaq {

struct gradcheck_options {
  double eps = 1e-6;   ///< central-difference step
  double atol = 1e-6;  ///< pass if |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-4;
  std::uint64_t seed = 7;
};

struct gradcheck_result {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string worst;  ///< "input 1 [17]: analytic 0.25, numeric 0.2499" for the worst element

  friend std::ostream& operator<<(std::ostream& os, const gradcheck_result& r) {
    return os << (r.ok ? "gradcheck ok" : "gradcheck FAILED") << ", max |error| " << r.max_abs_error
              << (r.worst.empty() ? "" : ", worst: " + r.worst);
  }
};

namespace detail {
// sum(out * r): the scalar the check differentiates.
inline var<double> weighted_sum(tape<double>& tp, var<double> out, const std::vector<double>& r) {
  double s = 0.0;
  const tensor<double>& o = out.value();
  for (std::int64_t i = 0; i < o.size(); ++i) s += o[i] * r[static_cast<std::size_t>(i)];
  tensor<double> y(jaq::shape{1});
  y[0] = s;
  const std::vector<double>* rp = &r;  // r outlives the tape in gradcheck()
  return tp.record("weighted_sum", std::move(y), {out}, [rp](backward_context<double>& ctx) {
    if (!ctx.needs_grad(0)) return;
    tensor<double>& g = ctx.grad_input(0);
    for (std::int64_t i = 0; i < g.size(); ++i) g[i] += ctx.grad_output()[0] * (*rp)[static_cast<std::size_t>(i)];
  });
}
}  // namespace detail

/// f(tape, inputs) builds any output from the inputs (given as variables). Every element of
/// every input is checked. f must be deterministic (same inputs, same output).
template <class F>
gradcheck_result gradcheck(F&& f, std::vector<tensor<double>>& inputs, gradcheck_options o = {}) {
  auto run = [&](bool with_grad, std::vector<tensor<double>>* grads, const std::vector<double>* r, std::vector<double>* rout) -> double {
    tape<double> tp;
    std::vector<var<double>> in;
    for (auto& t : inputs) in.push_back(tp.variable(t.clone()));
    var<double> out = f(tp, std::span<const var<double>>(in));
    if (rout) {  // first call: draw the weights now that the output size is known
      rng gen(o.seed);
      rout->resize(static_cast<std::size_t>(out.value().size()));
      for (double& x : *rout) x = gen.uniform(-1.0, 1.0);
      r = rout;
    }
    var<double> loss = detail::weighted_sum(tp, out, *r);
    const double value = loss.value()[0];
    if (with_grad) {
      tp.backward(loss);
      for (std::size_t k = 0; k < in.size(); ++k) {
        const tensor<double>& g = in[k].grad();
        (*grads)[k] = g.empty() ? tensor<double>::zeros(inputs[k].shape()) : g.clone();
      }
    }
    return value;
  };
  std::vector<double> r;
  std::vector<tensor<double>> analytic(inputs.size());
  run(true, &analytic, nullptr, &r);
  gradcheck_result res;
  double worst_excess = -1.0;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    for (std::int64_t i = 0; i < inputs[k].size(); ++i) {
      const double x0 = inputs[k][i];
      inputs[k][i] = x0 + o.eps;
      const double up = run(false, nullptr, &r, nullptr);
      inputs[k][i] = x0 - o.eps;
      const double down = run(false, nullptr, &r, nullptr);
      inputs[k][i] = x0;
      const double numeric = (up - down) / (2 * o.eps);
      const double a = analytic[k][i];
      const double err = std::abs(a - numeric);
      const double excess = err - (o.atol + o.rtol * std::abs(numeric));
      if (err > res.max_abs_error) res.max_abs_error = err;
      if (excess > worst_excess) {
        worst_excess = excess;
        std::ostringstream os;
        os << "input " << k << " [" << i << "]: analytic " << a << ", numeric " << numeric;
        res.worst = os.str();
      }
      if (excess > 0) res.ok = false;
    }
  }
  return res;
}

}  // namespace jaq
