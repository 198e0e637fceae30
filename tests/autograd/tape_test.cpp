#include "jaq/autograd/tape.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <sstream>

#include "jaq/autograd/gradcheck.hpp"
#include "jaq/autograd/ops/activation.hpp"
#include "jaq/autograd/ops/add.hpp"
#include "tests/autograd/helpers.hpp"

namespace {

// An op defined outside jaq/autograd, exactly as the docs show: y = x^2, saving nothing.
template <jaq::scalar T>
jaq::var<T> square(jaq::tape<T>& tp, jaq::var<T> x) {
  jaq::tensor<T> y(x.shape());
  for (std::int64_t i = 0; i < y.size(); ++i) y[i] = x.value()[i] * x.value()[i];
  return tp.record("square", std::move(y), {x}, [](jaq::backward_context<T>& ctx) {
    if (!ctx.needs_grad(0)) return;
    auto& gx = ctx.grad_input(0);
    for (std::int64_t i = 0; i < gx.size(); ++i) gx[i] += 2 * ctx.input(0)[i] * ctx.grad_output()[i];
  });
}

// An op that saves a tensor (here 2*x) for backward: y = sum(x * 2x).
template <jaq::scalar T>
jaq::var<T> saving_op(jaq::tape<T>& tp, jaq::var<T> x) {
  jaq::tensor<T> twice(x.shape());
  T s = 0;
  for (std::int64_t i = 0; i < twice.size(); ++i) {
    twice[i] = 2 * x.value()[i];
    s += x.value()[i] * twice[i];
  }
  jaq::tensor<T> y(jaq::shape{1});
  y[0] = s;
  std::vector<jaq::tensor<T>> saved;
  saved.push_back(std::move(twice));
  return tp.record(
      "saving_op", std::move(y), {x},
      [](jaq::backward_context<T>& ctx) {
        auto& gx = ctx.grad_input(0);
        for (std::int64_t i = 0; i < gx.size(); ++i) gx[i] += 2 * ctx.saved(0)[i] * ctx.grad_output()[0];
      },
      std::move(saved));
}

}  // namespace

TEST_CASE("a user-defined op passes the finite-difference check") {
  jaq::rng gen(1);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({3, 4}, gen));
  auto r = jaq::gradcheck([](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) { return square(tp, v[0]); }, in);
  CHECK_MESSAGE(r.ok, r);
  auto r2 = jaq::gradcheck([](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) { return saving_op(tp, v[0]); }, in);
  CHECK_MESSAGE(r2.ok, r2);
}

TEST_CASE("gradcheck catches a wrong backward") {
  auto wrong = [](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) {
    jaq::tensor<double> y = v[0].value().clone();
    return tp.record("wrong", std::move(y), {v[0]}, [](jaq::backward_context<double>& ctx) {
      auto& g = ctx.grad_input(0);
      for (std::int64_t i = 0; i < g.size(); ++i) g[i] += 2 * ctx.grad_output()[i];  // should be 1x
    });
  };
  jaq::rng gen(2);
  std::vector<jaq::tensor<double>> in;
  in.push_back(jaq::test::random_tensor<double>({5}, gen));
  auto r = jaq::gradcheck(wrong, in);
  CHECK_FALSE(r.ok);
  std::ostringstream os;
  os << r;
  CHECK(os.str().find("FAILED") != std::string::npos);
}

TEST_CASE("held bytes count outputs and saved tensors and fall to zero after backward") {
  jaq::tape<float> tp;
  auto x = tp.variable(jaq::tensor<float>::full({10}, 1.5f));  // 40 bytes
  CHECK(tp.held_bytes() == 40);
  auto y = square(tp, x);  // +40
  CHECK(tp.held_bytes() == 80);
  auto z = saving_op(tp, y);  // +4 output, +40 saved
  CHECK(tp.held_bytes() == 124);
  tp.backward(z);
  CHECK(tp.held_bytes() == 0);
  // peak: the 124 bytes of forward plus the gradients alive at once during backward
  CHECK(tp.peak_bytes() >= 124);
  CHECK(tp.peak_bytes() <= 124 + 4 + 40 + 40);
  // d/dx sum((x^2) * 2 x^2) = 8 x^3
  REQUIRE(x.grad().size() == 10);
  CHECK(x.grad()[0] == doctest::Approx(8 * 1.5 * 1.5 * 1.5));
  tp.clear();
  CHECK(tp.size() == 0);
}

TEST_CASE("evaluation mode records no backward and saves nothing") {
  jaq::tape<float> tp;
  tp.set_grad_enabled(false);
  auto x = tp.variable(jaq::tensor<float>::full({10}, 1.0f));
  CHECK_FALSE(x.requires_grad());
  auto z = saving_op(tp, x);
  CHECK_FALSE(z.requires_grad());
  CHECK(tp.held_bytes() == 44);  // input + output, no saved tensor
}

TEST_CASE("parameters are read in place and their gradients accumulate") {
  jaq::parameter<float> p{.name = "p", .value = jaq::tensor<float>::full({4}, 2.0f), .grad = {}};
  for (int step = 0; step < 2; ++step) {
    jaq::tape<float> tp;
    auto v = tp.param(p);
    CHECK(&v.value() == &p.value);
    CHECK(tp.held_bytes() == 0);  // a parameter is not held by the tape
    tp.backward(saving_op(tp, v));
  }
  CHECK(p.grad[0] == doctest::Approx(2 * 4 * 2.0f));  // two backward passes of 4x
  p.zero_grad();
  CHECK(p.grad[0] == 0.0f);
}

TEST_CASE("a variable used twice gets both gradient contributions") {
  std::vector<jaq::tensor<double>> in;
  jaq::rng gen(3);
  in.push_back(jaq::test::random_tensor<double>({6}, gen));
  auto r = jaq::gradcheck(
      [](jaq::tape<double>& tp, std::span<const jaq::var<double>> v) { return jaq::add(tp, jaq::relu(tp, v[0]), v[0]); }, in);
  CHECK_MESSAGE(r.ok, r);
}

TEST_CASE("bad use names the op and the shapes") {
  jaq::tape<float> tp, other;
  auto a = tp.constant(jaq::tensor<float>::zeros({2, 3}));
  auto b = tp.constant(jaq::tensor<float>::zeros({3, 2}));
  CHECK_THROWS_WITH_AS(jaq::add(tp, a, b), "add: shapes differ: (2, 3) vs (3, 2)", jaq::model_error);
  auto c = other.constant(jaq::tensor<float>::zeros({2, 3}));
  CHECK_THROWS_AS(jaq::add(tp, a, c), jaq::model_error);
  CHECK_THROWS_AS(tp.backward(a), jaq::model_error);  // not a scalar
  CHECK_THROWS_AS(jaq::tape<float>(jaq::tape_options{.threads = 0}), jaq::config_error);
}

static_assert(jaq::scalar<float> && jaq::scalar<double>);
static_assert(!jaq::scalar<int>, "integer tensors are not part of the engine");
static_assert(!std::is_copy_constructible_v<jaq::tensor<float>>, "tensors are move-only");
static_assert(!std::is_copy_constructible_v<jaq::tape<float>>, "a tape is not copied");
template <class T>
concept makes_tensor = requires {
  typename jaq::tensor<T>;
};
static_assert(makes_tensor<float>);
static_assert(!makes_tensor<int>, "tensor<int> is rejected by the scalar concept");

TEST_CASE("every op of a tape runs in the tape's one thread pool, of its thread count") {
  jaq::tape<float> tp({.threads = 2});
  const jaq::tbb_backend a = tp.exec(), b = tp.exec();
  CHECK(a.threads == 2);
  REQUIRE(a.pool != nullptr);
  CHECK(a.pool == b.pool);  // one arena for the tape's lifetime, not one per op
  CHECK(a.pool->threads() == 2);
  std::atomic<int> in_pool{0};
  jaq::parallel_for(a, 0, 16, [&](std::int64_t) {
    if (tbb::this_task_arena::max_concurrency() == 2) in_pool++;
  });
  CHECK(in_pool.load() == 16);
  // Results do not depend on the thread count: relu(x + x) on one thread and on two.
  jaq::tape<float> one({.threads = 1});
  jaq::tensor<float> x({4096});
  for (std::int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
  auto run = [&](jaq::tape<float>& t) {
    auto v = t.constant(x.clone());
    return jaq::relu(t, jaq::add(t, v, v)).value().clone();
  };
  const auto y1 = run(one), y2 = run(tp);
  for (std::int64_t i = 0; i < x.size(); ++i) REQUIRE(y1[i] == y2[i]);
}

TEST_CASE("first_non_finite names where a forward pass first went non-finite") {
  jaq::tape<float> tp;
  jaq::parameter<float> w{.name = "conv2.weight", .value = jaq::tensor<float>::full({3}, 2.0f), .grad = {}};
  auto x = tp.constant(jaq::tensor<float>::full({3}, 1.0f));
  auto y = square(tp, jaq::add(tp, x, tp.param(w)));
  CHECK(tp.first_non_finite().empty());
  // an overflow inside an op: named with the parameter it reads
  w.value[1] = 1e30f;
  tp.clear();
  auto c = tp.constant(jaq::tensor<float>::full({3}, 1.0f));
  auto h = jaq::add(tp, c, tp.param(w));
  (void)square(tp, h);
  CHECK(tp.first_non_finite() == "the output of square (node 3); 1 of 3 values non-finite");
  tp.clear();
  (void)square(tp, tp.param(w));
  CHECK(tp.first_non_finite() == "the output of square (node 1), which reads conv2.weight; 1 of 3 values non-finite");
  // a NaN weight: the parameter itself, before anything that reads it
  w.value[2] = std::nanf("");
  tp.clear();
  auto one = tp.constant(jaq::tensor<float>::full({3}, 1.0f));
  (void)jaq::add(tp, one, tp.param(w));
  CHECK(tp.first_non_finite() == "parameter conv2.weight (node 1); 1 of 3 values non-finite");
  // an infinite input
  tp.clear();
  jaq::tensor<float> bad = jaq::tensor<float>::full({3}, 1.0f);
  bad[0] = std::numeric_limits<float>::infinity();
  (void)square(tp, tp.constant(std::move(bad)));
  CHECK(tp.first_non_finite() == "an input (node 0); 1 of 3 values non-finite");
  (void)y;
}
