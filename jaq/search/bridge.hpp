// jaq/search/bridge.hpp: from the network to the cost model: every weighted layer of a space's
// operators, at a width, as the hw::layer the BitFusion model maps.
//
// A convolution of an operator becomes {K = kernel, O = output side, S = stride, IC, OC, groups,
// B = the deployment batch, iprec = the activations' width, wprec = the weights' (the same
// width unless the space has separate_wa)}. The stem is the network's
// first layer (im2col, as the cost model lowers a first layer) and, with the head 1x1 and the
// classifier (K = O = 1), stays at the space's fixed width. How CSQ is costed: the table always
// costs an operator fully quantized at its width, all channels, because the derived network is
// deployed fully quantized; the CSQ search trains only K% of the channels at the candidate
// widths, and the hardware term steers it toward the network that will actually be deployed.
//
//   auto layers = jaq::search::op_layers(space, block, jaq::nas::parse_op("k5_e3"), 4, 1);
//   auto net = jaq::search::network_layers(space, derived, 1);   // stem, blocks..., head, fc
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jaq/hw/layer.hpp"
#include "jaq/nas/candidate_op.hpp"
#include "jaq/nas/space.hpp"

namespace jaq::search {

/// The block's prefix for layer names, as the supernet and the derived network name them.
inline std::string op_prefix(const nas::block_geometry& b, const nas::op_spec& op) {
  return "blocks." + std::to_string(b.index) + "." + op.name;
}

/// The weighted layers of `op` in block `b` with weights at `bits` and input activations at
/// `act_bits` (0: `bits`), batch `batch` (none for the identity).
inline std::vector<hw::layer> op_layers(const nas::block_geometry& b, const nas::op_spec& op, int bits, std::int64_t batch,
                                        int act_bits = 0) {
  std::vector<hw::layer> out;
  for (const auto& c : nas::op_conv_shapes(op, b))
    out.push_back({.name = op_prefix(b, op) + c.suffix,
                   .K = c.conv.kernel,
                   .O = c.out_size,
                   .S = c.conv.stride,
                   .IC = c.conv.in_channels,
                   .OC = c.conv.out_channels,
                   .B = batch,
                   .im2col = false,
                   .iprec = act_bits > 0 ? act_bits : bits,
                   .wprec = bits,
                   .groups = c.conv.groups});
  return out;
}

/// Stem, head and classifier at the space's fixed width: [stem, head, fc].
inline std::vector<hw::layer> fixed_layers(const nas::space_config& s, std::int64_t batch) {
  const int f = s.fixed_bits;
  const auto blocks = s.blocks();
  const std::int64_t last = blocks.back().out_size;
  return {
      {.name = "stem",
       .K = 3,
       .O = s.stem_size(),
       .S = s.stem_stride,
       .IC = s.in_channels,
       .OC = s.stem_channels,
       .B = batch,
       .im2col = true,
       .iprec = f,
       .wprec = f},
      {.name = "head", .K = 1, .O = last, .S = 1, .IC = s.stage_channels.back(), .OC = s.head_channels, .B = batch, .iprec = f, .wprec = f},
      {.name = "fc", .K = 1, .O = 1, .S = 1, .IC = s.head_channels, .OC = s.classes, .B = batch, .iprec = f, .wprec = f}};
}

/// Every weighted layer of a derived network in forward order: stem, blocks, head, fc.
inline std::vector<hw::layer> network_layers(const nas::space_config& s, const nas::derived_arch& d, std::int64_t batch) {
  d.validate(s, s.name);
  const auto fixed = fixed_layers(s, batch);
  std::vector<hw::layer> out{fixed[0]};
  for (const auto& b : s.blocks()) {
    const std::size_t i = std::size_t(b.index);
    const auto ls = op_layers(b, nas::parse_op(d.ops[i]), d.bits[i], batch, d.act_width(i));
    out.insert(out.end(), ls.begin(), ls.end());
  }
  out.push_back(fixed[1]);
  out.push_back(fixed[2]);
  return out;
}

/// Multiply-accumulates of a layer (groups divide the reduction).
inline double macs(const hw::layer& l) {
  return double(l.B) * double(l.O * l.O) * double(l.OC) * double(l.IC / l.groups) * double(l.K * l.K);
}

/// MAC-weighted average width of a derived network's layers (weights), fixed layers included.
inline double mac_weighted_bits(const std::vector<hw::layer>& layers) {
  double m = 0, mb = 0;
  for (const auto& l : layers) {
    m += macs(l);
    mb += macs(l) * l.wprec;
  }
  return m > 0 ? mb / m : 0.0;
}

}  // namespace jaq::search
