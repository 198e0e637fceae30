// jaq/nn/registry.hpp: build a model by name ("small-cnn", "mbconv-small").
//
//   auto m = jaq::nn::make_model<float>("small-cnn", {.in_channels = 1, .classes = 10}, gen);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/nn/mbconv_small.hpp"
#include "jaq/nn/small_cnn.hpp"

namespace jaq::nn {

struct model_options {
  std::int64_t in_channels = 1;
  std::int64_t classes = 10;
};

inline std::vector<std::string> model_names() { return {"small-cnn", "mbconv-small"}; }

template <scalar T>
std::unique_ptr<model<T>> make_model(const std::string& name, model_options o, rng& gen) {
  if (name == "small-cnn") return std::make_unique<small_cnn<T>>(small_cnn_config{.in_channels = o.in_channels, .classes = o.classes}, gen);
  if (name == "mbconv-small") {
    mbconv_small_config c;
    c.in_channels = o.in_channels;
    c.classes = o.classes;
    return std::make_unique<mbconv_small<T>>(c, gen);
  }
  throw config_error("model registry", "name", "unknown model '" + name + "' (known: small-cnn, mbconv-small)");
}

}  // namespace jaq::nn
