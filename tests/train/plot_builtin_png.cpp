// The plot header without stb_image_write (as on a machine without libstb-dev): the built-in
// encoder writes the file, and it decodes to the rendered image.
#define CNNZOO_PLOT_BUILTIN_PNG
#include <catch2/catch.hpp>

#include <cnnzoo/train/plot.hpp>

#include <fstream>

#include "support/png_decode.hpp"
#include "support/temp_dir.hpp"

using namespace cnnzoo::train;

static_assert(!CNNZOO_PLOT_HAS_STB, "cnnzoo: CNNZOO_PLOT_BUILTIN_PNG must select the built-in encoder");

TEST_CASE("without stb the built-in encoder writes the training curves", "[train][plot]") {
  cnnzoo::test::temp_dir dir("plot");
  training_history h;
  for (int e = 1; e <= 12; ++e) {
    h.epoch.push_back(e);
    h.train_loss.push_back(2.0 / e);
    h.train_acc.push_back(1.0 - 0.5 / e);
  }
  write_training_curves(dir / "curves.png", h, "val", 800, 320);
  std::ifstream in(dir / "curves.png", std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  REQUIRE(bytes.size() > 1000);
  CHECK(bytes[1] == 'P');
  CHECK(bytes.size() < 800 * 320 * 3 / 4);  // compressed well below the raw size
  if (cnnzoo::test::png_decode_available) {
    const auto decoded = cnnzoo::test::decode_png(bytes);
    REQUIRE(decoded.width == 800);
    CHECK(decoded.rgb == render_training_curves(h, "val", 800, 320).pixels());
  }
}
