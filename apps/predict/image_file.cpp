#include "image_file.hpp"

#include <algorithm>
#include <limits>

#include <cnnzoo/core/files.hpp>
#include <cnnzoo/data/image.hpp>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>

namespace cnnzoo::predict {

std::vector<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, std::string& error) {
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
