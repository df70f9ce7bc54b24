// cnnzoo-predict's image decoding on bytes in memory: the planes of a decodable file, and the
// refusals and repairs its guards around stb_image make (the fuzz target tests/fuzz/image.cpp found
// each of the hostile cases; here each has a fixed input, which also runs under the sanitizers).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <cnnzoo/train/crc32.hpp>

#include "predict/image_file.hpp"

using Catch::Matchers::Contains;
using cnnzoo::predict::decode_image;

namespace {

using bytes = std::vector<std::uint8_t>;

// A w x h RGB image whose every sample differs, as PNG bytes written by stb_image_write.
bytes png_of(int w, int h) {
  bytes rgb(static_cast<std::size_t>(w) * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 7 + 3);
  bytes file;
  stbi_write_png_to_func([](void* out, void* data, int n) {
        auto* f = static_cast<bytes*>(out);
        f->insert(f->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + n);
      }, &file, w, h, 3, rgb.data(), w * 3);
  REQUIRE(file.size() > 8);
  return file;
}

std::uint32_t be32(const bytes& b, std::size_t i) {
  return (std::uint32_t{b[i]} << 24) | (std::uint32_t{b[i + 1]} << 16) | (std::uint32_t{b[i + 2]} << 8) | b[i + 3];
}

// The offset of the first chunk of the given type (the signature is 8 bytes; a chunk is length,
// type, data, CRC).
std::size_t chunk_at(const bytes& png, const std::string& type) {
  for (std::size_t i = 8; i + 12 <= png.size(); i += 12 + be32(png, i))
    if (std::string(png.begin() + static_cast<std::ptrdiff_t>(i + 4), png.begin() + static_cast<std::ptrdiff_t>(i + 8)) == type) return i;
  FAIL("no " << type << " chunk");
  return 0;
}

// A well-formed chunk with a correct CRC.
bytes chunk(const std::string& type, const bytes& data) {
  bytes c = {static_cast<std::uint8_t>(data.size() >> 24), static_cast<std::uint8_t>(data.size() >> 16),
             static_cast<std::uint8_t>(data.size() >> 8), static_cast<std::uint8_t>(data.size())};
  c.insert(c.end(), type.begin(), type.end());
  c.insert(c.end(), data.begin(), data.end());
  const std::uint32_t crc = cnnzoo::train::crc32(std::span<const std::uint8_t>(c).subspan(4));
  for (int s = 24; s >= 0; s -= 8) c.push_back(static_cast<std::uint8_t>(crc >> s));
  return c;
}

bytes inserted(bytes b, std::size_t at, const bytes& what) {
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), what.begin(), what.end());
  return b;
}

bytes decoded(const bytes& file) {
  std::string error;
  bytes planes = decode_image(file, error);
  INFO(error);
  REQUIRE(error.empty());
  REQUIRE(planes.size() == 3 * 32 * 32);
  return planes;
}

std::string refusal(const bytes& file) {
  std::string error;
  CHECK(decode_image(file, error).empty());
  CHECK(!error.empty());
  return error;
}

}  // namespace

TEST_CASE("A 32 x 32 PNG decodes to its own samples as 3 planes", "[apps][predict][image]") {
  const bytes planes = decoded(png_of(32, 32));
  // CHW planes of the RGB samples written (sample i of pixel p is i * 7 + 3 at byte 3 p + c).
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t p = 0; p < 32 * 32; ++p)
      REQUIRE(planes[c * 1024 + p] == static_cast<std::uint8_t>((3 * p + c) * 7 + 3));
  CHECK(decoded(png_of(300, 200)).size() == 3 * 32 * 32);  // resized
}

TEST_CASE("Empty IDAT chunks are dropped before stb_image sees them", "[apps][predict][image]") {
  // stb_image copies an empty first IDAT chunk's nothing to a null buffer, undefined behaviour that
  // UBSan reports; such chunks are legal PNG and carry no data, so the image decodes as without them.
  const bytes png = png_of(32, 32), empty_idat = chunk("IDAT", {});
  const std::size_t idat = chunk_at(png, "IDAT"), iend = chunk_at(png, "IEND");
  CHECK(decoded(inserted(png, idat, empty_idat)) == decoded(png));
  CHECK(decoded(inserted(inserted(png, iend, empty_idat), idat, empty_idat)) == decoded(png));
  // A PNG whose only image data is an empty IDAT is no image.
  bytes no_data(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(idat));
  no_data = inserted(no_data, no_data.size(), empty_idat);
  no_data = inserted(no_data, no_data.size(), chunk("IEND", {}));
  CHECK_THAT(refusal(no_data), Contains("not a readable image"));
  // ... nor is one whose file ends inside that empty IDAT's CRC.
  no_data.resize(idat + 10);
  CHECK_THAT(refusal(no_data), Contains("not a readable image"));
}

TEST_CASE("A PNG chunk longer than the file is refused before stb_image allocates for it", "[apps][predict][image]") {
  bytes png = png_of(32, 32);
  const std::size_t idat = chunk_at(png, "IDAT");
  png[idat] = 0x40;  // 1 GiB of data claimed
  CHECK(refusal(png) == "not a readable image (a PNG chunk longer than the file)");
}

TEST_CASE("Binary PGM and PPM are read here; the headers stb_image mishandles are refused", "[apps][predict][image]") {
  const std::string header = "P6\n# a comment\n2 1\n255\n";
  bytes ppm(header.begin(), header.end());
  for (const std::uint8_t v : {10, 20, 30, 40, 50, 60}) ppm.push_back(v);
  const bytes planes = decoded(ppm);
  CHECK(planes[0] == 10);           // R of the left pixel, top-left of the upscaled plane
  CHECK(planes[2 * 1024 + 31] == 60);  // B of the right pixel, top-right
  const auto pnm = [](const std::string& s) { return bytes(s.begin(), s.end()); };
  CHECK_THAT(refusal(pnm("P5 2 2 65535\n12345678")), Contains("only 8-bit PGM and PPM"));
  CHECK_THAT(refusal(pnm("P5 99999999999 1 255\n")), Contains("more than 9 digits"));
  CHECK_THAT(refusal(pnm("P5 2 2 255\nab")), Contains("2 bytes of samples, 4 expected"));
  CHECK_THAT(refusal(pnm("P5 9000 1 255\n")), Contains("9000x1 pixels"));
  CHECK_THAT(refusal(pnm("not an image")), Contains("not a readable image"));
}
