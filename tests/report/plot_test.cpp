#include "jaq/report/plot.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  const char* t = std::getenv("TEST_TMPDIR");
  fs::path base = t ? fs::path(t) : fs::temp_directory_path();
  auto dir = base / ("jaq_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

jaq::report::plot_spec loss_plot() {
  jaq::report::plot_spec p{.title = "loss (it's small)", .xlabel = "step", .ylabel = "loss", .width = 640, .height = 400};
  jaq::report::plot_series a{.name = "jaq"}, b{.name = "torch", .style = jaq::report::plot_style::points};
  for (int i = 0; i < 50; ++i) {
    a.x.push_back(i);
    a.y.push_back(2.3 * std::exp(-0.05 * i));
    b.x.push_back(i);
    b.y.push_back(2.3 * std::exp(-0.045 * i));
  }
  p.series = {a, b};
  return p;
}
}  // namespace

TEST_CASE("plot: renders a line plot to a real PNG file") {
  const auto dir = temp_dir("plot_png");
  const auto png = dir / "loss.png";
  jaq::report::render_png(loss_plot(), png);
  REQUIRE(fs::is_regular_file(png));
  std::ifstream f(png, std::ios::binary);
  unsigned char sig[8] = {};
  f.read(reinterpret_cast<char*>(sig), 8);
  const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  CHECK(std::equal(sig, sig + 8, png_sig));
  CHECK(fs::file_size(png) > 5000);  // two curves, axes and labels, not an empty canvas
  // Only the image is left behind.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("plot: the script quotes titles and carries the data inline") {
  const auto s = jaq::report::gnuplot_script(loss_plot(), "out/x.png");
  CHECK(s.find("set title 'loss (it''s small)'") != std::string::npos);
  CHECK(s.find("$d1 << EOD\n0 2.2999999999999998\n") != std::string::npos);
  CHECK(s.find("with points lw 2 title 'torch'") != std::string::npos);
}

TEST_CASE("plot: a missing gnuplot is a clear jaq::error, not a crash") {
  const auto dir = temp_dir("plot_missing");
  CHECK_THROWS_WITH_AS(jaq::report::render_png(loss_plot(), dir / "x.png", {.gnuplot = "gnuplot-that-is-not-installed"}),
                       doctest::Contains("not found; install gnuplot-nox"), jaq::error);
  CHECK(!fs::exists(dir / "x.png"));
}

TEST_CASE("plot: bad specs are config_errors naming the series") {
  auto p = loss_plot();
  p.series[1].y.pop_back();
  CHECK_THROWS_WITH(jaq::report::gnuplot_script(p, "x.png"), "x.png: series 'torch': x has 50 values, y has 49");
  CHECK_THROWS_AS(jaq::report::gnuplot_script(jaq::report::plot_spec{}, "x.png"), jaq::config_error);
}

TEST_CASE("plot: a gnuplot failure carries gnuplot's message") {
  const auto dir = temp_dir("plot_fail");
  auto p = loss_plot();
  // A PNG path in a directory that does not exist: gnuplot cannot open its output.
  CHECK_THROWS_AS(jaq::report::render_png(p, dir / "absent" / "x.png"), jaq::error);
}
