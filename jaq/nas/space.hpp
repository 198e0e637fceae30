// jaq/nas/space.hpp: the architecture search space of the joint search: stem, N searchable
// blocks grouped in stages, head; each block chooses one of a list of candidate operators.
//
// The candidates are the Auto-NBA / FBNet space: MBConv with depthwise kernel 3 or 5 and
// expansion 1, 3 or 6, the two expansion-1 variants whose 1x1 convolution is grouped (g = 2)
// with a channel shuffle in front of it, and skip (identity, or a 1x1 conv + BN where the
// shape changes). An MBConv is 1x1 expand -> BN -> ReLU -> kxk depthwise (stride s) -> BN ->
// ReLU -> 1x1 project -> BN (no expand at expansion 1), plus the input when the shape is kept.
//
//   jaq::nas::space_config s{.stage_channels = {16, 24}, .stage_blocks = {1, 2}, .stage_strides = {1, 2}};
//   s.validate("fmnist.json");               // config_error naming the field
//   for (const auto& b : s.blocks()) std::cout << b << "\n";
//   jaq::nas::op_spec op = jaq::nas::parse_op("k5_e3", "ops[2]");
#pragma once

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/core/error.hpp"

namespace jaq::nas {

/// One candidate operator of a block.
struct op_spec {
  std::string name = "k3_e1";
  std::int64_t kernel = 3;     ///< depthwise kernel (odd); unused by skip
  std::int64_t expansion = 1;  ///< hidden = in * expansion
  std::int64_t groups = 1;     ///< groups of the 1x1 convolutions (1 or 2)
  bool skip = false;           ///< identity, or 1x1 conv + BN where the shape changes

  friend bool operator==(const op_spec&, const op_spec&) = default;
  friend std::ostream& operator<<(std::ostream& os, const op_spec& o) { return os << o.name; }
};

/// "k<kernel>_e<expansion>[_g<groups>]" or "skip"; anything else is a config_error naming `where`.
inline op_spec parse_op(const std::string& name, const std::string& where = "ops") {
  if (name == "skip") return {.name = name, .kernel = 1, .expansion = 1, .groups = 1, .skip = true};
  auto fail = [&](const std::string& why) -> op_spec {
    throw config_error(where, "operator", "unknown operator '" + name + "' (" + why + "; expected k<3|5|7>_e<n>[_g2] or skip)");
  };
  int k = 0, e = 0, g = 1, used = 0;
  if (std::sscanf(name.c_str(), "k%d_e%d%n", &k, &e, &used) != 2) return fail("not of the form k<K>_e<E>");
  const std::string rest = name.substr(std::size_t(used));
  if (rest == "_g2")
    g = 2;
  else if (!rest.empty())
    return fail("unexpected '" + rest + "'");
  if (k < 1 || k % 2 == 0 || k > 7) return fail("kernel must be odd, 1..7");
  if (e < 1 || e > 8) return fail("expansion must be 1..8");
  if (g > 1 && e != 1) return fail("grouped variants exist at expansion 1 only");
  return {.name = name, .kernel = k, .expansion = e, .groups = g, .skip = false};
}

/// The nine candidates of Auto-NBA's space, in its order.
inline std::vector<std::string> default_op_names() {
  return {"k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"};
}

/// One searchable block's shape.
struct block_geometry {
  int index = 0;
  std::int64_t in_channels = 1, out_channels = 1, stride = 1;
  std::int64_t in_size = 1;   ///< input feature-map side
  std::int64_t out_size = 1;  ///< output side: ceil(in / stride) (padding k/2)
  friend std::ostream& operator<<(std::ostream& os, const block_geometry& b) {
    return os << "block " << b.index << ": " << b.in_channels << "x" << b.in_size << "^2 -> " << b.out_channels << "x" << b.out_size
              << "^2 (stride " << b.stride << ")";
  }
};

/// The whole space. Stages i = 0..S-1 have stage_blocks[i] blocks of stage_channels[i] output
/// channels; the first block of a stage has stride stage_strides[i], the others stride 1.
struct space_config {
  std::string name = "space";
  std::int64_t in_channels = 1;  ///< image channels
  std::int64_t image_size = 28;  ///< image side
  std::int64_t classes = 10;
  std::int64_t stem_channels = 16;
  std::int64_t stem_stride = 1;
  std::vector<std::int64_t> stage_channels = {16, 24, 32};
  std::vector<std::int64_t> stage_blocks = {1, 2, 2};
  std::vector<std::int64_t> stage_strides = {1, 2, 2};
  std::int64_t head_channels = 256;
  std::vector<std::string> ops = default_op_names();
  std::vector<int> bits = {2, 3, 4};  ///< candidate widths of every operator
  int fixed_bits = 8;                 ///< stem, head and classifier
  /// Weights and input activations of an operator choose their widths apart (each over `bits`,
  /// with logits of their own); otherwise one width drives both.
  bool separate_wa = false;

  /// The operators; an unknown name is a config_error naming `where` (default: the space) and ops[i].
  std::vector<op_spec> op_specs(const std::string& where = "") const {
    std::vector<op_spec> out;
    for (std::size_t i = 0; i < ops.size(); ++i)
      out.push_back(parse_op(ops[i], (where.empty() ? name : where) + ": ops[" + std::to_string(i) + "]"));
    return out;
  }

  std::int64_t stem_size() const { return (image_size + stem_stride - 1) / stem_stride; }

  std::vector<block_geometry> blocks() const {
    std::vector<block_geometry> out;
    std::int64_t ch = stem_channels, size = stem_size();
    for (std::size_t s = 0; s < stage_channels.size(); ++s)
      for (std::int64_t j = 0; j < stage_blocks[s]; ++j) {
        block_geometry b{.index = int(out.size()),
                         .in_channels = ch,
                         .out_channels = stage_channels[s],
                         .stride = j == 0 ? stage_strides[s] : 1,
                         .in_size = size};
        b.out_size = (size + b.stride - 1) / b.stride;
        out.push_back(b);
        ch = b.out_channels;
        size = b.out_size;
      }
    return out;
  }

  /// Throws config_error naming `where` and the field for anything a network cannot be built from.
  void validate(const std::string& where) const {
    auto positive = [&](const char* field, std::int64_t v) {
      if (v < 1) throw config_error(where, field, "must be >= 1, got " + std::to_string(v));
    };
    positive("in_channels", in_channels);
    positive("image_size", image_size);
    positive("stem_channels", stem_channels);
    positive("head_channels", head_channels);
    if (classes < 2) throw config_error(where, "classes", "must be >= 2, got " + std::to_string(classes));
    if (stem_stride != 1 && stem_stride != 2)
      throw config_error(where, "stem_stride", "must be 1 or 2, got " + std::to_string(stem_stride));
    if (stage_channels.empty()) throw config_error(where, "stage_channels", "no stages");
    if (stage_blocks.size() != stage_channels.size() || stage_strides.size() != stage_channels.size())
      throw config_error(where, "stage_blocks/stage_strides",
                         "need one entry per stage (" + std::to_string(stage_channels.size()) + "), got " +
                             std::to_string(stage_blocks.size()) + " and " + std::to_string(stage_strides.size()));
    for (std::size_t s = 0; s < stage_channels.size(); ++s) {
      const std::string i = "[" + std::to_string(s) + "]";
      if (stage_channels[s] < 1) throw config_error(where, "stage_channels" + i, "must be >= 1, got " + std::to_string(stage_channels[s]));
      if (stage_blocks[s] < 1) throw config_error(where, "stage_blocks" + i, "must be >= 1, got " + std::to_string(stage_blocks[s]));
      if (stage_strides[s] != 1 && stage_strides[s] != 2)
        throw config_error(where, "stage_strides" + i, "must be 1 or 2, got " + std::to_string(stage_strides[s]));
    }
    if (ops.empty()) throw config_error(where, "ops", "no candidate operators");
    const auto specs = op_specs(where);  // names checked here
    for (std::size_t i = 0; i < ops.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (ops[i] == ops[j]) throw config_error(where, "ops[" + std::to_string(i) + "]", "'" + ops[i] + "' listed twice");
    if (bits.empty()) throw config_error(where, "bits", "no candidate bit-widths");
    for (std::size_t i = 0; i < bits.size(); ++i) {
      if (bits[i] < 1 || bits[i] > 8)
        throw config_error(where, "bits[" + std::to_string(i) + "]", "width " + std::to_string(bits[i]) + " is outside 1..8");
      for (std::size_t j = 0; j < i; ++j)
        if (bits[i] == bits[j]) throw config_error(where, "bits[" + std::to_string(i) + "]", std::to_string(bits[i]) + " listed twice");
    }
    if (fixed_bits < 2 || fixed_bits > 8)
      throw config_error(where, "fixed_bits", "width " + std::to_string(fixed_bits) + " is outside 2..8");
    for (const auto& b : blocks())
      for (const auto& o : specs)
        if (o.groups > 1 && (b.in_channels % o.groups || b.out_channels % o.groups))
          throw config_error(where, "ops",
                             "'" + o.name + "' needs channels divisible by " + std::to_string(o.groups) + " (block " +
                                 std::to_string(b.index) + ": " + std::to_string(b.in_channels) + " -> " + std::to_string(b.out_channels) +
                                 ")");
  }

  friend std::ostream& operator<<(std::ostream& os, const space_config& s) {
    os << "space '" << s.name << "': " << s.in_channels << "x" << s.image_size << "^2 -> stem " << s.stem_channels << ", "
       << s.blocks().size() << " blocks (channels";
    for (auto c : s.stage_channels) os << " " << c;
    os << "; blocks";
    for (auto c : s.stage_blocks) os << " " << c;
    os << "; strides";
    for (auto c : s.stage_strides) os << " " << c;
    os << "), head " << s.head_channels << ", " << s.ops.size() << " operators, widths {";
    for (std::size_t i = 0; i < s.bits.size(); ++i) os << (i ? "," : "") << s.bits[i];
    return os << "}" << (s.separate_wa ? " (weights and activations apart)" : "");
  }
};

/// A network of the space: the operator and the width chosen for each block (the arg-max of a
/// search), with the space it belongs to.
struct derived_arch {
  std::vector<std::string> ops;    ///< (blocks) operator names
  std::vector<int> bits;           ///< (blocks) width of the operator's weights (and input activations, without act_bits)
  std::vector<int> act_bits = {};  ///< (blocks) width of its input activations; empty: `bits`

  /// The input activations' width of block i.
  int act_width(std::size_t i) const { return act_bits.empty() ? bits[i] : act_bits[i]; }

  /// Throws config_error naming `where` unless there is one valid entry per block of `s`.
  void validate(const space_config& s, const std::string& where) const {
    const std::size_t n = s.blocks().size();
    if (ops.size() != n || bits.size() != n)
      throw config_error(where, "blocks",
                         "space '" + s.name + "' has " + std::to_string(n) + " blocks, got " + std::to_string(ops.size()) +
                             " operators and " + std::to_string(bits.size()) + " widths");
    if (!act_bits.empty() && act_bits.size() != n)
      throw config_error(
          where, "blocks",
          "space '" + s.name + "' has " + std::to_string(n) + " blocks, got " + std::to_string(act_bits.size()) + " activation widths");
    for (std::size_t i = 0; i < n; ++i) {
      const std::string f = "blocks[" + std::to_string(i) + "]";
      (void)parse_op(ops[i], where + ": " + f);
      if (bits[i] < 1 || bits[i] > 8) throw config_error(where, f + ".bits", "width " + std::to_string(bits[i]) + " is outside 1..8");
      if (!act_bits.empty() && (act_bits[i] < 1 || act_bits[i] > 8))
        throw config_error(where, f + ".act_bits", "width " + std::to_string(act_bits[i]) + " is outside 1..8");
    }
  }
  friend bool operator==(const derived_arch&, const derived_arch&) = default;
  friend std::ostream& operator<<(std::ostream& os, const derived_arch& d) {
    for (std::size_t i = 0; i < d.ops.size(); ++i) {
      os << (i ? " " : "") << d.ops[i] << "@" << d.bits[i];
      if (!d.act_bits.empty()) os << "/" << d.act_bits[i];  // weights / activations
    }
    return os;
  }
};

}  // namespace jaq::nas
