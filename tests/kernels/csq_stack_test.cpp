// Tests of CSQ's stacking as the CUDA kernels compute it (kernels/detail/csq_stack.hpp), on the
// CPU: the stacked input and weight built element by element, convolved by jaq's own conv2d,
// give what jaq::nas::mixed_conv2d gives, for dense and depthwise layers, with one or two active
// widths and CSQ masks of several sizes. tests/kernels/gpu_test.cpp checks the device's elements
// against these functions.
#include "kernels/detail/csq_stack.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "jaq/autograd/ops/conv2d.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nas/channel_mask.hpp"
#include "jaq/nas/mixed_conv.hpp"

namespace cu = jaq::cuda;
namespace q = jaq::quant;

namespace {

struct layer_case {
  std::int64_t c, co, n, h, k;
  bool depthwise;
};

void check(const layer_case& lc, const std::vector<int>& selected, const std::vector<float>& pv) {
  jaq::rng r(17);
  const std::vector<int> bits{2, 3, 4, 8};
  const std::int64_t nb = 4, co = lc.depthwise ? lc.c : lc.co, cin_w = lc.depthwise ? 1 : lc.c, kk = lc.k * lc.k;
  jaq::tensor<float> xt(jaq::shape{lc.c, lc.n, lc.h, lc.h}), wt(jaq::shape{co, cin_w, lc.k, lc.k});
  for (auto& v : xt) v = static_cast<float>(std::fabs(r.normal()));
  for (auto& v : wt) v = static_cast<float>(r.normal() * 0.3);
  std::vector<float> s_a(nb), s_w(nb * co);
  std::vector<q::qrange> a_grid, w_grid;
  for (std::int64_t b = 0; b < nb; ++b) {
    s_a[b] = 1.8f / float((1 << bits[b]) - 1);
    for (std::int64_t o = 0; o < co; ++o) s_w[b * co + o] = 0.4f / float(1 << (bits[b] - 1)) * (1.0f + 0.1f * float(o));
    a_grid.push_back(q::qrange::of(bits[b], false, "a"));
    w_grid.push_back(q::qrange::of(bits[b], true, "w"));
  }
  std::vector<char> flags(std::size_t(lc.c), 0);
  for (int c : selected) flags[std::size_t(c)] = 1;
  const auto mask = jaq::nas::channel_mask::from_flags(flags, lc.c);

  // the library's op
  jaq::tape<float> tp;
  auto x = tp.variable(xt.clone());
  auto w = tp.variable(wt.clone());
  jaq::tensor<float> pt(jaq::shape{nb});
  for (std::int64_t b = 0; b < nb; ++b) pt[b] = pv[std::size_t(b)];
  auto p = tp.variable(pt.clone());
  std::vector<jaq::var<float>> sa, sw;
  for (std::int64_t b = 0; b < nb; ++b) {
    sa.push_back(tp.variable(jaq::tensor<float>::full({1}, s_a[b])));
    jaq::tensor<float> s(jaq::shape{co});
    for (std::int64_t o = 0; o < co; ++o) s[o] = s_w[b * co + o];
    sw.push_back(tp.variable(std::move(s)));
  }
  const jaq::nas::mixed_conv_spec spec{.conv = {.stride = 1, .padding = 1, .groups = lc.depthwise ? lc.c : 1}, .bits = bits, .name = "l"};
  const auto y = jaq::nas::mixed_conv2d(tp, x, w, p, sa, sw, mask, spec);

  // the kernels' stacking, element by element
  std::vector<cu::csq_channel> stack;
  std::vector<std::int32_t> active;
  for (std::int64_t b = 0; b < nb; ++b)
    if (pv[std::size_t(b)] != 0) active.push_back(std::int32_t(b));
  for (int c : mask.unselected) stack.push_back({c, -1});
  for (std::int32_t b : active)
    for (int c : mask.selected) stack.push_back({c, b});
  cu::csq_shape sh{.plane = lc.n * lc.h * lc.h,
                   .co = co,
                   .cin_w = cin_w,
                   .kk = kk,
                   .cs = std::int64_t(stack.size()),
                   .nu = std::int64_t(mask.unselected.size()),
                   .depthwise = lc.depthwise};
  jaq::tensor<float> xs(jaq::shape{sh.cs, lc.n, lc.h, lc.h});
  for (std::int64_t j = 0; j < sh.nu; ++j)
    for (std::int64_t i = 0; i < sh.plane; ++i) xs[j * sh.plane + i] = xt[stack[std::size_t(j)].source * sh.plane + i];
  for (std::int64_t i = 0; i < sh.q_size(); ++i)
    xs[sh.nu * sh.plane + i] = cu::detail::csq_input_element(sh, xt.data(), stack.data(), s_a.data(), a_grid.data(), i);
  jaq::tensor<float> ws(lc.depthwise ? jaq::shape{sh.cs, 1, lc.k, lc.k} : jaq::shape{co, sh.cs, lc.k, lc.k});
  for (std::int64_t d = 0; d < sh.w_size(); ++d)
    ws[d] = cu::detail::csq_weight_element(sh, wt.data(), stack.data(), s_w.data(), w_grid.data(), pt.data(), active.data(),
                                           std::int32_t(active.size()), d);
  jaq::tape<float> tp2;
  auto ys = jaq::conv2d(tp2, tp2.variable(std::move(xs)), tp2.variable(std::move(ws)),
                        {.stride = 1, .padding = 1, .groups = lc.depthwise ? sh.cs : 1});
  std::vector<float> out(std::size_t(y.value().size()), 0.0f);
  const std::int64_t oplane = lc.n * lc.h * lc.h;
  if (!lc.depthwise) {
    for (std::int64_t i = 0; i < ys.value().size(); ++i) out[std::size_t(i)] = ys.value()[i];
  } else {  // each stacked channel's output adds into its source channel, as mixed_conv2d does
    for (std::int64_t j = 0; j < sh.cs; ++j)
      for (std::int64_t i = 0; i < oplane; ++i) out[std::size_t(stack[std::size_t(j)].source * oplane + i)] += ys.value()[j * oplane + i];
  }
  REQUIRE(out.size() == std::size_t(y.value().size()));
  for (std::size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == doctest::Approx(y.value()[std::int64_t(i)]).epsilon(1e-5));
}

}  // namespace

TEST_CASE("the kernels' stacked operands convolve to mixed_conv2d's output: dense") {
  const layer_case dense{.c = 8, .co = 6, .n = 2, .h = 5, .k = 3, .depthwise = false};
  check(dense, {1, 4, 6}, {0.0f, 0.7f, 0.3f, 0.0f});                 // two active widths, 3 of 8 channels
  check(dense, {0, 1, 2, 3, 4, 5, 6, 7}, {0.0f, 0.0f, 1.0f, 0.0f});  // every channel, one width
  check(dense, {5}, {0.25f, 0.0f, 0.0f, 0.75f});
}

TEST_CASE("the kernels' stacked operands convolve to mixed_conv2d's output: depthwise") {
  const layer_case dw{.c = 6, .co = 6, .n = 2, .h = 6, .k = 3, .depthwise = true};
  check(dw, {0, 3}, {0.6f, 0.4f, 0.0f, 0.0f});
  check(dw, {0, 1, 2, 3, 4, 5}, {0.0f, 0.0f, 0.5f, 0.5f});
}
