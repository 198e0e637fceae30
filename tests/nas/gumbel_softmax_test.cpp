#include "jaq/nas/gumbel_softmax.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <sstream>
#include <vector>

using namespace jaq::nas;

TEST_CASE("temperature schedule decays geometrically to its floor") {
  const temperature_schedule t{.initial = 4.0, .decay = 0.5, .minimum = 0.75};
  CHECK(t.at(0) == 4.0);
  CHECK(t.at(1) == 2.0);
  CHECK(t.at(2) == 1.0);
  CHECK(t.at(3) == 0.75);
  CHECK(t.at(50) == 0.75);
  std::ostringstream os;
  os << t;
  CHECK(os.str() == "tau(4 * 0.5^epoch, min 0.75)");
  CHECK_THROWS_WITH_AS(temperature_schedule{.initial = 0}.validate("search"), "search: tau.initial: 0.000000 (must be > 0)",
                       jaq::config_error);
  CHECK_THROWS_AS(temperature_schedule{.decay = 1.5}.validate("search"), jaq::config_error);
}

TEST_CASE("soft sampling: softmax of (beta + g) / tau over every candidate") {
  const std::vector<float> beta{0.5f, -1.0f, 2.0f, 0.0f};
  const std::vector<double> g{0.1, 0.3, -0.2, 0.0};
  const double tau = 2.0;
  const auto w = gumbel_weights_from_noise(beta, g, tau, sampling::soft);
  CHECK(w.active == std::vector<int>{0, 1, 2, 3});
  double z[4], sum = 0;
  for (int b = 0; b < 4; ++b) sum += (z[b] = std::exp((beta[b] + g[b]) / tau));
  for (int b = 0; b < 4; ++b) CHECK(w.weights[b] == doctest::Approx(z[b] / sum));
  CHECK(std::accumulate(w.weights.begin(), w.weights.end(), 0.0) == doctest::Approx(1.0));
}

TEST_CASE("top-2 sampling: the two largest perturbed logits, renormalised over the two") {
  const std::vector<float> beta{0.5f, -1.0f, 2.0f, 0.0f};
  const std::vector<double> g{0.1, 3.0, -0.2, 0.0};  // z*tau = 0.6, 2.0, 1.8, 0.0
  const auto w = gumbel_weights_from_noise(beta, g, 1.0, sampling::top2);
  CHECK(w.active == std::vector<int>{1, 2});
  CHECK(w.is_active(1));
  CHECK(!w.is_active(0));
  CHECK(w.weights[0] == 0.0);
  CHECK(w.weights[3] == 0.0);
  CHECK(w.weights[1] == doctest::Approx(std::exp(2.0) / (std::exp(2.0) + std::exp(1.8))));
  CHECK(w.weights[1] + w.weights[2] == doctest::Approx(1.0));
}

TEST_CASE("gumbel_backward matches finite differences of a loss of the weights") {
  const std::vector<float> beta{0.3f, -0.7f, 1.1f, 0.2f};
  const std::vector<double> g{0.4, -0.1, 0.2, 0.9};
  const std::vector<double> c{1.0, -2.0, 0.5, 3.0};  // loss = sum_b c_b w_b
  for (auto mode : {sampling::soft, sampling::top2}) {
    const double tau = 0.7;
    const auto w = gumbel_weights_from_noise(beta, g, tau, mode);
    const auto grad = gumbel_backward(w, tau, c);
    for (std::size_t k = 0; k < beta.size(); ++k) {
      auto loss = [&](float delta) {
        auto b2 = beta;
        b2[k] += delta;
        // keep the active set of the unperturbed sample (it is piecewise constant in beta)
        std::vector<double> z(4);
        for (int b = 0; b < 4; ++b) z[b] = (b2[b] + g[b]) / tau;
        const auto ww = softmax_over(z, w.active);
        double l = 0;
        for (int b = 0; b < 4; ++b) l += c[b] * ww[b];
        return l;
      };
      const float h = 1e-3f;
      const double fd = (loss(h) - loss(-h)) / (2.0 * h);
      CHECK(grad[k] == doctest::Approx(fd).epsilon(1e-3));
    }
  }
}

TEST_CASE("sampling is reproducible from the seed and low temperature concentrates the mass") {
  const std::vector<float> beta{0.0f, 0.0f, 3.0f, 0.0f};
  jaq::rng a(5), b(5);
  const auto wa = gumbel_sample_weights(beta, 1.0, sampling::soft, a);
  const auto wb = gumbel_sample_weights(beta, 1.0, sampling::soft, b);
  CHECK(wa.weights == wb.weights);
  jaq::rng r(8);
  int wins = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto w = gumbel_sample_weights(beta, 0.1, sampling::soft, r);
    wins += w.weights[2] > 0.5;
  }
  // P(argmax of beta + Gumbel = 2) = e^3 / (e^3 + 3) = 0.87
  CHECK(wins / 2000.0 == doctest::Approx(std::exp(3.0) / (std::exp(3.0) + 3.0)).epsilon(0.05));
}
