// bench/cuda_train_bench.cpp: a training step on the GPU (kernels/train.hpp) against jaq's CPU
// engine, side by side in one run, same model, same batch: small-cnn and mbconv-small, full
// precision, LSQ 4-bit and a CSQ-20 search's weight step over {2,3,4,8} (nas::search_model, as
// `train --mixed 2,3,4,8 --csq 20` runs it), and a weight step of the joint search's supernet
// over the default space (nas::space_config{}, widths {2,3,4}, CSQ 20%), at batch 256 (--batch). Each figure is the median of --reps steps
// after 3 warm-up steps; the GPU's include sending the images and labels and reading back the
// loss, as a training loop does. On a machine without a GPU it prints the CPU figures and why
// the GPU's are missing. tools/device_check.sh runs it; PyTorch's figures on the same GPU come
// from tools/bench_csq_torch.py --device cuda in the same script.
//
//   bazel run -c opt //bench:cuda_train_bench -- [--batch 256] [--reps 20] [--threads 2]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "jaq/autograd/blas.hpp"
#include "jaq/autograd/ops/cross_entropy.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/nn/registry.hpp"
#include "jaq/nn/training.hpp"
#include "kernels/device.hpp"
#include "kernels/train.hpp"
#include "kernels/train_model.hpp"
#include "kernels/train_search_model.hpp"
#include "kernels/train_supernet.hpp"

#include "bench/timing.hpp"

namespace cu = jaq::cuda;

namespace {

struct setup {
  std::unique_ptr<jaq::nn::model<float>> model;
  std::unique_ptr<jaq::quant::quantized_model<float>> quant;
  std::unique_ptr<jaq::nas::search_model<float>> search;
  std::unique_ptr<jaq::optim::sgd<float>> opt;
};

/// mode: fp32, lsq4 or csq20.
setup make(const std::string& name, const std::string& mode, const jaq::data::batch& first) {
  jaq::rng gen(1);
  setup s;
  s.model = jaq::nn::make_model<float>(name, {}, gen);
  std::vector<jaq::parameter<float>*> ps = s.model->parameters();
  if (mode == "lsq4") {
    s.quant = std::make_unique<jaq::quant::quantized_model<float>>(*s.model, jaq::quant::quant_config{.wbits = 4, .abits = 4});
    cu::initialize_quantizers(*s.model, first, s.quant.get());
    ps = s.quant->parameters(ps);
  } else if (mode == "csq20") {
    s.search = std::make_unique<jaq::nas::search_model<float>>(
        *s.model, jaq::nas::search_config{.bits = {2, 3, 4, 8}, .csq = jaq::nas::csq_config{.keep_percent = 20}}, gen);
    s.search->begin_epoch(0);
    cu::initialize_quantizers(*s.model, first, &s.search->fixed());
    ps = s.search->parameters(ps);
  }
  s.opt = std::make_unique<jaq::optim::sgd<float>>(ps, jaq::optim::sgd_config{.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4});
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  jaq::use_best_blas_kernel(argv);
  std::int64_t batch = 256;
  int reps = 20, threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  }
  const cu::device_probe pr = cu::probe();
  std::printf("training step, batch %lld, median of %d steps; CPU: jaq's engine on %d threads; GPU: %s\n", static_cast<long long>(batch),
              reps, threads, pr.count > 0 ? pr.name.c_str() : pr.reason.c_str());
  std::printf("%-13s %-5s %12s %12s %9s\n", "model", "mode", "cpu ms", "gpu ms", "cpu/gpu");
  jaq::rng r(3);
  jaq::data::batch b;
  b.shape = {1, 28, 28};
  b.images.resize(static_cast<std::size_t>(batch * 784));
  for (auto& v : b.images) v = static_cast<float>(r.normal());
  for (std::int64_t i = 0; i < batch; ++i) b.labels.push_back(static_cast<std::int32_t>(i % 10));
  for (const char* name : {"small-cnn", "mbconv-small"})
    for (const char* mode : {"fp32", "lsq4", "csq20"}) {
      setup cpu = make(name, mode, b);
      jaq::tape<float> tp({.threads = threads});
      std::int64_t step = 0;
      auto cpu_step = [&] {
        if (cpu.search) {  // a weight step (even): the soft mixture of every width
          cpu.search->begin_step(2 * step);
          auto q = cpu.search->optimizer(*cpu.opt);
          (void)jaq::nn::train_step(*cpu.model, q, tp, b, step++);
          return;
        }
        (void)jaq::nn::train_step(*cpu.model, *cpu.opt, tp, b, step++);
        if (cpu.quant) cpu.quant->project();
      };
      for (int w = 0; w < 3; ++w) cpu_step();
      const double cpu_ms = jaq_bench::median_ms(reps, cpu_step);
      double gpu_ms = -1;
      if (pr.count > 0) {
        setup dev = make(name, mode, b);
        if (dev.search) {
          cu::search_model_trainer<cu::device_trainer> t(*dev.model, *dev.search, *dev.opt, b.shape, batch, 0);
          auto gpu_step = [&] {
            dev.search->begin_step(2 * step);
            (void)t.step(b, step++);
          };
          for (int w = 0; w < 3; ++w) gpu_step();
          gpu_ms = jaq_bench::median_ms(reps, gpu_step);
        } else {
          cu::model_trainer<cu::device_trainer> t(cu::bind_model(*dev.model, dev.quant.get(), b.shape), *dev.opt, batch, 0);
          auto gpu_step = [&] { (void)t.step(b, step++); };
          for (int w = 0; w < 3; ++w) gpu_step();
          gpu_ms = jaq_bench::median_ms(reps, gpu_step);
        }
      }
      if (gpu_ms > 0)
        std::printf("%-13s %-5s %12.3f %12.3f %9.1f\n", name, mode, cpu_ms, gpu_ms, cpu_ms / gpu_ms);
      else
        std::printf("%-13s %-5s %12.3f %12s %9s\n", name, mode, cpu_ms, "-", "-");
      std::fflush(stdout);
    }
  {  // the joint search's supernet: a weight step (begin_step(false)) with the same samples on both
    const jaq::nas::supernet_config sc{.space = jaq::nas::space_config{}, .csq = jaq::nas::csq_config{.keep_percent = 20}};
    auto make_net = [&] {
      jaq::rng gen(2);
      auto n = std::make_unique<jaq::nas::supernet<float>>(sc, gen);
      jaq::tape<float> tp;
      n->set_training(true);
      n->initialize_layers(tp, tp.constant(jaq::nn::batch_tensor<float>(b)));
      return n;
    };
    const jaq::optim::sgd_config oc{.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4};
    auto cpu = make_net();
    jaq::optim::sgd<float> opt(cpu->weight_parameters(), oc);
    jaq::tape<float> tp({.threads = threads});
    auto cpu_step = [&] {
      cpu->begin_step(false);
      for (auto* p : cpu->weight_parameters()) p->grad = jaq::tensor<float>{};
      tp.clear();
      auto loss =
          jaq::cross_entropy(tp, cpu->forward(tp, tp.constant(jaq::nn::batch_tensor<float>(b))), std::span<const std::int32_t>(b.labels));
      tp.backward(loss);
      opt.step();
      cpu->project();
    };
    for (int w = 0; w < 3; ++w) cpu_step();
    const double cpu_ms = jaq_bench::median_ms(reps, cpu_step);
    double gpu_ms = -1;
    if (pr.count > 0) {
      auto dev = make_net();
      jaq::optim::sgd<float> dopt(dev->weight_parameters(), oc);
      cu::supernet_trainer<cu::device_trainer> t(*dev, dopt, b.shape, batch, 0);
      std::int64_t step = 0;
      auto gpu_step = [&] {
        dev->begin_step(false);
        (void)t.weight_step(b, step++);
      };
      for (int w = 0; w < 3; ++w) gpu_step();
      gpu_ms = jaq_bench::median_ms(reps, gpu_step);
    }
    if (gpu_ms > 0)
      std::printf("%-13s %-5s %12.3f %12.3f %9.1f\n", "supernet", "csq20", cpu_ms, gpu_ms, cpu_ms / gpu_ms);
    else
      std::printf("%-13s %-5s %12.3f %12s %9s\n", "supernet", "csq20", cpu_ms, "-", "-");
  }
  return 0;
}
