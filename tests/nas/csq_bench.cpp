// tests/nas/csq_bench.cpp: one configuration of the CSQ benchmark (tools/bench_csq.sh), the jaq
// side of tools/bench_csq_torch.py: training steps of small-cnn or mbconv-small on random
// 1x28x28 images with random labels (time and memory do not depend on the values), 2 threads.
//
//   csq_bench --model small-cnn --batch 128 --mode csq20 --steps 20 --warmup 3
//   -> jaq model=small-cnn mode=csq20 batch=128 step_ms=<median> peak_backward_bytes=<n>
//      peak_rss_mb=<MiB> base_rss_mb=<MiB>
//
// Modes: fp32; lsq4 (and lsqN); naive (all-channel supernet over {2,3,4,8}, one quantized conv
// per candidate); fused (the same with the fused all-channel op); csqK (CSQ with K percent).
// step_ms: median over --steps timed steps (forward, backward, optimizer) after --warmup steps; a
// search alternates weight and architecture steps. peak_backward_bytes: the tape's peak (jaq's
// byte accounting). peak_rss_mb / base_rss_mb: getrusage maximum resident set after the steps /
// before the first step.
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "jaq/autograd/blas.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/nas/train_session.hpp"
#include "jaq/nn/registry.hpp"
#include "jaq/optim/sgd.hpp"

namespace {
double rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;
}
}  // namespace

int main(int argc, char** argv) {
  jaq::use_best_blas_kernel(argv);  // OpenBLAS on a CPU it does not know: its fast kernels (may restart)
  CLI::App app{"one CSQ benchmark configuration"};
  std::string model = "small-cnn", mode = "fp32";
  std::int64_t batch = 128;
  int steps = 20, warmup = 3, threads = 2;
  app.add_option("--model", model);
  app.add_option("--mode", mode, "fp32, lsqN, naive, fused, csqK");
  app.add_option("--batch", batch);
  app.add_option("--steps", steps);
  app.add_option("--warmup", warmup);
  app.add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);
  try {
    jaq::rng gen(1);
    auto m = jaq::nn::make_model<float>(model, {.in_channels = 1, .classes = 10}, gen);
    jaq::nas::train_flags f;
    if (mode.rfind("lsq", 0) == 0) {
      f.quant = "lsq";
      f.bits = std::stoi(mode.substr(3));
    } else if (mode == "naive" || mode == "fused") {
      f.mixed = "2,3,4,8";
      f.fused_naive = mode == "fused";
    } else if (mode.rfind("csq", 0) == 0) {
      f.mixed = "2,3,4,8";
      f.csq = std::stod(mode.substr(3));
      f.csq_given = true;
    } else if (mode != "fp32") {
      throw jaq::config_error("csq_bench", "--mode", "unknown mode '" + mode + "'");
    }
    jaq::nas::train_session<float> qs(f, *m, gen);
    jaq::optim::sgd<float> opt(qs.parameters(m->parameters()), {.lr = 0.01, .momentum = 0.9});
    auto qopt = qs.optimizer(opt);
    jaq::tape<float> tp({.threads = threads});
    jaq::tensor<float> x(jaq::shape{1, batch, 28, 28});
    for (auto& v : x) v = float(gen.normal());
    std::vector<std::int32_t> y(static_cast<std::size_t>(batch));
    for (auto& v : y) v = std::int32_t(gen.below(10));
    qs.begin_epoch(0);
    m->set_training(true);
    const double base = rss_mb();
    std::vector<double> ms;
    for (int s = 0; s < warmup + steps; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      qs.begin_step(s);
      tp.clear();
      qopt.zero_grad();
      auto logits = m->forward(tp, tp.constant(x.clone()));
      auto loss = jaq::cross_entropy(tp, logits, std::span<const std::int32_t>(y));
      tp.backward(loss);
      qopt.step();
      tp.clear();
      if (s >= warmup) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms.empty() ? 0 : (ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]));
    std::printf("jaq model=%s mode=%s batch=%lld step_ms=%.3f peak_backward_bytes=%zu peak_rss_mb=%.1f base_rss_mb=%.1f\n", model.c_str(),
                mode.c_str(), static_cast<long long>(batch), med, tp.peak_bytes(), rss_mb(), base);
    return 0;
  } catch (const jaq::error& e) {
    std::cerr << "csq_bench: error: " << e.what() << std::endl;
    return 1;
  }
}
