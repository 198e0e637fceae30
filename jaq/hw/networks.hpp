// jaq/hw/networks.hpp: built-in layer lists of the networks the cost model is benchmarked on.
//
// Each function returns the conv and fully connected layers of one network at one batch size and
// one precision pair (every layer the same; change entries for mixed precision). A depthwise conv
// is a `layer` with groups == channels; a fully connected layer is a 1x1 conv at O = 1; the first
// conv of each network is lowered with im2col.
//
//   auto layers = jaq::hw::networks::resnet18({.batch = 1, .precision = {.iprec = 4, .wprec = 4}});
//   // 21 layers: conv1 (im2col), 16 block convs, 3 downsamples, fc
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jaq/hw/layer.hpp"
#include "jaq/hw/precision.hpp"

namespace jaq::hw::networks {

/// Batch and precision applied to every layer of a built-in network.
struct network_options {
  std::int64_t batch = 1;
  precision_pair precision{};
};

namespace detail {
inline layer conv(std::string name, std::int64_t k, std::int64_t o, std::int64_t s, std::int64_t ic, std::int64_t oc,
                  const network_options& opt, bool im2col = false, std::int64_t groups = 1) {
  return layer{.name = std::move(name),
               .K = k,
               .O = o,
               .S = s,
               .IC = ic,
               .OC = oc,
               .B = opt.batch,
               .im2col = im2col,
               .iprec = opt.precision.iprec,
               .wprec = opt.precision.wprec,
               .groups = groups};
}
inline std::int64_t out_size(std::int64_t in, std::int64_t stride) {
  return (in + stride - 1) / stride;  // "same" padding
}

/// An inverted-residual block: 1x1 expand (skipped when t == 1), k x k depthwise with the
/// block's stride, 1x1 project. Returns the output size.
inline std::int64_t inverted_residual(std::vector<layer>& out, const std::string& name, std::int64_t in_size, std::int64_t in_ch,
                                      std::int64_t out_ch, std::int64_t t, std::int64_t k, std::int64_t s, const network_options& opt) {
  const std::int64_t hidden = in_ch * t;
  if (t != 1) out.push_back(conv(name + ".expand", 1, in_size, 1, in_ch, hidden, opt));
  const std::int64_t o = out_size(in_size, s);
  out.push_back(conv(name + ".dw", k, o, s, hidden, hidden, opt, false, hidden));
  out.push_back(conv(name + ".project", 1, o, 1, hidden, out_ch, opt));
  return o;
}
}  // namespace detail

/// torchvision ResNet-18 at 224x224: conv1 7x7/2 with im2col (O=112), four stages of two
/// basic blocks (56, 28, 14, 7; 64..512 channels), 1x1/2 downsample convs at stages 2-4,
/// fc 512 -> 1000 as a 1x1 conv at O = 1. 21 layers, torchvision's names.
inline std::vector<layer> resnet18(const network_options& opt = {}) {
  using detail::conv;
  std::vector<layer> v;
  v.push_back(conv("conv1", 7, 112, 2, 3, 64, opt, /*im2col=*/true));
  const std::int64_t ch[4] = {64, 128, 256, 512};
  const std::int64_t sz[4] = {56, 28, 14, 7};
  std::int64_t in_ch = 64;
  for (int st = 0; st < 4; ++st) {
    for (int blk = 0; blk < 2; ++blk) {
      const std::string n = "layer" + std::to_string(st + 1) + "." + std::to_string(blk);
      const std::int64_t s = (blk == 0 && st > 0) ? 2 : 1;
      const std::int64_t cin = blk == 0 ? in_ch : ch[st];
      v.push_back(conv(n + ".conv1", 3, sz[st], s, cin, ch[st], opt));
      v.push_back(conv(n + ".conv2", 3, sz[st], 1, ch[st], ch[st], opt));
      if (blk == 0 && st > 0) v.push_back(conv(n + ".downsample.0", 1, sz[st], 2, cin, ch[st], opt));
    }
    in_ch = ch[st];
  }
  v.push_back(conv("fc", 1, 1, 1, 512, 1000, opt));
  return v;
}

/// MobileNetV2 for 32x32 inputs: conv 3x3/1 3 -> 32 (im2col), inverted residuals (t, c, n, s) =
/// (1,16,1,1), (6,24,2,1), (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1) with 3x3
/// depthwise convs (groups = channels), conv 1x1 320 -> 1280, classifier 1280 -> num_classes.
inline std::vector<layer> mobilenetv2_cifar(const network_options& opt = {}, std::int64_t num_classes = 10) {
  using detail::conv;
  struct stage {
    std::int64_t t, c, n, s;
  };
  constexpr stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 1}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  std::vector<layer> v;
  std::int64_t size = 32, ch = 32;
  v.push_back(conv("conv_first", 3, size, 1, 3, ch, opt, /*im2col=*/true));
  int idx = 0;
  for (const stage& st : stages)
    for (std::int64_t i = 0; i < st.n; ++i) {
      size = detail::inverted_residual(v, "block" + std::to_string(idx++), size, ch, st.c, st.t, 3, i == 0 ? st.s : 1, opt);
      ch = st.c;
    }
  v.push_back(conv("conv_last", 1, size, 1, ch, 1280, opt));
  v.push_back(conv("classifier", 1, 1, 1, 1280, num_classes, opt));
  return v;
}

/// The 22-block search-space network (Auto-NBA's CIFAR space) with every block at kernel 5,
/// expansion 6, 32x32 input: stem conv 3x3/1 3 -> 16 (im2col); stages of [1,4,4,4,4,4,1] blocks
/// with [16,24,32,64,112,184,352] channels and first-block strides [1,1,2,2,1,2,1]; head 1x1 to
/// 1504; classifier 1504 -> num_classes.
inline std::vector<layer> search_space_22(const network_options& opt = {}, std::int64_t num_classes = 10) {
  using detail::conv;
  constexpr std::int64_t blocks[] = {1, 4, 4, 4, 4, 4, 1};
  constexpr std::int64_t channels[] = {16, 24, 32, 64, 112, 184, 352};
  constexpr std::int64_t strides[] = {1, 1, 2, 2, 1, 2, 1};
  std::vector<layer> v;
  std::int64_t size = 32, ch = 16;
  v.push_back(conv("stem", 3, size, 1, 3, ch, opt, /*im2col=*/true));
  for (int st = 0; st < 7; ++st)
    for (std::int64_t b = 0; b < blocks[st]; ++b) {
      size = detail::inverted_residual(v, "s" + std::to_string(st) + ".b" + std::to_string(b), size, ch, channels[st], 6, 5,
                                       b == 0 ? strides[st] : 1, opt);
      ch = channels[st];
    }
  v.push_back(conv("head", 1, size, 1, ch, 1504, opt));
  v.push_back(conv("classifier", 1, 1, 1, 1504, num_classes, opt));
  return v;
}

/// Names accepted by `by_name`.
inline constexpr std::array<std::string_view, 3> names = {"resnet18", "mobilenetv2-cifar", "searchspace22"};

/// The network called `name` (see `names`), or nullopt.
inline std::optional<std::vector<layer>> by_name(std::string_view name, const network_options& opt = {}) {
  if (name == "resnet18") return resnet18(opt);
  if (name == "mobilenetv2-cifar") return mobilenetv2_cifar(opt);
  if (name == "searchspace22") return search_space_22(opt);
  return std::nullopt;
}

}  // namespace jaq::hw::networks
