// An image file on any bytes, decoded as cnnzoo-predict decodes one (stb_image behind a size check).
#include "predict/image_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string error;
  const auto planes = cnnzoo::predict::decode_image({data, size}, error);
  if (planes.empty() == error.empty()) __builtin_trap();  // one or the other
  if (!planes.empty() && planes.size() != 3 * 32 * 32) __builtin_trap();
  return 0;
}
