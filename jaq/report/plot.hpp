// jaq/report/plot.hpp: PNG line and scatter plots, drawn by gnuplot run as a subprocess.
//
// The plot is described as data (plot_spec); gnuplot_script turns it into a self-contained
// gnuplot script (data inline), and render_png runs gnuplot on it. If gnuplot is not installed
// (Debian package gnuplot-nox; tools/bootstrap.sh installs it) or fails, render_png throws a
// jaq::error saying so, with gnuplot's own message; it never crashes.
//
//   jaq::report::plot_spec p{.title = "training loss", .xlabel = "step", .ylabel = "loss"};
//   p.series.push_back({.name = "jaq", .x = steps, .y = losses});
//   jaq::report::render_png(p, "runs/loss.png");
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "jaq/core/atomic_file.hpp"
#include "jaq/core/error.hpp"

extern char** environ;

namespace jaq::report {

/// How a series is drawn.
enum class plot_style { lines, points, linespoints };

/// One named curve or point set; x and y have the same length.
struct plot_series {
  std::string name = {};
  std::vector<double> x = {};
  std::vector<double> y = {};
  plot_style style = plot_style::lines;
};

struct plot_spec {
  std::string title = {};
  std::string xlabel = {};
  std::string ylabel = {};
  std::vector<plot_series> series = {};
  bool log_x = false;
  bool log_y = false;
  int width = 800;  // pixels
  int height = 500;

  friend std::ostream& operator<<(std::ostream& os, const plot_spec& p) {
    os << "plot_spec{'" << p.title << "', " << p.width << "x" << p.height << ", series:";
    for (const auto& s : p.series) os << " '" << s.name << "'(" << s.x.size() << ")";
    return os << "}";
  }
};

struct plot_options {
  std::string gnuplot = "gnuplot";  // executable, looked up on PATH
};

namespace detail {
/// A gnuplot single-quoted string: only the quote itself needs escaping (doubled).
inline std::string gp_quote(const std::string& s) {
  std::string r = "'";
  for (char c : s) {
    if (c == '\'') r += '\'';
    if (c == '\n' || c == '\r') {
      r += ' ';
      continue;
    }
    r += c;
  }
  return r + "'";
}
inline std::string gp_number(double v) {
  if (!std::isfinite(v)) return "NaN";  // gnuplot skips it
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
}  // namespace detail

/// Checks the spec: at least one series, matching x/y lengths, a positive size.
inline void validate(const plot_spec& p, const std::string& where) {
  if (p.series.empty()) throw config_error(where, "series", "a plot needs at least one series");
  if (p.width < 16 || p.height < 16) {
    throw config_error(where, "size", "expected at least 16x16 pixels, got " + std::to_string(p.width) + "x" + std::to_string(p.height));
  }
  for (const auto& s : p.series) {
    if (s.x.size() != s.y.size()) {
      throw config_error(where, "series '" + s.name + "'",
                         "x has " + std::to_string(s.x.size()) + " values, y has " + std::to_string(s.y.size()));
    }
  }
}

/// A self-contained gnuplot script that draws `p` into `png`.
inline std::string gnuplot_script(const plot_spec& p, const std::filesystem::path& png) {
  validate(p, png.string());
  std::ostringstream s;
  s << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
    << "  set terminal pngcairo size " << p.width << "," << p.height << " enhanced font 'sans,10'\n"
    << "} else {\n"
    << "  set terminal png size " << p.width << "," << p.height << "\n"
    << "}\n";
  s << "set output " << detail::gp_quote(png.string()) << "\n";
  s << "set encoding utf8\nset grid\nset key outside right top noenhanced\n";
  if (!p.title.empty()) s << "set title " << detail::gp_quote(p.title) << " noenhanced\n";
  if (!p.xlabel.empty()) s << "set xlabel " << detail::gp_quote(p.xlabel) << " noenhanced\n";
  if (!p.ylabel.empty()) s << "set ylabel " << detail::gp_quote(p.ylabel) << " noenhanced\n";
  if (p.log_x) s << "set logscale x\n";
  if (p.log_y) s << "set logscale y\n";
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    s << "$d" << k << " << EOD\n";
    const auto& se = p.series[k];
    for (std::size_t i = 0; i < se.x.size(); ++i) s << detail::gp_number(se.x[i]) << " " << detail::gp_number(se.y[i]) << "\n";
    s << "EOD\n";
  }
  s << "plot ";
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const auto& se = p.series[k];
    const char* with = se.style == plot_style::lines ? "lines" : se.style == plot_style::points ? "points" : "linespoints";
    s << (k ? ", \\\n     " : "") << "$d" << k << " using 1:2 with " << with << " lw 2 title " << detail::gp_quote(se.name);
  }
  s << "\nunset output\n";
  return s.str();
}

/// Draws `p` into the PNG file `png` by running gnuplot. Throws config_error for a bad spec and
/// jaq::error if gnuplot is missing, fails, or writes no image.
inline void render_png(const plot_spec& p, const std::filesystem::path& png, const plot_options& opt = {}) {
  const std::string script = gnuplot_script(p, png);
  const std::filesystem::path dir = png.has_parent_path() ? png.parent_path() : ".";
  const auto script_path = dir / ("." + png.filename().string() + ".gp");
  const auto err_path = dir / ("." + png.filename().string() + ".gp.err");
  write_file_atomic(script_path, script);
  std::error_code ec;
  std::filesystem::remove(png, ec);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string sp = script_path.string();
  std::vector<char*> argv = {const_cast<char*>(opt.gnuplot.c_str()), const_cast<char*>(sp.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, opt.gnuplot.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  auto cleanup = [&] {
    std::filesystem::remove(script_path, ec);
    std::filesystem::remove(err_path, ec);
  };
  if (rc != 0) {
    cleanup();
    throw error("plot " + png.string() + ": " +
                (rc == ENOENT ? "'" + opt.gnuplot + "' not found" : "cannot run '" + opt.gnuplot + "' (" + std::strerror(rc) + ")") +
                "; install gnuplot-nox (tools/bootstrap.sh does)");
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      cleanup();
      throw error("plot " + png.string() + ": waiting for gnuplot failed: " + std::strerror(errno));
    }
  }
  std::string err;
  try {
    err = read_file(err_path);
  } catch (const jaq::error&) {
  }
  cleanup();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // exit status 127 from posix_spawnp's child: the executable was not found.
    const bool missing = WIFEXITED(status) && WEXITSTATUS(status) == 127;
    throw error("plot " + png.string() + ": " +
                (missing ? "'" + opt.gnuplot + "' not found; install gnuplot-nox (tools/bootstrap.sh does)"
                         : "gnuplot failed (status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "): " + err));
  }
  if (!std::filesystem::is_regular_file(png, ec) || std::filesystem::file_size(png, ec) == 0) {
    throw error("plot " + png.string() + ": gnuplot wrote no image: " + err);
  }
}

}  // namespace jaq::report
