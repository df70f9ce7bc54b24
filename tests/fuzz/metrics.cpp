// metrics.jsonl on any bytes: epochs, or a metrics_error naming the line.
#include "train/metrics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)cnnzoo::trainer::parse_metrics(std::string_view(reinterpret_cast<const char*>(data), size), "(fuzz input)");
  } catch (const cnnzoo::trainer::metrics_error&) {
  }
  return 0;
}
