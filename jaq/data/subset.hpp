// jaq/data/subset.hpp: parts of a dataset (the first n images, n per class, given indices).
//
// Subsets copy their images, so the original can be dropped. Used by the short training test
// (2,000 images: stratified(train, 200)) and by the search's proxy training.
//
//   auto small = jaq::data::stratified(fm.train, 200);   // 200 of each class, file order kept
//   auto head = jaq::data::first_n(fm.test, 1000);
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/data/dataset.hpp"

namespace jaq::data {

/// The images at `indices`, in that order. Throws config_error for an index out of range.
inline dataset select(const dataset& ds, std::span<const std::int64_t> indices) {
  dataset out;
  out.name = ds.name;
  out.shape = ds.shape;
  out.num_classes = ds.num_classes;
  const auto e = static_cast<std::size_t>(ds.shape.elements());
  out.images.resize(indices.size() * e);
  out.labels.resize(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::int64_t i = indices[k];
    if (i < 0 || i >= ds.size()) {
      throw config_error(ds.name, "index", "expected 0.." + std::to_string(ds.size() - 1) + ", got " + std::to_string(i));
    }
    std::memcpy(out.images.data() + k * e, ds.image(i).data(), e * sizeof(float));
    out.labels[k] = ds.labels[static_cast<std::size_t>(i)];
  }
  return out;
}

/// The first n images (all of them if the set is smaller).
inline dataset first_n(const dataset& ds, std::int64_t n) {
  if (n < 0) throw config_error(ds.name, "subset size", "must not be negative, got " + std::to_string(n));
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n < ds.size() ? n : ds.size()));
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<std::int64_t>(i);
  auto out = select(ds, idx);
  out.name = ds.name + "[:" + std::to_string(idx.size()) + "]";
  return out;
}

namespace detail {
/// Indices of the first `per_class` images of each class met in `order`.
inline std::vector<std::int64_t> stratified_indices(const dataset& ds, std::span<const std::int64_t> order, std::int64_t per_class) {
  if (per_class < 0) {
    throw config_error(ds.name, "images per class", "must not be negative, got " + std::to_string(per_class));
  }
  const auto counts = ds.class_counts();
  for (int c = 0; c < ds.num_classes; ++c) {
    if (counts[static_cast<std::size_t>(c)] < per_class) {
      throw config_error(ds.name, "images per class",
                         "asked for " + std::to_string(per_class) + " of class " + std::to_string(c) + ", which has only " +
                             std::to_string(counts[static_cast<std::size_t>(c)]));
    }
  }
  std::vector<std::int64_t> taken(static_cast<std::size_t>(ds.num_classes), 0), idx;
  for (std::int64_t i : order) {
    auto& t = taken[static_cast<std::size_t>(ds.labels[static_cast<std::size_t>(i)])];
    if (t < per_class) {
      ++t;
      idx.push_back(i);
    }
  }
  return idx;
}
}  // namespace detail

/// The first `per_class` images of each class, in file order (deterministic, no RNG).
inline dataset stratified(const dataset& ds, std::int64_t per_class) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(ds.size()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  auto out = select(ds, detail::stratified_indices(ds, order, per_class));
  out.name = ds.name + "[" + std::to_string(per_class) + "/class]";
  return out;
}

/// `per_class` images of each class drawn at random with `gen`, kept in file order.
inline dataset stratified(const dataset& ds, std::int64_t per_class, rng& gen) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(ds.size()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  gen.shuffle(order.begin(), order.end());
  auto idx = detail::stratified_indices(ds, order, per_class);
  std::sort(idx.begin(), idx.end());
  auto out = select(ds, idx);
  out.name = ds.name + "[" + std::to_string(per_class) + "/class, random]";
  return out;
}

}  // namespace jaq::data
