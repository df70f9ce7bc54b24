#pragma once
// CRC-32 (IEEE 802.3, reflected, the one zlib.crc32 and PNG use): the checksum of checkpoint files
// and of PNG chunks. Slicing-by-8, so checking a 300 MB checkpoint costs about a tenth of a second.
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>

namespace cnnzoo::train {

// The 8-byte loads below read words in host order; the tables assume little-endian.
static_assert(std::endian::native == std::endian::little, "cnnzoo: crc32 assumes a little-endian host");

namespace detail {

struct crc32_tables_t {
  std::uint32_t t[8][256]{};
};

constexpr crc32_tables_t make_crc32_tables() {
  crc32_tables_t r;
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    r.t[0][i] = c;
  }
  for (int s = 1; s < 8; ++s)
    for (int i = 0; i < 256; ++i) r.t[s][i] = (r.t[s - 1][i] >> 8) ^ r.t[0][r.t[s - 1][i] & 0xFF];
  return r;
}

inline constexpr crc32_tables_t crc32_tables = make_crc32_tables();

}  // namespace detail

// Continues a CRC-32: crc32(b, crc32(a)) == crc32(a + b); the CRC of nothing is 0.
inline std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept {
  const auto& t = detail::crc32_tables.t;
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  crc = ~crc;
  while (n >= 8) {
    std::uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + 4, 4);
    a ^= crc;
    crc = t[7][a & 0xFF] ^ t[6][(a >> 8) & 0xFF] ^ t[5][(a >> 16) & 0xFF] ^ t[4][a >> 24] ^ t[3][b & 0xFF] ^
          t[2][(b >> 8) & 0xFF] ^ t[1][(b >> 16) & 0xFF] ^ t[0][b >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace cnnzoo::train
