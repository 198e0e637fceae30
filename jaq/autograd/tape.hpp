// jaq/autograd/tape.hpp: the reverse-mode tape (an explicit object), variables and the
// extension point for new ops.
//
// A tape<T> records every op of one forward pass as a node: the op's output, which nodes it
// read, the tensors it saved for backward, and its backward function. backward(loss) walks the
// nodes in reverse, and frees each node's output, saved tensors and gradient as soon as it has
// been passed, so held_bytes() falls to zero. held_bytes() / peak_bytes() count every byte the
// tape holds for backward (outputs, saved tensors, intermediate gradients); parameters and
// their gradients live outside the tape and are not counted.
//
//   jaq::tape<float> tp({.threads = 2});
//   auto x = tp.constant(std::move(images));        // no gradient wanted
//   auto w = tp.param(weight);                      // gradient accumulates into weight.grad
//   auto loss = jaq::cross_entropy(tp, jaq::linear(tp, x, w, b), labels);
//   tp.backward(loss);
//   tp.clear();                                     // ready for the next step
//
// A new op (from any module) computes its output, then records it:
//
//   template <jaq::scalar T>
//   jaq::var<T> square(jaq::tape<T>& tp, jaq::var<T> x) {
//     jaq::tensor<T> y(x.shape());
//     for (std::int64_t i = 0; i < y.size(); ++i) y[i] = x.value()[i] * x.value()[i];
//     return tp.record("square", std::move(y), {x}, [](jaq::backward_context<T>& ctx) {
//       if (!ctx.needs_grad(0)) return;
//       auto& gx = ctx.grad_input(0);                // zero-filled on first use: accumulate
//       for (std::int64_t i = 0; i < gx.size(); ++i)
//         gx[i] += 2 * ctx.input(0)[i] * ctx.grad_output()[i];
//     });
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jaq/autograd/parameter.hpp"
#include "jaq/autograd/tensor.hpp"
#include "jaq/config.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/memory.hpp"
#include "jaq/core/parallel.hpp"

namespace jaq {

template <scalar T>
class tape;
template <scalar T>
class backward_context;

/// A handle to one node of a tape: cheap to copy, valid until the tape is cleared.
template <scalar T>
class var {
 public:
  var() = default;
  var(tape<T>* tp, std::int32_t id) : tape_(tp), id_(id) {}

  bool valid() const { return tape_ != nullptr; }
  std::int32_t id() const { return id_; }
  tape<T>& owner() const { return *tape_; }

  /// The forward value (valid until backward has passed this node).
  const tensor<T>& value() const;
  const jaq::shape& shape() const { return value().shape(); }
  /// Gradient of a leaf made by tape::variable() after backward (empty if none flowed).
  const tensor<T>& grad() const;
  bool requires_grad() const;

 private:
  tape<T>* tape_ = nullptr;
  std::int32_t id_ = -1;
};

/// Settings of a tape.
struct tape_options {
  int threads = 1;  ///< worker threads for the ops recorded on this tape (1: serial)
};

template <scalar T>
class tape {
 public:
  using backward_fn = std::function<void(backward_context<T>&)>;

  /// Also keeps freed memory in the process for the next step (jaq/core/memory.hpp).
  explicit tape(tape_options o = {}) : options_(checked(o)), pool_(o.threads) { (void)retain_freed_memory(); }
  tape(const tape&) = delete;  // handles point into a tape: pass it by reference
  tape& operator=(const tape&) = delete;

  /// The backend ops on this tape run on: the tape's own thread pool, so every op of every step
  /// enters one arena (tbb_backend{1} runs on the calling thread).
  tbb_backend exec() const { return pool_.backend(); }
  int threads() const { return options_.threads; }

  /// While false, record() keeps outputs but drops backward functions and saved tensors
  /// (evaluation). Ops may skip computing what they would save: see needs_backward().
  void set_grad_enabled(bool on) { grad_enabled_ = on; }
  bool grad_enabled() const { return grad_enabled_; }

  /// A leaf that needs no gradient (images, labels as floats, constants).
  var<T> constant(tensor<T> value) { return add_leaf(std::move(value), false); }
  /// A leaf whose gradient backward() keeps for the caller (var::grad()).
  var<T> variable(tensor<T> value) { return add_leaf(std::move(value), grad_enabled_); }
  /// A trainable parameter: read in place (not copied, not counted); backward adds its gradient
  /// into p.grad (allocated as zeros on first use; the optimizer's zero_grad() clears it).
  var<T> param(parameter<T>& p) {
    node& n = nodes_.emplace_back();
    n.external = &p.value;
    n.external_grad = &p.grad;
    n.requires_grad = grad_enabled_ && p.trainable;
    n.leaf = true;
    n.op = "param";
    n.name = p.name;
    return var<T>(this, last_id());
  }

  /// True when an op reading `inputs` must record a backward function (grad is enabled and some
  /// input requires a gradient). Ops use it to skip saving tensors in evaluation.
  bool needs_backward(std::initializer_list<var<T>> inputs) const {
    if (!grad_enabled_) return false;
    for (const var<T>& v : inputs)
      if (v.requires_grad()) return true;
    return false;
  }

  /// THE EXTENSION POINT. Records an op's output, the nodes it read, its backward function
  /// and the tensors it saves for backward. Saved tensors count in held_bytes() and are freed
  /// right after this node's backward runs. The backward function must not capture tensors by
  /// value (they would not be counted): save them instead.
  var<T> record(std::string_view op, tensor<T> output, std::initializer_list<var<T>> inputs, backward_fn backward,
                std::vector<tensor<T>> saved = {}) {
    return record(op, std::move(output), std::vector<var<T>>(inputs), std::move(backward), std::move(saved));
  }
  var<T> record(std::string_view op, tensor<T> output, const std::vector<var<T>>& inputs, backward_fn backward,
                std::vector<tensor<T>> saved = {}) {
    bool rg = false;
    for (const var<T>& v : inputs) {
      if (&v.owner() != this) throw model_error(std::string(op) + ": an input belongs to another tape (or is empty)");
      rg = rg || node_at(v.id()).requires_grad;
    }
    rg = rg && grad_enabled_;
    node& n = nodes_.emplace_back();
    n.op = op;
    n.value = std::move(output);
    count(n.value.bytes());
    n.requires_grad = rg;
    n.inputs.reserve(inputs.size());  // also without a gradient: first_non_finite() names a node by them
    for (const var<T>& v : inputs) n.inputs.push_back(v.id());
    if (rg) {
      n.backward = std::move(backward);
      n.saved = std::move(saved);
      for (const auto& s : n.saved) count(s.bytes());
    }
    return var<T>(this, last_id());
  }

  /// Reverse pass from a scalar (one-element) loss: d loss / d loss = 1. Frees what it passes.
  void backward(var<T> loss) {
    if (&loss.owner() != this) throw model_error("backward: the loss belongs to another tape");
    node& ln = node_at(loss.id());
    if (ln.value.size() != 1) throw model_error("backward: the loss must have one element, got shape " + ln.value.shape().str());
    // Nodes recorded after the loss take no part: free them first.
    for (std::int32_t i = static_cast<std::int32_t>(nodes_.size()) - 1; i > loss.id(); --i) release(nodes_[i]);
    if (ln.requires_grad) {
      ln.grad = tensor<T>::full(ln.value.shape(), T(1));
      count(ln.grad.bytes());
    }
    for (std::int32_t i = loss.id(); i >= 0; --i) {
      node& n = nodes_[static_cast<std::size_t>(i)];
      if (n.requires_grad && n.backward && !n.grad.empty()) {
        backward_context<T> ctx(*this, n);
        n.backward(ctx);
      }
      release(n);
    }
  }

  /// Where a forward pass first went non-finite, for an error message: the first node in
  /// recording order whose value holds a NaN or an infinity, named with the parameters it
  /// reads ("the output of conv2d (node 14), which reads conv2.weight; 3 of 2048 values
  /// non-finite") or as the parameter or input it is. Empty when every value is finite (or the
  /// values were already freed by backward).
  std::string first_non_finite() const {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const node& n = nodes_[i];
      const std::int64_t k = count_non_finite(n.val()).count;
      if (k == 0) continue;
      std::ostringstream os;
      if (n.leaf) {
        os << (n.external ? "parameter " + (n.name.empty() ? std::string("(unnamed)") : n.name) : std::string("an input")) << " (node " << i
           << ")";
      } else {
        os << "the output of " << n.op << " (node " << i << ")";
        std::string reads;
        for (std::int32_t in : n.inputs) {
          const node& m = nodes_[static_cast<std::size_t>(in)];
          if (m.leaf && m.external && !m.name.empty()) reads += (reads.empty() ? "" : ", ") + m.name;
        }
        if (!reads.empty()) os << ", which reads " << reads;
      }
      os << "; " << k << " of " << n.val().size() << " values non-finite";
      return os.str();
    }
    return {};
  }

  /// Forgets every node (handles become invalid); keeps the peak. Call between steps.
  void clear() {
    nodes_.clear();
    held_ = 0;
  }

  /// Bytes the tape holds now for backward: outputs, saved tensors, intermediate gradients.
  std::size_t held_bytes() const { return held_; }
  /// Highest held_bytes() since construction or reset_peak().
  std::size_t peak_bytes() const { return peak_; }
  void reset_peak() { peak_ = held_; }
  std::size_t size() const { return nodes_.size(); }

 private:
  friend class var<T>;
  friend class backward_context<T>;

  struct node {
    std::string op;                       // the op's name (copied: callers may pass temporaries)
    std::string name;                     // a parameter's name (empty otherwise)
    tensor<T> value;                      // owned output (empty for a parameter)
    const tensor<T>* external = nullptr;  // a parameter's value
    tensor<T> grad;                       // owned gradient
    tensor<T>* external_grad = nullptr;   // a parameter's gradient
    std::vector<std::int32_t> inputs;
    std::vector<tensor<T>> saved;
    backward_fn backward;
    bool requires_grad = false;
    bool leaf = false;
    bool released = false;

    const tensor<T>& val() const { return external ? *external : value; }
  };

  static tape_options checked(tape_options o) {
    if (o.threads < 1) throw config_error("tape_options", "threads", std::to_string(o.threads) + " (must be >= 1)");
    return o;
  }

  var<T> add_leaf(tensor<T> value, bool requires_grad) {
    node& n = nodes_.emplace_back();
    n.op = requires_grad ? "variable" : "constant";
    n.value = std::move(value);
    count(n.value.bytes());
    n.requires_grad = requires_grad;
    n.leaf = true;
    return var<T>(this, last_id());
  }

  std::int32_t last_id() const { return static_cast<std::int32_t>(nodes_.size()) - 1; }
  node& node_at(std::int32_t id) {
    JAQ_ASSERT(id >= 0 && static_cast<std::size_t>(id) < nodes_.size());
    return nodes_[static_cast<std::size_t>(id)];
  }
  const node& node_at(std::int32_t id) const {
    JAQ_ASSERT(id >= 0 && static_cast<std::size_t>(id) < nodes_.size());
    return nodes_[static_cast<std::size_t>(id)];
  }

  void count(std::size_t b) {
    held_ += b;
    if (held_ > peak_) peak_ = held_;
  }
  void uncount(std::size_t b) {
    JAQ_ASSERT(held_ >= b);
    held_ -= b;
  }
  void release(node& n) {
    if (n.released) return;
    n.released = true;
    uncount(n.value.bytes());
    n.value.reset();
    for (auto& s : n.saved) uncount(s.bytes());
    n.saved.clear();
    n.saved.shrink_to_fit();
    n.backward = nullptr;
    // A leaf variable keeps its gradient for the caller; it is a result, no longer counted.
    uncount(n.grad.bytes());
    if (!(n.leaf && n.requires_grad)) n.grad.reset();
  }

  // Gradient slot of input k of node n: zero-filled on first use if `zero`.
  tensor<T>& grad_slot(node& in, bool zero, bool* fresh) {
    const tensor<T>& v = in.val();
    tensor<T>& g = in.external_grad ? *in.external_grad : in.grad;
    if (g.empty()) {
      g = tensor<T>(v.shape());
      if (zero) g.fill(T(0));
      if (!in.external_grad) count(g.bytes());
      if (fresh) *fresh = true;
    } else if (fresh) {
      *fresh = false;
    }
    return g;
  }

  tape_options options_;
  mutable thread_pool pool_;  // entering its arena changes nothing the tape holds
  bool grad_enabled_ = true;
  std::deque<node> nodes_;
  std::size_t held_ = 0;
  std::size_t peak_ = 0;
};

/// What an op's backward function sees: its output gradient, its inputs' values, its saved
/// tensors, and gradient slots for the inputs that need one.
template <scalar T>
class backward_context {
 public:
  backward_context(tape<T>& tp, typename tape<T>::node& n) : tape_(tp), node_(n) {}

  const tensor<T>& grad_output() const { return node_.grad; }
  const tensor<T>& output() const { return node_.value; }
  std::size_t num_inputs() const { return node_.inputs.size(); }
  const tensor<T>& input(std::size_t k) const { return in(k).val(); }
  const tensor<T>& saved(std::size_t k) const {
    JAQ_ASSERT(k < node_.saved.size());
    return node_.saved[k];
  }
  bool needs_grad(std::size_t k) const { return in(k).requires_grad; }

  /// Gradient of input k, zero-filled on first use: add into it.
  tensor<T>& grad_input(std::size_t k) {
    JAQ_ASSERT(needs_grad(k));
    return tape_.grad_slot(in(k), true, nullptr);
  }
  /// Gradient of input k for an op that writes every element: `overwrite` is set true when the
  /// slot is new (uninitialised: assign), false when another consumer already wrote (add).
  tensor<T>& grad_input_for_write(std::size_t k, bool& overwrite) {
    JAQ_ASSERT(needs_grad(k));
    return tape_.grad_slot(in(k), false, &overwrite);
  }

  tbb_backend exec() const { return tape_.exec(); }

 private:
  typename tape<T>::node& in(std::size_t k) const {
    JAQ_ASSERT(k < node_.inputs.size());
    return tape_.node_at(node_.inputs[k]);
  }
  tape<T>& tape_;
  typename tape<T>::node& node_;
};

template <scalar T>
const tensor<T>& var<T>::value() const {
  JAQ_ASSERT(valid());
  const auto& n = tape_->node_at(id_);
  JAQ_ASSERT(!n.released || n.external);
  return n.val();
}
template <scalar T>
const tensor<T>& var<T>::grad() const {
  JAQ_ASSERT(valid());
  const auto& n = tape_->node_at(id_);
  return n.external_grad ? *n.external_grad : n.grad;
}
template <scalar T>
bool var<T>::requires_grad() const {
  JAQ_ASSERT(valid());
  return tape_->node_at(id_).requires_grad;
}

}  // namespace jaq
