// batches.meta.txt on any bytes: ten names, or the standard ten.
#include <cnnzoo/data/cifar10.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto names = cnnzoo::data::parse_class_names(std::string_view(reinterpret_cast<const char*>(data), size));
  if (names.size() != 10) __builtin_trap();
  return 0;
}
