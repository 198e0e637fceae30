// jaq/autograd/ops/cross_entropy.hpp: softmax cross-entropy, averaged over the batch.
//
//   auto loss = jaq::cross_entropy(tp, logits, labels);   // logits (N, K), labels N ints
//   float l = loss.value()[0];
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "jaq/autograd/tape.hpp"

namespace jaq {

/// Mean over the batch of -log softmax(logits)[label]. Labels must lie in [0, K).
template <scalar T>
var<T> cross_entropy(tape<T>& tp, var<T> logits, std::span<const std::int32_t> labels) {
  const jaq::shape& s = logits.shape();
  if (s.rank != 2 || s[0] != static_cast<std::int64_t>(labels.size()))
    throw model_error("cross_entropy: logits " + s.str() + " do not match " + std::to_string(labels.size()) + " labels (want (N, K))");
  const std::int64_t n = s[0], k = s[1];
  const T* z = logits.value().data();
  tensor<T> prob(s);  // softmax, saved for backward
  double total = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t y = labels[static_cast<std::size_t>(i)];
    if (y < 0 || y >= k)
      throw model_error("cross_entropy: label " + std::to_string(y) + " at index " + std::to_string(i) + " is outside [0, " +
                        std::to_string(k) + ")");
    const T* zi = z + i * k;
    const T mx = *std::max_element(zi, zi + k);
    T sum = T(0);
    for (std::int64_t j = 0; j < k; ++j) sum += (prob[i * k + j] = std::exp(zi[j] - mx));
    for (std::int64_t j = 0; j < k; ++j) prob[i * k + j] /= sum;
    total += static_cast<double>(std::log(sum) + mx - zi[y]);
  }
  tensor<T> loss(jaq::shape{1});
  loss[0] = static_cast<T>(total / static_cast<double>(n));
  std::vector<tensor<T>> saved;
  const bool nb = tp.needs_backward({logits});
  if (nb) saved.push_back(std::move(prob));
  // Labels are ints, not activations: captured by value (N * 4 bytes, not counted).
  std::vector<std::int32_t> lab(labels.begin(), labels.end());
  return tp.record(
      "cross_entropy", std::move(loss), {logits},
      [n, k, lab = std::move(lab)](backward_context<T>& ctx) {
        if (!ctx.needs_grad(0)) return;
        const T scale = ctx.grad_output()[0] / static_cast<T>(n);
        const tensor<T>& p = ctx.saved(0);
        tensor<T>& g = ctx.grad_input(0);
        for (std::int64_t i = 0; i < n; ++i) {
          for (std::int64_t j = 0; j < k; ++j) g[i * k + j] += scale * p[i * k + j];
          g[i * k + lab[static_cast<std::size_t>(i)]] -= scale;
        }
      },
      std::move(saved));
}

/// Number of rows of logits (N, K) whose arg-max equals the label (first maximum wins).
template <scalar T>
std::int64_t count_correct(const tensor<T>& logits, std::span<const std::int32_t> labels) {
  const std::int64_t n = logits.dim(0), k = logits.dim(1);
  std::int64_t c = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const T* zi = logits.data() + i * k;
    if (std::max_element(zi, zi + k) - zi == labels[static_cast<std::size_t>(i)]) ++c;
  }
  return c;
}

}  // namespace jaq
