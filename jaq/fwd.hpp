// jaq/fwd.hpp: forward declarations of jaq's main types, for headers that only name them.
// Each module adds its declarations here as it lands.
#pragma once

namespace jaq {
class error;
class config_error;
class data_error;
class model_error;
class hardware_error;
}  // namespace jaq

// core utilities (jaq/core/atomic_file.hpp, progress.hpp)
namespace jaq {
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
