// The training-curve plot: a valid, non-trivial PNG whose pixels are the rendered image, nice
// axis ticks, and the rasteriser's pieces (text, lines) drawing where they should.
#include <catch2/catch.hpp>

#include "train/plot.hpp"

#include <cmath>
#include <type_traits>
#include <fstream>

#include "support/png_decode.hpp"
#include "support/temp_dir.hpp"

using namespace cnnzoo::trainer;

static_assert(std::is_base_of_v<cnnzoo::error, plot_error>);   // one base for every error (core/error.hpp)
using cnnzoo::test::temp_dir;

namespace {

training_history sample_history(int epochs) {
  training_history h;
  for (int e = 1; e <= epochs; ++e) {
    h.epoch.push_back(e);
    h.train_loss.push_back(2.3 * std::exp(-0.05 * e) + 0.1);
    h.val_loss.push_back(2.3 * std::exp(-0.04 * e) + 0.3);
    h.train_acc.push_back(1 - 0.9 * std::exp(-0.06 * e));
    h.val_acc.push_back(1 - 0.9 * std::exp(-0.05 * e) - 0.05);
  }
  return h;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

}  // namespace

TEST_CASE("the training-curve plot is a valid PNG of the rendered image", "[train][plot]") {
  temp_dir dir("plot");
  const auto path = dir / "out" / "curves.png";
  const auto h = sample_history(40);
  write_training_curves(path, h);
  CHECK_FALSE(std::filesystem::exists(dir / "out" / "curves.png.tmp"));

  const auto bytes = read_file(path);
  REQUIRE(bytes.size() > 2000);
  const std::vector<std::uint8_t> signature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  CHECK(std::equal(signature.begin(), signature.end(), bytes.begin()));
  CHECK(std::string(bytes.begin() + 12, bytes.begin() + 16) == "IHDR");
  CHECK(be32(bytes, 16) == 1200);
  CHECK(be32(bytes, 20) == 480);

  const image img = render_training_curves(h);
  std::size_t non_white = 0;
  for (std::size_t i = 0; i < img.pixels().size(); ++i) non_white += img.pixels()[i] != 255;
  CHECK(non_white > 10000);  // axes, text and curves were drawn

  if (cnnzoo::test::png_decode_available) {
    const auto decoded = cnnzoo::test::decode_png(bytes);
    REQUIRE(decoded.width == 1200);
    REQUIRE(decoded.height == 480);
    CHECK(decoded.rgb == img.pixels());
  }
}

TEST_CASE("nice ticks are 1, 2 or 5 times a power of ten and cover the data", "[train][plot]") {
  auto t = nice_ticks(0.13, 2.41, 5);
  CHECK(t.step == Approx(0.5));
  CHECK(t.lo == Approx(0.0));
  CHECK(t.hi == Approx(2.5));
  CHECK(t.decimals == 1);
  CHECK(format_tick(1.5, t.decimals) == "1.5");

  t = nice_ticks(1, 200, 6, true);
  CHECK(t.step == Approx(50));
  CHECK(t.decimals == 0);
  t = nice_ticks(1, 3, 6, true);
  CHECK(t.step == Approx(1));  // never a fractional epoch
  t = nice_ticks(0.5, 0.5, 5);  // a single value gets a range around it
  CHECK(t.lo < 0.5);
  CHECK(t.hi > 0.5);
  CHECK(format_tick(-0.0000000001, 2) == "0.00");
}

TEST_CASE("text and lines land where they are drawn", "[train][plot]") {
  image img(40, 20);
  img.text(1, 1, "1", rgb{0, 0, 0}, 2);
  // The pixels stb_easy_font's quads cover are inked, the rest stays white.
  int inked = 0;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) inked += img.at(x, y) == rgb{0, 0, 0};
  CHECK(inked > 8);
  CHECK(img.at(39, 19) == rgb{255, 255, 255});
  CHECK(img.at(0, 0) == rgb{255, 255, 255});   // the text starts at (1, 1)
  CHECK(image::text_width("12", 2) == 2 * image::text_width("12", 1));
  CHECK(image::text_width("12", 1) > image::text_width("1", 1));

  image l(30, 30);
  l.line(2, 15, 27, 15, rgb{0, 0, 255}, 2);
  CHECK(l.at(15, 15) == rgb{0, 0, 255});
  CHECK(l.at(15, 10) == rgb{255, 255, 255});
  CHECK_THROWS_AS(image(0, 10), plot_error);
}

TEST_CASE("curves with gaps, one epoch, or no validation still render", "[train][plot]") {
  temp_dir dir("plot");
  training_history h = sample_history(1);
  h.val_loss.clear();
  h.val_acc.clear();
  CHECK_NOTHROW(write_training_curves(dir / "one.png", h));
  h = sample_history(10);
  h.val_loss[4] = std::nan("");
  CHECK_NOTHROW(write_training_curves(dir / "gap.png", h, "test"));
  CHECK(std::filesystem::file_size(dir / "gap.png") > 1000);
}
