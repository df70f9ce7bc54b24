// The CIFAR-10 reader on any bytes: whole records load, anything else is a data_error.
#include <cnnzoo/data/cifar10.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cnnzoo;
  try {
    const data::dataset d = data::parse_batch({data, size}, "(fuzz input)");
    if (d.pixels.size() != d.size() * data::cifar10_image_bytes) __builtin_trap();
    (void)data::fingerprint(d);
  } catch (const data::data_error&) {
  }
  // The same bytes as a file, through the bounded reader.
  const fuzz::memory_file f(data, size);
  try {
    (void)data::read_batch_file(f.path());
  } catch (const data::data_error&) {
  }
  return 0;
}
