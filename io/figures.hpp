#pragma once
// Pictures for people: model parameters as tiles, and line and scatter plots with axes, ticks and a
// legend (a built-in 5x7 pixel font; stb_image_write from Debian's libstb-dev writes the PNG files).
#include <array>
#include <string>
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::io {

// tiles [n, h, w] as a grid of `columns` tiles, each scaled by its own largest |value| to grey
// (0 = mid grey, positive lighter, negative darker), each pixel `zoom` x `zoom`, 1-pixel gaps.
void write_tile_grid_png(const std::string& path, const ad::Tensor& tiles, int columns, int zoom);

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::array<unsigned char, 3> colour{0, 0, 0};
  bool dashed = false;   // line plots: a dashed line (e.g. a reference level)
};

struct PlotAxes {
  std::string title, x_label, y_label;
  bool log2_x = false;   // ticks at the powers of 2 in range
  double y_min = 0.0, y_max = 1.0;  // values outside are drawn at the edge
};

// Lines with square markers at the points; the legend at the right.
void write_line_plot_png(const std::string& path, const std::vector<Series>& series, const PlotAxes& axes);
// Points only (x range taken from the data when x_min == x_max).
void write_scatter_png(const std::string& path, const std::vector<Series>& series, const PlotAxes& axes, double x_min, double x_max);

// Cell-type barcodes: each neuron's |feature weights| (weights [K, N]) as a column of K grey bands
// (white = the neuron's largest), neurons grouped by their true type (types [N], 0..T-1) with
// a strip in the type's palette colour above them.
void write_barcodes_png(const std::string& path, const ad::Tensor& weights, const ad::Tensor& types, const std::string& title);

// A distinct colour for series i (16 of them, then repeated).
std::array<unsigned char, 3> palette(std::size_t i);

}  // namespace ww::io
