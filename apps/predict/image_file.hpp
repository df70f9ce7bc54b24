#pragma once
// Image files as cnnzoo-predict reads them: PNG, JPEG, BMP, GIF, TGA (stb_image) or binary PGM/PPM, turned into
// a 3 x 32 x 32 CHW input (data/image.hpp). A file is read as a regular file of plausible size (a
// FIFO or a device is refused, never waited on), and its dimensions are checked before decoding,
// so a header that claims a gigapixel image costs nothing. tests/fuzz/image.cpp feeds it any bytes.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <cnnzoo/core/error.hpp>

namespace cnnzoo::predict {

inline constexpr std::uint64_t max_image_file_bytes = std::uint64_t{256} << 20;
// 8192 a side (67 megapixels) is far more than a 32 x 32 classifier needs, and keeps stb_image's
// largest buffer (16-bit RGBA) at 512 MiB.
inline constexpr int max_image_side = 8192;

class image_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

// The bytes of an image file as 3 x 32 x 32 CHW bytes; empty, with `error` saying why, when they
// are not a readable image or are over max_image_side pixels a side.
std::vector<std::uint8_t> decode_image(std::span<const std::uint8_t> bytes, std::string& error);

// The file's image, as decode_image; empty, with `error` saying why ("does not exist", "is a FIFO
// (named pipe), not a regular file", ...), when it cannot be read.
std::vector<std::uint8_t> read_image_file(const std::string& file, std::string& error);

}  // namespace cnnzoo::predict
