#include "image_file.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <utility>

#include <cnnzoo/core/files.hpp>
#include <cnnzoo/data/image.hpp>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
// Only the formats this program names (PNG, JPEG, BMP, GIF, TGA); binary PGM/PPM by decode_pnm
// below. Fewer decoders, less of stb_image's code facing hostile files.
#define STBI_NO_PNM
#define STBI_NO_PSD
#define STBI_NO_HDR
#define STBI_NO_PIC
#include <stb/stb_image.h>

namespace cnnzoo::predict {

namespace {

// Binary PGM and PPM (P5, P6) are read here, not by stb_image: Debian 12's stb_image 2.27 reads a
// PNM header number into an int without an overflow check, and overruns its buffer converting a
// short 16-bit PNM (both found by tests/fuzz/image.cpp). The format is small: "P5" or "P6", then
// width, height and the largest sample value as decimal numbers separated by whitespace (with
// comments from '#' to the end of a line), one whitespace byte, then the samples, row-major.
// Only 8-bit samples (largest value 1..255) are read.
bool is_pnm(std::span<const std::uint8_t> b) { return b.size() >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6'); }

std::vector<std::uint8_t> decode_pnm(std::span<const std::uint8_t> b, std::string& error) {
  std::size_t i = 2;
  long long header[3] = {0, 0, 0};
  for (long long& value : header) {
    while (i < b.size() && (std::isspace(b[i]) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      else
        ++i;
    }
    std::size_t digits = 0;
    for (; i < b.size() && b[i] >= '0' && b[i] <= '9' && digits < 10; ++i, ++digits) value = value * 10 + (b[i] - '0');
    if (digits > 9) {
      error = "not a readable image (a PNM header number with more than 9 digits)";
      return {};
    }
    if (digits == 0) {
      error = "not a readable image (a PNM header without its width, height and largest value)";
      return {};
    }
  }
  if (i >= b.size() || !std::isspace(b[i])) {
    error = "not a readable image (a PNM header not followed by whitespace)";
    return {};
  }
  ++i;
  const long long w = header[0], h = header[1], maxval = header[2];
  if (w < 1 || h < 1 || w > max_image_side || h > max_image_side) {
    error = "an image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels, which this program does not decode "
            "(1 to " + std::to_string(max_image_side) + " a side)";
    return {};
  }
  if (maxval < 1 || maxval > 255) {
    error = "not a readable image (a PNM with samples up to " + std::to_string(maxval) + "; only 8-bit PGM and PPM are read)";
    return {};
  }
  const std::size_t channels = b[1] == '6' ? 3 : 1, pixels = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
  if (b.size() - i < pixels * channels) {
    error = "not a readable image (a PNM with " + std::to_string(b.size() - i) + " bytes of samples, " +
            std::to_string(pixels * channels) + " expected)";
    return {};
  }
  std::vector<std::uint8_t> rgb(pixels * 3);
  for (std::size_t p = 0; p < pixels; ++p)
    for (std::size_t c = 0; c < 3; ++c) {
      const unsigned v = b[i + p * channels + (channels == 3 ? c : 0)];
      rgb[p * 3 + c] = static_cast<std::uint8_t>((std::min<unsigned>(v, static_cast<unsigned>(maxval)) * 255u + static_cast<unsigned>(maxval) / 2) /
                                                 static_cast<unsigned>(maxval));
    }
  return data::rgb_to_planes(rgb, static_cast<int>(w), static_cast<int>(h));
}

// What a walk over a PNG's chunks finds (length, type, data, CRC: 12 bytes and the data).
struct png_chunks {
  // stb_image grows a PNG's compressed-data buffer to whatever its chunks claim (up to 1 GiB each),
  // so a 100-byte file can ask for 2 GiB (found by tests/fuzz/image.cpp). Every chunk of a PNG must
  // lie inside the file: then what stb allocates for the data is bounded by the file's size.
  bool inside = true;
  // IDAT chunks with no data (offset and size: 12 bytes, fewer where the file ends inside the
  // chunk's CRC). stb_image copies each IDAT's data into its buffer with memcpy, and before the first
  // non-empty one that buffer is a null pointer: a zero-byte copy to null is undefined behaviour
  // (found by tests/fuzz/image.cpp). Such a chunk carries nothing, so it is dropped before decoding.
  std::vector<std::pair<std::size_t, std::size_t>> empty_idat;
};

png_chunks walk_png(std::span<const std::uint8_t> b) {
  static constexpr std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  png_chunks found;
  if (b.size() < 8 || !std::equal(signature, signature + 8, b.begin())) return found;  // not a PNG
  const auto type_is = [&](std::size_t i, const char* t) {
    return b[i + 4] == t[0] && b[i + 5] == t[1] && b[i + 6] == t[2] && b[i + 7] == t[3];
  };
  std::size_t i = 8;
  // Every chunk whose length and type are in the file is one stb_image reads.
  while (b.size() - i >= 8) {
    const std::size_t left = b.size() - i;
    const std::uint64_t length = (std::uint64_t{b[i]} << 24) | (std::uint64_t{b[i + 1]} << 16) |
                                 (std::uint64_t{b[i + 2]} << 8) | b[i + 3];
    if (length == 0 && type_is(i, "IDAT")) {
      found.empty_idat.emplace_back(i, std::min<std::size_t>(12, left));
    } else if (length + 12 > left) {
      found.inside = false;
      return found;
    }
    if (type_is(i, "IEND")) return found;
    i += std::min<std::size_t>(12 + static_cast<std::size_t>(length), left);
  }
  return found;  // truncated: stb_image says so
}

// The PNG's bytes without the given chunks (offset and size, in file order).
std::vector<std::uint8_t> without_chunks(std::span<const std::uint8_t> b,
                                         const std::vector<std::pair<std::size_t, std::size_t>>& chunks) {
  std::vector<std::uint8_t> kept;
  kept.reserve(b.size());
  std::size_t from = 0;
  for (const auto& [at, size] : chunks) {
    kept.insert(kept.end(), b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + static_cast<std::ptrdiff_t>(at));
    from = at + size;
  }
  kept.insert(kept.end(), b.begin() + static_cast<std::ptrdiff_t>(from), b.end());
  return kept;
}

}  // namespace

std::vector<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, std::string& error) {
  if (is_pnm(bytes)) return decode_pnm(bytes, error);
  const png_chunks png = walk_png(bytes);
  if (!png.inside) {
    error = "not a readable image (a PNG chunk longer than the file)";
    return {};
  }
  if (!png.empty_idat.empty()) {
    const std::vector<std::uint8_t> kept = without_chunks(bytes, png.empty_idat);
    return decode_image(kept, error);  // no empty IDAT is left: this recursion ends at once
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
