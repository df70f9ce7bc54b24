#pragma once
// Decodes PNG bytes with stb_image (a private static copy), for tests that check what a PNG
// writer produced pixel by pixel. Without stb_image, png_decode_available is false.
#include <cstdint>
#include <vector>

#if __has_include(<stb/stb_image.h>)
#  if defined(__GNUC__)
#    pragma GCC diagnostic push
#    pragma GCC diagnostic ignored "-Wunused-function"
#    pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#    pragma GCC diagnostic ignored "-Wsign-compare"
#    pragma GCC diagnostic ignored "-Wunused-parameter"
#    pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#    pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#  endif
#  define STB_IMAGE_STATIC
#  define STB_IMAGE_IMPLEMENTATION
#  define STBI_ONLY_PNG
#  include <stb/stb_image.h>
#  if defined(__GNUC__)
#    pragma GCC diagnostic pop
#  endif
#  define CNNZOO_TEST_HAS_PNG_DECODE 1
#else
#  define CNNZOO_TEST_HAS_PNG_DECODE 0
#endif

namespace cnnzoo::test {

inline constexpr bool png_decode_available = CNNZOO_TEST_HAS_PNG_DECODE;

struct decoded_png {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // empty when decoding failed
};

inline decoded_png decode_png(const std::vector<std::uint8_t>& bytes) {
  decoded_png out;
#if CNNZOO_TEST_HAS_PNG_DECODE
  int comp = 0;
  unsigned char* p = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &out.width, &out.height, &comp, 3);
  if (p) {
    out.rgb.assign(p, p + static_cast<std::size_t>(out.width) * static_cast<std::size_t>(out.height) * 3);
    stbi_image_free(p);
  }
#else
  (void)bytes;
#endif
  return out;
}

}  // namespace cnnzoo::test
