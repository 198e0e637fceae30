// examples/map.cpp: the best mapping of every layer of a network on a BitFusion accelerator.
//
// Reads a layer list (a CSV, or a built-in network), an accelerator configuration (JSON, default
// the reference N=16, M=32, 64/32/16 KiB, 192-bit DRAM, 500 MHz) and writes one CSV row per
// layer: the best tiling and loop order with cycles, energies (17 significant digits) and bit
// counts. The search is BatchTile (jaq/batchtile: vectorised, pruned, parallel over layers);
// `--engine reference` uses the exhaustive scalar reference (jaq/hw) instead. `--device cuda`
// scores BatchTile's pairs on the GPU (kernels/, the same answers); `auto` uses a GPU when there
// is one and says which it chose; the default is the CPU. `--check` runs the
// reference as well and fails unless every field of every row agrees. The whole run's wall time
// goes to stderr.
//
//   bazel run //examples:map -- --layers L.csv [--accel A.json] [--out R.csv] [--threads T] [--device auto]
//   bazel run //examples:map -- --network resnet18 --batch 16 --prec 4/4,8/2
//
// Exit status: 0 ok, 1 bad input (message names file, line/field, value), 3 some layer fits no
// tiling (its row carries the error in `note`), 4 --check found a difference.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/batchtile/map_layers.hpp"
#include "jaq/core/atomic_file.hpp"
#include "jaq/core/backend.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/list.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/hw/accel_json.hpp"
#include "jaq/hw/energy_model.hpp"
#include "jaq/hw/layer_csv.hpp"
#include "jaq/hw/networks.hpp"
#include "jaq/hw/reference_mapper.hpp"
#include "jaq/hw/tech_table.hpp"
#include "jaq/hw/timeloop.hpp"
#include "kernels/batchtile.hpp"
#include "kernels/device.hpp"

#include "examples/caller_dir.hpp"
#include "examples/cli_checks.hpp"

namespace {

// "8/8,4/2" -> pairs; throws config_error naming --prec.
std::vector<jaq::hw::precision_pair> parse_precisions(const std::string& s) {
  std::vector<jaq::hw::precision_pair> out;
  for (const std::string& item : jaq::split_list(s, "command line", "--prec")) {
    int ip = 0, wp = 0;
    char slash = 0, extra = 0;
    if (std::sscanf(item.c_str(), "%d%c%d%c", &ip, &slash, &wp, &extra) != 3 || slash != '/' || !jaq::hw::valid_bits(ip) ||
        !jaq::hw::valid_bits(wp))
      throw jaq::config_error("command line", "--prec", "expected I/W with bits in 1..8 (e.g. 4/2), got '" + item + "'");
    out.push_back({.iprec = ip, .wprec = wp});
  }
  return out;
}

std::vector<jaq::hw::mapping_result> map_reference(const jaq::hw::accel_config& cfg, const std::vector<jaq::hw::layer>& layers,
                                                   const jaq::hw::energy_model& em, int threads) {
  std::vector<std::optional<jaq::hw::mapping_result>> out(layers.size());
  jaq::parallel_for(jaq::tbb_backend{threads}, 0, static_cast<std::int64_t>(layers.size()), [&](std::int64_t i) {
    out[static_cast<std::size_t>(i)] = jaq::hw::map_layer_reference(cfg, layers[static_cast<std::size_t>(i)], em);
  });
  std::vector<jaq::hw::mapping_result> r;
  for (auto& o : out) r.push_back(std::move(*o));
  return r;
}

}  // namespace

int map_main(int argc, char** argv) {
  CLI::App app{"Best BitFusion mapping of every layer (BitFusion cost model, exhaustive search)"};
  app.option_defaults()->always_capture_default();  // --help shows every default
  std::string layers_csv, network, accel_json, out_path, engine = "batchtile", precs = "8/8", device = "cpu";
  std::string sram_csv, synth_csv, timeloop_dir;
  int threads = 0;
  std::int64_t batch = 1;
  bool check = false;
  auto* opt_layers = app.add_option("--layers", layers_csv,
                                    "layer CSV (header: name,K,O,S,IC,"
                                    "OC,B,im2col,iprec,wprec[,groups])");
  auto* opt_net = app.add_option("--network", network, "built-in network: resnet18, mobilenetv2-cifar, searchspace22");
  opt_layers->excludes(opt_net);
  app.add_option("--accel", accel_json, "accelerator JSON (default: the reference config)");
  app.add_option("--out", out_path, "output CSV (default: stdout)");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(jaq_examples::non_negative);
  app.add_option("--engine", engine, "batchtile (default) or reference (exhaustive scalar)")
      ->check(CLI::IsMember({"batchtile", "reference"}));
  // --batch and --prec shape --network's layers; a layer CSV carries its own (B, iprec, wprec)
  app.add_option("--batch", batch, "batch size of --network layers")->check(jaq_examples::positive)->excludes(opt_layers);
  app.add_option("--prec", precs,
                 "precision pairs I/W of --network layers, comma-separated; "
                 "with several, each layer is listed once per pair as name@I/W")
      ->excludes(opt_layers);
  app.add_option("--sram-csv", sram_csv, "CACTI SRAM table (default: embedded 45 nm)");
  app.add_option("--synth-csv", synth_csv, "systolic-array synthesis table (default: embedded)");
  app.add_option("--device", device, "where BatchTile scores: cpu, cuda (a GPU, else an error) or auto (a GPU when there is one)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_flag("--check", check, "also run the scalar reference and compare every field");
  app.add_option("--timeloop", timeloop_dir, "also write each layer's problem and mapping as Timeloop YAML into this folder");
  CLI11_PARSE(app, argc, argv);
  std::string command_line = "map";
  for (int i = 1; i < argc; ++i) command_line += std::string(" ") + argv[i];
  for (std::string* p : {&layers_csv, &accel_json, &out_path, &sram_csv, &synth_csv, &timeloop_dir}) *p = jaq_examples::from_caller_dir(*p);

  if (!out_path.empty()) {  // before the work: a bad --out fails at once
    try {
      jaq::check_output_file(out_path);
    } catch (const jaq::error& e) {
      std::cerr << "map: --out: " << e.what() << "\n";
      return 1;
    }
  }
  if (!timeloop_dir.empty()) {
    try {
      jaq::prepare_output_dir(timeloop_dir);
    } catch (const jaq::error& e) {
      std::cerr << "map: --timeloop: " << e.what() << "\n";
      return 1;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<jaq::hw::layer> layers;
  jaq::hw::accel_config cfg = jaq::hw::reference_config();
  jaq::hw::energy_model em;
  try {
    if (!layers_csv.empty()) {
      layers = jaq::hw::read_layers_csv(layers_csv);
    } else if (!network.empty()) {
      const auto pairs = parse_precisions(precs);
      for (const auto& p : pairs) {
        auto net = jaq::hw::networks::by_name(network, {.batch = batch, .precision = p});
        if (!net)
          throw jaq::config_error("command line", "--network",
                                  "unknown network '" + network + "' (resnet18, mobilenetv2-cifar, searchspace22)");
        for (auto& l : *net) {
          if (pairs.size() > 1) l.name += "@" + std::to_string(p.iprec) + "/" + std::to_string(p.wprec);
          layers.push_back(std::move(l));
        }
      }
    } else {
      throw jaq::config_error("command line", "--layers", "give --layers L.csv or --network NAME");
    }
    if (!accel_json.empty()) cfg = jaq::hw::read_accel_json(accel_json);
    if (sram_csv.empty() != synth_csv.empty())
      throw jaq::config_error("command line", sram_csv.empty() ? "--sram-csv" : "--synth-csv", "--sram-csv and --synth-csv go together");
    const jaq::hw::tech_tables tables =
        sram_csv.empty() ? jaq::hw::tech_tables::embedded() : jaq::hw::tech_tables::load(sram_csv, synth_csv);
    em = jaq::hw::make_energy_model(cfg, tables);
  } catch (const jaq::error& e) {
    std::cerr << "map: " << e.what() << "\n";
    return 1;
  }

  std::vector<jaq::hw::mapping_result> results;
  try {
    jaq::cuda::device_choice where;
    if (engine == "batchtile") {
      where = jaq::cuda::choose_device(device);
      if (device != "cpu") std::cerr << "map: " << where.note << "\n";
    } else if (device == "cuda") {
      throw jaq::config_error("--device", "device", "cuda runs BatchTile; --engine reference runs on the CPU only");
    }
    if (engine == "reference")
      results = map_reference(cfg, layers, em, threads);
    else if (where.kind == jaq::cuda::device_kind::cuda)
      results = jaq::cuda::map_layers(jaq::cuda_backend{0}, cfg, std::span<const jaq::hw::layer>(layers), em);
    else
      results = jaq::batchtile::map_layers(jaq::tbb_backend{threads}, cfg, layers, em);
  } catch (const jaq::error& e) {
    std::cerr << "map: " << e.what() << "\n";
    return 1;
  }
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  if (out_path.empty()) {
    jaq::hw::write_mapping_csv(std::cout, results, names);
    if (!std::cout.flush()) {
      std::cerr << "map: cannot write the mapping to standard output\n";
      return 1;
    }
  } else {
    std::ostringstream out;
    jaq::hw::write_mapping_csv(out, results, names);
    try {
      jaq::write_file_atomic(out_path, out.str());  // checked and atomic: errors are not ignored
    } catch (const jaq::error& e) {
      std::cerr << "map: " << e.what() << "\n";
      return 1;
    }
  }
  if (!timeloop_dir.empty()) {
    try {
      const auto files = jaq::hw::write_timeloop_dir(timeloop_dir, layers, results, cfg, command_line);
      std::cerr << "map: wrote " << files.size() << " Timeloop problem+mapping files into " << timeloop_dir << "\n";
    } catch (const jaq::error& e) {
      std::cerr << "map: --timeloop: " << e.what() << "\n";
      return 1;
    }
  }
  try {
    const jaq::hw::area_report area = jaq::hw::area_of(cfg);
    std::cerr << "map: " << cfg << ", area " << area.total_mm2 << " mm^2\n";
  } catch (const jaq::error& e) {
    std::cerr << "map: area: " << e.what() << "\n";
  }
  if (em.wbuf_fit != jaq::hw::table_fit::exact || em.ibuf_fit != jaq::hw::table_fit::exact || em.obuf_fit != jaq::hw::table_fit::exact)
    std::cerr << "map: note: SRAM energies read from the CACTI table: WBUF " << em.wbuf_fit << ", IBUF " << em.ibuf_fit << ", OBUF "
              << em.obuf_fit << "\n";
  std::cerr << "map: " << layers.size() << " layers, engine " << engine << ", " << (threads ? std::to_string(threads) : std::string("all"))
            << " threads" << (device == "cpu" ? "" : ", --device " + device) << ", wall " << wall_ms << " ms\n";

  int status = 0;
  for (const auto& r : results)
    if (!r.ok()) {
      std::cerr << "map: " << r.error().message() << "\n";
      status = 3;
    }
  if (check) {
    const auto ref = map_reference(cfg, layers, em, 1);
    for (std::size_t i = 0; i < ref.size(); ++i)
      if (!(ref[i] == results[i])) {
        std::cerr << "map: --check: layer '" << names[i] << "' differs from the reference:\n  " << results[i] << "\n  " << ref[i] << "\n";
        status = 4;
      }
    if (status != 4) std::cerr << "map: --check: all " << ref.size() << " rows equal the reference\n";
  }
  return status;
}

int main(int argc, char** argv) {
  try {
    return map_main(argc, argv);
  } catch (const std::exception& e) {  // anything the steps above did not expect: a message, not an abort
    std::cerr << "map: error: " << e.what() << "\n";
    return 1;
  }
}
