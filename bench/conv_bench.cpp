// The convolution engine's kernels alone, on the shapes mbconv-small and the supernet run at
// batch 128: depthwise 3x3/5x5 at stride 1 and 2, forward, weight gradient and input gradient,
// small-cnn's dense 3x3 convolutions, and the LSQ quantizer rows. One thread, the minimum of many repetitions (robust to a busy
// machine): the figures behind the engine notes in docs/benchmarks.md. Build two commits and
// run both binaries side by side to compare a change.
//
//   bazel run -c opt //bench:conv_bench            # all kernels
//   bazel run -c opt //bench:conv_bench -- 50      # 50 repetitions each (default 20)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "jaq/autograd/blas.hpp"
#include "jaq/autograd/detail/conv_engine.hpp"
#include "jaq/autograd/detail/depthwise.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/quant/detail/lsq_kernels.hpp"

namespace {

template <class F>
double min_ms(F&& f, int reps) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

std::vector<float> random(std::size_t n, jaq::rng& gen) {
  std::vector<float> v(n);
  for (auto& x : v) x = float(gen.normal());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  jaq::use_best_blas_kernel(argv);
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  jaq::rng gen(1);
  jaq::thread_pool pool(1);
  const auto ex = pool.backend();
  struct shape {
    std::int64_t c, h, k, stride;
  };
  // mbconv-small's depthwise layers at batch 128 (block 1 to 5)
  const shape shapes[] = {{16, 28, 3, 1}, {64, 28, 3, 2}, {96, 14, 3, 1}, {96, 14, 5, 2}, {160, 7, 3, 1}};
  std::printf("%-28s %10s %10s %10s\n", "depthwise (C, HxW, k, s)", "fwd ms", "bwd_w ms", "bwd_x ms");
  for (const shape& s : shapes) {
    const std::int64_t n = 128, pad = s.k / 2;
    jaq::detail::conv_geometry g{.c = s.c,
                                 .n = n,
                                 .h = s.h,
                                 .w = s.h,
                                 .kh = s.k,
                                 .kw = s.k,
                                 .stride = s.stride,
                                 .pad = pad,
                                 .ho = (s.h + 2 * pad - s.k) / s.stride + 1,
                                 .wo = (s.h + 2 * pad - s.k) / s.stride + 1};
    const auto x = random(std::size_t(g.c * n * g.h * g.w), gen);
    const auto w = random(std::size_t(g.c * s.k * s.k), gen);
    const auto gy = random(std::size_t(g.c * n * g.ho * g.wo), gen);
    std::vector<float> y(gy.size()), gw(w.size()), gx(x.size());
    const double f = min_ms([&] { jaq::detail::depthwise_forward(ex, g, x.data(), w.data(), y.data()); }, reps);
    const double bw =
        min_ms([&] { jaq::detail::depthwise_backward<float>(ex, g, x.data(), w.data(), gy.data(), gw.data(), true, nullptr); }, reps);
    const double bx =
        min_ms([&] { jaq::detail::depthwise_backward<float>(ex, g, x.data(), w.data(), gy.data(), nullptr, true, gx.data()); }, reps);
    std::printf("%4lld, %3lldx%-3lld k%lld s%lld %13s %10.3f %10.3f %10.3f\n", (long long)s.c, (long long)s.h, (long long)s.h,
                (long long)s.k, (long long)s.stride, "", f, bw, bx);
  }
  // small-cnn's dense 3x3 convolutions at batch 128 (conv1 takes the image: no input gradient)
  struct dense {
    std::int64_t c, co, h, stride;
  };
  const dense convs[] = {{1, 16, 28, 1}, {16, 32, 28, 2}, {32, 64, 14, 2}};
  std::printf("%-28s %10s %10s %10s\n", "dense 3x3 (C->Co, HxW, s)", "fwd ms", "bwd_w ms", "bwd_wx ms");
  for (const dense& d : convs) {
    const jaq::detail::conv_geometry g =
        jaq::detail::conv_check("bench", jaq::shape{d.c, 128, d.h, d.h}, jaq::shape{d.co, d.c, 3, 3}, {.stride = d.stride, .padding = 1});
    const auto x = random(std::size_t(g.input_size()), gen);
    const auto w = random(std::size_t(d.co * d.c * 9), gen);
    const auto gy = random(std::size_t(d.co * g.n * g.ho * g.wo), gen);
    std::vector<float> y(gy.size()), gw(w.size()), gx(x.size());
    const auto planes = jaq::detail::channel_planes(g, x.data());
    const double f = min_ms([&] { jaq::detail::conv_forward(ex, g, d.co, 1, planes.data(), w.data(), y.data()); }, reps);
    const double bw = min_ms(
        [&] { jaq::detail::conv_backward<float>(ex, g, d.co, 1, planes.data(), w.data(), gy.data(), gw.data(), true, nullptr, true); },
        reps);
    const double bwx = min_ms(
        [&] { jaq::detail::conv_backward<float>(ex, g, d.co, 1, planes.data(), w.data(), gy.data(), gw.data(), true, gx.data(), true); },
        reps);
    std::printf("%4lld->%-3lld %3lldx%-3lld s%lld %13s %10.3f %10.3f %10.3f\n", (long long)d.c, (long long)d.co, (long long)d.h,
                (long long)d.h, (long long)d.stride, "", f, bw, bwx);
  }
  {
    const std::int64_t n = 64 * 128 * 28 * 28;  // block 2's expanded activation
    const auto v = random(std::size_t(n), gen);
    const auto gh = random(std::size_t(n), gen);
    std::vector<float> out(v.size());
    jaq::quant::qrange r = jaq::quant::qrange::of(4, false, "bench");
    const double c = min_ms([&] { jaq::quant::detail::lsq_codes_into(ex, r, "bench", v.data(), &gh[0], n, n, out.data()); }, reps);
    std::vector<float> gs(1, 0.0f);
    const float s = 0.3f;
    const double b = min_ms(
        [&] { jaq::quant::detail::lsq_chain(ex, r, "bench", v.data(), &s, n, n, gh.data(), out.data(), true, gs.data(), 1.0); }, reps);
    std::printf("LSQ 4-bit, %lld elements: codes %.3f ms, STE + step gradient %.3f ms\n", (long long)n, c, b);
  }
  return 0;
}
