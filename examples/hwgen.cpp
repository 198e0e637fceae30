// examples/hwgen.cpp: hardware generation: search accelerator configurations for a network.
//
// A policy network proposes BitFusion configurations (N, M, the three buffers, the DRAM width)
// from the search space; every proposal is scored on every layer of the network with BatchTile
// (best mapping per layer), and the policy learns toward lower
// lambda_L * latency + lambda_E * energy + lambda_A * area, each relative to the spec's
// reference configuration, under an area budget. The search is a steppable jaq::hwgen::generator
// run --log-every iterations at a time on one thread pool; it prints (and flushes) its progress
// as it goes, then the best
// configuration, writes it as JSON (loadable by `//examples:map --accel`), and checks its own
// result: the best configuration's latency and energy are recomputed with the exhaustive scalar
// reference mapper and must be equal; with --brute-force, the whole space is scored too and the
// gap to the true optimum is printed. `--device cuda` scores the proposals on the GPU (the same
// scores, so the same search); `auto` uses a GPU when there is one and says which it chose.
//
//   bazel run -c opt //examples:hwgen -- --network searchspace22 --iterations 100 --out best.json
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>

#include "jaq/batchtile/mapping_cache.hpp"
#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"
#include "jaq/core/parallel.hpp"
#include "jaq/core/rng.hpp"
#include "jaq/hw/networks.hpp"
#include "jaq/hw/reference_mapper.hpp"
#include "jaq/hwgen/generator.hpp"
#include "jaq/report/csv.hpp"
#include "jaq/report/plot.hpp"
#include "kernels/batchtile.hpp"
#include "kernels/device.hpp"

#include "examples/caller_dir.hpp"
#include "examples/cli_checks.hpp"
#include "examples/out_flag.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "Hardware generation: a policy network searching BitFusion configurations, "
      "scored with BatchTile"};
  app.option_defaults()->always_capture_default();  // --help shows every default
  std::string network = "searchspace22", out_path, device = "cpu";
  int iterations = 100, batch_size = 16, threads = 0, iprec = 8, wprec = 8, log_every = 10;
  std::uint64_t seed = 1;
  double lr = 0.01, lat = 1, en = 1, area = 1, budget = std::numeric_limits<double>::infinity();
  bool brute = false;
  app.add_option("--network", network, "resnet18, mobilenetv2-cifar or searchspace22");
  app.add_option("--iterations", iterations, "policy updates")->check(jaq_examples::positive);
  app.add_option("--batch", batch_size, "configurations sampled per iteration")->check(jaq_examples::in_range(2, 4096));
  app.add_option("--lr", lr, "Adam learning rate")->check(jaq_examples::positive);
  app.add_option("--seed", seed, "random seed");
  app.add_option("--lambda-latency", lat, "weight of latency / reference")->check(jaq_examples::non_negative);
  app.add_option("--lambda-energy", en, "weight of energy / reference")->check(jaq_examples::non_negative);
  app.add_option("--lambda-area", area, "weight of area / reference")->check(jaq_examples::non_negative);
  app.add_option("--area-budget", budget, "largest area in mm^2 (default: none)")->check(jaq_examples::positive);
  app.add_option("--iprec", iprec, "activation bits of every layer")->check(jaq_examples::in_range(1, 8));
  app.add_option("--wprec", wprec, "weight bits of every layer")->check(jaq_examples::in_range(1, 8));
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(jaq_examples::non_negative);
  app.add_option("--log-every", log_every, "print every n-th iteration")->check(jaq_examples::positive);
  app.add_option("--out", out_path,
                 "write the best configuration as JSON here, with the cost per iteration beside it "
                 "(<out>.history.csv, <out>.png)");
  app.add_flag("--brute-force", brute, "also score every configuration of the space");
  app.add_option("--device", device, "where BatchTile scores: cpu, cuda (a GPU, else an error) or auto (a GPU when there is one)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  CLI11_PARSE(app, argc, argv);
  out_path = jaq_examples::from_caller_dir(out_path);

  try {
    if (lat == 0 && en == 0 && area == 0)
      throw jaq::config_error("command line", "--lambda-latency/--lambda-energy/--lambda-area", "all three are 0: nothing to minimise");
    if (!out_path.empty()) jaq_examples::check_out_file(out_path);  // before the search: never lost to a bad --out
    const auto layers = jaq::hw::networks::by_name(network, {.batch = 1, .precision = {.iprec = iprec, .wprec = wprec}});
    if (!layers) throw jaq::config_error("command line", "--network", "unknown network '" + network + "'");
    const jaq::hwgen::search_space space = jaq::hwgen::default_space();
    jaq::batchtile::mapping_cache cache;
    const jaq::hwgen::cost_evaluator ev(
        *layers, {.lambda_latency = lat, .lambda_energy = en, .lambda_area = area, .area_budget_mm2 = budget}, &cache);
    std::cout << network << ": " << layers->size() << " layers at " << iprec << "/" << wprec << "; " << space << "\nreference "
              << ev.reference() << "\n";
    const jaq::cuda::device_choice where = jaq::cuda::choose_device(device);
    if (device != "cpu") std::cout << where.note << "\n";
    const bool on_gpu = where.kind == jaq::cuda::device_kind::cuda;
    jaq::thread_pool pool(threads);  // one TBB arena for the whole search
    const jaq::tbb_backend tbb = pool.backend();
    jaq::rng gen(seed);
    const auto t0 = std::chrono::steady_clock::now();
    jaq::hwgen::generator g(space, {.iterations = iterations, .batch = batch_size, .learning_rate = lr}, gen);
    // --log-every iterations per run() (the same search as one run of all of them), so that
    // each progress line is printed when its iteration is done.
    jaq::hwgen::generator_result r;
    while (g.iterations_done() < iterations) {
      const int n = static_cast<int>(std::min<std::int64_t>(log_every, iterations - g.iterations_done()));
      r.append(on_gpu ? g.run(jaq::cuda_backend{0}, ev, n, gen) : g.run(tbb, ev, n, gen));
      for (auto l = r.history.end() - n; l != r.history.end(); ++l)
        if (l->iteration % log_every == 0 || l->iteration + 1 == iterations) std::cout << *l << std::endl;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << r << "\n" << cache.stats() << "\nsearch wall time " << secs << " s\n";
    if (!r.best.feasible) {
      std::cerr << "hwgen: no feasible configuration found\n";
      return 1;
    }
    // Check: the best configuration's figures, recomputed by the exhaustive scalar reference.
    double ref_lat = 0, ref_en = 0;
    const auto em = jaq::hw::make_energy_model(r.best.config);
    for (const auto& m : jaq::hw::map_network_reference(r.best.config, *layers, em)) {
      ref_lat += m.value().latency_s;
      ref_en += m.value().energy_nJ;
    }
    if (ref_lat != r.best.latency_s || ref_en != r.best.energy_nJ) {
      std::cerr << "hwgen: CHECK FAILED: the reference mapper gives latency " << ref_lat << " s and energy " << ref_en
                << " nJ for the best configuration\n";
      return 1;
    }
    std::cout << "check: the reference mapper gives the same latency and energy\n";
    if (brute) {
      const auto t1 = std::chrono::steady_clock::now();
      const auto [opt, choice] =
          on_gpu ? jaq::hwgen::brute_force(jaq::cuda_backend{0}, space, ev) : jaq::hwgen::brute_force(tbb, space, ev);
      const double bs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      std::cout << "brute force over " << space.count() << " configurations (" << bs << " s): " << opt << "\ngenerator's best is "
                << r.best.cost / opt.cost << "x the optimum's cost\n";
    }
    std::cout << r.best_json().dump(2) << "\n";
    if (!out_path.empty()) {
      if (const auto dir = std::filesystem::path(out_path).parent_path(); !dir.empty()) std::filesystem::create_directories(dir);
      jaq::write_file_atomic(out_path, r.accel_json().dump(2) + "\n");
      std::ostringstream csv;
      jaq::report::csv_writer w(csv, {"iteration", "mean_cost", "best_cost", "infeasible", "entropy"});
      jaq::report::plot_series mean{.name = "mean cost of the batch"}, best{.name = "best cost so far"};
      for (const auto& l : r.history) {
        w.row(l.iteration, l.mean_cost, l.best_cost, l.infeasible, l.entropy);
        mean.x.push_back(l.iteration);
        mean.y.push_back(l.mean_cost);
        if (std::isfinite(l.best_cost)) {
          best.x.push_back(l.iteration);
          best.y.push_back(l.best_cost);
        }
      }
      jaq::write_file_atomic(out_path + ".history.csv", csv.str());
      std::cout << "wrote " << out_path << ", " << out_path << ".history.csv\n";
      try {  // a missing gnuplot costs the picture, not the results
        jaq::report::plot_spec plot{
            .title = network + ": hardware generation", .xlabel = "iteration", .ylabel = "cost (reference = 1 per term)"};
        plot.series = {std::move(mean), std::move(best)};
        jaq::report::render_png(plot, out_path + ".png");
        std::cout << "wrote " << out_path << ".png\n";
      } catch (const jaq::error& e) {
        std::cerr << "hwgen: warning: no plot: " << e.what() << "\n";
      }
    }
  } catch (const jaq::error& e) {
    std::cerr << "hwgen: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {  // anything else still ends in a message, not an abort
    std::cerr << "hwgen: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
