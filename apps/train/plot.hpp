#pragma once
// Training curves as a PNG a user can open: loss against epoch (train and validation) beside
// accuracy against epoch, with axes, ticks, grid and a legend.
//
// Rasterised here (anti-aliased lines, rectangles) with stb_easy_font's glyphs for the text and
// stb_image_write for the file (both from Debian's libstb-dev, header-only), so the trainer needs
// no plotting library, no font files and no Python.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <cnnzoo/core/error.hpp>
#include <cnnzoo/core/files.hpp>

// Private, static copies of the implementations: no other translation unit can clash with them
// and no library needs linking.
#if defined(__GNUC__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wunused-function"
#  pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#  pragma GCC diagnostic ignored "-Wsign-compare"
#  pragma GCC diagnostic ignored "-Wunused-parameter"
#  pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#  pragma GCC diagnostic ignored "-Wconversion"
#  pragma GCC diagnostic ignored "-Wsign-conversion"
#  pragma GCC diagnostic ignored "-Wold-style-cast"
#  pragma GCC diagnostic ignored "-Wcast-qual"
#  pragma GCC diagnostic ignored "-Wdouble-promotion"
#  pragma GCC diagnostic ignored "-Wshadow"
#endif
#ifndef INCLUDE_STB_IMAGE_WRITE_H
#  define STB_IMAGE_WRITE_STATIC
#  define STB_IMAGE_WRITE_IMPLEMENTATION
#  include <stb/stb_image_write.h>
#  undef STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#  pragma GCC diagnostic pop
#endif

namespace cnnzoo::trainer {

class plot_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

struct rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const rgb&, const rgb&) = default;
};


// An RGB raster, row-major, 3 bytes per pixel, (0, 0) at the top left.
class image {
public:
  image(int width, int height, rgb background = {255, 255, 255}) : w_(width), h_(height) {
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
      throw plot_error("cnnzoo: image size " + std::to_string(width) + "x" + std::to_string(height) + " is outside 1..16384");
    px_.resize(static_cast<std::size_t>(w_) * static_cast<std::size_t>(h_) * 3);
    fill(background);
  }
  int width() const noexcept { return w_; }
  int height() const noexcept { return h_; }
  const std::vector<std::uint8_t>& pixels() const noexcept { return px_; }

  void fill(rgb c) {
    for (std::size_t i = 0; i < px_.size(); i += 3) { px_[i] = c.r; px_[i + 1] = c.g; px_[i + 2] = c.b; }
  }
  rgb at(int x, int y) const {
    const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(w_) + static_cast<std::size_t>(x)) * 3;
    return {px_[i], px_[i + 1], px_[i + 2]};
  }
  // Mixes colour c into pixel (x, y) with coverage a in [0, 1]; outside the image does nothing.
  void blend(int x, int y, rgb c, double a = 1.0) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_ || !(a > 0)) return;
    a = std::min(a, 1.0);
    const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(w_) + static_cast<std::size_t>(x)) * 3;
    auto mix = [a](std::uint8_t dst, std::uint8_t src) {
      return static_cast<std::uint8_t>(std::lround(dst + a * (static_cast<double>(src) - dst)));
    };
    px_[i] = mix(px_[i], c.r);
    px_[i + 1] = mix(px_[i + 1], c.g);
    px_[i + 2] = mix(px_[i + 2], c.b);
  }
  // Pixels [x0, x1) x [y0, y1).
  void fill_rect(int x0, int y0, int x1, int y1, rgb c) {
    for (int y = std::max(0, y0); y < std::min(h_, y1); ++y)
      for (int x = std::max(0, x0); x < std::min(w_, x1); ++x) blend(x, y, c);
  }
  void rect_outline(int x0, int y0, int x1, int y1, rgb c) {
    fill_rect(x0, y0, x1, y0 + 1, c);
    fill_rect(x0, y1 - 1, x1, y1, c);
    fill_rect(x0, y0, x0 + 1, y1, c);
    fill_rect(x1 - 1, y0, x1, y1, c);
  }
  // An anti-aliased segment with round ends: coverage falls off over one pixel at the edge.
  void line(double x0, double y0, double x1, double y1, rgb c, double thickness = 1.0) {
    const double r = thickness / 2;
    const int bx0 = static_cast<int>(std::floor(std::min(x0, x1) - r - 1)), bx1 = static_cast<int>(std::ceil(std::max(x0, x1) + r + 1));
    const int by0 = static_cast<int>(std::floor(std::min(y0, y1) - r - 1)), by1 = static_cast<int>(std::ceil(std::max(y0, y1) + r + 1));
    const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    for (int y = std::max(0, by0); y <= std::min(h_ - 1, by1); ++y)
      for (int x = std::max(0, bx0); x <= std::min(w_ - 1, bx1); ++x) {
        const double t = len2 > 0 ? std::clamp(((x - x0) * dx + (y - y0) * dy) / len2, 0.0, 1.0) : 0.0;
        const double d = std::hypot(x - (x0 + t * dx), y - (y0 + t * dy));
        blend(x, y, c, std::clamp(r + 0.5 - d, 0.0, 1.0));
      }
  }
  void disc(double cx, double cy, double radius, rgb c) { line(cx, cy, cx, cy, c, 2 * radius); }

  // stb_easy_font's glyphs: 7 units high (capitals), `scale` pixels per unit.
  static int text_width(std::string_view s, int scale) {
    if (s.empty()) return 0;
    std::string t(s);
    return stb_easy_font_width(t.data()) * scale;
  }
  static int text_height(int scale) { return 7 * scale; }
  // Text with its top-left corner at (x, y); `vertical` runs it bottom to top, as a y-axis label.
  void text(int x, int y, std::string_view s, rgb c, int scale = 1, bool vertical = false) {
    if (s.empty()) return;
    std::string t(s);
    // stb_easy_font emits axis-aligned quads, 4 vertices of (x, y, z, colour) each, in glyph units.
    struct vertex { float x, y, z; unsigned char colour[4]; };
    std::vector<vertex> quads(t.size() * 70 * 4);
    const int n = stb_easy_font_print(0, 0, t.data(), nullptr, quads.data(), static_cast<int>(quads.size() * sizeof(vertex)));
    for (int q = 0; q < n; ++q) {
      const vertex* v = &quads[static_cast<std::size_t>(q) * 4];
      const int u0 = static_cast<int>(std::lround(v[0].x)) * scale, u1 = static_cast<int>(std::lround(v[2].x)) * scale;
      const int v0 = static_cast<int>(std::lround(v[0].y)) * scale, v1 = static_cast<int>(std::lround(v[2].y)) * scale;
      if (vertical) fill_rect(x + v0, y - u1, x + v1, y - u0, c);
      else fill_rect(x + u0, y + v0, x + u1, y + v1, c);
    }
  }

private:
  int w_, h_;
  std::vector<std::uint8_t> px_;
};

// ---- PNG output --------------------------------------------------------------------------------

// The image as PNG bytes (stb_image_write).
inline std::vector<std::uint8_t> encode_png(const image& img) {
  std::vector<std::uint8_t> out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
    v->insert(v->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(sink, &out, img.width(), img.height(), 3, img.pixels().data(), img.width() * 3))
    throw plot_error("cnnzoo: stb_image_write could not encode a " + std::to_string(img.width()) + "x" +
                     std::to_string(img.height()) + " PNG");
  return out;
}

// Atomically (core/files.hpp): a viewer never sees half an image.
inline void write_png(const std::filesystem::path& path, const image& img) {
  const auto bytes = encode_png(img);
  write_atomically(path, "plot", [&](auto sink) { sink(bytes.data(), bytes.size()); });
}

// ---- charts ----------------------------------------------------------------------------------------

struct series {
  std::string label;
  std::vector<double> x, y;  // a NaN y leaves a gap
  rgb color;
};

struct panel {
  std::string title, x_label, y_label;
  std::vector<series> lines;
};

// Round tick positions (1, 2 or 5 times a power of ten) covering [lo, hi] with about `target`
// intervals, and the number of decimals that prints them exactly.
struct axis_ticks {
  double lo = 0, hi = 1, step = 1;
  int decimals = 0;
};

inline axis_ticks nice_ticks(double lo, double hi, int target = 5, bool integer = false) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) { lo = 0; hi = 1; }
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double pad = std::abs(lo) > 1e-12 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  if (integer) step = std::max(1.0, std::round(step));
  axis_ticks t{std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step, 0};
  while (t.decimals < 6 && std::abs(step * std::pow(10.0, t.decimals) - std::round(step * std::pow(10.0, t.decimals))) > 1e-6)
    ++t.decimals;
  return t;
}

inline std::string format_tick(double v, int decimals) {
  const double unit = std::pow(10.0, decimals);
  double r = std::round(v * unit) / unit;
  if (r == 0) r = 0.0;  // never print "-0.00" for a value that rounds to zero
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, r);
  return buf;
}

// Draws the panels side by side on one image.
inline image render_panels(std::span<const panel> panels, int width = 1200, int height = 480) {
  image img(width, height);
  if (panels.empty()) return img;
  const rgb ink{40, 40, 40}, grid{225, 225, 225}, frame{90, 90, 90};
  const int pw = width / static_cast<int>(panels.size());
  const int scale = height >= 360 ? 2 : 1;
  const int ch = image::text_height(scale);
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const panel& pn = panels[p];
    double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
    bool all_int_x = true;
    for (const auto& s : pn.lines)
      for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
        xlo = std::min(xlo, s.x[i]); xhi = std::max(xhi, s.x[i]);
        ylo = std::min(ylo, s.y[i]); yhi = std::max(yhi, s.y[i]);
        all_int_x = all_int_x && s.x[i] == std::round(s.x[i]);
      }
    const axis_ticks tx = nice_ticks(xlo, xhi, 6, all_int_x), ty = nice_ticks(ylo, yhi, 5);
    int label_w = 0;
    for (double v = ty.lo; v <= ty.hi + ty.step / 2; v += ty.step) label_w = std::max(label_w, image::text_width(format_tick(v, ty.decimals), scale));
    // Plot area in pixels.
    const int left = static_cast<int>(p) * pw + 2 * ch + label_w + 18, right = static_cast<int>(p + 1) * pw - 16;
    const int top = 2 * ch + 16, bottom = height - 2 * ch - 24;
    if (right - left < 20 || bottom - top < 20) throw plot_error("cnnzoo: the plot is too small to draw; use at least 400x240 pixels");
    auto px = [&](double x) { return left + (x - tx.lo) / (tx.hi - tx.lo) * (right - left); };
    auto py = [&](double y) { return bottom - (y - ty.lo) / (ty.hi - ty.lo) * (bottom - top); };

    for (double v = tx.lo; v <= tx.hi + tx.step / 2; v += tx.step) {
      const int x = static_cast<int>(std::lround(px(v)));
      img.fill_rect(x, top, x + 1, bottom, grid);
      img.fill_rect(x, bottom, x + 1, bottom + 5, frame);
      const std::string s = format_tick(v, tx.decimals);
      img.text(x - image::text_width(s, scale) / 2, bottom + 9, s, ink, scale);
    }
    for (double v = ty.lo; v <= ty.hi + ty.step / 2; v += ty.step) {
      const int y = static_cast<int>(std::lround(py(v)));
      img.fill_rect(left, y, right, y + 1, grid);
      img.fill_rect(left - 5, y, left, y + 1, frame);
      const std::string s = format_tick(v, ty.decimals);
      img.text(left - 8 - image::text_width(s, scale), y - ch / 2, s, ink, scale);
    }
    img.rect_outline(left, top, right + 1, bottom + 1, frame);
    img.text((left + right - image::text_width(pn.title, scale)) / 2, 8, pn.title, ink, scale);
    img.text((left + right - image::text_width(pn.x_label, scale)) / 2, height - ch - 6, pn.x_label, ink, scale);
    img.text(static_cast<int>(p) * pw + 6, (top + bottom + image::text_width(pn.y_label, scale)) / 2, pn.y_label, ink, scale, true);

    for (const auto& s : pn.lines) {
      const std::size_t n = std::min(s.x.size(), s.y.size());
      std::size_t finite = 0;
      for (std::size_t i = 0; i < n; ++i) finite += std::isfinite(s.x[i]) && std::isfinite(s.y[i]);
      for (std::size_t i = 0; i + 1 < n; ++i)
        if (std::isfinite(s.y[i]) && std::isfinite(s.y[i + 1]) && std::isfinite(s.x[i]) && std::isfinite(s.x[i + 1]))
          img.line(px(s.x[i]), py(s.y[i]), px(s.x[i + 1]), py(s.y[i + 1]), s.color, 2.0);
      if (finite <= 60)  // markers while they do not crowd the line
        for (std::size_t i = 0; i < n; ++i)
          if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) img.disc(px(s.x[i]), py(s.y[i]), 2.5, s.color);
    }

    // Legend for the series that have data, in the corner of the plot area that hides the
    // fewest points of the curves (top right first).
    std::vector<const series*> shown;
    for (const auto& s : pn.lines)
      if (std::any_of(s.y.begin(), s.y.end(), [](double v) { return std::isfinite(v); })) shown.push_back(&s);
    if (shown.empty()) continue;
    int legend_w = 0;
    for (const series* s : shown) legend_w = std::max(legend_w, image::text_width(s->label, scale));
    const int box_w = legend_w + 48, box_h = static_cast<int>(shown.size()) * (ch + 8) + 4;
    const std::array<std::pair<int, int>, 4> corners{{{right - 6 - box_w, top + 2},
                                                      {right - 6 - box_w, bottom - 2 - box_h},
                                                      {left + 6, top + 2},
                                                      {left + 6, bottom - 2 - box_h}}};
    auto hidden = [&](int bx, int by) {
      int count = 0;
      for (const auto& s : pn.lines)
        for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
          if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
          const double x = px(s.x[i]), y = py(s.y[i]);
          count += x >= bx - 4 && x <= bx + box_w + 4 && y >= by - 4 && y <= by + box_h + 4;
        }
      return count;
    };
    auto best = corners[0];
    int best_hidden = hidden(best.first, best.second);
    for (const auto& c : corners)
      if (const int n = hidden(c.first, c.second); n < best_hidden) { best = c; best_hidden = n; }
    const auto [bx, by] = best;
    img.fill_rect(bx, by, bx + box_w, by + box_h, rgb{255, 255, 255});
    img.rect_outline(bx, by, bx + box_w, by + box_h, grid);
    for (std::size_t row = 0; row < shown.size(); ++row) {
      const int y = by + 6 + static_cast<int>(row) * (ch + 8);
      img.line(bx + 8, y + ch / 2.0, bx + 32, y + ch / 2.0, shown[row]->color, 2.0);
      img.text(bx + 40, y, shown[row]->label, ink, scale);
    }
  }
  return img;
}

// What the trainer knows after each epoch; val_* may be empty or hold NaN (no validation set).
struct training_history {
  std::vector<double> epoch, train_loss, val_loss, train_acc, val_acc;  // accuracies as fractions
};

// The standard two-panel training-curve plot: loss, and accuracy in percent.
inline image render_training_curves(const training_history& h, std::string_view val_label = "val", int width = 1200,
                                     int height = 480) {
  const rgb train_color{31, 119, 180}, val_color{230, 110, 10};
  auto pct = [](std::vector<double> v) {
    for (auto& a : v) a *= 100;
    return v;
  };
  const std::array<panel, 2> panels{
      panel{"LOSS", "EPOCH", "LOSS",
            {series{"train", h.epoch, h.train_loss, train_color}, series{std::string(val_label), h.epoch, h.val_loss, val_color}}},
      panel{"ACCURACY (%)", "EPOCH", "ACCURACY %",
            {series{"train", h.epoch, pct(h.train_acc), train_color},
             series{std::string(val_label), h.epoch, pct(h.val_acc), val_color}}}};
  return render_panels(panels, width, height);
}

inline void write_training_curves(const std::filesystem::path& path, const training_history& h,
                                  std::string_view val_label = "val", int width = 1200, int height = 480) {
  write_png(path, render_training_curves(h, val_label, width, height));
}

}  // namespace cnnzoo::trainer
