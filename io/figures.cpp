#include "io/figures.hpp"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <cmath>
#include <vector>

#include "io/npy.hpp"

namespace ww::io {

void write_tile_grid_png(const std::string& path, const ad::Tensor& tiles, int columns, int zoom) {
  if (tiles.rank() != 3) throw FormatError(path + ": tiles must be [n, h, w], got " + ad::shape_string(tiles.shape()));
  const int n = static_cast<int>(tiles.shape()[0]), h = static_cast<int>(tiles.shape()[1]), w = static_cast<int>(tiles.shape()[2]);
  columns = std::max(1, std::min(columns, n));
  const int rows = (n + columns - 1) / columns;
  const int tile_w = w * zoom + 1, tile_h = h * zoom + 1;
  const int width = columns * tile_w + 1, height = rows * tile_h + 1;
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 255);
  for (int t = 0; t < n; ++t) {
    const float* tile = tiles.data() + static_cast<std::size_t>(t) * static_cast<std::size_t>(h * w);
    float scale = 0.f;
    for (int i = 0; i < h * w; ++i) scale = std::max(scale, std::fabs(tile[i]));
    const int x0 = (t % columns) * tile_w + 1, y0 = (t / columns) * tile_h + 1;
    for (int y = 0; y < h * zoom; ++y)
      for (int x = 0; x < w * zoom; ++x) {
        const float v = scale > 0 ? tile[(y / zoom) * w + x / zoom] / scale : 0.f;
        pixels[static_cast<std::size_t>((y0 + y) * width + x0 + x)] = static_cast<unsigned char>(std::lround(127.5f + 127.f * v));
      }
  }
  if (stbi_write_png(path.c_str(), width, height, 1, pixels.data(), width) == 0) {
    throw FormatError(path + ": could not write the PNG file");
  }
}

}  // namespace ww::io

namespace ww::io {
namespace {

// 5x7 glyphs, one byte per row (bit 4 = leftmost column), for what plots need to say.
struct Glyph {
  char c;
  unsigned char rows[7];
};
constexpr Glyph glyphs[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'.', {0, 0, 0, 0, 0, 0x0C, 0x0C}},                 {',', {0, 0, 0, 0, 0x0C, 0x04, 0x08}},
    {'-', {0, 0, 0, 0x1F, 0, 0, 0}},                    {'_', {0, 0, 0, 0, 0, 0, 0x1F}},
    {'=', {0, 0, 0x1F, 0, 0x1F, 0, 0}},                 {'+', {0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {':', {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0}},           {'/', {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04}},
    {'|', {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
};

const unsigned char* glyph_rows(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c == ' ') return nullptr;
  for (const Glyph& g : glyphs)
    if (g.c == c) return g.rows;
  return glyph_rows('?');
}

using Colour = std::array<unsigned char, 3>;
constexpr Colour black{0, 0, 0}, grey{200, 200, 200};

class Canvas {
 public:
  Canvas(int width, int height) : width_(width), height_(height), rgb_(static_cast<std::size_t>(width * height * 3), 255) {}
  void dot(int x, int y, Colour c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    std::copy(c.begin(), c.end(), rgb_.begin() + (static_cast<std::ptrdiff_t>(y) * width_ + x) * 3);
  }
  void box(int x0, int y0, int x1, int y1, Colour c) {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) dot(x, y, c);
  }
  // A 2-pixel line; dashed lines skip every other 8 pixels of their length.
  void line(double x0, double y0, double x1, double y1, Colour c, bool dashed = false) {
    const int steps = std::max(1, static_cast<int>(std::ceil(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0)))));
    for (int i = 0; i <= steps; ++i) {
      if (dashed && (i / 8) % 2 == 1) continue;
      const double t = static_cast<double>(i) / steps;
      const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      box(x, y, x + 1, y + 1, c);
    }
  }
  // Text at 2x scale (10x14 pixels per character, 12 apart); `vertical` reads bottom to top.
  void text(int x, int y, const std::string& s, Colour c = black, bool vertical = false) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const unsigned char* rows = glyph_rows(s[i]);
      if (rows == nullptr) continue;
      for (int r = 0; r < 7; ++r)
        for (int col = 0; col < 5; ++col) {
          if (!(rows[r] & (0x10 >> col))) continue;
          const int along = static_cast<int>(i) * 12 + col * 2, across = r * 2;
          if (vertical) {
            box(x + across, y - along - 1, x + across + 1, y - along, c);
          } else {
            box(x + along, y + across, x + along + 1, y + across + 1, c);
          }
        }
    }
  }
  static int text_width(const std::string& s) { return static_cast<int>(s.size()) * 12; }
  void write(const std::string& path) const {
    if (stbi_write_png(path.c_str(), width_, height_, 3, rgb_.data(), width_ * 3) == 0) {
      throw FormatError(path + ": could not write the PNG file");
    }
  }

 private:
  int width_, height_;
  std::vector<unsigned char> rgb_;
};

// Whole numbers up to a million in full (sample sizes: 1024, not 1.02E+03), others in 3 digits.
std::string tick_label(double v) {
  char text[32];
  if (v == std::round(v) && std::fabs(v) < 1e6) {
    std::snprintf(text, sizeof text, "%.0f", v);
  } else {
    std::snprintf(text, sizeof text, "%.3g", v);
  }
  return text;
}

// The frame, ticks, labels and legend; maps data to pixels.
struct Frame {
  static constexpr int width = 900, height = 560, left = 80, right = 660, top = 50, bottom = 480;
  double x_min, x_max, y_min, y_max;
  bool log2_x;
  double px(double x) const {
    const double u = log2_x ? (std::log2(x) - std::log2(x_min)) / (std::log2(x_max) - std::log2(x_min)) : (x - x_min) / (x_max - x_min);
    return left + u * (right - left);
  }
  double py(double y) const { return bottom - (std::clamp(y, y_min, y_max) - y_min) / (y_max - y_min) * (bottom - top); }

  void draw(Canvas& canvas, const PlotAxes& axes, const std::vector<Series>& series) const {
    for (int i = 0; i <= 5; ++i) {  // y grid and ticks
      const double v = y_min + (y_max - y_min) * i / 5.0;
      const int y = static_cast<int>(std::lround(py(v)));
      canvas.box(left, y, right, y, grey);
      const std::string label = tick_label(v);
      canvas.text(left - 8 - Canvas::text_width(label), y - 7, label);
    }
    std::vector<double> ticks;
    if (log2_x) {
      for (double t = std::exp2(std::ceil(std::log2(x_min))); t <= x_max * (1 + 1e-9); t *= 2) ticks.push_back(t);
    } else {
      for (int i = 0; i <= 5; ++i) ticks.push_back(x_min + (x_max - x_min) * i / 5.0);
    }
    for (const double t : ticks) {
      const int x = static_cast<int>(std::lround(px(t)));
      canvas.box(x, bottom, x, bottom + 5, black);
      const std::string label = tick_label(t);
      canvas.text(x - Canvas::text_width(label) / 2, bottom + 10, label);
    }
    canvas.box(left, top, left + 1, bottom, black);
    canvas.box(left, bottom, right, bottom + 1, black);
    canvas.text(left, 15, axes.title);
    canvas.text((left + right - Canvas::text_width(axes.x_label)) / 2, bottom + 38, axes.x_label);
    canvas.text(15, (top + bottom + Canvas::text_width(axes.y_label)) / 2, axes.y_label, black, true);
    for (std::size_t i = 0; i < series.size(); ++i) {
      const int y = top + 10 + static_cast<int>(i) * 24;
      canvas.box(right + 20, y + 2, right + 36, y + 12, series[i].colour);
      canvas.text(right + 44, y, series[i].label);
    }
  }
};

Frame frame_for(const std::vector<Series>& series, const PlotAxes& axes, double x_min, double x_max) {
  if (x_min >= x_max) {
    x_min = std::numeric_limits<double>::infinity();
    x_max = -x_min;
    for (const Series& s : series)
      for (const double x : s.x) {
        x_min = std::min(x_min, x);
        x_max = std::max(x_max, x);
      }
    if (!(x_min < x_max)) {  // one point or none: a unit range around it
      x_min = std::isfinite(x_min) ? x_min - (axes.log2_x ? x_min / 2 : 1) : 0;
      x_max = x_min + (axes.log2_x ? x_min * 3 : 2);
    }
  }
  if (axes.log2_x && x_min <= 0) throw std::invalid_argument("plot: a log x axis needs positive x values");
  return Frame{x_min, x_max, axes.y_min, axes.y_max, axes.log2_x};
}

}  // namespace

std::array<unsigned char, 3> palette(std::size_t i) {
  // Eight strong colours, then their light variants: Fig. 5e's 16 cell types each get their own.
  static constexpr Colour colours[] = {{31, 119, 180},  {255, 127, 14},  {44, 160, 44},   {214, 39, 40},
                                       {148, 103, 189}, {140, 86, 75},   {227, 119, 194}, {127, 127, 127},
                                       {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150},
                                       {197, 176, 213}, {196, 156, 148}, {247, 182, 210}, {199, 199, 199}};
  return colours[i % (sizeof colours / sizeof colours[0])];
}

void write_barcodes_png(const std::string& path, const ad::Tensor& weights, const ad::Tensor& types, const std::string& title) {
  if (weights.rank() != 2 || types.rank() != 1 || types.shape()[0] != weights.shape()[1])
    throw FormatError(path + ": barcodes need weights [K, N] and types [N], got " + ad::shape_string(weights.shape()) + " and " +
                      ad::shape_string(types.shape()));
  const auto K = static_cast<int>(weights.shape()[0]), N = static_cast<int>(weights.shape()[1]);
  std::vector<int> order(static_cast<std::size_t>(N));
  for (int n = 0; n < N; ++n) order[static_cast<std::size_t>(n)] = n;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return types.data()[a] < types.data()[b]; });
  const int column = std::max(1, 1000 / std::max(N, 1)), band = std::max(6, 200 / std::max(K, 1));
  const int left = 10, strip_top = 40, strip = 12, bands_top = strip_top + strip + 4;
  Canvas canvas(std::max(left * 2 + N * column, left * 2 + Canvas::text_width(title)), bands_top + K * band + 10);
  canvas.text(left, 12, title);
  for (int i = 0; i < N; ++i) {
    const int n = order[static_cast<std::size_t>(i)], x0 = left + i * column;
    canvas.box(x0, strip_top, x0 + column - 1, strip_top + strip - 1, palette(static_cast<std::size_t>(types.data()[n])));
    float largest = 0.f;
    for (int k = 0; k < K; ++k) largest = std::max(largest, std::fabs(weights.data()[k * N + n]));
    for (int k = 0; k < K; ++k) {
      const float share = largest > 0.f ? std::fabs(weights.data()[k * N + n]) / largest : 0.f;
      const auto level = static_cast<unsigned char>(std::lround(255.f * share));
      canvas.box(x0, bands_top + k * band, x0 + column - 1, bands_top + (k + 1) * band - 2, Colour{level, level, level});
    }
  }
  canvas.write(path);
}

void write_line_plot_png(const std::string& path, const std::vector<Series>& series, const PlotAxes& axes) {
  const Frame frame = frame_for(series, axes, 0, 0);
  Canvas canvas(Frame::width, Frame::height);
  frame.draw(canvas, axes, series);
  for (const Series& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double x = frame.px(s.x[i]), y = frame.py(s.y[i]);
      if (i + 1 < s.x.size()) canvas.line(x, y, frame.px(s.x[i + 1]), frame.py(s.y[i + 1]), s.colour, s.dashed);
      if (!s.dashed) canvas.box(static_cast<int>(x) - 3, static_cast<int>(y) - 3, static_cast<int>(x) + 4, static_cast<int>(y) + 4, s.colour);
    }
  canvas.write(path);
}

void write_scatter_png(const std::string& path, const std::vector<Series>& series, const PlotAxes& axes, double x_min, double x_max) {
  const Frame frame = frame_for(series, axes, x_min, x_max);
  Canvas canvas(Frame::width, Frame::height);
  frame.draw(canvas, axes, series);
  for (const Series& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const int x = static_cast<int>(std::lround(frame.px(s.x[i]))), y = static_cast<int>(std::lround(frame.py(s.y[i])));
      canvas.box(x - 2, y - 2, x + 2, y + 2, s.colour);
    }
  canvas.write(path);
}

}  // namespace ww::io
