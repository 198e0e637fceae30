// Speed of the integer reference forward of a whole network, and its agreement with the
// fake-quant forward, on the 10,000 Fashion-MNIST test images: mbconv-small quantized with LSQ
// at mixed widths (inner layers 2, 3, 4, 8 bits in turn; first and last 8), trained for a few
// hundred steps so that the predictions mean something.
//
//   bazel run -c opt //tests/quant:integer_model_bench -- [threads] [train_steps]
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "jaq/core/rng.hpp"
#include "jaq/data/batch_iterator.hpp"
#include "jaq/data/idx.hpp"
#include "jaq/data/normalize.hpp"
#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/training.hpp"
#include "jaq/optim/sgd.hpp"
#include "jaq/quant/integer_model.hpp"

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 200;
  auto fm = jaq::data::load_fashion_mnist();
  const auto norm = jaq::data::fashion_mnist_normalization();
  jaq::data::normalize(fm.train, norm);
  jaq::data::normalize(fm.test, norm);

  jaq::rng gen(1);
  jaq::nn::mbconv_small<float> m({}, gen);
  jaq::quant::quant_config c{.method = jaq::quant::method::lsq};
  const int widths[] = {2, 3, 4, 8};
  for (std::size_t i = 1; i + 1 < m.sites().size(); ++i) c.layer_bits.emplace_back(m.sites()[i].layer->name, widths[(i - 1) % 4]);
  jaq::quant::quantized_model<float> q(m, c);
  std::cout << q;

  jaq::optim::sgd<float> opt(q.parameters(m.parameters()), {.lr = 0.05, .momentum = 0.9});
  jaq::tape<float> tp({.threads = threads});
  jaq::data::batch_iterator it(fm.train, {.batch_size = 64}, gen);
  jaq::data::batch b;
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps;) {
    if (!it.next(b)) continue;
    jaq::nn::train_step(m, opt, tp, b, s);
    q.project();
    ++s;
  }
  std::cout << steps << " training steps in " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";

  const auto r = jaq::quant::compare_predictions<float>(m, q, fm.test, {.batch_size = 500, .threads = threads});
  std::cout << r << '\n';
  std::cout << "integer forward: " << double(r.images) / r.integer_seconds << " images/s on " << threads
            << " thread(s); fake-quant: " << double(r.images) / r.fake_quant_seconds << " images/s\n";
  return r.agreeing == r.images ? 0 : 1;
}
