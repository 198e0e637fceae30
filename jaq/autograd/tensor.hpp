// jaq/autograd/tensor.hpp: a dense, owning, row-major tensor of T (float or double).
//
// Move-only (copies are explicit with clone()) so that a hidden copy of an activation can
// never slip into the hot loop. Memory is not initialised unless asked (zeros()).
//
//   jaq::tensor<float> x(jaq::shape{1, 128, 28, 28});    // (C, N, H, W), uninitialised
//   auto z = jaq::tensor<float>::zeros({10});
//   z[3] = 1.0f;
//   auto w = z.clone();
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <ostream>
#include <type_traits>

#include "jaq/autograd/shape.hpp"
#include "jaq/config.hpp"
#include "jaq/fwd.hpp"  // jaq::scalar

namespace jaq {

template <scalar T>
class tensor {
 public:
  using value_type = T;

  tensor() = default;
  explicit tensor(jaq::shape s) : shape_(s), data_(allocate(s.numel())) {}

  tensor(tensor&&) noexcept = default;
  tensor& operator=(tensor&&) noexcept = default;
  tensor(const tensor&) = delete;             // move-only; copy explicitly
  tensor& operator=(const tensor&) = delete;  // move-only; copy explicitly

  static tensor zeros(jaq::shape s) {
    tensor t(s);
    t.fill(T(0));
    return t;
  }
  static tensor full(jaq::shape s, T v) {
    tensor t(s);
    t.fill(v);
    return t;
  }

  tensor clone() const {
    tensor t(shape_);
    if (size() > 0) std::copy(data(), data() + size(), t.data());
    return t;
  }

  const jaq::shape& shape() const { return shape_; }
  std::int64_t dim(int i) const { return shape_[i]; }
  int rank() const { return shape_.rank; }
  std::int64_t size() const { return data_ ? shape_.numel() : 0; }
  /// Bytes of element storage this tensor owns.
  std::size_t bytes() const { return static_cast<std::size_t>(size()) * sizeof(T); }
  bool empty() const { return !data_; }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T* begin() { return data(); }
  T* end() { return data() + size(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  T& operator[](std::int64_t i) {
    JAQ_ASSERT(i >= 0 && i < size());
    return data_[static_cast<std::size_t>(i)];
  }
  const T& operator[](std::int64_t i) const {
    JAQ_ASSERT(i >= 0 && i < size());
    return data_[static_cast<std::size_t>(i)];
  }

  void fill(T v) { std::fill(data(), data() + size(), v); }

  /// Same elements, new extents with the same element count.
  void reshape(jaq::shape s) {
    JAQ_ASSERT(s.numel() == shape_.numel());
    shape_ = s;
  }

  /// Frees the storage (shape becomes rank 0).
  void reset() {
    data_.reset();
    shape_ = {};
  }

  friend std::ostream& operator<<(std::ostream& os, const tensor& t) {
    os << "tensor" << t.shape_ << " [";
    const std::int64_t n = std::min<std::int64_t>(t.size(), 8);
    for (std::int64_t i = 0; i < n; ++i) os << (i ? ", " : "") << t[i];
    if (t.size() > n) os << ", ...";
    return os << ']';
  }

 private:
  struct aligned_delete {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t{64}); }
  };
  static std::unique_ptr<T[], aligned_delete> allocate(std::int64_t n) {
    JAQ_ASSERT(n >= 0);
    return std::unique_ptr<T[], aligned_delete>(
        static_cast<T*>(::operator new[](static_cast<std::size_t>(n > 0 ? n : 1) * sizeof(T), std::align_val_t{64})));
  }

  jaq::shape shape_;
  std::unique_ptr<T[], aligned_delete> data_;
};

/// The NaNs and infinities of a tensor: how many, and the index of the first (-1 when none).
struct non_finite_count {
  std::int64_t count = 0;
  std::int64_t first = -1;
};
template <scalar T>
non_finite_count count_non_finite(const tensor<T>& t) {
  non_finite_count r;
  for (std::int64_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(static_cast<double>(t[i]))) {
      if (r.first < 0) r.first = i;
      ++r.count;
    }
  return r;
}

}  // namespace jaq
