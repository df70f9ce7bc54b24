#include "image_file.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include <cnnzoo/core/files.hpp>
#include <cnnzoo/data/image.hpp>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>

namespace cnnzoo::predict {

namespace {

// Debian 12's stb_image (2.27) reads the numbers of a PNM header (P5/P6) into an int without an
// overflow check (undefined behaviour, found by tests/fuzz/image.cpp). Its header is whitespace,
// comments from '#' to the end of the line, and three decimal numbers: refuse any number of more
// than 9 digits, which is all it takes to keep stb's arithmetic inside an int.
bool pnm_header_fits_int(std::span<const std::uint8_t> b) {
  if (b.size() < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6')) return true;
  std::size_t i = 2;
  for (int number = 0; number < 3; ++number) {
    while (i < b.size() && (std::isspace(b[i]) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      else
        ++i;
    }
    std::size_t digits = 0;
    while (i < b.size() && b[i] >= '0' && b[i] <= '9') ++i, ++digits;
    if (digits > 9) return false;
  }
  return true;
}

}  // namespace

std::vector<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, std::string& error) {
  if (!pnm_header_fits_int(bytes)) {
    error = "not a readable image (a PNM header number with more than 9 digits)";
    return {};
  }
  const int n = static_cast<int>(std::min<std::size_t>(bytes.size(), static_cast<std::size_t>(std::numeric_limits<int>::max())));
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), n, &w, &h, &channels)) {
    error = std::string("not a readable image (") + stbi_failure_reason() + ")";
    return {};
  }
  if (w <= 0 || h <= 0 || w > max_image_side || h > max_image_side) {
    error = "an image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels, over the " +
            std::to_string(max_image_side) + "-pixel side this program decodes";
    return {};
  }
  stbi_uc* rgb = stbi_load_from_memory(bytes.data(), n, &w, &h, &channels, 3);
  if (!rgb) {
    error = std::string("not a readable image (") + stbi_failure_reason() + ")";
    return {};
  }
  std::vector<std::uint8_t> planes =
      data::rgb_to_planes(std::span<const std::uint8_t>(rgb, static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3), w, h);
  stbi_image_free(rgb);
  return planes;
}

std::vector<std::uint8_t> read_image_file(const std::string& file, std::string& error) {
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_regular_file<image_error>(file, "image", max_image_file_bytes);
  } catch (const image_error& e) {
    // "cnnzoo: image FILE does not exist" -> "does not exist": the caller prints "FILE: " first.
    const std::string what = e.what(), prefix = "cnnzoo: image " + file + " ";
    error = what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
    return {};
  }
  return decode_image(bytes, error);
}

}  // namespace cnnzoo::predict
