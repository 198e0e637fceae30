// jaq/fwd.hpp: forward declarations of jaq's main types, for headers that only name them.
// Each module adds its declarations here as it lands.
#pragma once

#include <type_traits>  // jaq::scalar (autograd)

namespace jaq {
class error;
class config_error;
class data_error;
class model_error;
class hardware_error;
}  // namespace jaq

// core utilities (jaq/core/atomic_file.hpp, progress.hpp, parallel.hpp, conv_geometry.hpp)
namespace jaq {
class thread_pool;
struct conv_geometry;
class byte_writer;
class byte_reader;
struct file_format;
class progress;
struct progress_config;
struct step_report;
class stopwatch;
}  // namespace jaq

// data (jaq/data/)
namespace jaq::data {
struct image_shape;
struct dataset;
struct split;
struct idx_spec;
struct normalization;
struct batch_config;
struct batch;
class batch_iterator;
}  // namespace jaq::data

// reports (jaq/report/)
namespace jaq::report {
class csv_writer;
struct csv_table;
struct csv_options;
struct plot_spec;
struct plot_series;
struct plot_options;
}  // namespace jaq::report

// accelerator model (jaq/hw/)
namespace jaq::hw {
template <int PMax, int PMin>
requires(PMin >= 1 && PMin <= PMax && PMax <= 16 && (PMax & (PMax - 1)) == 0 && (PMin & (PMin - 1)) == 0) struct bitfusion;
template <class Tag>
struct traits;
struct proxy_stationary;
struct input_stationary;
struct output_stationary;
struct weight_stationary;
struct precision_pair;
struct accel_config;
struct layer;
struct tiling;
class loop_order;
struct layer_mapping;
struct mapping_error;
class mapping_result;
struct energy_model;
struct area_report;
class tech_tables;
struct runtime_sizes;
template <class Sizes>
struct basic_layer_params;
using layer_params = basic_layer_params<runtime_sizes>;
struct candidate_cost;
}  // namespace jaq::hw

// mapping search (jaq/batchtile/) and hardware generation (jaq/hwgen/)
namespace jaq::batchtile {
struct candidate_batch;
struct map_stats;
struct map_options;
struct map_workspace;
struct mapping_key;
class mapping_cache;
}  // namespace jaq::batchtile
namespace jaq::hwgen {
struct search_space;
struct choice;
class policy_mlp;
struct objective;
struct config_score;
class cost_evaluator;
struct generator_options;
struct generator_result;
class generator;
}  // namespace jaq::hwgen

// autograd engine (jaq/autograd/), layers and models (jaq/nn/), optimizers (jaq/optim/)
namespace jaq {
/// The scalar types the engine computes in: float to train, double to check gradients.
template <class T>
concept scalar = std::is_same_v<T, float> || std::is_same_v<T, double>;
struct shape;
template <scalar T>
class tensor;
template <scalar T>
struct parameter;
template <scalar T>
class tape;
template <scalar T>
class var;
template <scalar T>
class backward_context;
struct tape_options;
struct gradcheck_options;
struct gradcheck_result;
struct conv2d_options;
struct batch_norm_options;
template <scalar T>
struct batch_norm_state;
template <scalar T>
struct named_tensor;
}  // namespace jaq
namespace jaq::nn {
template <scalar T>
class weighted_layer;
template <scalar T>
class conv2d;
template <scalar T>
class linear;
template <scalar T>
class batch_norm;
template <scalar T>
class model;
template <scalar T>
struct layer_site;
struct conv2d_spec;
struct linear_spec;
struct mbconv_block_spec;
struct small_cnn_config;
struct mbconv_small_config;
struct model_options;
}  // namespace jaq::nn
namespace jaq::optim {
template <scalar T>
class sgd;
template <scalar T>
class adam;
struct sgd_config;
struct adam_config;
struct cosine_schedule;
}  // namespace jaq::optim

// quantization (jaq/quant/) and mixed-precision search (jaq/nas/)
namespace jaq::quant {
template <int Bits>
requires(1 <= Bits && Bits <= 8) struct signed_grid;
template <int Bits>
requires(1 <= Bits && Bits <= 8) struct unsigned_grid;
struct qrange;
struct lsq_spec;
struct pact_spec;
struct minmax_spec;
struct minmax_range;
struct minmax_observer;
struct qconv_spec;
struct quant_config;
template <scalar T>
class quantized_model;
}  // namespace jaq::quant
namespace jaq::nas {
struct temperature_schedule;
struct gumbel_weights;
struct csq_config;
struct channel_mask;
struct mixed_conv_spec;
struct search_config;
struct derived_precision;
struct train_flags;
template <scalar T>
class search_model;
template <scalar T>
class train_session;
struct op_spec;
struct block_geometry;
struct space_config;
struct derived_arch;
struct supernet_config;
template <scalar T>
class candidate_op;
template <scalar T>
class mixed_layer;
template <scalar T>
class supernet;
template <scalar T>
class derived_net;
}  // namespace jaq::nas

// the joint search (jaq/search/)
namespace jaq::search {
struct cost_table;
struct cost_weights;
struct cost_reference;
struct search_settings;
struct epoch_record;
template <class HwB>  // the hardware side's backend; joint_search.hpp gives the default (tbb_backend)
class joint_search;
struct retrain_settings;
struct retrained;
struct preset;
}  // namespace jaq::search
